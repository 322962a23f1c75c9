/* Clocks and the date formats S3 speaks. */
#ifndef ORC_UTIL_TIME_H
#define ORC_UTIL_TIME_H

#include <stdint.h>
#include <time.h>

int64_t orc_now_ms(void);       /* wall clock, ms since the epoch */
int64_t orc_monotonic_us(void); /* for durations */

/* "Wed, 25 Nov 2026 15:01:30 GMT" (RFC 7231 IMF-fixdate); out >= 30 bytes. */
void orc_time_http(int64_t ms, char *out);
/* "2026-11-25T15:01:30.000Z" (ISO 8601, as S3 listings use); out >= 25 bytes. */
void orc_time_iso8601(int64_t ms, char *out);
/* Parses "20261125T150130Z" (x-amz-date). Returns 0 and seconds since the epoch. */
int orc_time_parse_amz(const char *s, time_t *out);

#endif
