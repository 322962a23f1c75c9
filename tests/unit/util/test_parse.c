/* Strict decimal parsing of untrusted numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/parse.h"

static void test_accepts_plain_decimal_up_to_the_limit(void **state)
{
    uint64_t v = 7;
    assert_int_equal(parse_u64("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(parse_u64("18446744073709551615", &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(parse_uint_max("10000", 10000, &v), 0);
    assert_int_equal(v, 10000);
    assert_int_equal(parse_uint_max("0009", 9, &v), 0);
    assert_int_equal(v, 9);
}

static void test_refuses_overflow_signs_spaces_and_empty(void **state)
{
    uint64_t v = 42;
    const char *bad[] = {"",
                         "-1",
                         "+1",
                         " 1",
                         "1 ",
                         "0x10",
                         "1e3",
                         "18446744073709551616",
                         "99999999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse_u64(bad[i], &v), -1);
    assert_int_equal(parse_uint_max("10001", 10000, &v), -1);
    assert_int_equal(parse_uint_max("5", 4, &v), -1);
    assert_int_equal(parse_uint_max(NULL, 4, &v), -1);
    assert_int_equal(v, 42); /* untouched on failure */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_plain_decimal_up_to_the_limit),
        cmocka_unit_test(test_refuses_overflow_signs_spaces_and_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
