/* Fuzz target: x-amz-copy-source (s3_parse_copy_source). An accepted value
 * names a non-empty bucket without '/' and a non-empty key within S3's
 * length, and the canonical encoding of what it named parses back to it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meta/meta.h"
#include "s3/s3_int.h"
#include "util/uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const char *bucket, const char *key)
{
    orc_buf b;
    orc_buf_init(&b, 0);
    if (uri_encode(&b, bucket, strlen(bucket), true, NULL) || orc_buf_append(&b, "/", 1, NULL) ||
        uri_encode(&b, key, strlen(key), false, NULL) || orc_buf_append(&b, "", 1, NULL))
        abort();
    char *b2 = NULL, *k2 = NULL;
    if (s3_parse_copy_source((const char *)b.ptr, &b2, &k2) || strcmp(b2, bucket) != 0 ||
        strcmp(k2, key) != 0)
        abort(); /* what a client would send for this object names it again */
    free(b2);
    free(k2);
    orc_buf_dispose(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1); /* a header value: up to its first NUL */
    memcpy(s, data, size);
    s[size] = 0;
    char *bucket = NULL, *key = NULL;
    if (s3_parse_copy_source(s, &bucket, &key) == 0) {
        if (!bucket[0] || strchr(bucket, '/') || !key[0] || strlen(key) > META_KEY_MAX) abort();
        round_trip(bucket, key);
        free(bucket);
        free(key);
    } else if (bucket || key) {
        abort(); /* a refusal hands nothing out */
    }
    free(s);
    return 0;
}
