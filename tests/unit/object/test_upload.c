/* Unit tests for object/upload.c: the upload a request names (a missing or
 * empty id is NoSuchUpload, told apart from a missing key), ListParts'
 * truncation, which stored part rows a CompleteMultipartUpload's list
 * matches, a part's checksum kept only on the part it was computed for, and
 * abort. Each test gets a fresh SQLite store in a mkdtemp dir; these
 * functions use only the metadata store, so the store has no placement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/meta_tmp.h"

#include "object/object.h"
#include "object/object_int.h" /* the store's fields, to build one over a meta alone */
#include "util/time.h"

#define MD5_A "0123456789abcdef0123456789abcdef"
#define MD5_B "fedcba9876543210fedcba9876543210"

typedef struct fixture {
    char dir[64];
    char path[128];
    store st;
    int64_t owner, bucket, chunk;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    orc_err e = {0};
    meta_bucket b;
    meta_chunk k;
    bool is_new = false;
    uint8_t h[32] = {7};
    uint32_t prov;
    meta_tmp_open(f->dir, sizeof(f->dir), "/tmp/orchard-up-XXXXXX", f->path, sizeof(f->path),
                  &f->st.m);
    meta *m = f->st.m;
    assert_int_equal(
        meta_user_add(m, "alice", "AKALICE", (const uint8_t *)"sealed", 6, &f->owner, &e), ORC_OK);
    assert_int_equal(meta_bucket_create(m, "photos", f->owner, "us-east-1", &e), ORC_OK);
    assert_int_equal(meta_bucket_get(m, "photos", &b, &e), ORC_OK);
    f->bucket = b.id;
    /* One LIVE chunk of 10 bytes that every part below references. */
    assert_int_equal(meta_provider_id(m, "disk-a", &prov, &e), ORC_OK);
    assert_int_equal(meta_chunk_claim(m, h, 10, 38, 1, 1, NULL, &k, &is_new, &e), ORC_OK);
    assert_int_equal(meta_chunk_commit(m, k.id, &prov, NULL, 1, &e), ORC_OK);
    f->chunk = k.id;
    assert_int_equal(meta_upload_create(m, f->bucket, "big", "u1", f->owner, NULL,
                                        "x-amz-checksum-algorithm: CRC32\n", NULL, orc_now_ms(),
                                        &e),
                     ORC_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    meta_tmp_remove(f->st.m, f->dir, f->path);
    free(f);
    return 0;
}

static void put_part(fixture *f, int number, const char *etag, int64_t mtime_ms)
{
    orc_err e = {0};
    uint64_t off = 0;
    meta_part_new p = {"u1", "big", number, 10, etag, mtime_ms, &f->chunk, &off, 1};
    assert_int_equal(meta_part_put(f->st.m, f->bucket, &p, &e), ORC_OK);
}

static void expect_no_such_upload(int rc, const orc_err *e)
{
    assert_int_equal(rc, ORC_ENOTFOUND);
    assert_int_equal(e->detail, ORC_D_NO_SUCH_UPLOAD);
}

static void test_get_tells_a_missing_upload_apart(void **state)
{
    fixture *f = *state;
    meta_upload up;
    orc_err e = {0};
    assert_int_equal(object_upload_get(&f->st, f->bucket, "big", "u1", &up, &e), ORC_OK);
    assert_string_equal(up.upload_id, "u1");
    assert_int_equal(up.initiator, f->owner);
    meta_upload_dispose(&up);
    expect_no_such_upload(object_upload_get(&f->st, f->bucket, "big", "nope", &up, &e), &e);
    /* The id belongs to another key: not this key's upload. */
    expect_no_such_upload(object_upload_get(&f->st, f->bucket, "other", "u1", &up, &e), &e);
    expect_no_such_upload(object_upload_get(&f->st, f->bucket, "big", "", &up, &e), &e);
    expect_no_such_upload(object_upload_get(&f->st, f->bucket, "big", NULL, &up, &e), &e);
    meta_upload_dispose(&up);
}

static void test_parts_pages_and_says_truncated(void **state)
{
    fixture *f = *state;
    object_upload_parts_result r;
    orc_err e = {0};
    put_part(f, 1, MD5_A, 1000);
    put_part(f, 2, MD5_B, 1000);
    put_part(f, 5, MD5_A, 1000);
    assert_int_equal(object_upload_parts(&f->st, f->bucket, "big", "u1", 0, 2, &r, &e), ORC_OK);
    assert_int_equal(r.n, 2);
    assert_true(r.truncated);
    assert_int_equal(r.parts[0].number, 1);
    assert_int_equal(r.parts[1].number, 2);
    assert_string_equal(r.up.upload_id, "u1");
    object_upload_parts_result_dispose(&r);
    /* From the marker on, exactly the rest: not truncated. */
    assert_int_equal(object_upload_parts(&f->st, f->bucket, "big", "u1", 2, 1, &r, &e), ORC_OK);
    assert_int_equal(r.n, 1);
    assert_false(r.truncated);
    assert_int_equal(r.parts[0].number, 5);
    object_upload_parts_result_dispose(&r);
    assert_int_equal(object_upload_parts(&f->st, f->bucket, "big", "u1", 0, 0, &r, &e), ORC_OK);
    assert_int_equal(r.n, 0);
    assert_true(r.truncated);
    object_upload_parts_result_dispose(&r);
    expect_no_such_upload(object_upload_parts(&f->st, f->bucket, "big", "u2", 0, 10, &r, &e), &e);
    object_upload_parts_result_dispose(&r);
}

static void test_match_finds_listed_parts_by_number_and_etag(void **state)
{
    fixture *f = *state;
    object_upload_match m;
    orc_err e = {0};
    int fault = -1, fault_part = -1;
    put_part(f, 1, MD5_A, 1000);
    put_part(f, 3, MD5_B, 1000);
    const meta_part_ref refs[] = {{1, MD5_A}, {2, MD5_A}, {3, MD5_A}, {3, MD5_B}};
    assert_int_equal(object_upload_match_parts(&f->st, f->bucket, "big", "u1", refs, 4, &m, &fault,
                                               &fault_part, &e),
                     ORC_OK);
    assert_int_equal(fault, META_COMPLETE_OK);
    assert_int_equal(m.n, 4);
    assert_non_null(m.match[0]);
    assert_int_equal(m.match[0]->number, 1);
    assert_null(m.match[1]); /* no part 2 */
    assert_null(m.match[2]); /* part 3 holds another body */
    assert_non_null(m.match[3]);
    assert_string_equal(m.match[3]->etag, MD5_B);
    object_upload_match_dispose(&m);
}

static void test_match_refuses_numbers_no_part_can_have(void **state)
{
    fixture *f = *state;
    object_upload_match m;
    orc_err e = {0};
    int fault = 0, fault_part = 0;
    const meta_part_ref big[] = {{1, MD5_A}, {META_PART_MAX + 1, MD5_A}};
    assert_int_equal(object_upload_match_parts(&f->st, f->bucket, "big", "u1", big, 2, &m, &fault,
                                               &fault_part, &e),
                     ORC_EINVAL);
    assert_int_equal(fault, META_COMPLETE_NO_PART);
    assert_int_equal(fault_part, META_PART_MAX + 1);
    object_upload_match_dispose(&m);
    const meta_part_ref zero[] = {{0, MD5_A}};
    assert_int_equal(object_upload_match_parts(&f->st, f->bucket, "big", "u1", zero, 1, &m, &fault,
                                               &fault_part, &e),
                     ORC_EINVAL);
    assert_int_equal(fault, META_COMPLETE_NO_PART);
    object_upload_match_dispose(&m);
    const meta_part_ref ok[] = {{1, MD5_A}};
    expect_no_such_upload(
        object_upload_match_parts(&f->st, f->bucket, "big", "", ok, 1, &m, &fault, &fault_part, &e),
        &e);
    object_upload_match_dispose(&m);
}

static void test_checksum_kept_only_on_its_own_part(void **state)
{
    fixture *f = *state;
    object_upload_parts_result r;
    orc_err e = {0};
    put_part(f, 1, MD5_A, 1000);
    assert_int_equal(object_upload_part_checksum(&f->st, f->bucket, "big", "u1", 1, MD5_A, 1000,
                                                 "CRC32:AAAAAA==", &e),
                     ORC_OK);
    /* Part 1 uploaded again meanwhile: the late checksum of the old body is
     * not an error and does not land on the new body. */
    put_part(f, 1, MD5_B, 2000);
    assert_int_equal(object_upload_part_checksum(&f->st, f->bucket, "big", "u1", 1, MD5_A, 1000,
                                                 "CRC32:AAAAAA==", &e),
                     ORC_OK);
    assert_int_equal(object_upload_parts(&f->st, f->bucket, "big", "u1", 0, 10, &r, &e), ORC_OK);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.parts[0].etag, MD5_B);
    assert_string_equal(r.parts[0].checksum, "");
    object_upload_parts_result_dispose(&r);
    assert_int_equal(object_upload_part_checksum(&f->st, f->bucket, "big", "u1", 1, MD5_B, 2000,
                                                 "CRC32:AQIDBA==", &e),
                     ORC_OK);
    assert_int_equal(object_upload_parts(&f->st, f->bucket, "big", "u1", 0, 10, &r, &e), ORC_OK);
    assert_string_equal(r.parts[0].checksum, "CRC32:AQIDBA==");
    object_upload_parts_result_dispose(&r);
}

