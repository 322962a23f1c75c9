/* Fuzz target: the Range header parser, against every object size edge. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3/range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = 0;
    static const uint64_t sizes[] = {0, 1, 2, 100, 4096, UINT64_MAX - 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        s3_range r;
        if (s3_range_parse(s, sizes[i], &r) == S3_RANGE_OK &&
            (r.first > r.last || r.last >= sizes[i]))
            abort(); /* a range the GET path would read out of bounds */
    }
    free(s);
    return 0;
}
