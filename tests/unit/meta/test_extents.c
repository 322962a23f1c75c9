/* Unit test of the SQLite store's ranged manifest read (src/meta/sqlite_object.c):
 * a range of an object with 10,000 extents reads only the manifest rows it
 * needs (SQLite's VM step counter, read through the internal header, tells a
 * seek from a scan). What every store returns for a range is the contract's
 * (tests/unit/support/meta_contract_extents.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meta/sqlite_int.h"
#include "support/meta_tmp.h"

#define NEXT 10000 /* manifest rows */
#define NCHUNK 7   /* distinct chunks, cycled: lengths differ, so extents do */

typedef struct fixture {
    char dir[64];
    char path[128];
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
    meta_tmp_open(f->dir, sizeof(f->dir), "/tmp/orchard-ext-XXXXXX", f->path, sizeof(f->path),
                  &f->m);
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
    meta_tmp_remove(f->m, f->dir, f->path);
    free(f);
    return 0;
}

/* VM steps the extent statement took on every idle connection since the
 * last call (the test is single-threaded, so every connection is idle). */
static uint64_t extent_steps(meta *mm)
{
    struct sq_meta *m = (struct sq_meta *)mm;
    uint64_t n = 0;
    pthread_mutex_lock(&m->mu);
    for (struct conn *c = m->idle; c; c = c->next)
        if (c->st[ST_EXTENTS])
            n += (uint64_t)sqlite3_stmt_status(c->st[ST_EXTENTS], SQLITE_STMTSTATUS_VM_STEP, 1);
    pthread_mutex_unlock(&m->mu);
    return n;
}

/* A 1-byte range near the end seeks to its row: a scan of the manifest from
 * the object's start would take steps for each of the 10,000 rows. */
static void test_one_byte_range_reads_only_its_rows(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    meta_object o;
    meta_extent *x;
    size_t n;
    assert_int_equal(meta_object_get(f->m, f->bucket, "big", false, 0, 0, &o, NULL, NULL, &e), 0);
    assert_int_equal(meta_object_extents(f->m, &o, 0, UINT64_MAX, &x, &n, &e), 0);
    free(x);
    uint64_t whole = extent_steps(f->m);
    uint64_t at = f->offs[NEXT - 2] + 2;
    assert_int_equal(meta_object_extents(f->m, &o, at, at + 1, &x, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(x[0].offset, f->offs[NEXT - 2]);
    free(x);
    uint64_t one = extent_steps(f->m);
    assert_true(whole >= NEXT);
    assert_true(one > 0 && one < 200);
    meta_object_dispose(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_byte_range_reads_only_its_rows, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
