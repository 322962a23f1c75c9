/* Conditional requests: the three HTTP-date formats, entity tag lists, and
 * S3's precedence between If-Match, If-None-Match, If-Modified-Since and
 * If-Unmodified-Since. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "s3/conditional.h"

#define T1994 784111777 /* Sun, 06 Nov 1994 08:49:37 GMT */

static void expect_date(const char *s, int64_t want)
{
    int64_t got = -12345;
    if (s3_http_date_parse(s, &got) != 0) fail_msg("%s: refused, want %lld", s, (long long)want);
    if (got != want) fail_msg("%s: got %lld, want %lld", s, (long long)got, (long long)want);
}

static void expect_bad_date(const char *s)
{
    int64_t got = -12345;
    if (s3_http_date_parse(s, &got) == 0) fail_msg("%s: accepted as %lld", s, (long long)got);
}

static void test_three_formats_give_the_same_time(void **state)
{
    (void)state;
    expect_date("Sun, 06 Nov 1994 08:49:37 GMT", T1994);
    expect_date("Sunday, 06-Nov-94 08:49:37 GMT", T1994);
    expect_date("Sun Nov  6 08:49:37 1994", T1994);
    expect_date("  Sun, 06 Nov 1994 08:49:37 GMT  ", T1994);
}

static void test_epoch_and_modern_dates(void **state)
{
    (void)state;
    expect_date("Thu, 01 Jan 1970 00:00:00 GMT", 0);
    expect_date("Wed, 31 Dec 1969 23:59:59 GMT", -1);
    expect_date("Tue, 29 Feb 2000 12:00:00 GMT", 951825600);
    expect_date("Fri, 31 Dec 2027 23:59:59 GMT", 1830297599);
    expect_date("Thursday, 01-Jan-70 00:00:00 GMT", 0);
    expect_date("Monday, 01-Jan-24 00:00:00 GMT", 1704067200); /* 2-digit 24 is 2024 */
    expect_date("Mon Jan  1 00:00:00 2024", 1704067200);
    expect_date("Wed Jan 31 00:00:00 2024", 1706659200);
}

static void test_leap_second_and_day_limits(void **state)
{
    (void)state;
    expect_date("Sat, 31 Dec 2016 23:59:60 GMT", 1483228800);
    expect_bad_date("Thu, 29 Feb 2001 00:00:00 GMT");
    expect_bad_date("Mon, 29 Feb 1900 00:00:00 GMT");
    expect_bad_date("Thu, 31 Apr 2024 00:00:00 GMT");
    expect_bad_date("Thu, 00 Apr 2024 00:00:00 GMT");
    expect_bad_date("Thu, 01 Apr 2024 24:00:00 GMT");
    expect_bad_date("Thu, 01 Apr 2024 23:60:00 GMT");
    expect_bad_date("Thu, 01 Apr 2024 23:00:61 GMT");
}

static void test_malformed_dates_are_refused(void **state)
{
    (void)state;
    expect_bad_date(NULL);
    expect_bad_date("");
    expect_bad_date("yesterday");
    expect_bad_date("Sun, 06 Nov 1994 08:49:37 UTC");
    expect_bad_date("Sun, 06 Nov 1994 08:49:37");
    expect_bad_date("Sun, 6 Nov 1994 08:49:37 GMT");
    expect_bad_date("Sun, 06 nov 1994 08:49:37 GMT");
    expect_bad_date("Sun, 06 Nov 94 08:49:37 GMT");
    expect_bad_date("Sun, 06 Nov 1994 8:49:37 GMT");
    expect_bad_date("Sun, 06 Nov 1994 08:49:37 GMT x");
    expect_bad_date("Sunday, 06 Nov 1994 08:49:37 GMT");
    expect_bad_date("Sun, 06-Nov-94 08:49:37 GMT");
    expect_bad_date("Sun Nov 6 08:49:37 1994");
    expect_bad_date("Sun Nov  6 08:49:37 94");
    expect_bad_date("Xyz, 06 Nov 1994 08:49:37 GMT");
    expect_bad_date("2024-01-01T00:00:00Z");
    expect_bad_date("Sun, 06 Nov 1994 08:49:37 GMT\r\n");
}

static void test_etag_lists(void **state)
{
    (void)state;
    const char *et = "9b2cf535f27731c974343645a3985328";
    assert_true(s3_etag_list_matches("\"9b2cf535f27731c974343645a3985328\"", et));
    assert_true(s3_etag_list_matches("9b2cf535f27731c974343645a3985328", et));
    assert_true(s3_etag_list_matches("W/\"9b2cf535f27731c974343645a3985328\"", et));
    assert_true(s3_etag_list_matches("\"aaa\", \"9b2cf535f27731c974343645a3985328\"", et));
    assert_true(s3_etag_list_matches("aaa ,9b2cf535f27731c974343645a3985328 ", et));
    assert_true(s3_etag_list_matches("*", et));
    assert_true(s3_etag_list_matches(" * ", et));
    assert_false(s3_etag_list_matches("\"9b2cf535f27731c974343645a398532\"", et));
    assert_false(s3_etag_list_matches("\"9b2cf535f27731c974343645a3985328", et));
    assert_false(s3_etag_list_matches("\"aaa\"", et));
    assert_false(s3_etag_list_matches("", et));
    assert_false(s3_etag_list_matches("\"\"", et));
    assert_true(s3_etag_list_matches("\"abc-2\"", "abc-2"));
}

