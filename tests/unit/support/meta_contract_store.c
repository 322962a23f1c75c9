/* The metadata store contract (meta_contract.h), the store itself: provider
 * ids, users, buckets, the chunk life cycle that keeps dedup safe from the
 * collector, object versions and their references, listing order, and use
 * from several threads (more than a pooled store has connections). Each test
 * gets a fresh store. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/meta_contract.h"

#include "meta/meta.h"
#include "util/time.h"

typedef struct fixture {
    void *ctx; /* the implementation's, for close */
    meta *m;
    int64_t owner;
    int64_t bucket;
    uint32_t prov[2];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    orc_err e = {0};
    meta_contract_open(&f->m, &f->ctx);
    assert_int_equal(
        meta_user_add(f->m, "alice", "AKALICE", (const uint8_t *)"sealed", 6, &f->owner, &e),
        ORC_OK);
    assert_int_equal(meta_bucket_create(f->m, "photos", f->owner, "us-east-1", &e), ORC_OK);
    meta_bucket b;
    assert_int_equal(meta_bucket_get(f->m, "photos", &b, &e), ORC_OK);
    f->bucket = b.id;
    assert_int_equal(meta_provider_id(f->m, "disk-a", &f->prov[0], &e), ORC_OK);
    assert_int_equal(meta_provider_id(f->m, "disk-b", &f->prov[1], &e), ORC_OK);
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

/* Claims and commits chunk number i with plain_len bytes on both providers. */
static int64_t live_chunk(fixture *f, uint64_t i, uint32_t plain_len)
{
    uint8_t h[32];
    meta_chunk k;
    bool is_new = false;
    orc_err e = {0};
    meta_contract_hash(i, h);
    assert_int_equal(
        meta_chunk_claim(f->m, h, plain_len, plain_len + 28, 1, 1, NULL, &k, &is_new, &e), ORC_OK);
    assert_true(is_new);
    assert_int_equal(meta_chunk_commit(f->m, k.id, f->prov, NULL, 2, &e), ORC_OK);
    return k.id;
}

/* Puts key as the chunks ids[0..n) with lengths lens, tiled from offset 0. */
static int put(fixture *f, const char *key, const char *etag, const int64_t *ids,
               const uint32_t *lens, size_t n, orc_err *e)
{
    uint64_t offs[16], size = 0;
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++) {
        offs[i] = size;
        size += lens[i];
    }
    meta_object_new o = {.key = key,
                         .size = size,
                         .etag = etag,
                         .content_type = "text/plain",
                         .headers = "x-amz-meta-a: b\n",
                         .mtime_ms = 1234,
                         .chunk_ids = ids,
                         .offsets = offs,
                         .nchunks = n};
    int64_t id;
    return meta_object_put(f->m, f->bucket, &o, &id, e);
}

static meta_stats stats(fixture *f)
{
    meta_stats s;
    orc_err e = {0};
    assert_int_equal(meta_stats_get(f->m, &s, &e), ORC_OK);
    return s;
}

static void test_provider_ids_are_stable_and_distinct(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    uint32_t a, b;
    assert_int_equal(meta_provider_id(f->m, "disk-a", &a, &e), ORC_OK);
    assert_int_equal(meta_provider_id(f->m, "disk-b", &b, &e), ORC_OK);
    assert_int_equal(a, f->prov[0]);
    assert_int_equal(b, f->prov[1]);
    assert_int_not_equal(a, b);
}

