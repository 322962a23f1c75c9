/* The metadata store contract (meta_contract.h), pending copies and request
 * start times (issue 9): copies recorded PENDING before they are written, so
 * the collector knows every provider that may hold bytes; "latest request
 * start wins" in the version switch of a PUT, a copy and a multipart
 * complete; the under-replicated count of what repair repairs; pieces that
 * fail verification (suspect), the pending list repair clears and forgets. (The
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
    uint32_t prov[4];
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
    const char *names[] = {"p0", "p1", "p2", "p3"};
    for (int i = 0; i < 4; i++)
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

/* ---- suspect pieces, the pending list, forgetting ---- */

static const meta_layout replicate3 = {0, 0, 3};
static const meta_layout ec2p1 = {2, 1, 3};

/* Pieces as (provider, fragment index) pairs, in no promised order. */
typedef struct piece_set {
    int n;
    uint32_t prov[META_MAX_COPIES];
    int16_t frag[META_MAX_COPIES];
} piece_set;

static void pieces_of(const meta_chunk *k, piece_set *out)
{
    out->n = k->ncopies;
    memcpy(out->prov, k->copies, sizeof(out->prov));
    memcpy(out->frag, k->frags, sizeof(out->frag));
}

/* got holds exactly the n pieces (prov[i], frags[i]) (frags NULL: whole
 * copies); a provider holds at most one piece, so n and membership suffice. */
static void expect_pieces(const piece_set *got, const uint32_t *prov, const int16_t *frags, int n)
{
    assert_int_equal(got->n, n);
    for (int i = 0; i < n; i++) {
        int16_t want = frags ? frags[i] : META_WHOLE;
        bool found = false;
        for (int j = 0; j < got->n; j++)
            if (got->prov[j] == prov[i]) {
                assert_int_equal(got->frag[j], want);
                found = true;
            }
        if (!found) fail_msg("provider %u holds no piece", (unsigned)prov[i]);
    }
}

static int64_t claim_as(fixture *f, uint8_t tag, const meta_layout *lay)
{
    uint8_t h[32];
    bool is_new = false;
    meta_chunk k;
    orc_err e = {0};
    memset(h, tag, sizeof(h));
    assert_int_equal(meta_chunk_claim(f->m, h, 10, 38, 1, 1, lay, &k, &is_new, &e), 0);
    assert_true(is_new);
    return k.id;
}

/* A chunk of layout lay committed with these pieces and referenced by
 * object key, so that reads and the repair view see it. */
static int64_t live_chunk(fixture *f, uint8_t tag, const meta_layout *lay, const char *key,
                          const uint32_t *prov, const int16_t *frags, int n)
{
    orc_err e = {0};
    int64_t obj, id = claim_as(f, tag, lay);
    assert_int_equal(meta_chunk_commit(f->m, id, prov, frags, n, &e), 0);
    put(f, key, "etag", id, 0, &obj);
    return id;
}

/* The pieces an object read of key gets for its one chunk, id. */
static void read_pieces(fixture *f, const char *key, int64_t id, piece_set *out)
{
    meta_object o;
    meta_extent *x = NULL;
    size_t nx = 0;
    orc_err e = {0};
    assert_int_equal(meta_object_get(f->m, f->bucket, key, true, 0, UINT64_MAX, &o, &x, &nx, &e),
                     0);
    assert_int_equal(nx, 1);
    assert_int_equal(x[0].chunk.id, id);
    pieces_of(&x[0].chunk, out);
    free(x);
    meta_object_dispose(&o);
}

static void pending_pieces(fixture *f, int64_t id, piece_set *out)
{
    orc_err e = {0};
    memset(out, 0, sizeof(*out));
    out->n = -1;
    assert_int_equal(meta_chunk_pending_list(f->m, id, out->prov, out->frag, &out->n, &e), 0);
}

/* Whether chunk id is in the repair view (and *out its pieces). Legacy
 * width 1: the chunks here have a width of their own, and only it counts. */
static bool in_repair(fixture *f, int64_t id, piece_set *out)
{
    meta_chunk *v = NULL;
    size_t n = 0;
    orc_err e = {0};
    assert_int_equal(meta_repair_list(f->m, 1, id - 1, 1, &v, &n, &e), 0);
    bool found = n == 1 && v[0].id == id;
    if (found) pieces_of(&v[0], out);
    free(v);
    return found;
}

