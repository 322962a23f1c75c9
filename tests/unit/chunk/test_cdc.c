/* FastCDC chunker: the cut contract (0 = need more data), bounds, stability
 * of cut points across versions, and resistance to shifted content. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chunk/cdc.h"
#include "chunk/seal.h"
#include "util/alloc.h"

static const cdc_params small = {16u << 10, 64u << 10, 256u << 10};
static const cdc_params defaults = {CDC_MIN_DEFAULT, CDC_AVG_DEFAULT, CDC_MAX_DEFAULT};

/* Deterministic pseudo-random bytes (splitmix64), independent of libc. */
static void fill_random(uint8_t *d, size_t n, uint64_t seed)
{
    uint64_t z = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % 8 == 0) {
            seed += 0x9E3779B97F4A7C15ull;
            z = seed;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            z ^= z >> 31;
        }
        d[i] = (uint8_t)(z >> (8 * (i % 8)));
    }
}

/* Splits all of d with the whole remainder visible and eof set. Returns the
 * number of chunks; lens gets their lengths. */
static size_t split_all(const cdc *c, const uint8_t *d, size_t n, size_t *lens, size_t cap)
{
    size_t count = 0;
    for (size_t off = 0; off < n;) {
        size_t m = cdc_cut(c, d + off, n - off, true);
        assert_true(m > 0 && m <= n - off);
        assert_true(count < cap);
        lens[count++] = m;
        off += m;
    }
    assert_int_equal(cdc_cut(c, d + n, 0, true), 0);
    return count;
}

/* Splits d as a streaming caller would: the visible window grows by `step`
 * bytes at a time and eof is only set once everything has arrived. */
static size_t split_streaming(const cdc *c, const uint8_t *d, size_t n, size_t step, size_t *lens,
                              size_t cap)
{
    size_t count = 0, start = 0, have = 0;
    while (start < n) {
        size_t m = cdc_cut(c, d + start, have - start, have == n);
        if (m == 0) {
            assert_true(have < n);
            have = have + step < n ? have + step : n;
            continue;
        }
        assert_true(count < cap);
        lens[count++] = m;
        start += m;
        if (have < start) have = start;
    }
    return count;
}

static void test_cdc_same_input_gives_same_cuts(void **state)
{
    size_t n = 4u << 20, cap = n / small.min + 2;
    uint8_t *d = orc_malloc(n);
    size_t *a = orc_calloc(cap, sizeof(*a)), *b = orc_calloc(cap, sizeof(*b));
    fill_random(d, n, 1);
    cdc c;
    cdc_init(&c, &small);

    size_t na = split_all(&c, d, n, a, cap);
    size_t nb = split_all(&c, d, n, b, cap);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof(*a));

    /* A caller feeding odd-sized pieces must see exactly the same cuts. */
    memset(b, 0, cap * sizeof(*b));
    nb = split_streaming(&c, d, n, 7919, b, cap);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof(*a));
    free(a);
    free(b);
    free(d);
}

static void test_cdc_chunks_within_min_max_except_last(void **state)
{
    const cdc_params *ps[] = {&small, &defaults};
    size_t n = 24u << 20;
    uint8_t *d = orc_malloc(n);
    fill_random(d, n, 2);
    for (size_t k = 0; k < 2; k++) {
        size_t cap = n / ps[k]->min + 2;
        size_t *lens = orc_calloc(cap, sizeof(*lens));
        cdc c;
        cdc_init(&c, ps[k]);
        size_t count = split_all(&c, d, n, lens, cap);
        assert_true(count > 2);
        for (size_t i = 0; i + 1 < count; i++) {
            assert_true(lens[i] >= ps[k]->min);
            assert_true(lens[i] <= ps[k]->max);
        }
        assert_true(lens[count - 1] <= ps[k]->max);
        free(lens);
    }
    free(d);
}

static void test_cdc_mean_chunk_size_is_near_avg(void **state)
{
    size_t n = 32u << 20, cap = n / small.min + 2;
    uint8_t *d = orc_malloc(n);
    size_t *lens = orc_calloc(cap, sizeof(*lens));
    fill_random(d, n, 3);
    cdc c;
    cdc_init(&c, &small);
    size_t count = split_all(&c, d, n, lens, cap);
    size_t mean = n / count;
    /* Normalized chunking keeps the mean close to avg (a little above it,
     * since nothing is cut before min). Swapped or mis-sized masks miss. */
    assert_true(mean > small.avg * 3 / 4);
    assert_true(mean < small.avg * 3 / 2);
    free(lens);
    free(d);
}

static void test_cdc_returns_zero_until_decided(void **state)
{
    size_t n = small.max * 2;
    uint8_t *d = orc_malloc(n);
    fill_random(d, n, 4);
    cdc c;
    cdc_init(&c, &small);

    assert_int_equal(cdc_cut(&c, d, 0, true), 0);
    assert_int_equal(cdc_cut(&c, d, 0, false), 0);
    /* Up to min nothing can be decided without eof; with eof it is the rest. */
    assert_int_equal(cdc_cut(&c, d, 1, false), 0);
    assert_int_equal(cdc_cut(&c, d, small.min, false), 0);
    assert_int_equal(cdc_cut(&c, d, 1, true), 1);
    assert_int_equal(cdc_cut(&c, d, small.min, true), small.min);

    /* A cut, once found, does not depend on how much more is visible, and
     * one byte less than the cut is not enough to decide. */
    size_t cut = cdc_cut(&c, d, n, false);
    assert_true(cut > small.min && cut <= small.max);
    assert_int_equal(cdc_cut(&c, d, cut, false), cut);
    assert_int_equal(cdc_cut(&c, d, cut, true), cut);
    if (cut < small.max) {
        assert_int_equal(cdc_cut(&c, d, cut - 1, false), 0);
        assert_int_equal(cdc_cut(&c, d, cut - 1, true), cut - 1);
    }
    free(d);
}