static void test_user_add_lookup_duplicate_remove(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    meta_user u;
    int64_t id;
    uint8_t secret[256];
    memset(secret, 0xAB, sizeof(secret));
    assert_int_equal(meta_user_add(f->m, "bob", "AKBOB", secret, sizeof(secret), &id, &e), ORC_OK);
    assert_int_equal(meta_user_by_key(f->m, "AKBOB", &u, &e), ORC_OK);
    assert_int_equal(u.id, id);
    assert_string_equal(u.name, "bob");
    assert_int_equal(u.secret_sealed_len, sizeof(secret));
    assert_memory_equal(u.secret_sealed, secret, sizeof(secret));
    assert_true(u.created_ms > 0);
    assert_int_equal(meta_user_by_id(f->m, id, &u, &e), ORC_OK);
    assert_string_equal(u.access_key, "AKBOB");

    /* Same name, or same access key: both taken. */
    assert_int_equal(meta_user_add(f->m, "bob", "AKOTHER", secret, 4, NULL, &e), ORC_EEXISTS);
    assert_int_equal(meta_user_add(f->m, "carol", "AKBOB", secret, 4, NULL, &e), ORC_EEXISTS);
    assert_int_equal(meta_user_add(f->m, "dave", "AKDAVE", secret, 257, NULL, &e), ORC_EINVAL);

    meta_user *list;
    size_t n;
    assert_int_equal(meta_user_list(f->m, &list, &n, &e), ORC_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].name, "alice");
    assert_string_equal(list[1].name, "bob");
    free(list);

    assert_int_equal(meta_user_remove(f->m, "bob", &e), ORC_OK);
    assert_int_equal(meta_user_by_name(f->m, "bob", &u, &e), ORC_ENOTFOUND);
    assert_int_equal(meta_user_by_key(f->m, "AKBOB", &u, &e), ORC_ENOTFOUND);
    assert_int_equal(meta_user_remove(f->m, "bob", &e), ORC_ENOTFOUND);
    /* alice owns a bucket. */
    assert_int_equal(meta_user_remove(f->m, "alice", &e), ORC_ECONFLICT);
}

static void test_bucket_create_get_list_delete(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    meta_bucket b, *list;
    size_t n;
    int64_t bob;
    assert_int_equal(meta_user_add(f->m, "bob", "AKBOB", (const uint8_t *)"s", 1, &bob, &e), 0);
    assert_int_equal(meta_bucket_create(f->m, "albums", f->owner, "us-east-1", &e), ORC_OK);
    assert_int_equal(meta_bucket_create(f->m, "bobs", bob, "eu-west-1", &e), ORC_OK);
    assert_int_equal(meta_bucket_create(f->m, "photos", bob, "us-east-1", &e), ORC_EEXISTS);
    assert_int_equal(meta_bucket_create(f->m, "nobody", 9999, "us-east-1", &e), ORC_ENOTFOUND);

    assert_int_equal(meta_bucket_get(f->m, "bobs", &b, &e), ORC_OK);
    assert_int_equal(b.owner, bob);
    assert_string_equal(b.region, "eu-west-1");
    assert_int_equal(meta_bucket_get(f->m, "missing", &b, &e), ORC_ENOTFOUND);

    assert_int_equal(meta_bucket_list(f->m, f->owner, &list, &n, &e), ORC_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].name, "albums");
    assert_string_equal(list[1].name, "photos");
    free(list);

    assert_int_equal(meta_bucket_delete(f->m, "albums", &e), ORC_OK);
    assert_int_equal(meta_bucket_delete(f->m, "albums", &e), ORC_ENOTFOUND);

    uint32_t len = 10;
    int64_t k = live_chunk(f, 1, len);
    assert_int_equal(put(f, "x", "e", &k, &len, 1, &e), ORC_OK);
    assert_int_equal(meta_bucket_delete(f->m, "photos", &e), ORC_ECONFLICT);
    assert_int_equal(meta_bucket_get(f->m, "photos", &b, &e), ORC_OK);
    assert_int_equal(meta_object_delete(f->m, f->bucket, "x", &e), ORC_OK);
    assert_int_equal(meta_bucket_delete(f->m, "photos", &e), ORC_OK);
}

