/* place/ec.c: any K of K+M fragments rebuild the chunk, byte for byte, for
 * every subset and for lengths that do and do not divide by K; fewer than K
 * is ENOTFOUND; bad parameters are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "place/ec.h"

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

/* Encodes len bytes with k+m, then decodes from every subset of exactly k
 * fragments (and from all of them) and checks the bytes. */
static void roundtrip_all_subsets(int k, int m, size_t len)
{
    orc_err e = {0};
    ec_code *c;
    assert_int_equal(ec_new(k, m, &c, &e), ORC_OK);
    int n = k + m;
    size_t fl = ec_frag_len(c, len);
    assert_true(fl * (size_t)k >= len);
    assert_true(fl * (size_t)(k - 1) < len || len <= (size_t)k);
    uint8_t *data = malloc(len), *out = malloc(len), *frags[EC_MAX_FRAGMENTS];
    fill(data, len, (uint32_t)(len * 31 + (size_t)k));
    for (int i = 0; i < n; i++)
        frags[i] = malloc(fl);
    assert_int_equal(ec_encode(c, data, len, frags, &e), ORC_OK);
    /* systematic: the data fragments are the chunk itself */
    assert_memory_equal(frags[0], data, len < fl ? len : fl);
    for (unsigned mask = 0; mask < (1u << n); mask++) {
        if (__builtin_popcount(mask) != k && mask != (1u << n) - 1) continue;
        bool have[EC_MAX_FRAGMENTS] = {0};
        for (int i = 0; i < n; i++)
            have[i] = mask & (1u << i);
        memset(out, 0xAA, len);
        assert_int_equal(ec_decode(c, (const uint8_t *const *)frags, have, len, out, &e), ORC_OK);
        assert_memory_equal(out, data, len);
    }
    for (int i = 0; i < n; i++)
        free(frags[i]);
    free(data);
    free(out);
    ec_free(c);
}

static void test_4_2_rebuilds_from_any_4(void **state)
{
    (void)state;
    roundtrip_all_subsets(4, 2, 4096);    /* divides by 4 */
    roundtrip_all_subsets(4, 2, 1000003); /* does not: the last fragment is padded */
    roundtrip_all_subsets(4, 2, 3);       /* shorter than K */
}

static void test_other_shapes(void **state)
{
    (void)state;
    roundtrip_all_subsets(1, 1, 777); /* a mirror */
    roundtrip_all_subsets(2, 1, 65537);
    roundtrip_all_subsets(3, 3, 12345);
    roundtrip_all_subsets(6, 3, 100000);
}

static void test_fewer_than_k_is_not_found(void **state)
{
    (void)state;
    orc_err e = {0};
    ec_code *c;
    assert_int_equal(ec_new(4, 2, &c, &e), ORC_OK);
    uint8_t data[100], out[100], *frags[6];
    size_t fl = ec_frag_len(c, sizeof(data));
    fill(data, sizeof(data), 7);
    for (int i = 0; i < 6; i++)
        frags[i] = malloc(fl);
    assert_int_equal(ec_encode(c, data, sizeof(data), frags, &e), ORC_OK);
    bool have[6] = {true, false, true, false, true, false};
    assert_int_equal(ec_decode(c, (const uint8_t *const *)frags, have, sizeof(data), out, &e),
                     ORC_ENOTFOUND);
    assert_non_null(strstr(e.msg, "3 fragments at hand, 4 needed"));
    for (int i = 0; i < 6; i++)
        free(frags[i]);
    ec_free(c);
}

/* A changed fragment changes the rebuilt bytes: the caller's verification
 * (the sealed chunk's tag) is what catches it, so decode must not hide it. */
static void test_a_bad_fragment_shows_in_the_result(void **state)
{
    (void)state;
    orc_err e = {0};
    ec_code *c;
    assert_int_equal(ec_new(4, 2, &c, &e), ORC_OK);
    uint8_t data[4000], out[4000], *frags[6];
    size_t fl = ec_frag_len(c, sizeof(data));
    fill(data, sizeof(data), 9);
    for (int i = 0; i < 6; i++)
        frags[i] = malloc(fl);
    assert_int_equal(ec_encode(c, data, sizeof(data), frags, &e), ORC_OK);
    frags[4][10] ^= 1; /* parity fragment 4, used to rebuild data fragment 0 */
    bool have[6] = {false, true, true, true, true, false};
    assert_int_equal(ec_decode(c, (const uint8_t *const *)frags, have, sizeof(data), out, &e),
                     ORC_OK);
    assert_memory_not_equal(out, data, fl);
    for (int i = 0; i < 6; i++)
        free(frags[i]);
    ec_free(c);
}

static void test_bad_parameters_are_refused(void **state)
{
    (void)state;
    orc_err e = {0};
    ec_code *c = (ec_code *)1;
    assert_int_equal(ec_new(0, 2, &c, &e), ORC_EINVAL);
    assert_null(c);
    assert_int_equal(ec_new(4, 0, &c, &e), ORC_EINVAL);
    assert_int_equal(ec_new(12, 5, &c, &e), ORC_EINVAL);
    assert_non_null(strstr(e.msg, "12+5"));
    assert_int_equal(ec_new(12, 4, &c, &e), ORC_OK);
    assert_int_equal(ec_k(c), 12);
    assert_int_equal(ec_m(c), 4);
    uint8_t b[1], *frags[16] = {0};
    assert_int_equal(ec_encode(c, b, 0, frags, &e), ORC_EINVAL);
    ec_free(c);
    ec_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_4_2_rebuilds_from_any_4),
        cmocka_unit_test(test_other_shapes),
        cmocka_unit_test(test_fewer_than_k_is_not_found),
        cmocka_unit_test(test_a_bad_fragment_shows_in_the_result),
        cmocka_unit_test(test_bad_parameters_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