static void test_abort_forgets_the_upload(void **state)
{
    fixture *f = *state;
    meta_upload up;
    meta_user u;
    orc_err e = {0};
    put_part(f, 1, MD5_A, 1000);
    expect_no_such_upload(object_upload_abort(&f->st, f->bucket, "big", "", &e), &e);
    expect_no_such_upload(object_upload_abort(&f->st, f->bucket, "other", "u1", &e), &e);
    assert_int_equal(object_upload_abort(&f->st, f->bucket, "big", "u1", &e), ORC_OK);
    expect_no_such_upload(object_upload_get(&f->st, f->bucket, "big", "u1", &up, &e), &e);
    expect_no_such_upload(object_upload_abort(&f->st, f->bucket, "big", "u1", &e), &e);
    meta_upload_dispose(&up);
    assert_int_equal(object_upload_user(&f->st, f->owner, &u, &e), ORC_OK);
    assert_string_equal(u.name, "alice");
    assert_int_equal(object_upload_user(&f->st, f->owner + 100, &u, &e), ORC_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_tells_a_missing_upload_apart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parts_pages_and_says_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_match_finds_listed_parts_by_number_and_etag, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_match_refuses_numbers_no_part_can_have, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_checksum_kept_only_on_its_own_part, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_forgets_the_upload, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