static void test_chunk_claim_commit_life_cycle(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    uint8_t h[32];
    meta_chunk k, k2;
    bool is_new;
    meta_contract_hash(7, h);

    assert_int_equal(meta_chunk_claim(f->m, h, 100, 128, 1, 3, NULL, &k, &is_new, &e), ORC_OK);
    assert_true(is_new);
    assert_int_equal(k.state, META_CHUNK_PENDING);
    assert_int_equal(k.ncopies, 0);
    assert_memory_equal(k.hash, h, 32);

    /* Another upload of the same content waits while the first writes copies. */
    assert_int_equal(meta_chunk_claim(f->m, h, 100, 128, 1, 3, NULL, &k2, &is_new, &e), ORC_EBUSY);

    assert_int_equal(meta_chunk_commit(f->m, k.id, f->prov, NULL, 0, &e), ORC_EINVAL);
    uint32_t bogus = 4242;
    assert_int_equal(meta_chunk_commit(f->m, k.id, &bogus, NULL, 1, &e), ORC_EINVAL);
    assert_int_equal(meta_chunk_commit(f->m, k.id, f->prov, NULL, 2, &e), ORC_OK);
    assert_int_equal(meta_chunk_commit(f->m, k.id, f->prov, NULL, 2, &e), ORC_ECONFLICT);
    assert_int_equal(meta_chunk_commit(f->m, 999999, f->prov, NULL, 2, &e), ORC_ENOTFOUND);

    /* Unreferenced and older than the cutoff: a claim must touch it so GC
     * leaves it alone. */
    int64_t cutoff = meta_contract_cutoff();
    assert_int_equal(meta_chunk_claim(f->m, h, 100, 128, 1, 3, NULL, &k2, &is_new, &e), ORC_OK);
    assert_false(is_new);
    assert_int_equal(k2.id, k.id);
    assert_int_equal(k2.state, META_CHUNK_LIVE);
    assert_int_equal(k2.plain_len, 100);
    assert_int_equal(k2.sealed_len, 128);
    assert_int_equal(k2.key_version, 3);
    assert_int_equal(k2.ncopies, 2);
    assert_true(k2.copies[0] == f->prov[0] || k2.copies[1] == f->prov[0]);
    assert_true(k2.copies[0] == f->prov[1] || k2.copies[1] == f->prov[1]);

    meta_chunk *marked;
    size_t n;
    assert_int_equal(meta_gc_mark(f->m, cutoff, 100, &marked, &n, &e), ORC_OK);
    assert_int_equal(n, 0);
    free(marked);
    assert_int_equal(stats(f).chunks, 1);
    assert_int_equal(stats(f).bytes_stored, 2 * 128);
}

static void test_chunk_abandon_drops_only_pending(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    uint8_t h[32];
    meta_chunk k;
    bool is_new;
    meta_contract_hash(8, h);
    assert_int_equal(meta_chunk_claim(f->m, h, 10, 38, 1, 1, NULL, &k, &is_new, &e), ORC_OK);
    assert_int_equal(meta_chunk_abandon(f->m, k.id, &e), ORC_OK);
    assert_int_equal(stats(f).chunks, 0);
    assert_int_equal(meta_chunk_abandon(f->m, k.id, &e), ORC_ENOTFOUND);
    assert_int_equal(meta_chunk_claim(f->m, h, 10, 38, 1, 1, NULL, &k, &is_new, &e), ORC_OK);
    assert_true(is_new);
    assert_int_equal(meta_chunk_commit(f->m, k.id, f->prov, NULL, 1, &e), ORC_OK);
    assert_int_equal(meta_chunk_abandon(f->m, k.id, &e), ORC_ECONFLICT);
    assert_int_equal(stats(f).chunks, 1);
}

