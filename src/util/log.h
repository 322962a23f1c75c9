/* Logging to stderr, one line per event, with a level and a timestamp.
 * Never pass a secret (keys, signatures, the master secret) to these. */
#ifndef ORC_UTIL_LOG_H
#define ORC_UTIL_LOG_H

enum orc_log_level { ORC_LOG_DEBUG = 0, ORC_LOG_INFO, ORC_LOG_WARN, ORC_LOG_ERROR };

void orc_log_set_level(int level);
void orc_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_DEBUG(...) orc_log(ORC_LOG_DEBUG, __VA_ARGS__)
#define LOG_INFO(...) orc_log(ORC_LOG_INFO, __VA_ARGS__)
#define LOG_WARN(...) orc_log(ORC_LOG_WARN, __VA_ARGS__)
#define LOG_ERROR(...) orc_log(ORC_LOG_ERROR, __VA_ARGS__)

#endif
