/* The fake provider the object and placement tests run over
 * (fakes/fake_provider.h) keeps the provider contract every real provider
 * keeps (support/provider_contract.h), and its scripted faults do what they
 * say, so that a test over it tests the layer above and not the fake. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fakes/fake_provider.h"
#include "support/provider_contract.h"
#include "util/time.h"

static int setup(void **state)
{
    *state = fake_provider_new("fk");
    return 0;
}

static int teardown(void **state)
{
    provider_free(*state);
    return 0;
}

static void test_contract_round_trip(void **state)
{
    contract_round_trip(*state);
}

static void test_contract_empty(void **state)
{
    contract_empty(*state);
}

static void test_contract_ranges(void **state)
{
    contract_ranges(*state);
}

static void test_contract_missing(void **state)
{
    contract_missing(*state, true);
}

static void test_contract_delete_head(void **state)
{
    contract_delete_head(*state, true);
}

static void test_scripted_failures_delay_hang_and_corruption(void **state)
{
    provider *p = *state;
    uint8_t data[100];
    char name[65];
    orc_buf out;
    orc_err e = {0};
    contract_pattern(data, sizeof(data), 9);
    contract_name("script", 0, name);
    orc_buf_init(&out, 0);

    fake_fail_next(p, FAKE_PUT, 2, ORC_EIO);
    assert_int_equal(provider_put(p, name, data, sizeof(data), &e), ORC_EIO);
    assert_int_equal(provider_put(p, name, data, sizeof(data), &e), ORC_EIO);
    assert_false(fake_has(p, name));
    contract_put_ok(p, name, data, sizeof(data)); /* the third goes through */
    assert_int_equal(fake_calls(p, FAKE_PUT), 3);
    assert_int_equal(fake_count(p), 1);
    assert_int_equal(fake_bytes(p), sizeof(data));

    fake_set_fail(p, ORC_ETRANSIENT);
    assert_int_equal(provider_get(p, name, 0, UINT64_MAX, &out, &e), ORC_ETRANSIENT);
    fake_set_fail(p, 0);

    fake_set_delay(p, FAKE_GET, 50);
    int64_t t0 = orc_monotonic_us();
    contract_check_range(p, name, data, 0, UINT64_MAX, sizeof(data));
    assert_true(orc_monotonic_us() - t0 >= 50 * 1000);
    fake_set_delay(p, FAKE_GET, 0);

    provider_set_deadline(p, 100, 1);
    fake_set_hang(p, FAKE_HEAD, true);
    uint64_t size;
    t0 = orc_monotonic_us();
    assert_int_equal(provider_head(p, name, &size, &e), ORC_ETRANSIENT);
    int64_t took = orc_monotonic_us() - t0;
    assert_true(took >= 100 * 1000 && took < 2000 * 1000);
    fake_set_hang(p, FAKE_HEAD, false);

    fake_set_corrupt(p, true);
    orc_buf_reset(&out);
    assert_int_equal(provider_get(p, name, 0, UINT64_MAX, &out, &e), ORC_OK);
    assert_int_equal(out.len, sizeof(data));
    assert_memory_not_equal(out.ptr, data, sizeof(data));
    fake_set_corrupt(p, false);
    assert_true(fake_corrupt_blob(p, name)); /* now the stored bytes themselves */
    contract_name("script", 1, name);
    assert_false(fake_corrupt_blob(p, name));
    orc_buf_dispose(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_contract_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contract_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contract_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contract_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contract_delete_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scripted_failures_delay_hang_and_corruption, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