static void test_object_get_selects_overlapping_extents(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    uint32_t lens[3] = {100, 200, 300};
    int64_t ids[3] = {live_chunk(f, 1, 100), live_chunk(f, 2, 200), live_chunk(f, 3, 300)};
    assert_int_equal(put(f, "dir/file", "abc123", ids, lens, 3, &e), ORC_OK);

    meta_object o;
    meta_extent *x;
    size_t n;
    assert_int_equal(
        meta_object_get(f->m, f->bucket, "dir/file", true, 0, UINT64_MAX, &o, &x, &n, &e), ORC_OK);
    assert_string_equal(o.key, "dir/file");
    assert_int_equal(o.size, 600);
    assert_string_equal(o.etag, "abc123");
    assert_string_equal(o.content_type, "text/plain");
    assert_string_equal(o.headers, "x-amz-meta-a: b\n");
    assert_int_equal(o.mtime_ms, 1234);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(x[i].chunk.id, ids[i]);
        assert_int_equal(x[i].chunk.plain_len, lens[i]);
        assert_int_equal(x[i].chunk.state, META_CHUNK_LIVE);
        assert_int_equal(x[i].chunk.ncopies, 2);
    }
    assert_int_equal(x[1].offset, 100);
    assert_int_equal(x[2].offset, 300);
    free(x);
    meta_object_dispose(&o);

    struct {
        uint64_t from, to;
        size_t n, first;
    } cases[] = {
        {150, 350, 2, 1}, {100, 300, 1, 1},        {0, 1, 1, 0},     {599, 600, 1, 2},
        {99, 101, 2, 0},  {600, UINT64_MAX, 0, 0}, {300, 300, 0, 0}, {0, 600, 3, 0},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        assert_int_equal(meta_object_get(f->m, f->bucket, "dir/file", true, cases[c].from,
                                         cases[c].to, &o, &x, &n, &e),
                         ORC_OK);
        assert_int_equal(n, cases[c].n);
        if (n) assert_int_equal(x[0].chunk.id, ids[cases[c].first]);
        free(x);
        meta_object_dispose(&o);
    }

    assert_int_equal(meta_object_get(f->m, f->bucket, "dir/file", false, 0, 0, &o, NULL, NULL, &e),
                     ORC_OK);
    assert_int_equal(o.size, 600);
    meta_object_dispose(&o);
    assert_int_equal(meta_object_get(f->m, f->bucket, "nope", true, 0, UINT64_MAX, &o, &x, &n, &e),
                     ORC_ENOTFOUND);
    assert_null(x);
}

static void test_object_put_checks_bucket_and_tiling(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    uint32_t len = 50;
    int64_t id = live_chunk(f, 1, len);
    uint64_t off = 10;
    meta_object_new o = {
        .key = "k", .size = 50, .etag = "e", .chunk_ids = &id, .offsets = &off, .nchunks = 1};
    int64_t oid;
    assert_int_equal(meta_object_put(f->m, f->bucket + 100, &o, &oid, &e), ORC_ENOTFOUND);
    assert_int_equal(meta_object_put(f->m, f->bucket, &o, &oid, &e), ORC_EINVAL);
    off = 0;
    o.size = 60;
    assert_int_equal(meta_object_put(f->m, f->bucket, &o, &oid, &e), ORC_EINVAL);
    assert_int_equal(stats(f).chunk_refs, 0);
    assert_int_equal(stats(f).objects, 0);

    /* An empty object has no chunks. */
    meta_object_new empty = {.key = "empty", .size = 0, .etag = "d41d8cd9"};
    assert_int_equal(meta_object_put(f->m, f->bucket, &empty, &oid, &e), ORC_OK);
    meta_object got;
    meta_extent *x;
    size_t n;
    assert_int_equal(
        meta_object_get(f->m, f->bucket, "empty", true, 0, UINT64_MAX, &got, &x, &n, &e), ORC_OK);
    assert_int_equal(got.size, 0);
    assert_int_equal(n, 0);
    assert_null(got.content_type);
    free(x);
    meta_object_dispose(&got);
}

