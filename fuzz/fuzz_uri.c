/* Fuzz target: percent-decoding, and encode/decode round trips. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    orc_buf dec, enc, back;
    orc_buf_init(&dec, 0);
    orc_buf_init(&enc, 0);
    orc_buf_init(&back, 0);
    uri_decode(&dec, (const char *)data, size, NULL);
    if (uri_encode(&enc, (const char *)data, size, size & 1, NULL) == 0 &&
        uri_decode(&back, enc.ptr ? (const char *)enc.ptr : "", enc.len, NULL) == 0 &&
        (back.len != size || (size && memcmp(back.ptr, data, size) != 0)))
        abort();
    orc_buf_dispose(&dec);
    orc_buf_dispose(&enc);
    orc_buf_dispose(&back);
    return 0;
}