static uint64_t below_width(fixture *f)
{
    uint64_t n = 99;
    orc_err e = {0};
    assert_int_equal(meta_under_replicated(f->m, 1, &n, &e), 0);
    return n;
}

/* A copy that failed verification is no longer read, reused or counted: the
 * chunk is below its width, in the repair view, and the copy is pending. */
static void test_suspect_copy_is_not_read_and_chunk_needs_repair(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    piece_set got;
    const uint32_t live[] = {f->prov[0], f->prov[2]};
    int64_t id = live_chunk(f, 20, &replicate3, "r3", f->prov, NULL, 3);
    uint64_t chunks = 0, bytes = 0;
    assert_int_equal(meta_provider_usage(f->m, f->prov[1], &chunks, &bytes, &e), 0);
    assert_int_equal(chunks, 1);
    assert_false(in_repair(f, id, &got));
    assert_int_equal(below_width(f), 0);

    assert_int_equal(meta_chunk_copy_suspect(f->m, id, f->prov[1], META_WHOLE, &e), 0);
    read_pieces(f, "r3", id, &got);
    expect_pieces(&got, live, NULL, 2);
    pending_pieces(f, id, &got);
    expect_pieces(&got, &f->prov[1], NULL, 1);
    assert_true(in_repair(f, id, &got));
    expect_pieces(&got, live, NULL, 2); /* repair's sources: the LIVE ones */
    assert_int_equal(below_width(f), 1);
    assert_int_equal(meta_provider_usage(f->m, f->prov[1], &chunks, &bytes, &e), 0);
    assert_int_equal(chunks, 0);
    meta_redundancy *r = NULL;
    size_t nr = 0;
    assert_int_equal(meta_redundancy_list(f->m, 1, &r, &nr, &e), 0);
    assert_int_equal(nr, 1);
    assert_int_equal(r[0].layout.ec_k, 0);
    assert_int_equal(r[0].layout.width, 3);
    assert_int_equal(r[0].chunks, 1);
    assert_int_equal(r[0].below, 1);
    free(r);

    /* Dedup reuses the chunk with its LIVE copies only. */
    uint8_t h[32];
    bool is_new = true;
    meta_chunk k;
    memset(h, 20, sizeof(h));
    assert_int_equal(meta_chunk_claim(f->m, h, 10, 38, 1, 1, NULL, &k, &is_new, &e), 0);
    assert_false(is_new);
    pieces_of(&k, &got);
    expect_pieces(&got, live, NULL, 2);
}

/* A fragment is named by provider and index: only the exact LIVE piece is
 * marked; one not recorded LIVE is left as it is (meta.h names no error
 * for it, so the call succeeds: a read racing repair may suspect a piece
 * that is already gone). */
static void test_suspect_fragment_marks_only_that_piece(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    piece_set got;
    const int16_t frags[] = {0, 1, 2};
    int64_t id = live_chunk(f, 21, &ec2p1, "ec", f->prov, frags, 3);

    assert_int_equal(meta_chunk_copy_suspect(f->m, id, f->prov[0], 1, &e), ORC_OK); /* holds 0 */
    assert_int_equal(meta_chunk_copy_suspect(f->m, id, f->prov[2], META_WHOLE, &e), ORC_OK);
    assert_int_equal(meta_chunk_copy_suspect(f->m, id, f->prov[3], 2, &e), ORC_OK); /* none */
    read_pieces(f, "ec", id, &got);
    expect_pieces(&got, f->prov, frags, 3);
    pending_pieces(f, id, &got);
    assert_int_equal(got.n, 0);
    assert_false(in_repair(f, id, &got));

    assert_int_equal(meta_chunk_copy_suspect(f->m, id, f->prov[2], 2, &e), 0);
    pending_pieces(f, id, &got);
    expect_pieces(&got, &f->prov[2], &frags[2], 1);
    read_pieces(f, "ec", id, &got);
    expect_pieces(&got, f->prov, frags, 2);
    assert_true(in_repair(f, id, &got));
    expect_pieces(&got, f->prov, frags, 2);
    assert_int_equal(below_width(f), 1);

    /* Suspected again: no longer LIVE, so left as it is. */
    assert_int_equal(meta_chunk_copy_suspect(f->m, id, f->prov[2], 2, &e), ORC_OK);
    pending_pieces(f, id, &got);
    expect_pieces(&got, &f->prov[2], &frags[2], 1);
    read_pieces(f, "ec", id, &got);
    expect_pieces(&got, f->prov, frags, 2);
}