static void test_overwrite_and_delete_release_references(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    int64_t a = live_chunk(f, 1, 10), b = live_chunk(f, 2, 20), c = live_chunk(f, 3, 30);
    uint32_t l1[2] = {10, 20}, l2[2] = {20, 30};
    int64_t v1[2] = {a, b}, v2[2] = {b, c};
    assert_int_equal(put(f, "k", "v1", v1, l1, 2, &e), ORC_OK);
    assert_int_equal(stats(f).chunk_refs, 2);
    assert_int_equal(stats(f).bytes_logical, 30);
    assert_int_equal(stats(f).bytes_unique, 30);
    assert_int_equal(put(f, "k", "v2", v2, l2, 2, &e), ORC_OK);
    meta_stats s = stats(f);
    assert_int_equal(s.objects, 1);
    assert_int_equal(s.chunk_refs, 2);
    assert_int_equal(s.bytes_logical, 50);
    assert_int_equal(s.bytes_unique, 50); /* b and c; a is referenced no more */

    /* Only a, dropped by the overwrite, is unreferenced. */
    meta_chunk *g;
    size_t n;
    assert_int_equal(meta_gc_mark(f->m, orc_now_ms() + 3600000, 100, &g, &n, &e), ORC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(g[0].id, a);
    free(g);

    meta_object o;
    assert_int_equal(meta_object_get(f->m, f->bucket, "k", false, 0, 0, &o, NULL, NULL, &e), 0);
    assert_string_equal(o.etag, "v2");
    meta_object_dispose(&o);

    assert_int_equal(meta_object_delete(f->m, f->bucket, "k", &e), ORC_OK);
    assert_int_equal(meta_object_delete(f->m, f->bucket, "k", &e), ORC_ENOTFOUND);
    s = stats(f);
    assert_int_equal(s.objects, 0);
    assert_int_equal(s.chunk_refs, 0);
    assert_int_equal(meta_gc_mark(f->m, orc_now_ms() + 3600000, 100, &g, &n, &e), ORC_OK);
    assert_int_equal(n, 3);
    free(g);
}

static void test_put_over_collected_chunk_conflicts_and_changes_nothing(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    int64_t a = live_chunk(f, 1, 10), b = live_chunk(f, 2, 20);
    uint32_t lb = 20, lab[2] = {20, 10};
    int64_t vb[1] = {b}, vba[2] = {b, a};
    assert_int_equal(put(f, "k", "old", vb, &lb, 1, &e), ORC_OK);

    meta_chunk *g;
    size_t n;
    assert_int_equal(meta_gc_mark(f->m, orc_now_ms() + 3600000, 100, &g, &n, &e), ORC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(g[0].id, a);
    assert_int_equal(g[0].state, META_CHUNK_DELETING);
    free(g);

    meta_stats before = stats(f);
    assert_int_equal(put(f, "k", "new", vba, lab, 2, &e), ORC_ECONFLICT);
    assert_int_equal(put(f, "other", "new", vba, lab, 2, &e), ORC_ECONFLICT);
    meta_stats after = stats(f);
    assert_memory_equal(&before, &after, sizeof(before));

    meta_object o;
    assert_int_equal(meta_object_get(f->m, f->bucket, "k", false, 0, 0, &o, NULL, NULL, &e), 0);
    assert_string_equal(o.etag, "old");
    meta_object_dispose(&o);
    assert_int_equal(meta_object_get(f->m, f->bucket, "other", false, 0, 0, &o, NULL, NULL, &e),
                     ORC_ENOTFOUND);

    /* Once forgotten, the chunk is gone: still a conflict, not a crash. */
    assert_int_equal(meta_gc_forget(f->m, a, &e), ORC_OK);
    assert_int_equal(put(f, "k", "new", vba, lab, 2, &e), ORC_ECONFLICT);
}

static void test_chunk_repeated_in_object_counts_each_reference(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    int64_t a = live_chunk(f, 1, 10), b = live_chunk(f, 2, 20);
    int64_t ids[4] = {a, b, a, a};
    uint32_t lens[4] = {10, 20, 10, 10};
    assert_int_equal(put(f, "rep", "e", ids, lens, 4, &e), ORC_OK);
    assert_int_equal(stats(f).chunk_refs, 4);
    assert_int_equal(stats(f).bytes_logical, 50);
    assert_int_equal(stats(f).bytes_unique, 30); /* a counts once */

    meta_object o;
    meta_extent *x;
    size_t n;
    assert_int_equal(meta_object_get(f->m, f->bucket, "rep", true, 0, UINT64_MAX, &o, &x, &n, &e),
                     ORC_OK);
    assert_int_equal(n, 4);
    assert_int_equal(x[3].offset, 40);
    assert_int_equal(x[3].chunk.id, a);
    free(x);
    meta_object_dispose(&o);

    meta_chunk *g;
    assert_int_equal(meta_gc_mark(f->m, orc_now_ms() + 3600000, 100, &g, &n, &e), ORC_OK);
    assert_int_equal(n, 0);
    free(g);
    assert_int_equal(meta_object_delete(f->m, f->bucket, "rep", &e), ORC_OK);
    assert_int_equal(stats(f).chunk_refs, 0);
    assert_int_equal(meta_gc_mark(f->m, orc_now_ms() + 3600000, 100, &g, &n, &e), ORC_OK);
    assert_int_equal(n, 2);
    free(g);
}

static void test_gc_mark_takes_only_old_unreferenced_chunks(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    int64_t old0 = live_chunk(f, 1, 10);
    int64_t oldref = live_chunk(f, 3, 10), old1 = live_chunk(f, 4, 10);
    uint32_t len = 10;
    assert_int_equal(put(f, "ref", "e", &oldref, &len, 1, &e), ORC_OK);
    uint8_t h[32];
    meta_chunk pend;
    bool is_new;
    meta_contract_hash(5, h);
    assert_int_equal(meta_chunk_claim(f->m, h, 10, 38, 1, 1, NULL, &pend, &is_new, &e), ORC_OK);

    /* Everything so far is older than the cutoff; fresh0 is touched after it. */
    int64_t cutoff = meta_contract_cutoff();
    int64_t fresh0 = live_chunk(f, 2, 10);

    /* Limit 2 of the 3 candidates (old0, old1, the stale pending one). */
    meta_chunk *g;
    size_t n;
    assert_int_equal(meta_gc_mark(f->m, cutoff, 2, &g, &n, &e), ORC_OK);
    assert_int_equal(n, 2);
    free(g);
    /* The next call returns the 2 still DELETING and, with a larger limit, the third. */
    assert_int_equal(meta_gc_mark(f->m, cutoff, 3, &g, &n, &e), ORC_OK);
    assert_int_equal(n, 3);
    bool seen_old0 = false, seen_old1 = false, seen_pend = false;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(g[i].state, META_CHUNK_DELETING);
        assert_int_not_equal(g[i].id, fresh0);
        assert_int_not_equal(g[i].id, oldref);
        if (g[i].id == old0) {
            seen_old0 = true;
            assert_int_equal(g[i].ncopies, 2);
        }
        if (g[i].id == old1) seen_old1 = true;
        if (g[i].id == pend.id) {
            seen_pend = true;
            assert_int_equal(g[i].ncopies, 0);
        }
    }
    assert_true(seen_old0 && seen_old1 && seen_pend);
    free(g);

    /* A marked chunk is never handed to dedup, and its upload cannot commit. */
    meta_chunk k;
    meta_contract_hash(1, h);
    assert_int_equal(meta_chunk_claim(f->m, h, 10, 38, 1, 1, NULL, &k, &is_new, &e), ORC_EBUSY);
    assert_int_equal(meta_chunk_commit(f->m, pend.id, f->prov, NULL, 1, &e), ORC_ECONFLICT);

    assert_int_equal(meta_gc_forget(f->m, fresh0, &e), ORC_ECONFLICT);
    assert_int_equal(meta_gc_forget(f->m, old0, &e), ORC_OK);
    assert_int_equal(meta_gc_forget(f->m, old0, &e), ORC_ENOTFOUND);
    assert_int_equal(meta_gc_forget(f->m, old1, &e), ORC_OK);
    assert_int_equal(meta_gc_forget(f->m, pend.id, &e), ORC_OK);
    meta_stats s = stats(f);
    assert_int_equal(s.chunks, 2);
    assert_int_equal(s.bytes_stored, 2 * 2 * 38);

    /* Forgotten: the same content is new again. */
    assert_int_equal(meta_chunk_claim(f->m, h, 10, 38, 1, 1, NULL, &k, &is_new, &e), ORC_OK);
    assert_true(is_new);
}

static void list_keys(fixture *f, const char *prefix, const char *from, bool incl, size_t limit,
                      const char *const *want, size_t nwant)
{
    orc_err e = {0};
    meta_object *v;
    size_t n;
    assert_int_equal(meta_object_list(f->m, f->bucket, prefix, from, incl, limit, &v, &n, &e),
                     ORC_OK);
    assert_int_equal(n, nwant);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(v[i].key, want[i]);
        meta_object_dispose(&v[i]);
    }
    free(v);
}

