/* The metadata store contract (meta_contract.h), multipart uploads: parts hold
 * chunk references, completing stitches the listed parts' manifests with
 * shifted offsets and moves the references to the object in one transaction,
 * abort and re-upload release them, and a refused complete changes nothing.
 * References are seen as meta.h shows them (the stats total, the repair
 * view); each test gets a fresh store. */
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

#define MD5_A "0123456789abcdef0123456789abcdef"
#define MD5_B "fedcba9876543210fedcba9876543210"

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
    meta_bucket b;
    meta_contract_open(&f->m, &f->ctx);
    assert_int_equal(
        meta_user_add(f->m, "alice", "AKALICE", (const uint8_t *)"sealed", 6, &f->owner, &e),
        ORC_OK);
    assert_int_equal(meta_bucket_create(f->m, "photos", f->owner, "us-east-1", &e), ORC_OK);
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

/* The references as meta.h shows them: their total, and whether each of the
 * chunks held[0..nheld) holds any (free ones hold none). */
static void expect_refs(fixture *f, uint64_t total, const int64_t *held, size_t nheld,
                        const int64_t *unheld, size_t nunheld)
{
    assert_int_equal(meta_contract_refs(f->m), total);
    for (size_t i = 0; i < nheld; i++)
        assert_true(meta_contract_referenced(f->m, held[i]));
    for (size_t i = 0; i < nunheld; i++)
        assert_false(meta_contract_referenced(f->m, unheld[i]));
}

/* The upload's parts, as ListParts sees them: *n, or ORC_ENOTFOUND. */
static int parts_listed(fixture *f, const char *key, const char *uid, size_t *n)
{
    meta_part *ps = NULL;
    orc_err e = {0};
    *n = 0;
    int rc = meta_part_list(f->m, f->bucket, key, uid, 0, 100, &ps, n, &e);
    free(ps);
    return rc;
}

static int64_t live_chunk(fixture *f, uint64_t i, uint32_t plain_len)
{
    uint8_t h[32] = {0};
    meta_chunk k;
    bool is_new = false;
    orc_err e = {0};
    memcpy(h, &i, sizeof(i));
    h[31] = 0xAB;
    assert_int_equal(
        meta_chunk_claim(f->m, h, plain_len, plain_len + 28, 1, 1, NULL, &k, &is_new, &e), ORC_OK);
    assert_true(is_new);
    assert_int_equal(meta_chunk_commit(f->m, k.id, f->prov, NULL, 2, &e), ORC_OK);
    return k.id;
}

static void create(fixture *f, const char *key, const char *uid)
{
    orc_err e = {0};
    assert_int_equal(meta_upload_create(f->m, f->bucket, key, uid, f->owner, "text/plain",
                                        "x-amz-meta-a: b\n", NULL, orc_now_ms(), &e),
                     ORC_OK);
}

/* Puts part `number` of uid as chunks ids[0..n) with lengths lens. */
static int part(fixture *f, const char *key, const char *uid, int number, const char *etag,
                const int64_t *ids, const uint32_t *lens, size_t n, orc_err *e)
{
    uint64_t offs[8], size = 0;
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        offs[i] = size;
        size += lens[i];
    }
    meta_part_new p = {uid, key, number, size, etag, 1000, ids, offs, n};
    return meta_part_put(f->m, f->bucket, &p, e);
}

static int complete(fixture *f, const char *key, const char *uid, const meta_part_ref *refs,
                    size_t n, uint64_t min, meta_complete *mc, orc_err *e)
{
    *mc = (meta_complete){.upload_id = uid,
                          .key = key,
                          .parts = refs,
                          .nparts = n,
                          .min_part_size = min,
                          .etag = "00112233445566778899aabbccddeeff-2",
                          .mtime_ms = 2000};
    return meta_upload_complete(f->m, f->bucket, mc, e);
}

