/* UTF-8 validation as RFC 3629 defines it: what S3 requires of an object key
 * (and what a listing's XML, declared UTF-8, must hold). */
#ifndef ORC_UTIL_UTF8_H
#define ORC_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..n) is well-formed UTF-8: no overlong forms, no surrogates
 * (U+D800..U+DFFF), nothing past U+10FFFF, no truncated sequence. NUL bytes
 * are valid UTF-8; callers that need C strings refuse them separately. */
bool utf8_valid(const char *s, size_t n);

#endif