static void test_list_orders_bytes_and_honours_prefix_from_limit(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    /* In byte order: 0xC3 (e-acute) < 0xE2 (euro) < 0xFF. */
    const char *keys[] = {"a%",       "a%b",          "a_",    "aXb",       "ab", "b", "z",
                          "\xc3\xa9", "\xe2\x82\xac", "p\xff", "p\xff\xff", "pa", "q"};
    size_t nk = sizeof(keys) / sizeof(keys[0]);
    meta_object_new empty = {.size = 0, .etag = "e"};
    int64_t id;
    for (size_t i = 0; i < nk; i++) {
        empty.key = keys[i];
        assert_int_equal(meta_object_put(f->m, f->bucket, &empty, &id, &e), ORC_OK);
    }
    /* 'X' (0x58) < '_' (0x5F) < 'a'; "pa" < "p\xff"; ASCII before the UTF-8 keys. */
    const char *sorted[] = {"a%",    "a%b",       "aXb", "a_", "ab",       "b",           "pa",
                            "p\xff", "p\xff\xff", "q",   "z",  "\xc3\xa9", "\xe2\x82\xac"};
    list_keys(f, NULL, NULL, false, 100, sorted, nk);
    list_keys(f, "", NULL, false, 3, sorted, 3);

    const char *pct[] = {"a%", "a%b"};
    list_keys(f, "a%", NULL, false, 100, pct, 2);
    const char *und[] = {"a_"};
    list_keys(f, "a_", NULL, false, 100, und, 1);
    const char *eacute[] = {"\xc3\xa9"};
    list_keys(f, "\xc3", NULL, false, 100, eacute, 1);
    const char *pff[] = {"p\xff", "p\xff\xff"};
    list_keys(f, "p\xff", NULL, false, 100, pff, 2);
    const char *pffff[] = {"p\xff\xff"};
    list_keys(f, "p\xff\xff", NULL, false, 100, pffff, 1);

    const char *after_ab[] = {"b", "pa"};
    list_keys(f, NULL, "ab", false, 2, after_ab, 2);
    const char *from_ab[] = {"ab", "b"};
    list_keys(f, NULL, "ab", true, 2, from_ab, 2);
    const char *a_after[] = {"a%b", "aXb", "a_", "ab"};
    list_keys(f, "a", "a%", false, 100, a_after, 4);
    /* A marker before the prefix starts at the prefix; one after it ends the list. */
    list_keys(f, "a_", "a", false, 100, und, 1);
    list_keys(f, "a_", "b", true, 100, NULL, 0);
    list_keys(f, "zz", NULL, false, 100, NULL, 0);
    list_keys(f, NULL, NULL, false, 0, NULL, 0);
}

