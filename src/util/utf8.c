/* UTF-8 validation (RFC 3629 section 4's table of well-formed byte sequences).
 * Written out by lead byte rather than decoded, so each rule is one line. */
#include "util/utf8.h"

#include <stdint.h>

static bool cont(uint8_t c)
{
    return (c & 0xC0) == 0x80;
}

/* Length of the well-formed sequence at p[0..left), or 0 if there is none. */
static size_t seq_len(const uint8_t *p, size_t left)
{
    uint8_t c = p[0];
    if (c < 0x80) return 1;
    /* The second byte's range depends on the lead: that is what excludes
     * overlong forms (E0, F0), surrogates (ED) and values past U+10FFFF (F4). */
    uint8_t lo = 0x80, hi = 0xBF;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0; /* 80..C1 (continuation or overlong lead) and F5..FF */
    }
    if (left < n || p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (!cont(p[i])) return 0;
    return n;
}

bool utf8_valid(const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    while (n) {
        size_t k = seq_len(p, n);
        if (!k) return false;
        p += k;
        n -= k;
    }
    return true;
}
