/* The metadata store contract (meta_contract.h), pending copies and request
 * start times (issue 9): copies recorded PENDING before they are written, so
 * the collector knows every provider that may hold bytes; "latest request
 * start wins" in the version switch of a PUT, a copy and a multipart
 * complete; the under-replicated count of what repair repairs. (The
 * migration of a version 3 SQLite database is in tests/unit/meta/test_sqlite.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/meta_contract.h"

#include "meta/meta.h"

typedef struct fixture {
    void *ctx; /* the implementation's, for close */
    meta *m;
    int64_t bucket;
    uint32_t prov[3];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    orc_err e = {0};
    int64_t owner;
    meta_contract_open(&f->m, &f->ctx);
    assert_int_equal(meta_user_add(f->m, "bob", "AKBOB", (const uint8_t *)"s", 1, &owner, &e), 0);
    assert_int_equal(meta_bucket_create(f->m, "docs", owner, "us-east-1", &e), 0);
    meta_bucket b;
    assert_int_equal(meta_bucket_get(f->m, "docs", &b, &e), 0);
    f->bucket = b.id;
    const char *names[] = {"p0", "p1", "p2"};
    for (int i = 0; i < 3; i++)
        assert_int_equal(meta_provider_id(f->m, names[i], &f->prov[i], &e), 0);
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

static int64_t claim(fixture *f, uint8_t tag, meta_chunk *k)
{
    uint8_t h[32];
    bool is_new = false;
    orc_err e = {0};
    memset(h, tag, sizeof(h));
    assert_int_equal(meta_chunk_claim(f->m, h, 10, 38, 1, 1, NULL, k, &is_new, &e), 0);
    assert_true(is_new);
    return k->id;
}

static void put(fixture *f, const char *key, const char *etag, int64_t chunk, int64_t start,
                int64_t *id)
{
    uint64_t off = 0;
    orc_err e = {0};
    meta_object_new o = {.key = key,
                         .size = chunk ? 10 : 0,
                         .etag = etag,
                         .mtime_ms = 1,
                         .chunk_ids = &chunk,
                         .offsets = &off,
                         .nchunks = chunk ? 1 : 0,
                         .start_ms = start};
    assert_int_equal(meta_object_put(f->m, f->bucket, &o, id, &e), 0);
}

static void current_etag(fixture *f, const char *key, char *out)
{
    meta_object o;
    orc_err e = {0};
    assert_int_equal(meta_object_get(f->m, f->bucket, key, false, 0, 0, &o, NULL, NULL, &e), 0);
    strcpy(out, o.etag);
    meta_object_dispose(&o);
}

