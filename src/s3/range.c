/* The Range header as S3 applies it to GetObject/HeadObject: one byte range,
 * resolved against the object size. Anything S3 would not honour (several
 * ranges, other units, garbage) means "send the whole object", as RFC 9110
 * 14.2 tells a server to do with a Range it does not understand; only a
 * well-formed range that starts past the end is a 416. */
#include "s3/range.h"

#include <stdbool.h>
#include <stddef.h>

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Reads one or more decimal digits at *p into *v, saturating at UINT64_MAX:
 * a position past any object means the same as one just past this object
 * (a last-byte-pos is clamped, a first-byte-pos is past the end, a suffix
 * covers it all), however many digits it has; S3 answers
 * "bytes=0-99999999999999999999999" with 206 too. Advances *p only on success. */
static bool read_u64(const char **p, uint64_t *v)
{
    const char *s = *p;
    uint64_t acc = 0;
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9') {
        unsigned d = (unsigned)(s[n] - '0');
        acc = acc > (UINT64_MAX - d) / 10 ? UINT64_MAX : acc * 10 + d;
        n++;
    }
    if (n == 0) return false;
    *p = s + n;
    *v = acc;
    return true;
}

/* Matches the literal unit "bytes=" (range units are case-insensitive, RFC
 * 9110 14.1). No whitespace around '=' is allowed by the grammar. */
static bool read_unit(const char **p)
{
    static const char unit[] = "bytes=";
    const char *s = *p;
    for (size_t i = 0; i < sizeof(unit) - 1; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != unit[i]) return false;
    }
    *p = s + sizeof(unit) - 1;
    return true;
}

enum s3_range_result s3_range_parse(const char *hdr, uint64_t size, s3_range *out)
{
    if (!hdr) return S3_RANGE_IGNORE;
    const char *p = hdr;
    /* A field value's surrounding OWS is not part of it (RFC 9110 5.5); the
     * HTTP layer usually strips it already. */
    while (is_ows(*p))
        p++;
    if (!read_unit(&p)) return S3_RANGE_IGNORE;

    bool suffix = false;
    uint64_t first = 0, last = 0;
    bool open_end = false;
    if (*p == '-') {
        p++;
        if (!read_u64(&p, &last)) return S3_RANGE_IGNORE;
        suffix = true;
    } else {
        if (!read_u64(&p, &first)) return S3_RANGE_IGNORE;
        if (*p != '-') return S3_RANGE_IGNORE;
        p++;
        if (*p >= '0' && *p <= '9') {
            if (!read_u64(&p, &last)) return S3_RANGE_IGNORE;
        } else {
            open_end = true;
        }
    }
    while (is_ows(*p))
        p++;
    /* Anything left, a ',' for a second range included, makes it a range S3
     * does not serve: the whole object goes out with 200. */
    if (*p != '\0') return S3_RANGE_IGNORE;

    if (suffix) {
        /* "bytes=-0" and any suffix of an empty object select nothing. */
        if (last == 0 || size == 0) return S3_RANGE_UNSATISFIABLE;
        out->first = last >= size ? 0 : size - last;
        out->last = size - 1;
        return S3_RANGE_OK;
    }
    /* first > last is an invalid range-spec, not an unsatisfiable one. */
    if (!open_end && first > last) return S3_RANGE_IGNORE;
    if (first >= size) return S3_RANGE_UNSATISFIABLE;
    out->first = first;
    out->last = (open_end || last >= size) ? size - 1 : last;
    return S3_RANGE_OK;
}