static void test_complete_stitches_parts_and_moves_references(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    int64_t a = live_chunk(f, 1, 100), b = live_chunk(f, 2, 50), c = live_chunk(f, 3, 30);
    create(f, "big", "u1");
    assert_int_equal(
        part(f, "big", "u1", 1, MD5_A, (int64_t[]){a, b}, (uint32_t[]){100, 50}, 2, &e), ORC_OK);
    assert_int_equal(part(f, "big", "u1", 3, MD5_B, (int64_t[]){c}, (uint32_t[]){30}, 1, &e),
                     ORC_OK);
    /* Part 2 is uploaded but not listed: the complete releases it. */
    assert_int_equal(part(f, "big", "u1", 2, MD5_B, (int64_t[]){a}, (uint32_t[]){100}, 1, &e),
                     ORC_OK);
    expect_refs(f, 4, (int64_t[]){a, b, c}, 3, NULL, 0); /* a twice */

    meta_part_ref refs[] = {{1, MD5_A}, {3, MD5_B}};
    meta_complete mc;
    assert_int_equal(complete(f, "big", "u1", refs, 2, 150, &mc, &e), ORC_OK);
    assert_int_equal(mc.size, 180);
    /* The object's references replaced the parts': one each. */
    expect_refs(f, 3, (int64_t[]){a, b, c}, 3, NULL, 0);

    meta_object o;
    meta_extent *x = NULL;
    size_t n = 0;
    assert_int_equal(meta_object_get(f->m, f->bucket, "big", true, 0, UINT64_MAX, &o, &x, &n, &e),
                     ORC_OK);
    assert_int_equal(o.size, 180);
    assert_string_equal(o.etag, "00112233445566778899aabbccddeeff-2");
    assert_string_equal(o.content_type, "text/plain");
    assert_string_equal(o.headers, "x-amz-meta-a: b\n");
    assert_int_equal(n, 3);
    assert_int_equal(x[0].offset, 0);
    assert_int_equal(x[0].chunk.id, a);
    assert_int_equal(x[1].offset, 100);
    assert_int_equal(x[1].chunk.id, b);
    assert_int_equal(x[2].offset, 150); /* part 3's chunk, shifted by part 1's size */
    assert_int_equal(x[2].chunk.id, c);
    assert_int_equal(x[2].chunk.ncopies, 2);
    free(x);
    meta_object_dispose(&o);

    int64_t oid;
    int nparts;
    uint64_t start, size;
    assert_int_equal(meta_object_part(f->m, f->bucket, "big", 2, &oid, &nparts, &start, &size, &e),
                     ORC_OK);
    assert_int_equal(nparts, 2);
    assert_int_equal(start, 150);
    assert_int_equal(size, 30);
    assert_int_equal(meta_object_part(f->m, f->bucket, "big", 3, &oid, &nparts, &start, &size, &e),
                     ORC_OK);
    assert_int_equal(size, 0); /* beyond the parts: no range */

    meta_upload u;
    assert_int_equal(meta_upload_get(f->m, f->bucket, "big", "u1", &u, &e), ORC_ENOTFOUND);
    size_t np;
    assert_int_equal(parts_listed(f, "big", "u1", &np), ORC_ENOTFOUND);

    /* Deleting the object releases everything; its part table goes with it. */
    assert_int_equal(meta_object_delete(f->m, f->bucket, "big", &e), ORC_OK);
    expect_refs(f, 0, NULL, 0, (int64_t[]){a, b, c}, 3);
    assert_int_equal(meta_object_part(f->m, f->bucket, "big", 1, &oid, &nparts, &start, &size, &e),
                     ORC_ENOTFOUND);
}

/* A completed upload is remembered (for a retried complete) for
 * META_COMPLETED_KEEP_MS, under its own bucket and key only. */
static void test_completed_upload_is_remembered_for_a_while(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    meta_completed got;
    int64_t a = live_chunk(f, 1, 100);
    create(f, "k", "u1");
    assert_int_equal(part(f, "k", "u1", 1, MD5_A, (int64_t[]){a}, (uint32_t[]){100}, 1, &e),
                     ORC_OK);
    assert_int_equal(meta_upload_completed(f->m, f->bucket, "k", "u1", 2000, &got, &e),
                     ORC_ENOTFOUND);
    meta_part_ref refs[] = {{1, MD5_A}};
    meta_complete mc;
    assert_int_equal(complete(f, "k", "u1", refs, 1, 0, &mc, &e), ORC_OK);
    assert_int_equal(meta_upload_completed(f->m, f->bucket, "k", "u1", 2000, &got, &e), ORC_OK);
    assert_string_equal(got.etag, "00112233445566778899aabbccddeeff-2");
    assert_int_equal(got.completed_ms, 2000);
    /* another key or bucket does not see it */
    assert_int_equal(meta_upload_completed(f->m, f->bucket, "other", "u1", 2000, &got, &e),
                     ORC_ENOTFOUND);
    assert_int_equal(meta_upload_completed(f->m, f->bucket + 1, "k", "u1", 2000, &got, &e),
                     ORC_ENOTFOUND);
    /* and past the keeping time it is forgotten */
    assert_int_equal(meta_upload_completed(f->m, f->bucket, "k", "u1",
                                           2000 + META_COMPLETED_KEEP_MS + 1, &got, &e),
                     ORC_ENOTFOUND);
}