/* The collector sees a copy whose write never confirmed; readers do not. */
static void test_pending_copy_is_collected_but_never_read(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    meta_chunk k;
    int64_t id = claim(f, 1, &k);
    assert_int_equal(meta_chunk_copies_pending(f->m, id, f->prov, NULL, 2, &e), 0);
    assert_int_equal(meta_chunk_commit(f->m, id, &f->prov[1], NULL, 1, &e), 0);

    int64_t obj;
    put(f, "k", "e1", id, 0, &obj);
    meta_object o;
    meta_extent *x = NULL;
    size_t nx = 0;
    assert_int_equal(meta_object_get(f->m, f->bucket, "k", true, 0, UINT64_MAX, &o, &x, &nx, &e),
                     0);
    assert_int_equal(nx, 1);
    assert_int_equal(x[0].chunk.ncopies, 1); /* only the live one is read */
    assert_int_equal(x[0].chunk.copies[0], f->prov[1]);
    free(x);
    meta_object_dispose(&o);
    uint64_t chunks = 1, bytes = 1;
    assert_int_equal(meta_provider_usage(f->m, f->prov[0], &chunks, &bytes, &e), 0);
    assert_int_equal(chunks, 0);

    assert_int_equal(meta_object_delete(f->m, f->bucket, "k", &e), 0);
    meta_chunk *cs = NULL;
    size_t n = 0;
    assert_int_equal(meta_gc_mark(f->m, INT64_MAX, 10, &cs, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(cs[0].ncopies, 2); /* the pending copy is deleted too */
    free(cs);
}

/* A write that failed after sending copies leaves them to the collector. */
static void test_abandon_with_pending_copies_hands_chunk_to_collector(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    meta_chunk k, again;
    int64_t id = claim(f, 2, &k);
    assert_int_equal(meta_chunk_copies_pending(f->m, id, &f->prov[2], NULL, 1, &e), 0);
    assert_int_equal(meta_chunk_abandon(f->m, id, &e), 0);
    uint8_t h[32];
    bool is_new;
    memset(h, 2, sizeof(h));
    meta_chunk *cs = NULL;
    size_t n = 0;
    assert_int_equal(meta_gc_mark(f->m, 1, 10, &cs, &n, &e), 0); /* whatever the grace */
    assert_int_equal(n, 1);
    assert_int_equal(cs[0].id, id);
    assert_int_equal(cs[0].ncopies, 1);
    assert_int_equal(cs[0].copies[0], f->prov[2]);
    free(cs);
    assert_int_equal(meta_gc_forget(f->m, id, &e), 0);

    /* Given up again, then claimed before the collector came: taken over. */
    id = claim(f, 2, &k);
    assert_int_equal(meta_chunk_copies_pending(f->m, id, &f->prov[2], NULL, 1, &e), 0);
    assert_int_equal(meta_chunk_abandon(f->m, id, &e), 0);
    assert_int_equal(meta_chunk_claim(f->m, h, 10, 38, 1, 1, NULL, &again, &is_new, &e), 0);
    assert_true(is_new);
    assert_int_equal(again.id, id);
    assert_int_equal(meta_gc_mark(f->m, 1, 10, &cs, &n, &e), 0); /* no longer given up */
    assert_int_equal(n, 0);
    free(cs);
    /* and a second claimer waits for the new writer. */
    assert_int_equal(meta_chunk_claim(f->m, h, 10, 38, 1, 1, NULL, &again, &is_new, &e), ORC_EBUSY);
    /* Without any recorded copy the row is simply forgotten, as before. */
    int64_t id2 = claim(f, 3, &k);
    assert_int_equal(meta_chunk_abandon(f->m, id2, &e), 0);
    claim(f, 3, &k);
}

/* The issue-9 sequence in metadata: a PUT that started first but commits
 * last never replaces the one acknowledged in between. */
static void test_put_started_earlier_is_superseded(void **state)
{
    fixture *f = *state;
    meta_chunk k;
    orc_err e = {0};
    int64_t id = claim(f, 4, &k);
    assert_int_equal(meta_chunk_commit(f->m, id, f->prov, NULL, 1, &e), 0);
    int64_t newer, older;
    char etag[64];
    put(f, "key", "empty", 0, 2000, &newer); /* started at 2000, acknowledged */
    assert_true(newer > 0);
    put(f, "key", "big", id, 1000, &older); /* started at 1000, commits now */
    assert_int_equal(older, 0);
    current_etag(f, "key", etag);
    assert_string_equal(etag, "empty");
    put(f, "key", "later", id, 3000, &older); /* a later start does replace it */
    assert_true(older > 0);
    current_etag(f, "key", etag);
    assert_string_equal(etag, "later");
}

static void test_copy_and_complete_started_earlier_are_superseded(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    int64_t id;
    char etag[64];
    put(f, "src", "srcetag", 0, 1000, &id);
    put(f, "dst", "dstetag", 0, 5000, &id);
    meta_object out;
    meta_object_copy_args a = {.src_bucket = f->bucket,
                               .src_key = "src",
                               .dst_bucket = f->bucket,
                               .dst_key = "dst",
                               .mtime_ms = 1,
                               .start_ms = 4000};
    assert_int_equal(meta_object_copy(f->m, &a, &out, &e), 0);
    assert_int_equal(out.id, 0);
    meta_object_dispose(&out);
    current_etag(f, "dst", etag);
    assert_string_equal(etag, "dstetag");

    assert_int_equal(meta_upload_create(f->m, f->bucket, "dst", "u1", 1, NULL, NULL, NULL, 1, &e),
                     0);
    meta_part_new p = {.upload_id = "u1", .key = "dst", .number = 1, .etag = "pe", .mtime_ms = 1};
    assert_int_equal(meta_part_put(f->m, f->bucket, &p, &e), 0);
    meta_part_ref ref = {1, "pe"};
    meta_complete c = {.upload_id = "u1",
                       .key = "dst",
                       .parts = &ref,
                       .nparts = 1,
                       .etag = "mp-1",
                       .mtime_ms = 1,
                       .start_ms = 4500};
    assert_int_equal(meta_upload_complete(f->m, f->bucket, &c, &e), 0);
    assert_int_equal(c.object_id, 0);
    current_etag(f, "dst", etag);
    assert_string_equal(etag, "dstetag");
    meta_upload u;
    assert_int_equal(meta_upload_get(f->m, f->bucket, "dst", "u1", &u, &e), ORC_ENOTFOUND);
}

/* `orchard providers` counts what repair will repair: referenced chunks. */
static void test_under_replicated_ignores_unreferenced_chunks(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    meta_chunk k;
    uint64_t n = 9;
    int64_t id = claim(f, 5, &k);
    assert_int_equal(meta_chunk_commit(f->m, id, f->prov, NULL, 1, &e), 0);
    assert_int_equal(meta_under_replicated(f->m, 2, &n, &e), 0);
    assert_int_equal(n, 0);
    int64_t obj;
    put(f, "r", "re", id, 0, &obj);
    assert_int_equal(meta_under_replicated(f->m, 2, &n, &e), 0);
    assert_int_equal(n, 1);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_pending_copy_is_collected_but_never_read, setup, teardown),
    cmocka_unit_test_setup_teardown(test_abandon_with_pending_copies_hands_chunk_to_collector,
                                    setup, teardown),
    cmocka_unit_test_setup_teardown(test_put_started_earlier_is_superseded, setup, teardown),
    cmocka_unit_test_setup_teardown(test_copy_and_complete_started_earlier_are_superseded, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_under_replicated_ignores_unreferenced_chunks, setup,
                                    teardown),
};

const meta_contract_group meta_contract_pending = {"pending copies and request start times", tests,
                                                   sizeof(tests) / sizeof(tests[0])};
