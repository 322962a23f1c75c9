/* The log line format: timestamp, level, one line per event. */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/log.h"

/* Runs fn with stderr going to a temporary file; returns what it wrote. */
static char *capture(void (*fn)(void))
{
    static char out[8192];
    fflush(stderr);
    int saved = dup(2);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    dup2(fileno(tmp), 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(out, 1, sizeof(out) - 1, tmp);
    out[n] = 0;
    fclose(tmp);
    return out;
}

static void assert_lines_match(const char *text, int want_lines)
{
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                             "(debug|info|warn|error) [^ ]",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    int n = 0;
    char *copy = strdup(text), *save = NULL;
    for (char *ln = strtok_r(copy, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save), n++)
        if (regexec(&re, ln, 0, NULL, 0) != 0) fail_msg("not a log line: '%s'", ln);
    free(copy);
    regfree(&re);
    assert_int_equal(n, want_lines);
}

static void log_three(void)
{
    orc_log_set_level(ORC_LOG_DEBUG);
    orc_log(ORC_LOG_INFO, "serving on %s:%d", "127.0.0.1", 9000);
    orc_log_msg(ORC_LOG_WARN, "preformatted 100% (not a format)");
    orc_log(ORC_LOG_ERROR, "x");
}

static void test_every_line_has_timestamp_and_level(void **state)
{
    const char *out = capture(log_three);
    assert_lines_match(out, 3);
    assert_non_null(strstr(out, " info serving on 127.0.0.1:9000\n"));
    assert_non_null(strstr(out, " warn preformatted 100% (not a format)\n"));
    assert_non_null(strstr(out, " error x\n"));
}

/* A library's message, as libmicrohttpd hands it to a logger callback. */
static void mhd_like(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    orc_logv(ORC_LOG_INFO, fmt, ap);
    va_end(ap);
}

static void log_with_newlines(void)
{
    orc_log_set_level(ORC_LOG_DEBUG);
    mhd_like("Connection was closed by %s.\n", "remote side");
    orc_log_msg(ORC_LOG_WARN, "first\nsecond\r\n");
}

static void test_newlines_never_split_a_line(void **state)
{
    const char *out = capture(log_with_newlines);
    assert_lines_match(out, 2);
    assert_non_null(strstr(out, " info Connection was closed by remote side.\n"));
    assert_non_null(strstr(out, " warn first second\n"));
}

static void log_filtered(void)
{
    orc_log_set_level(ORC_LOG_WARN);
    orc_log(ORC_LOG_INFO, "hidden");
    orc_log_msg(ORC_LOG_DEBUG, "hidden too");
    orc_log(ORC_LOG_WARN, "shown");
}

static void test_level_filters(void **state)
{
    const char *out = capture(log_filtered);
    assert_lines_match(out, 1);
    assert_null(strstr(out, "hidden"));
    assert_false(orc_log_enabled(ORC_LOG_INFO));
    assert_true(orc_log_enabled(ORC_LOG_ERROR));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_line_has_timestamp_and_level),
        cmocka_unit_test(test_newlines_never_split_a_line),
        cmocka_unit_test(test_level_filters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
