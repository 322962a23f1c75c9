/* Multipart query values and headers, parsed strictly: each is bounded
 * (util/parse.h) so that no client text overflows or wraps a number. */
#include "s3/multipart_parse.h"

#include <stdio.h>
#include <string.h>

#include "object/object.h"
#include "util/parse.h"

int s3_mp_parse_part_number(const char *s, int *out)
{
    uint64_t v;
    if (!s || parse_uint_max(s, META_PART_MAX, &v) || v < 1) return -1;
    *out = (int)v;
    return 0;
}

int s3_mp_parse_max(const char *s, size_t *out)
{
    uint64_t v;
    if (!s) return 0;
    if (parse_uint_max(s, UINT32_MAX, &v)) return -1;
    *out = v > S3_MP_LIST_MAX ? S3_MP_LIST_MAX : (size_t)v;
    return 0;
}

int s3_mp_parse_copy_range(const char *v, uint64_t *first, uint64_t *last)
{
    char a[24], b[24];
    if (strncmp(v, "bytes=", 6) != 0) return -1;
    v += 6;
    const char *dash = strchr(v, '-');
    if (!dash || (size_t)(dash - v) >= sizeof(a) || strlen(dash + 1) >= sizeof(b)) return -1;
    memcpy(a, v, (size_t)(dash - v));
    a[dash - v] = 0;
    snprintf(b, sizeof(b), "%s", dash + 1);
    if (parse_uint_max(a, UINT64_MAX, first) || parse_uint_max(b, UINT64_MAX, last)) return -1;
    return *first <= *last ? 0 : -1;
}
