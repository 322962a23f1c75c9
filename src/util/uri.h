/* Percent-encoding as AWS defines it (RFC 3986 unreserved characters kept:
 * A-Z a-z 0-9 - . _ ~, everything else as %XX with uppercase hex). */
#ifndef ORC_UTIL_URI_H
#define ORC_UTIL_URI_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/* Appends s[0..n) encoded; '/' is kept as is when keep_slash. */
int uri_encode(orc_buf *out, const char *s, size_t n, bool keep_slash, orc_err *e);
/* Appends s[0..n) decoded (%XX; '+' stays '+'). ORC_EINVAL on a bad escape. */
int uri_decode(orc_buf *out, const char *s, size_t n, orc_err *e);
/* The same for a value that goes on as a C string (a key, a bucket, a query
 * value): a decoded NUL (%00) is refused with ORC_EINVAL too, since a NUL
 * would silently cut the value short and make it name something else. */
int uri_decode_text(orc_buf *out, const char *s, size_t n, orc_err *e);

#endif
