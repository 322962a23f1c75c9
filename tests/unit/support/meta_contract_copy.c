/* The metadata store contract (meta_contract.h), CopyObject and conditional
 * writes: meta_object_copy and conditional meta_object_put. A copy is a
 * new manifest over the same chunks with one more reference each, the
 * destination's previous version is released, copying onto itself changes
 * only metadata, and failed conditions change nothing. */
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

typedef struct fixture {
    void *ctx; /* the implementation's, for close */
    meta *m;
    int64_t owner, b1, b2;
    uint32_t prov[2];
} fixture;

static int64_t bucket(fixture *f, const char *name)
{
    orc_err e = {0};
    meta_bucket b;
    assert_int_equal(meta_bucket_create(f->m, name, f->owner, "us-east-1", &e), ORC_OK);
    assert_int_equal(meta_bucket_get(f->m, name, &b, &e), ORC_OK);
    return b.id;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    orc_err e = {0};
    meta_contract_open(&f->m, &f->ctx);
    assert_int_equal(meta_user_add(f->m, "bob", "AKBOB", (const uint8_t *)"s", 1, &f->owner, &e),
                     ORC_OK);
    f->b1 = bucket(f, "one");
    f->b2 = bucket(f, "two");
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

static int64_t live_chunk(fixture *f, uint8_t seed, uint32_t len)
{
    uint8_t h[32];
    meta_chunk k;
    bool is_new = false;
    orc_err e = {0};
    memset(h, seed, sizeof(h));
    assert_int_equal(meta_chunk_claim(f->m, h, len, len + 28, 1, 1, NULL, &k, &is_new, &e), ORC_OK);
    assert_int_equal(meta_chunk_commit(f->m, k.id, f->prov, NULL, 2, &e), ORC_OK);
    return k.id;
}

/* key in bucket as chunks ids (each 100 bytes), with an optional condition. */
static int put(fixture *f, int64_t b, const char *key, const char *etag, const int64_t *ids,
               size_t n, meta_put_cond cond, orc_err *e)
{
    uint64_t offs[8];
    for (size_t i = 0; i < n; i++)
        offs[i] = 100 * i;
    meta_object_new o = {.key = key,
                         .size = 100 * n,
                         .etag = etag,
                         .content_type = "text/plain",
                         .headers = "x-amz-meta-a: b\n",
                         .mtime_ms = 1000,
                         .chunk_ids = ids,
                         .offsets = offs,
                         .nchunks = n,
                         .cond = cond};
    int64_t id;
    return meta_object_put(f->m, b, &o, &id, e);
}

static uint64_t refs(fixture *f)
{
    meta_stats s;
    orc_err e = {0};
    assert_int_equal(meta_stats_get(f->m, &s, &e), ORC_OK);
    return s.chunk_refs;
}

static size_t collectable(fixture *f)
{
    meta_chunk *v = NULL;
    size_t n = 0;
    orc_err e = {0};
    assert_int_equal(meta_gc_mark(f->m, INT64_MAX, 100, &v, &n, &e), ORC_OK);
    free(v);
    return n;
}

static void get(fixture *f, int64_t b, const char *key, meta_object *o, size_t *next)
{
    meta_extent *ext = NULL;
    orc_err e = {0};
    assert_int_equal(meta_object_get(f->m, b, key, true, 0, UINT64_MAX, o, &ext, next, &e), ORC_OK);
    free(ext);
}

static meta_object_copy_args args(fixture *f, const char *src, int64_t dst_b, const char *dst)
{
    return (meta_object_copy_args){
        .src_bucket = f->b1, .src_key = src, .dst_bucket = dst_b, .dst_key = dst, .mtime_ms = 5000};
}

static void test_copy_shares_chunks_and_counts_references(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    int64_t ids[3] = {live_chunk(f, 1, 100), live_chunk(f, 2, 100), 0};
    ids[2] = ids[0]; /* a chunk repeated in the object: two references */
    assert_int_equal(put(f, f->b1, "src", "etag-src", ids, 3, (meta_put_cond){0}, &e), ORC_OK);
    assert_int_equal(refs(f), 3);
    meta_object_copy_args a = args(f, "src", f->b2, "dst");
    meta_object out;
    assert_int_equal(meta_object_copy(f->m, &a, &out, &e), ORC_OK);
    assert_string_equal(out.etag, "etag-src");
    assert_string_equal(out.key, "dst");
    assert_int_equal(out.size, 300);
    assert_string_equal(out.content_type, "text/plain"); /* COPY: the source's */
    assert_int_equal(out.mtime_ms, 5000);
    meta_object_dispose(&out);
    assert_int_equal(refs(f), 6);

    meta_object o;
    size_t n = 0;
    get(f, f->b2, "dst", &o, &n);
    assert_int_equal(n, 3);
    assert_string_equal(o.headers, "x-amz-meta-a: b\n");
    meta_object_dispose(&o);

    /* the copy outlives its source; then every reference is gone */
    assert_int_equal(meta_object_delete(f->m, f->b1, "src", &e), ORC_OK);
    assert_int_equal(refs(f), 3);
    assert_int_equal(collectable(f), 0);
    assert_int_equal(meta_object_delete(f->m, f->b2, "dst", &e), ORC_OK);
    assert_int_equal(refs(f), 0);
    assert_int_equal(collectable(f), 2);
}

static void test_copy_replaces_destination_and_releases_it(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    int64_t a1 = live_chunk(f, 1, 100), b1 = live_chunk(f, 2, 100);
    assert_int_equal(put(f, f->b1, "a", "ea", &a1, 1, (meta_put_cond){0}, &e), ORC_OK);
    assert_int_equal(put(f, f->b1, "b", "eb", &b1, 1, (meta_put_cond){0}, &e), ORC_OK);
    meta_object_copy_args a = args(f, "a", f->b1, "b");
    a.replace_meta = true;
    a.content_type = "image/png";
    a.headers = NULL;
    meta_object out;
    assert_int_equal(meta_object_copy(f->m, &a, &out, &e), ORC_OK);
    meta_object_dispose(&out);
    assert_int_equal(refs(f), 2);        /* a twice; b's chunk released */
    assert_int_equal(collectable(f), 1); /* b's old chunk */
    meta_object o;
    size_t n;
    get(f, f->b1, "b", &o, &n);
    assert_string_equal(o.etag, "ea");
    assert_string_equal(o.content_type, "image/png");
    assert_null(o.headers);
    meta_object_dispose(&o);
}

static void test_copy_onto_itself_changes_only_metadata(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    int64_t c = live_chunk(f, 7, 100);
    assert_int_equal(put(f, f->b1, "self", "es", &c, 1, (meta_put_cond){0}, &e), ORC_OK);
    meta_object_copy_args a = args(f, "self", f->b1, "self");
    a.replace_meta = true;
    a.content_type = "text/x-new";
    a.headers = "x-amz-meta-v: 2\n";
    meta_object out;
    assert_int_equal(meta_object_copy(f->m, &a, &out, &e), ORC_OK);
    meta_object_dispose(&out);
    assert_int_equal(refs(f), 1);
    meta_object o;
    size_t n;
    get(f, f->b1, "self", &o, &n);
    assert_int_equal(n, 1);
    assert_string_equal(o.etag, "es");
    assert_string_equal(o.content_type, "text/x-new");
    assert_string_equal(o.headers, "x-amz-meta-v: 2\n");
    assert_int_equal(o.mtime_ms, 5000);
    meta_object_dispose(&o);
}

/* A refused copy: ECONFLICT with the detail the front maps to its answer. */
static void expect_refused(int rc, const orc_err *e, int detail)
{
    assert_int_equal(rc, ORC_ECONFLICT);
    assert_int_equal(e->detail, detail);
}

static void test_failed_copy_conditions_change_nothing(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    meta_object out;
    int64_t c = live_chunk(f, 3, 100), d = live_chunk(f, 4, 100);
    assert_int_equal(put(f, f->b1, "s", "es", &c, 1, (meta_put_cond){0}, &e), ORC_OK);
    assert_int_equal(put(f, f->b2, "d", "ed", &d, 1, (meta_put_cond){0}, &e), ORC_OK);

    meta_object_copy_args a = args(f, "s", f->b2, "d");
    a.src_etag = "changed";
    expect_refused(meta_object_copy(f->m, &a, &out, &e), &e, ORC_D_SOURCE_CHANGED);
    a.src_etag = NULL;
    a.cond.kind = META_PUT_IF_ABSENT;
    expect_refused(meta_object_copy(f->m, &a, &out, &e), &e, ORC_D_PRECONDITION);
    a.cond.kind = META_PUT_IF_MATCH;
    snprintf(a.cond.etag, sizeof(a.cond.etag), "other");
    expect_refused(meta_object_copy(f->m, &a, &out, &e), &e, ORC_D_PRECONDITION);
    assert_int_equal(refs(f), 2);
    meta_object o;
    size_t n;
    get(f, f->b2, "d", &o, &n);
    assert_string_equal(o.etag, "ed");
    meta_object_dispose(&o);

    snprintf(a.cond.etag, sizeof(a.cond.etag), "ed");
    assert_int_equal(meta_object_copy(f->m, &a, &out, &e), ORC_OK);
    meta_object_dispose(&out);
    assert_int_equal(refs(f), 2); /* s twice, d's chunk released */

    a = args(f, "absent", f->b2, "x");
    assert_int_equal(meta_object_copy(f->m, &a, &out, &e), ORC_ENOTFOUND);
    a = args(f, "s", 9999, "x");
    assert_int_equal(meta_object_copy(f->m, &a, &out, &e), ORC_ENOTFOUND);
}

/* The front tells a failed condition from a changed copy source by the
 * detail (the first is PreconditionFailed, the second retried), never by
 * the message. */
static void test_failed_conditions_carry_their_detail(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    meta_object out;
    int64_t c = live_chunk(f, 7, 100);
    meta_put_cond absent = {.kind = META_PUT_IF_ABSENT};
    assert_int_equal(put(f, f->b1, "s", "es", &c, 1, (meta_put_cond){0}, &e), ORC_OK);
    assert_int_equal(put(f, f->b1, "s", "e2", &c, 1, absent, &e), ORC_ECONFLICT);
    assert_int_equal(e.detail, ORC_D_PRECONDITION);

    meta_object_copy_args a = args(f, "s", f->b2, "d");
    a.src_etag = "changed";
    assert_int_equal(meta_object_copy(f->m, &a, &out, &e), ORC_ECONFLICT);
    assert_int_equal(e.detail, ORC_D_SOURCE_CHANGED);
    a.src_etag = "es";
    assert_int_equal(meta_object_copy(f->m, &a, &out, &e), ORC_OK);
    meta_object_dispose(&out);
    a.cond.kind = META_PUT_IF_ABSENT;
    assert_int_equal(meta_object_copy(f->m, &a, &out, &e), ORC_ECONFLICT);
    assert_int_equal(e.detail, ORC_D_PRECONDITION);
    /* A later failure of another kind does not keep the detail. */
    a = args(f, "absent", f->b2, "x");
    assert_int_equal(meta_object_copy(f->m, &a, &out, &e), ORC_ENOTFOUND);
    assert_int_equal(e.detail, ORC_D_NONE);
}

static void test_conditional_put(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    int64_t c = live_chunk(f, 5, 100), d = live_chunk(f, 6, 100);
    meta_put_cond absent = {.kind = META_PUT_IF_ABSENT}, match = {.kind = META_PUT_IF_MATCH};
    snprintf(match.etag, sizeof(match.etag), "e1");
    expect_refused(put(f, f->b1, "k", "e0", &c, 1, match, &e), &e,
                   ORC_D_PRECONDITION); /* absent key */
    assert_int_equal(put(f, f->b1, "k", "e1", &c, 1, absent, &e), ORC_OK);
    expect_refused(put(f, f->b1, "k", "e2", &d, 1, absent, &e), &e, ORC_D_PRECONDITION);
    assert_int_equal(put(f, f->b1, "k", "e2", &d, 1, match, &e), ORC_OK);
    expect_refused(put(f, f->b1, "k", "e3", &c, 1, match, &e), &e, ORC_D_PRECONDITION); /* stale */
    assert_int_equal(refs(f), 1);
    meta_object o;
    size_t n;
    get(f, f->b1, "k", &o, &n);
    assert_string_equal(o.etag, "e2");
    meta_object_dispose(&o);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_copy_shares_chunks_and_counts_references, setup, teardown),
    cmocka_unit_test_setup_teardown(test_copy_replaces_destination_and_releases_it, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_copy_onto_itself_changes_only_metadata, setup, teardown),
    cmocka_unit_test_setup_teardown(test_failed_copy_conditions_change_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown(test_failed_conditions_carry_their_detail, setup, teardown),
    cmocka_unit_test_setup_teardown(test_conditional_put, setup, teardown),
};

const meta_contract_group meta_contract_copy = {"CopyObject and conditional writes", tests,
                                                sizeof(tests) / sizeof(tests[0])};
