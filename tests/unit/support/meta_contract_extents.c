/* The metadata store contract (meta_contract.h), ranged manifest reads
 * (meta_object_extents and the range of meta_object_get): a range of an
 * object with 10,000 extents returns exactly the extents overlapping it, and
 * a version replaced between the object read and the extent read is refused
 * rather than mixed. (That SQLite reads only those rows is
 * tests/unit/meta/test_extents.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meta/meta.h"
#include "support/meta_contract.h"

#define NEXT 10000 /* manifest rows */
#define NCHUNK 7   /* distinct chunks, cycled: lengths differ, so extents do */

typedef struct fixture {
    void *ctx; /* the implementation's, for close */
    meta *m;
    int64_t bucket;
    int64_t chunk[NCHUNK];
    uint32_t len[NCHUNK];
    int64_t ids[NEXT];
    uint64_t offs[NEXT];
    uint64_t size;
} fixture;

static int64_t live_chunk(fixture *f, int i, uint32_t plain_len, uint32_t prov)
{
    uint8_t h[32] = {(uint8_t)i, 0x5a};
    meta_chunk k;
    bool is_new = false;
    orc_err e = {0};
    assert_int_equal(
        meta_chunk_claim(f->m, h, plain_len, plain_len + 28, 1, 1, NULL, &k, &is_new, &e), ORC_OK);
    assert_int_equal(meta_chunk_commit(f->m, k.id, &prov, NULL, 1, &e), ORC_OK);
    return k.id;
}

/* Puts key as chunk ids[i] at offs[i] for the first n extents. */
static void put(fixture *f, const char *key, const char *etag, size_t n, uint64_t size)
{
    orc_err e = {0};
    meta_object_new o = {.key = key,
                         .size = size,
                         .etag = etag,
                         .mtime_ms = 1234,
                         .chunk_ids = f->ids,
                         .offsets = f->offs,
                         .nchunks = n};
    int64_t id;
    assert_int_equal(meta_object_put(f->m, f->bucket, &o, &id, &e), ORC_OK);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    orc_err e = {0};
    int64_t owner;
    uint32_t prov;
    meta_bucket b;
    meta_contract_open(&f->m, &f->ctx);
    assert_int_equal(meta_user_add(f->m, "u", "AKU", (const uint8_t *)"s", 1, &owner, &e), 0);
    assert_int_equal(meta_bucket_create(f->m, "b", owner, "us-east-1", &e), ORC_OK);
    assert_int_equal(meta_bucket_get(f->m, "b", &b, &e), ORC_OK);
    f->bucket = b.id;
    assert_int_equal(meta_provider_id(f->m, "disk", &prov, &e), ORC_OK);
    for (int i = 0; i < NCHUNK; i++)
        f->chunk[i] = live_chunk(f, i, f->len[i] = 10 + (uint32_t)i * 3, prov);
    for (size_t i = 0; i < NEXT; i++) {
        f->ids[i] = f->chunk[i % NCHUNK];
        f->offs[i] = f->size;
        f->size += f->len[i % NCHUNK];
    }
    put(f, "big", "e1", NEXT, f->size);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    meta_contract_close(f->m, f->ctx);
    free(f);
    return 0;
}

/* Checks x[0..n) is exactly the extents overlapping [from, to). */
static void assert_overlapping(fixture *f, uint64_t from, uint64_t to, const meta_extent *x,
                               size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < NEXT; i++) {
        uint64_t end = f->offs[i] + f->len[i % NCHUNK];
        if (f->offs[i] >= to || end <= from) continue;
        assert_true(k < n);
        assert_int_equal(x[k].offset, f->offs[i]);
        assert_int_equal(x[k].chunk.id, f->ids[i]);
        assert_int_equal(x[k].chunk.plain_len, f->len[i % NCHUNK]);
        assert_int_equal(x[k].chunk.ncopies, 1);
        k++;
    }
    assert_int_equal(n, k);
}

