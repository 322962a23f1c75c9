/* stderr logger. One fprintf per line so lines from threads do not interleave. */
#include "util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static _Atomic int min_level = ORC_LOG_INFO;

void orc_log_set_level(int level)
{
    min_level = level;
}

bool orc_log_enabled(int level)
{
    return level >= min_level;
}

void orc_log_msg(int level, const char *msg)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (level < min_level) return;
    char line[ORC_LOG_MAX];
    snprintf(line, sizeof(line), "%s", msg);
    /* One event, one line: a line-oriented reader (journald, grep) must never
     * see a continuation without timestamp and level. */
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = 0;
    for (size_t i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r') line[i] = ' ';
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s\n", tm.tm_year + 1900,
            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
            names[level < 0   ? 0
                  : level > 3 ? 3
                              : level],
            line);
}

void orc_logv(int level, const char *fmt, va_list ap)
{
    if (level < min_level) return;
    char line[ORC_LOG_MAX];
    vsnprintf(line, sizeof(line), fmt, ap);
    orc_log_msg(level, line);
}

void orc_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    orc_logv(level, fmt, ap);
    va_end(ap);
}
