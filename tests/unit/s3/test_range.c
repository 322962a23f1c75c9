/* s3_range_parse: S3's reading of one Range header against an object size,
 * including the cases where S3 quietly sends the whole object. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "s3/range.h"

#define U64MAX_STR "18446744073709551615"
#define U64OVER_STR "18446744073709551616"

static void expect_ok(const char *hdr, uint64_t size, uint64_t first, uint64_t last)
{
    s3_range r = {0xdead, 0xbeef};
    enum s3_range_result res = s3_range_parse(hdr, size, &r);
    if (res != S3_RANGE_OK)
        fail_msg("%s (size %llu): result %d, want OK", hdr, (unsigned long long)size, (int)res);
    if (r.first != first || r.last != last)
        fail_msg("%s (size %llu): got %llu-%llu, want %llu-%llu", hdr, (unsigned long long)size,
                 (unsigned long long)r.first, (unsigned long long)r.last, (unsigned long long)first,
                 (unsigned long long)last);
}

static void expect_res(const char *hdr, uint64_t size, enum s3_range_result want)
{
    s3_range r = {0xdead, 0xbeef};
    enum s3_range_result res = s3_range_parse(hdr, size, &r);
    if (res != want)
        fail_msg("%s (size %llu): result %d, want %d", hdr ? hdr : "(null)",
                 (unsigned long long)size, (int)res, (int)want);
}

static void test_closed_range_within_object(void **state)
{
    expect_ok("bytes=0-99", 1000, 0, 99);
    expect_ok("bytes=10-10", 1000, 10, 10);
    expect_ok("bytes=999-999", 1000, 999, 999);
}

static void test_open_range_runs_to_end(void **state)
{
    expect_ok("bytes=100-", 1000, 100, 999);
    expect_ok("bytes=0-", 1000, 0, 999);
    expect_ok("bytes=999-", 1000, 999, 999);
}

static void test_suffix_range_is_last_n_bytes(void **state)
{
    expect_ok("bytes=-100", 1000, 900, 999);
    expect_ok("bytes=-1", 1000, 999, 999);
    expect_ok("bytes=-1000", 1000, 0, 999);
}

static void test_suffix_longer_than_object_is_whole_object(void **state)
{
    expect_ok("bytes=-1001", 1000, 0, 999);
    expect_ok("bytes=-" U64MAX_STR, 1000, 0, 999);
    expect_ok("bytes=-5", 1, 0, 0);
}

static void test_last_beyond_size_is_clamped(void **state)
{
    expect_ok("bytes=0-1000", 1000, 0, 999); /* last == size */
    expect_ok("bytes=0-999", 1000, 0, 999);  /* last == size - 1 */
    expect_ok("bytes=500-100000", 1000, 500, 999);
    expect_ok("bytes=0-" U64MAX_STR, 1000, 0, 999);
}

static void test_first_at_or_past_size_is_unsatisfiable(void **state)
{
    expect_res("bytes=1000-", 1000, S3_RANGE_UNSATISFIABLE);
    expect_res("bytes=1000-2000", 1000, S3_RANGE_UNSATISFIABLE);
    expect_res("bytes=5000-6000", 1000, S3_RANGE_UNSATISFIABLE);
    expect_res("bytes=1-1", 1, S3_RANGE_UNSATISFIABLE);
    expect_res("bytes=" U64MAX_STR "-", 1000, S3_RANGE_UNSATISFIABLE);
}

static void test_empty_object_has_no_satisfiable_range(void **state)
{
    expect_res("bytes=0-0", 0, S3_RANGE_UNSATISFIABLE);
    expect_res("bytes=0-", 0, S3_RANGE_UNSATISFIABLE);
    expect_res("bytes=-1", 0, S3_RANGE_UNSATISFIABLE);
    expect_res("bytes=0-99", 0, S3_RANGE_UNSATISFIABLE);
}

static void test_zero_length_suffix_is_unsatisfiable(void **state)
{
    expect_res("bytes=-0", 1000, S3_RANGE_UNSATISFIABLE);
    expect_res("bytes=-00", 1000, S3_RANGE_UNSATISFIABLE);
}

static void test_one_byte_object(void **state)
{
    expect_ok("bytes=0-0", 1, 0, 0);
    expect_ok("bytes=0-", 1, 0, 0);
    expect_ok("bytes=-1", 1, 0, 0);
    expect_ok("bytes=0-1", 1, 0, 0);
}

static void test_first_after_last_is_ignored(void **state)
{
    expect_res("bytes=100-99", 1000, S3_RANGE_IGNORE);
    /* Invalid wins over unsatisfiable: the spec is malformed whatever the size. */
    expect_res("bytes=5000-10", 1000, S3_RANGE_IGNORE);
    expect_res("bytes=1-0", 0, S3_RANGE_IGNORE);
}

static void test_absent_header_is_ignored(void **state)
{
    expect_res(NULL, 1000, S3_RANGE_IGNORE);
    expect_res("", 1000, S3_RANGE_IGNORE);
}

static void test_multiple_ranges_are_ignored(void **state)
{
    expect_res("bytes=0-1,5-6", 1000, S3_RANGE_IGNORE);
    expect_res("bytes=0-1, 5-6", 1000, S3_RANGE_IGNORE);
    expect_res("bytes=-5,0-1", 1000, S3_RANGE_IGNORE);
    expect_res("bytes=0-1,", 1000, S3_RANGE_IGNORE);
}

