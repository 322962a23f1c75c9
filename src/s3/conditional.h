/* Conditional requests: HTTP dates in the three formats HTTP allows, entity
 * tag lists, and S3's precedence rules for If-Match, If-None-Match,
 * If-Modified-Since and If-Unmodified-Since (on GET and HEAD, and as the
 * x-amz-copy-source-if-* headers of CopyObject). Pure functions: no I/O. */
#ifndef ORC_S3_CONDITIONAL_H
#define ORC_S3_CONDITIONAL_H

#include <stdbool.h>
#include <stdint.h>

/* Parses an HTTP-date (RFC 9110 5.6.7): IMF-fixdate "Sun, 06 Nov 1994
 * 08:49:37 GMT", obsolete RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" (two-digit
 * years 70-99 are 19xx, 00-69 20xx) or asctime "Sun Nov  6 08:49:37 1994".
 * Surrounding spaces are allowed; anything else is refused. Returns 0 and
 * seconds since the epoch, or -1. */
int s3_http_date_parse(const char *s, int64_t *out);

/* True if the If-Match / If-None-Match value (a comma-separated list of
 * entity tags, quoted or not, W/ allowed, or "*") names etag (unquoted). "*"
 * matches any existing object. */
bool s3_etag_list_matches(const char *list, const char *etag);

/* The four headers of a request; NULL when absent. */
typedef struct s3_cond {
    const char *if_match, *if_none_match, *if_modified_since, *if_unmodified_since;
} s3_cond;

enum s3_cond_result {
    S3_COND_PASS = 0,         /* serve the object */
    S3_COND_NOT_MODIFIED = 1, /* 304 on GET/HEAD; 412 on CopyObject */
    S3_COND_FAILED = 2,       /* 412 PreconditionFailed */
};

/* Evaluates c against an object as S3 does:
 *  - If-Match false: FAILED. If-Match true: If-Unmodified-Since is ignored.
 *  - else If-Unmodified-Since with the object modified after it: FAILED.
 *  - If-None-Match true: NOT_MODIFIED. If-None-Match false: If-Modified-Since
 *    is ignored.
 *  - else If-Modified-Since with the object not modified after it:
 *    NOT_MODIFIED.
 * Times compare at whole seconds (Last-Modified's resolution). Unparseable
 * dates are ignored, as is an If-Modified-Since later than now_s. */
enum s3_cond_result s3_cond_eval(const s3_cond *c, const char *etag, int64_t mtime_ms,
                                 int64_t now_s);

#endif