/* Repair forgets a suspect piece once deleted; a new copy elsewhere brings
 * the chunk back to its width. Forgetting a LIVE piece keeps it. */
static void test_forgotten_suspect_and_new_copy_restore_width(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    piece_set got;
    const uint32_t live[] = {f->prov[0], f->prov[2]};
    const uint32_t full[] = {f->prov[0], f->prov[2], f->prov[3]};
    int64_t id = live_chunk(f, 22, &replicate3, "fg", f->prov, NULL, 3);
    assert_int_equal(meta_chunk_copy_suspect(f->m, id, f->prov[1], META_WHOLE, &e), 0);

    assert_int_equal(meta_chunk_copy_forget(f->m, id, f->prov[0], &e), ORC_OK); /* LIVE: kept */
    read_pieces(f, "fg", id, &got);
    expect_pieces(&got, live, NULL, 2);
    pending_pieces(f, id, &got);
    expect_pieces(&got, &f->prov[1], NULL, 1);

    assert_int_equal(meta_chunk_copy_forget(f->m, id, f->prov[1], &e), 0);
    pending_pieces(f, id, &got);
    assert_int_equal(got.n, 0);
    read_pieces(f, "fg", id, &got);
    expect_pieces(&got, live, NULL, 2);
    assert_true(in_repair(f, id, &got)); /* still two of three */
    assert_int_equal(below_width(f), 1);

    assert_int_equal(meta_chunk_add_copies(f->m, id, &f->prov[3], NULL, 1, &e), 0);
    read_pieces(f, "fg", id, &got);
    expect_pieces(&got, full, NULL, 3);
    pending_pieces(f, id, &got);
    assert_int_equal(got.n, 0);
    assert_false(in_repair(f, id, &got));
    assert_int_equal(below_width(f), 0);
}

/* Pieces recorded before their writes that the commit did not list (their
 * writes never confirmed) are pending: listed for repair to clear, never read. */
static void test_unconfirmed_pending_pieces_are_listed_not_read(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    piece_set got;
    int64_t obj;

    const int16_t frags[] = {0, 1, 2};
    const uint32_t done[] = {f->prov[0], f->prov[2]};
    const int16_t done_frags[] = {0, 2};
    int64_t id = claim_as(f, 23, &ec2p1);
    assert_int_equal(meta_chunk_copies_pending(f->m, id, f->prov, frags, 3, &e), 0);
    assert_int_equal(meta_chunk_commit(f->m, id, done, done_frags, 2, &e), 0);
    put(f, "ec", "etag", id, 0, &obj);
    read_pieces(f, "ec", id, &got);
    expect_pieces(&got, done, done_frags, 2);
    pending_pieces(f, id, &got);
    expect_pieces(&got, &f->prov[1], &frags[1], 1);
    assert_true(in_repair(f, id, &got));
    expect_pieces(&got, done, done_frags, 2);

    const uint32_t unconfirmed[] = {f->prov[0], f->prov[2]};
    int64_t id2 = claim_as(f, 24, &replicate3);
    assert_int_equal(meta_chunk_copies_pending(f->m, id2, f->prov, NULL, 3, &e), 0);
    assert_int_equal(meta_chunk_commit(f->m, id2, &f->prov[1], NULL, 1, &e), 0);
    put(f, "r3", "etag", id2, 0, &obj);
    read_pieces(f, "r3", id2, &got);
    expect_pieces(&got, &f->prov[1], NULL, 1);
    pending_pieces(f, id2, &got);
    expect_pieces(&got, unconfirmed, NULL, 2);
    assert_int_equal(below_width(f), 2);
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
    cmocka_unit_test_setup_teardown(test_suspect_copy_is_not_read_and_chunk_needs_repair, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_suspect_fragment_marks_only_that_piece, setup, teardown),
    cmocka_unit_test_setup_teardown(test_forgotten_suspect_and_new_copy_restore_width, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_unconfirmed_pending_pieces_are_listed_not_read, setup,
                                    teardown),
};

const meta_contract_group meta_contract_pending = {"pending copies and request start times", tests,
                                                   sizeof(tests) / sizeof(tests[0])};
