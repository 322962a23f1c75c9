/* utf8_valid: the check that makes a key that is not UTF-8 a 400 InvalidURI
 * rather than a 404 or a listing whose XML no client can parse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/utf8.h"

#define VALID(s) assert_true(utf8_valid(s, sizeof(s) - 1))
#define INVALID(s) assert_false(utf8_valid(s, sizeof(s) - 1))

static void test_accepts_ascii_and_empty(void **state)
{
    VALID("");
    VALID("photos/2024/cat.jpg");
    VALID("a\0b"); /* NUL is UTF-8; the URI decoder refuses it for keys */
}

static void test_accepts_every_sequence_length(void **state)
{
    VALID("\xc3\xa9");             /* U+00E9 */
    VALID("\xe2\x82\xac");         /* U+20AC */
    VALID("\xf0\x9f\x98\x80");     /* U+1F600 */
    VALID("\xf4\x8f\xbf\xbf");     /* U+10FFFF, the last code point */
    VALID("\xef\xbf\xbf\xc2\x80"); /* U+FFFF, U+0080 */
}

static void test_refuses_stray_and_truncated_bytes(void **state)
{
    INVALID("\xae\x8a-"); /* the key S3 answers 400 for */
    INVALID("\x80");
    INVALID("a\xc3");
    INVALID("\xe2\x82");
    INVALID("\xf0\x9f\x98");
    INVALID("\xe2\x28\xa1");
    INVALID("\xff");
    INVALID("\xfe");
}

static void test_refuses_overlong_forms(void **state)
{
    INVALID("\xc0\xaf"); /* '/' in two bytes: a classic path trick */
    INVALID("\xc1\xbf");
    INVALID("\xe0\x80\xaf");
    INVALID("\xe0\x9f\xbf");
    INVALID("\xf0\x80\x80\xaf");
    INVALID("\xf0\x8f\xbf\xbf");
    INVALID("\xc0\x80"); /* "modified UTF-8" NUL */
}

static void test_refuses_surrogates_and_past_max(void **state)
{
    INVALID("\xed\xa0\x80");     /* U+D800 */
    INVALID("\xed\xbf\xbf");     /* U+DFFF */
    VALID("\xed\x9f\xbf");       /* U+D7FF, just below */
    INVALID("\xf4\x90\x80\x80"); /* U+110000 */
    INVALID("\xf5\x80\x80\x80");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_ascii_and_empty),
        cmocka_unit_test(test_accepts_every_sequence_length),
        cmocka_unit_test(test_refuses_stray_and_truncated_bytes),
        cmocka_unit_test(test_refuses_overlong_forms),
        cmocka_unit_test(test_refuses_surrogates_and_past_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