enum { THREADS = 4, ROUNDS = 40 };

typedef struct worker {
    fixture *f;
    int t;
    int failures;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    fixture *f = w->f;
    orc_err e;
    for (int i = 0; i < ROUNDS; i++) {
        uint8_t h[32];
        meta_chunk k;
        bool is_new;
        char key[32];
        meta_contract_hash(1000 + (uint64_t)w->t * ROUNDS + (uint64_t)i, h);
        snprintf(key, sizeof(key), "t%d/k%d", w->t, i % (ROUNDS / 2));
        uint32_t len = 100 + (uint32_t)i;
        if (meta_chunk_claim(f->m, h, len, len + 28, 1, 1, NULL, &k, &is_new, &e) ||
            meta_chunk_commit(f->m, k.id, f->prov, NULL, 2, &e)) {
            w->failures++;
            continue;
        }
        uint64_t off = 0;
        meta_object_new o = {.key = key,
                             .size = len,
                             .etag = "e",
                             .chunk_ids = &k.id,
                             .offsets = &off,
                             .nchunks = 1};
        int64_t oid;
        if (meta_object_put(f->m, f->bucket, &o, &oid, &e)) {
            w->failures++;
            continue;
        }
        meta_object got;
        meta_extent *x;
        size_t n;
        if (meta_object_get(f->m, f->bucket, key, true, 0, UINT64_MAX, &got, &x, &n, &e)) {
            w->failures++;
            continue;
        }
        if (n != 1 || x[0].chunk.id != k.id || got.size != len || x[0].chunk.ncopies != 2)
            w->failures++;
        free(x);
        meta_object_dispose(&got);
    }
    return NULL;
}