static void test_range_returns_exactly_the_overlapping_extents(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    meta_object o;
    meta_extent *x;
    size_t n;
    const uint64_t k = 5003, a = f->offs[k], b = f->offs[k + 1], z = f->size;
    const struct {
        uint64_t from, to;
        size_t n;
    } cases[] = {
        {a + 1, a + 3, 1}, /* inside one extent */
        {a, b, 1},         /* exactly one extent */
        {a, a + 1, 1},     /* an extent's first byte */
        {b - 1, b, 1},     /* an extent's last byte */
        {b - 1, b + 1, 2}, /* spanning two */
        {a - 1, b + 1, 3}, /* the last byte before, one extent, the first after */
        {0, 1, 1},         /* the object's first byte */
        {z - 1, z, 1},     /* the object's last byte */
        {z - 1, UINT64_MAX, 1},
        {0, z, NEXT},          /* whole */
        {0, UINT64_MAX, NEXT}, /* whole, open-ended */
        {z, UINT64_MAX, 0},    /* past the end */
        {a, a, 0},             /* empty */
    };
    assert_int_equal(meta_object_get(f->m, f->bucket, "big", false, 0, 0, &o, NULL, NULL, &e), 0);
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        assert_int_equal(meta_object_extents(f->m, &o, cases[c].from, cases[c].to, &x, &n, &e), 0);
        assert_int_equal(n, cases[c].n);
        assert_overlapping(f, cases[c].from, cases[c].to, x, n);
        free(x);
        /* meta_object_get's range goes through the same query. */
        meta_object g;
        assert_int_equal(meta_object_get(f->m, f->bucket, "big", true, cases[c].from, cases[c].to,
                                         &g, &x, &n, &e),
                         0);
        assert_overlapping(f, cases[c].from, cases[c].to, x, n);
        free(x);
        meta_object_dispose(&g);
    }
    meta_object_dispose(&o);
}

/* Ids are reused, so a replaced version is known by its ETag, size and time
 * too: reading its extents is refused, never answered with the new one's. */
static void test_replaced_or_deleted_version_is_refused(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    meta_object v1, v2;
    meta_extent *x;
    size_t n;
    put(f, "k", "v1", 3, f->offs[3]);
    assert_int_equal(meta_object_get(f->m, f->bucket, "k", false, 0, 0, &v1, NULL, NULL, &e), 0);
    put(f, "k", "v2", 2, f->offs[2]);
    assert_int_equal(meta_object_get(f->m, f->bucket, "k", false, 0, 0, &v2, NULL, NULL, &e), 0);
    assert_int_equal(meta_object_extents(f->m, &v1, 0, UINT64_MAX, &x, &n, &e), ORC_ECONFLICT);
    assert_null(x);
    assert_int_equal(n, 0);
    /* The current row's id with another ETag (or size) is another version. */
    meta_object fake = v2;
    snprintf(fake.etag, sizeof(fake.etag), "v1");
    assert_int_equal(meta_object_extents(f->m, &fake, 0, UINT64_MAX, &x, &n, &e), ORC_ECONFLICT);
    fake = v2;
    fake.size = f->offs[3];
    assert_int_equal(meta_object_extents(f->m, &fake, 0, UINT64_MAX, &x, &n, &e), ORC_ECONFLICT);
    assert_int_equal(meta_object_extents(f->m, &v2, 0, UINT64_MAX, &x, &n, &e), ORC_OK);
    assert_int_equal(n, 2);
    free(x);
    assert_int_equal(meta_object_delete(f->m, f->bucket, "k", &e), ORC_OK);
    assert_int_equal(meta_object_extents(f->m, &v2, 0, UINT64_MAX, &x, &n, &e), ORC_ECONFLICT);
    meta_object_dispose(&v1);
    meta_object_dispose(&v2);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_range_returns_exactly_the_overlapping_extents, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_replaced_or_deleted_version_is_refused, setup, teardown),
};

const meta_contract_group meta_contract_extents = {"ranged manifest reads", tests,
                                                   sizeof(tests) / sizeof(tests[0])};
