/* Logging to stderr, one line per event, with a level and a timestamp.
 * Never pass a secret (keys, signatures, the master secret) to these. */
#ifndef ORC_UTIL_LOG_H
#define ORC_UTIL_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum orc_log_level { ORC_LOG_DEBUG = 0, ORC_LOG_INFO, ORC_LOG_WARN, ORC_LOG_ERROR };

void orc_log_set_level(int level);
/* One line: "2024-05-01T12:00:00.123Z LEVEL message" (UTC, milliseconds).
 * Newlines in the message (a trailing one, as libraries add) never split it:
 * trailing ones are dropped, inner ones become spaces. Lines longer than
 * ORC_LOG_MAX are cut. */
void orc_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same from a va_list: for a library's log callback (libmicrohttpd's
 * MHD_OPTION_EXTERNAL_LOGGER hands over fmt and a va_list). */
void orc_logv(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* A message that is already formatted (it is not a format string). */
void orc_log_msg(int level, const char *msg);
/* Whether a message at level would be written now. */
bool orc_log_enabled(int level);

#define ORC_LOG_MAX 1024

#define LOG_DEBUG(...) orc_log(ORC_LOG_DEBUG, __VA_ARGS__)
#define LOG_INFO(...) orc_log(ORC_LOG_INFO, __VA_ARGS__)
#define LOG_WARN(...) orc_log(ORC_LOG_WARN, __VA_ARGS__)
#define LOG_ERROR(...) orc_log(ORC_LOG_ERROR, __VA_ARGS__)

#endif