static void test_abort_releases_every_part(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    int64_t a = live_chunk(f, 1, 100), b = live_chunk(f, 2, 50);
    create(f, "k", "u1");
    assert_int_equal(part(f, "k", "u1", 1, MD5_A, (int64_t[]){a, b}, (uint32_t[]){100, 50}, 2, &e),
                     ORC_OK);
    assert_int_equal(part(f, "k", "u1", 2, MD5_A, (int64_t[]){a}, (uint32_t[]){100}, 1, &e),
                     ORC_OK);
    /* Referenced by parts: the collector does not take them. */
    meta_chunk *cs = NULL;
    size_t n = 0;
    assert_int_equal(meta_gc_mark(f->m, orc_now_ms() + 60000, 100, &cs, &n, &e), ORC_OK);
    assert_int_equal(n, 0);
    free(cs);

    assert_int_equal(meta_upload_abort(f->m, f->bucket, "k", "u1", &e), ORC_OK);
    expect_refs(f, 0, NULL, 0, (int64_t[]){a, b}, 2);
    size_t np;
    assert_int_equal(parts_listed(f, "k", "u1", &np), ORC_ENOTFOUND);
    assert_int_equal(meta_upload_abort(f->m, f->bucket, "k", "u1", &e), ORC_ENOTFOUND);
    assert_int_equal(meta_gc_mark(f->m, orc_now_ms() + 60000, 100, &cs, &n, &e), ORC_OK);
    assert_int_equal(n, 2);
    free(cs);
}

static void test_reupload_replaces_part_and_releases_old(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    int64_t a = live_chunk(f, 1, 100), b = live_chunk(f, 2, 70);
    create(f, "k", "u1");
    assert_int_equal(part(f, "k", "u1", 1, MD5_A, (int64_t[]){a}, (uint32_t[]){100}, 1, &e),
                     ORC_OK);
    assert_int_equal(part(f, "k", "u1", 1, MD5_B, (int64_t[]){b}, (uint32_t[]){70}, 1, &e), ORC_OK);
    expect_refs(f, 1, &b, 1, &a, 1);
    meta_part *ps = NULL;
    size_t n = 0;
    assert_int_equal(meta_part_list(f->m, f->bucket, "k", "u1", 0, 10, &ps, &n, &e), ORC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ps[0].number, 1);
    assert_int_equal(ps[0].size, 70);
    assert_string_equal(ps[0].etag, MD5_B);
    free(ps);
    /* The same chunk again: the reference is released and retaken. */
    assert_int_equal(part(f, "k", "u1", 1, MD5_B, (int64_t[]){b}, (uint32_t[]){70}, 1, &e), ORC_OK);
    expect_refs(f, 1, &b, 1, &a, 1);
}

static void test_refused_complete_changes_nothing(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    meta_complete mc;
    int64_t a = live_chunk(f, 1, 100), b = live_chunk(f, 2, 50);
    create(f, "k", "u1");
    assert_int_equal(part(f, "k", "u1", 1, MD5_A, (int64_t[]){a}, (uint32_t[]){100}, 1, &e),
                     ORC_OK);
    assert_int_equal(part(f, "k", "u1", 2, MD5_B, (int64_t[]){b}, (uint32_t[]){50}, 1, &e), ORC_OK);

    meta_part_ref missing[] = {{1, MD5_A}, {3, MD5_B}};
    assert_int_equal(complete(f, "k", "u1", missing, 2, 0, &mc, &e), ORC_EINVAL);
    assert_int_equal(mc.fault, META_COMPLETE_NO_PART);
    assert_int_equal(mc.fault_part, 3);
    meta_part_ref wrong_etag[] = {{1, MD5_B}, {2, MD5_B}};
    assert_int_equal(complete(f, "k", "u1", wrong_etag, 2, 0, &mc, &e), ORC_EINVAL);
    assert_int_equal(mc.fault, META_COMPLETE_NO_PART);
    assert_int_equal(mc.fault_part, 1);
    meta_part_ref order[] = {{2, MD5_B}, {1, MD5_A}};
    assert_int_equal(complete(f, "k", "u1", order, 2, 0, &mc, &e), ORC_EINVAL);
    assert_int_equal(mc.fault, META_COMPLETE_BAD_ORDER);
    meta_part_ref ok[] = {{1, MD5_A}, {2, MD5_B}};
    /* Part 1 (100 bytes) is under the minimum; the last part may be small. */
    assert_int_equal(complete(f, "k", "u1", ok, 2, 101, &mc, &e), ORC_EINVAL);
    assert_int_equal(mc.fault, META_COMPLETE_TOO_SMALL);
    assert_int_equal(mc.fault_part, 1);
    assert_int_equal(complete(f, "other", "u1", ok, 2, 0, &mc, &e), ORC_ENOTFOUND);

    meta_object o;
    assert_int_equal(meta_object_get(f->m, f->bucket, "k", false, 0, 0, &o, NULL, NULL, &e),
                     ORC_ENOTFOUND);
    expect_refs(f, 2, (int64_t[]){a, b}, 2, NULL, 0);
    /* ... and the upload can still be completed. */
    assert_int_equal(complete(f, "k", "u1", ok, 2, 100, &mc, &e), ORC_OK);
    assert_int_equal(mc.size, 150);
}

