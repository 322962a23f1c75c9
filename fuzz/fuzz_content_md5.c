/* Fuzz target: Content-MD5 (s3_parse_content_md5). Only the 24-character
 * base64 of 16 bytes is taken, and what it yields encodes back to the same
 * text up to the bits base64 leaves unused in its last character. */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3/s3_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1); /* a header value: up to its first NUL */
    memcpy(s, data, size);
    s[size] = 0;
    uint8_t md5[16];
    if (s3_parse_content_md5(s, md5) == 0) {
        unsigned char back[25];
        if (strlen(s) != 24 || EVP_EncodeBlock(back, md5, 16) != 24) abort();
        /* 16 bytes are 21 full characters, 2 bits in the 22nd, then "==" */
        if (memcmp(back, s, 21) != 0 || strcmp((char *)back + 22, "==") != 0 ||
            strcmp(s + 22, "==") != 0)
            abort();
    }
    free(s);
    return 0;
}
