/* Fuzz target: the streaming CompleteMultipartUpload body parser. Whatever
 * it accepts must list 1 to META_PART_MAX parts with bounded fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3/complete_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s3_complete_list l;
    enum s3_error err = s3_complete_parse((const char *)data, size, &l);
    if (err == S3E_NONE) {
        if (l.n == 0 || l.n > META_PART_MAX) abort();
        for (size_t i = 0; i < l.n; i++)
            if (strlen(l.v[i].etag) >= sizeof(l.v[i].etag) || l.v[i].number < 0 ||
                l.v[i].number > META_PART_MAX + 1)
                abort();
    } else if (err != S3E_MALFORMED_XML && err != S3E_INVALID_PART) {
        abort();
    }
    s3_complete_list_free(&l);
    return 0;
}