static void test_part_put_checks_upload_key_and_tiling(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    int64_t a = live_chunk(f, 1, 100);
    create(f, "k", "u1");
    assert_int_equal(part(f, "k", "nope", 1, MD5_A, (int64_t[]){a}, (uint32_t[]){100}, 1, &e),
                     ORC_ENOTFOUND);
    assert_int_equal(part(f, "other", "u1", 1, MD5_A, (int64_t[]){a}, (uint32_t[]){100}, 1, &e),
                     ORC_ENOTFOUND);
    assert_int_equal(part(f, "k", "u1", 10001, MD5_A, (int64_t[]){a}, (uint32_t[]){100}, 1, &e),
                     ORC_EINVAL);
    /* Claimed size 99 for a 100-byte chunk: refused, nothing kept. */
    meta_part_new p = {"u1", "k", 1, 99, MD5_A, 1, (int64_t[]){a}, (uint64_t[]){0}, 1};
    assert_int_equal(meta_part_put(f->m, f->bucket, &p, &e), ORC_EINVAL);
    expect_refs(f, 0, NULL, 0, &a, 1);
    size_t np;
    assert_int_equal(parts_listed(f, "k", "u1", &np), ORC_OK);
    assert_int_equal(np, 0);
    /* Empty parts are allowed (S3's last part may be 0 bytes). */
    assert_int_equal(part(f, "k", "u1", 5, MD5_A, NULL, NULL, 0, &e), ORC_OK);
}

static void test_list_uploads_order_markers_and_expiry(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    meta_upload *v = NULL;
    size_t n = 0;
    create(f, "b/x", "02");
    create(f, "a", "03");
    create(f, "b/x", "01");
    create(f, "c", "09");
    assert_int_equal(meta_upload_list(f->m, f->bucket, "", NULL, NULL, 10, &v, &n, &e), ORC_OK);
    assert_int_equal(n, 4);
    assert_string_equal(v[0].key, "a");
    assert_string_equal(v[1].key, "b/x");
    assert_string_equal(v[1].upload_id, "01");
    assert_string_equal(v[2].upload_id, "02");
    assert_string_equal(v[3].key, "c");
    for (size_t i = 0; i < n; i++)
        meta_upload_dispose(&v[i]);
    free(v);
    /* After (b/x, 01): b/x's 02, then c. */
    assert_int_equal(meta_upload_list(f->m, f->bucket, "", "b/x", "01", 10, &v, &n, &e), ORC_OK);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].upload_id, "02");
    assert_string_equal(v[1].key, "c");
    for (size_t i = 0; i < n; i++)
        meta_upload_dispose(&v[i]);
    free(v);
    /* After every upload of b/x, within prefix "b/". */
    assert_int_equal(meta_upload_list(f->m, f->bucket, "b/", "b/x", NULL, 10, &v, &n, &e), ORC_OK);
    assert_int_equal(n, 0);
    free(v);
    assert_int_equal(meta_upload_list(f->m, f->bucket, "b/", NULL, NULL, 10, &v, &n, &e), ORC_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        meta_upload_dispose(&v[i]);
    free(v);

    /* A bucket with uploads in progress is not empty. */
    assert_int_equal(meta_bucket_delete(f->m, "photos", &e), ORC_ECONFLICT);
    size_t gone = 0;
    assert_int_equal(meta_upload_expire(f->m, orc_now_ms() - 60000, 100, &gone, &e), ORC_OK);
    assert_int_equal(gone, 0);
    assert_int_equal(meta_upload_expire(f->m, orc_now_ms() + 1, 100, &gone, &e), ORC_OK);
    assert_int_equal(gone, 4);
    assert_int_equal(meta_bucket_delete(f->m, "photos", &e), ORC_OK);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_complete_stitches_parts_and_moves_references, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_abort_releases_every_part, setup, teardown),
    cmocka_unit_test_setup_teardown(test_reupload_replaces_part_and_releases_old, setup, teardown),
    cmocka_unit_test_setup_teardown(test_refused_complete_changes_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown(test_completed_upload_is_remembered_for_a_while, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_part_put_checks_upload_key_and_tiling, setup, teardown),
    cmocka_unit_test_setup_teardown(test_list_uploads_order_markers_and_expiry, setup, teardown),
};

const meta_contract_group meta_contract_multipart = {"multipart uploads", tests,
                                                     sizeof(tests) / sizeof(tests[0])};