static void test_other_units_are_ignored(void **state)
{
    expect_res("items=0-1", 1000, S3_RANGE_IGNORE);
    expect_res("byte=0-1", 1000, S3_RANGE_IGNORE);
    expect_res("bytesx=0-1", 1000, S3_RANGE_IGNORE);
    expect_res("0-1", 1000, S3_RANGE_IGNORE);
}

static void test_unit_is_case_insensitive(void **state)
{
    expect_ok("Bytes=0-1", 1000, 0, 1);
    expect_ok("BYTES=2-3", 1000, 2, 3);
}

static void test_garbage_is_ignored(void **state)
{
    static const char *bad[] = {
        "bytes=",      "bytes=-",     "bytes=--5",   "bytes=a-b",   "bytes=1-a",
        "bytes=1",     "bytes=1--2",  "bytes=+1-2",  "bytes=1-+2",  "bytes=-+2",
        "bytes=0x1-2", "bytes=1-2x",  "bytes=1.5-2", "bytes=1-2-3", "bytes=-1-2",
        "bytes 0-1",   "bytes= 0-1",  "bytes =0-1",  "bytes=0 -1",  "bytes=0- 1",
        "bytes=- 1",   "bytes=0-1;x", "bytes=0-1\r", "bytes=\t0-1", "bytes=0-1 x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_res(bad[i], 1000, S3_RANGE_IGNORE);
}

static void test_surrounding_whitespace_is_allowed(void **state)
{
    expect_ok(" bytes=0-1", 1000, 0, 1);
    expect_ok("bytes=0-1 ", 1000, 0, 1);
    expect_ok("\tbytes=-2\t", 1000, 998, 999);
}

/* A position past UINT64_MAX is past any object: clamped like any other
 * last-byte-pos past the end, never a reason to send the whole object. */
static void test_overflowing_numbers_saturate(void **state)
{
    expect_res("bytes=" U64OVER_STR "-", 1000, S3_RANGE_UNSATISFIABLE);
    expect_ok("bytes=0-" U64OVER_STR, 1000, 0, 999);
    expect_ok("bytes=-" U64OVER_STR, 1000, 0, 999);
    expect_ok("bytes=0-99999999999999999999", 1000, 0, 999);
    expect_ok("bytes=0-99999999999999999999999", 1000, 0, 999);
    expect_ok("bytes=10-123456789012345678901234567890", 1000, 10, 999);
    /* 21 digits of a small value are that value */
    expect_ok("bytes=000000000000000000001-", 1000, 1, 999);
}

static void test_twenty_digits_with_leading_zeros_are_accepted(void **state)
{
    expect_ok("bytes=00000000000000000001-00000000000000000002", 1000, 1, 2);
}

static void test_largest_object_size(void **state)
{
    uint64_t max = UINT64_MAX;
    expect_ok("bytes=0-" U64MAX_STR, max, 0, max - 1);
    expect_ok("bytes=18446744073709551614-", max, max - 1, max - 1);
    expect_ok("bytes=-" U64MAX_STR, max, 0, max - 1);
    expect_ok("bytes=-1", max, max - 1, max - 1);
    expect_res("bytes=" U64MAX_STR "-", max, S3_RANGE_UNSATISFIABLE);
    expect_res("bytes=" U64MAX_STR "-" U64MAX_STR, max, S3_RANGE_UNSATISFIABLE);
}

static void test_out_untouched_when_not_ok(void **state)
{
    s3_range r = {7, 8};
    assert_int_equal(s3_range_parse("bytes=9-1", 100, &r), S3_RANGE_IGNORE);
    assert_int_equal(s3_range_parse("bytes=100-", 100, &r), S3_RANGE_UNSATISFIABLE);
    assert_int_equal(r.first, 7);
    assert_int_equal(r.last, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_closed_range_within_object),
        cmocka_unit_test(test_open_range_runs_to_end),
        cmocka_unit_test(test_suffix_range_is_last_n_bytes),
        cmocka_unit_test(test_suffix_longer_than_object_is_whole_object),
        cmocka_unit_test(test_last_beyond_size_is_clamped),
        cmocka_unit_test(test_first_at_or_past_size_is_unsatisfiable),
        cmocka_unit_test(test_empty_object_has_no_satisfiable_range),
        cmocka_unit_test(test_zero_length_suffix_is_unsatisfiable),
        cmocka_unit_test(test_one_byte_object),
        cmocka_unit_test(test_first_after_last_is_ignored),
        cmocka_unit_test(test_absent_header_is_ignored),
        cmocka_unit_test(test_multiple_ranges_are_ignored),
        cmocka_unit_test(test_other_units_are_ignored),
        cmocka_unit_test(test_unit_is_case_insensitive),
        cmocka_unit_test(test_garbage_is_ignored),
        cmocka_unit_test(test_surrounding_whitespace_is_allowed),
        cmocka_unit_test(test_overflowing_numbers_saturate),
        cmocka_unit_test(test_twenty_digits_with_leading_zeros_are_accepted),
        cmocka_unit_test(test_largest_object_size),
        cmocka_unit_test(test_out_untouched_when_not_ok),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
