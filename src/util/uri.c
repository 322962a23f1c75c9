/* Percent-encoding as AWS SigV4 defines it. Both directions measure first and
 * write second, so the output buffer is untouched when the input is rejected and
 * grows once per call. */
#include "util/uri.h"

#include <stdint.h>

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int uri_encode(orc_buf *out, const char *s, size_t n, bool keep_slash, orc_err *e)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t need = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        /* Each step adds at most 3, and need <= 3 * i stays below SIZE_MAX for any
         * n that fits in memory; check anyway, the input size is the network's. */
        if (need > SIZE_MAX - 3) return orc_fail(e, ORC_ENOSPC, "string too long to encode");
        need += (unreserved(c) || (keep_slash && c == '/')) ? 1 : 3;
    }
    int rc = orc_buf_reserve(out, need, e);
    if (rc) return rc;
    uint8_t *p = out->ptr + out->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            *p++ = c;
        } else {
            *p++ = '%';
            *p++ = (uint8_t)digits[c >> 4];
            *p++ = (uint8_t)digits[c & 15];
        }
    }
    out->len += need;
    out->ptr[out->len] = 0;
    return ORC_OK;
}

static int decode(orc_buf *out, const char *s, size_t n, bool text, orc_err *e)
{
    size_t need = 0;
    for (size_t i = 0; i < n; i++, need++) {
        if (s[i] != '%') {
            if (text && s[i] == 0) return orc_fail(e, ORC_EINVAL, "NUL byte at offset %zu", i);
            continue;
        }
        if (n - i < 3 || hexval((unsigned char)s[i + 1]) < 0 || hexval((unsigned char)s[i + 2]) < 0)
            return orc_fail(e, ORC_EINVAL, "bad percent-escape at offset %zu", i);
        if (text && s[i + 1] == '0' && s[i + 2] == '0')
            return orc_fail(e, ORC_EINVAL, "encoded NUL (%%00) at offset %zu", i);
        i += 2;
    }
    int rc = orc_buf_reserve(out, need, e);
    if (rc) return rc;
    uint8_t *p = out->ptr + out->len;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            *p++ =
                (uint8_t)(hexval((unsigned char)s[i + 1]) << 4 | hexval((unsigned char)s[i + 2]));
            i += 2;
        } else {
            *p++ = (uint8_t)s[i]; /* '+' stays '+': S3 clients never send it for space */
        }
    }
    out->len += need;
    out->ptr[out->len] = 0;
    return ORC_OK;
}

int uri_decode(orc_buf *out, const char *s, size_t n, orc_err *e)
{
    return decode(out, s, n, false, e);
}

int uri_decode_text(orc_buf *out, const char *s, size_t n, orc_err *e)
{
    return decode(out, s, n, true, e);
}
