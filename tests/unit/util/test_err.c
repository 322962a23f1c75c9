/* orc_err: a detail set by orc_fail_detail travels with the failure when it
 * is passed on, and a later plain orc_fail never inherits a stale one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/err.h"

static void test_detail_is_set_kept_and_cleared(void **s)
{
    (void)s;
    orc_err e = {0}, up = {0};
    assert_int_equal(orc_fail_detail(&e, ORC_EINVAL, ORC_D_INCOMPLETE_BODY, "got %d of %d", 1, 2),
                     ORC_EINVAL);
    assert_int_equal(e.code, ORC_EINVAL);
    assert_int_equal(e.detail, ORC_D_INCOMPLETE_BODY);
    assert_string_equal(e.msg, "got 1 of 2");

    assert_int_equal(orc_fail_copy(&up, ORC_EINVAL, &e), ORC_EINVAL);
    assert_int_equal(up.detail, ORC_D_INCOMPLETE_BODY);
    assert_string_equal(up.msg, "got 1 of 2");

    assert_int_equal(orc_fail(&up, ORC_EIO, "disk"), ORC_EIO);
    assert_int_equal(up.detail, ORC_D_NONE);
    assert_int_equal(orc_fail_detail(NULL, ORC_ECORRUPT, ORC_D_BAD_DIGEST, "x"), ORC_ECORRUPT);
    assert_int_equal(orc_fail_copy(NULL, ORC_ECORRUPT, &e), ORC_ECORRUPT);
    assert_int_equal(orc_fail_copy(&e, ORC_ETRANSIENT, &e), ORC_ETRANSIENT); /* onto itself */
    assert_int_equal(e.code, ORC_ETRANSIENT);
    assert_int_equal(e.detail, ORC_D_INCOMPLETE_BODY);
    assert_string_equal(e.msg, "got 1 of 2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detail_is_set_kept_and_cleared),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