static void test_cdc_cuts_at_max_without_cut_point(void **state)
{
    /* All-zero input never matches a mask (the gear hash settles on
     * -gear[0]), so chunks are forced at max and the tail is what is left. */
    size_t n = 3 * small.max + 1000;
    uint8_t *d = orc_calloc(n, 1);
    cdc c;
    cdc_init(&c, &small);
    assert_int_equal(cdc_cut(&c, d, n, false), small.max);
    assert_int_equal(cdc_cut(&c, d, small.max, false), small.max);
    assert_int_equal(cdc_cut(&c, d, small.max - 1, false), 0);
    assert_int_equal(cdc_cut(&c, d, small.max - 1, true), small.max - 1);
    size_t lens[8];
    size_t count = split_all(&c, d, n, lens, 8);
    assert_int_equal(count, 4);
    assert_int_equal(lens[0], small.max);
    assert_int_equal(lens[2], small.max);
    assert_int_equal(lens[3], 1000);
    free(d);
}

/* The gear table and mask layout must never change: stored data would stop
 * deduplicating against new writes. These cut lengths were computed once. */
static void test_cdc_cut_points_are_pinned(void **state)
{
    static const size_t want_small[] = {81231,  66598, 60065, 82342, 77423,
                                        126596, 71315, 54053, 80564, 96114};
    static const size_t want_default[] = {5170304, 4631794, 1939034, 5036084};
    size_t n = 16u << 20;
    uint8_t *d = orc_malloc(n);
    size_t lens[1024];
    fill_random(d, n, 42);
    cdc c;

    cdc_init(&c, &small);
    size_t count = split_all(&c, d, n, lens, 1024);
    size_t m = sizeof(want_small) / sizeof(want_small[0]);
    assert_true(count >= m);
    for (size_t i = 0; i < m; i++)
        assert_int_equal(lens[i], want_small[i]);

    cdc_init(&c, &defaults);
    count = split_all(&c, d, n, lens, 1024);
    m = sizeof(want_default) / sizeof(want_default[0]);
    assert_true(count >= m);
    for (size_t i = 0; i < m; i++)
        assert_int_equal(lens[i], want_default[i]);
    free(d);
}

static int cmp_hash(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

static size_t chunk_hashes(const cdc *c, const uint8_t *d, size_t n, uint8_t (*hs)[32], size_t cap)
{
    size_t *lens = orc_calloc(cap, sizeof(*lens));
    size_t count = split_all(c, d, n, lens, cap);
    size_t off = 0;
    for (size_t i = 0; i < count; i++) {
        chunk_hash(d + off, lens[i], hs[i]);
        off += lens[i];
    }
    free(lens);
    return count;
}

static void test_cdc_insert_at_front_keeps_most_chunks(void **state)
{
    size_t n = 64u << 20, cap = n / small.min + 2;
    uint8_t *d = orc_malloc(n + 1);
    uint8_t(*ha)[32] = orc_calloc(cap, 32);
    uint8_t(*hb)[32] = orc_calloc(cap, 32);
    fill_random(d + 1, n, 5);
    d[0] = 0x5a;
    cdc c;
    cdc_init(&c, &small);

    size_t na = chunk_hashes(&c, d + 1, n, ha, cap);
    size_t nb = chunk_hashes(&c, d, n + 1, hb, cap);
    qsort(ha, na, 32, cmp_hash);
    size_t shared = 0;
    for (size_t i = 0; i < nb; i++)
        shared += bsearch(hb[i], ha, na, 32, cmp_hash) != NULL;
    /* Only the first chunk or two should differ. */
    assert_true(na > 500);
    assert_true(shared * 100 >= nb * 90);
    assert_true(shared + 3 >= nb);
    free(ha);
    free(hb);
    free(d);
}

static void test_cdc_params_check_rejects_bad_values(void **state)
{
    orc_err e = {0};
    assert_int_equal(cdc_params_check(&defaults, &e), ORC_OK);
    assert_int_equal(cdc_params_check(&small, &e), ORC_OK);
    cdc_params edge = {CDC_LIMIT_MIN, 128, CDC_LIMIT_MAX};
    assert_int_equal(cdc_params_check(&edge, &e), ORC_OK);

    static const struct {
        cdc_params p;
        const char *named; /* the bad value the message must mention */
    } bad[] = {
        {{63, 1024, 4096}, "63"},
        {{0, 1024, 4096}, "min 0"},
        {{1024, 4096, CDC_LIMIT_MAX + 1}, "67108865"},
        {{1024, 3000, 8192}, "3000"},
        {{1024, 1024, 8192}, "avg 1024"},
        {{1024, 8192, 8192}, "avg 8192"},
        {{4096, 2048, 8192}, "avg 2048"},
        {{1024, 0, 8192}, "avg 0"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&e, 0, sizeof(e));
        assert_int_equal(cdc_params_check(&bad[i].p, &e), ORC_EINVAL);
        assert_int_equal(e.code, ORC_EINVAL);
        assert_non_null(strstr(e.msg, bad[i].named));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cdc_same_input_gives_same_cuts),
        cmocka_unit_test(test_cdc_chunks_within_min_max_except_last),
        cmocka_unit_test(test_cdc_mean_chunk_size_is_near_avg),
        cmocka_unit_test(test_cdc_returns_zero_until_decided),
        cmocka_unit_test(test_cdc_cuts_at_max_without_cut_point),
        cmocka_unit_test(test_cdc_cut_points_are_pinned),
        cmocka_unit_test(test_cdc_insert_at_front_keeps_most_chunks),
        cmocka_unit_test(test_cdc_params_check_rejects_bad_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