static void test_concurrent_put_get_from_threads(void **state)
{
    fixture *f = *state;
    pthread_t th[THREADS];
    worker w[THREADS];
    for (int t = 0; t < THREADS; t++) {
        w[t] = (worker){.f = f, .t = t};
        assert_int_equal(pthread_create(&th[t], NULL, work, &w[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
        assert_int_equal(w[t].failures, 0);
    }
    /* Each thread wrote ROUNDS/2 keys twice: the second round released the first. */
    meta_stats s = stats(f);
    assert_int_equal(s.objects, THREADS * ROUNDS / 2);
    assert_int_equal(s.chunks, THREADS * ROUNDS);
    assert_int_equal(s.chunk_refs, THREADS * ROUNDS / 2);
}

enum { READERS = 20 }; /* more than the pool's connections */

static void *read_work(void *arg)
{
    worker *w = arg;
    orc_err e;
    for (int i = 0; i < 25; i++) {
        meta_object got;
        meta_extent *x;
        size_t n;
        meta_stats s;
        if (meta_object_get(w->f->m, w->f->bucket, "shared", true, 0, UINT64_MAX, &got, &x, &n,
                            &e) ||
            n != 1 || got.size != 10)
            w->failures++;
        else {
            free(x);
            meta_object_dispose(&got);
        }
        if (meta_stats_get(w->f->m, &s, &e) || s.objects != 1) w->failures++;
    }
    return NULL;
}

static void test_more_threads_than_connections_take_turns(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    uint32_t len = 10;
    int64_t k = live_chunk(f, 1, len);
    assert_int_equal(put(f, "shared", "e", &k, &len, 1, &e), ORC_OK);
    pthread_t th[READERS];
    worker w[READERS];
    for (int t = 0; t < READERS; t++) {
        w[t] = (worker){.f = f, .t = t};
        assert_int_equal(pthread_create(&th[t], NULL, read_work, &w[t]), 0);
    }
    for (int t = 0; t < READERS; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
        assert_int_equal(w[t].failures, 0);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_provider_ids_are_stable_and_distinct, setup, teardown),
    cmocka_unit_test_setup_teardown(test_user_add_lookup_duplicate_remove, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bucket_create_get_list_delete, setup, teardown),
    cmocka_unit_test_setup_teardown(test_chunk_claim_commit_life_cycle, setup, teardown),
    cmocka_unit_test_setup_teardown(test_chunk_abandon_drops_only_pending, setup, teardown),
    cmocka_unit_test_setup_teardown(test_object_get_selects_overlapping_extents, setup, teardown),
    cmocka_unit_test_setup_teardown(test_object_put_checks_bucket_and_tiling, setup, teardown),
    cmocka_unit_test_setup_teardown(test_overwrite_and_delete_release_references, setup, teardown),
    cmocka_unit_test_setup_teardown(test_put_over_collected_chunk_conflicts_and_changes_nothing,
                                    setup, teardown),
    cmocka_unit_test_setup_teardown(test_chunk_repeated_in_object_counts_each_reference, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_gc_mark_takes_only_old_unreferenced_chunks, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_list_orders_bytes_and_honours_prefix_from_limit, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_concurrent_put_get_from_threads, setup, teardown),
    cmocka_unit_test_setup_teardown(test_more_threads_than_connections_take_turns, setup, teardown),
};

const meta_contract_group meta_contract_store = {
    "users, buckets, chunks, objects, listing, threads", tests, sizeof(tests) / sizeof(tests[0])};