static int eval(const char *im, const char *inm, const char *ims, const char *ius, int64_t mtime_s)
{
    s3_cond c = {im, inm, ims, ius};
    return s3_cond_eval(&c, "abc", mtime_s * 1000 + 999, T1994 + 86400 * 365);
}

#define BEFORE "Sat, 05 Nov 1994 08:49:37 GMT"
#define AT "Sun, 06 Nov 1994 08:49:37 GMT"
#define AFTER "Mon, 07 Nov 1994 08:49:37 GMT"

static void test_no_condition_passes(void **state)
{
    (void)state;
    assert_int_equal(eval(NULL, NULL, NULL, NULL, T1994), S3_COND_PASS);
}

static void test_if_match(void **state)
{
    (void)state;
    assert_int_equal(eval("\"abc\"", NULL, NULL, NULL, T1994), S3_COND_PASS);
    assert_int_equal(eval("\"abd\"", NULL, NULL, NULL, T1994), S3_COND_FAILED);
    assert_int_equal(eval("*", NULL, NULL, NULL, T1994), S3_COND_PASS);
}

static void test_if_none_match(void **state)
{
    (void)state;
    assert_int_equal(eval(NULL, "\"abc\"", NULL, NULL, T1994), S3_COND_NOT_MODIFIED);
    assert_int_equal(eval(NULL, "\"abd\"", NULL, NULL, T1994), S3_COND_PASS);
    assert_int_equal(eval(NULL, "*", NULL, NULL, T1994), S3_COND_NOT_MODIFIED);
}

static void test_if_modified_since_at_second_resolution(void **state)
{
    (void)state;
    /* mtime has 999 ms past AT: still "not modified since AT" at whole seconds */
    assert_int_equal(eval(NULL, NULL, AT, NULL, T1994), S3_COND_NOT_MODIFIED);
    assert_int_equal(eval(NULL, NULL, AFTER, NULL, T1994), S3_COND_NOT_MODIFIED);
    assert_int_equal(eval(NULL, NULL, BEFORE, NULL, T1994), S3_COND_PASS);
    assert_int_equal(eval(NULL, NULL, "garbage", NULL, T1994), S3_COND_PASS);
}

static void test_if_modified_since_in_the_future_is_ignored(void **state)
{
    (void)state;
    s3_cond c = {NULL, NULL, AFTER, NULL};
    assert_int_equal(s3_cond_eval(&c, "abc", (int64_t)T1994 * 1000, T1994), S3_COND_PASS);
}

static void test_if_unmodified_since(void **state)
{
    (void)state;
    assert_int_equal(eval(NULL, NULL, NULL, AT, T1994), S3_COND_PASS);
    assert_int_equal(eval(NULL, NULL, NULL, AFTER, T1994), S3_COND_PASS);
    assert_int_equal(eval(NULL, NULL, NULL, BEFORE, T1994), S3_COND_FAILED);
    assert_int_equal(eval(NULL, NULL, NULL, "garbage", T1994), S3_COND_PASS);
}

/* S3: If-Match true and If-Unmodified-Since false -> 200. */
static void test_if_match_true_overrides_unmodified_since(void **state)
{
    (void)state;
    assert_int_equal(eval("\"abc\"", NULL, NULL, BEFORE, T1994), S3_COND_PASS);
    assert_int_equal(eval("\"xyz\"", NULL, NULL, AFTER, T1994), S3_COND_FAILED);
}

/* S3: If-None-Match false (the tag matches) and If-Modified-Since true -> 304;
 * If-None-Match true and If-Modified-Since false -> 200. */
static void test_if_none_match_decides_over_modified_since(void **state)
{
    (void)state;
    assert_int_equal(eval(NULL, "\"abc\"", BEFORE, NULL, T1994), S3_COND_NOT_MODIFIED);
    assert_int_equal(eval(NULL, "\"xyz\"", AFTER, NULL, T1994), S3_COND_PASS);
}

/* 412 conditions are evaluated before 304 ones. */
static void test_failed_precondition_wins_over_not_modified(void **state)
{
    (void)state;
    assert_int_equal(eval("\"xyz\"", "\"abc\"", NULL, NULL, T1994), S3_COND_FAILED);
    assert_int_equal(eval(NULL, "\"abc\"", NULL, BEFORE, T1994), S3_COND_FAILED);
    assert_int_equal(eval(NULL, NULL, AT, BEFORE, T1994), S3_COND_FAILED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_formats_give_the_same_time),
        cmocka_unit_test(test_epoch_and_modern_dates),
        cmocka_unit_test(test_leap_second_and_day_limits),
        cmocka_unit_test(test_malformed_dates_are_refused),
        cmocka_unit_test(test_etag_lists),
        cmocka_unit_test(test_no_condition_passes),
        cmocka_unit_test(test_if_match),
        cmocka_unit_test(test_if_none_match),
        cmocka_unit_test(test_if_modified_since_at_second_resolution),
        cmocka_unit_test(test_if_modified_since_in_the_future_is_ignored),
        cmocka_unit_test(test_if_unmodified_since),
        cmocka_unit_test(test_if_match_true_overrides_unmodified_since),
        cmocka_unit_test(test_if_none_match_decides_over_modified_since),
        cmocka_unit_test(test_failed_precondition_wins_over_not_modified),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
