/* Unit tests for the reader (src/object/get.c) over fake providers
 * (fakes/fake_provider.h): ranges that cross chunk boundaries, a bad or
 * hanging copy passed over for a good one, no good copy giving ORC_ECORRUPT
 * without a wrong byte, and a version replaced between open and range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fakes/fake_provider.h"
#include "fakes/fake_store.h"

#define LEN (400u * 1024)

typedef struct fixture {
    fake_store fs;
    uint8_t *body;
    meta_extent *ext; /* of "k" */
    size_t next;
} fixture;

/* Two providers, two copies of each chunk, and "k" holding LEN bytes in
 * about a dozen chunks. */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    orc_err e = {0};
    meta_object obj;
    fake_store_open(&f->fs, 2, 2, 2, 200);
    f->body = malloc(LEN);
    fake_fill(f->body, LEN, 11);
    assert_int_equal(fake_store_put(&f->fs, "k", f->body, LEN, 0, NULL, &e), ORC_OK);
    assert_int_equal(meta_object_get(f->fs.m, f->fs.bucket_id, "k", true, 0, UINT64_MAX, &obj,
                                     &f->ext, &f->next, &e),
                     ORC_OK);
    meta_object_dispose(&obj);
    assert_true(f->next >= 4);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fake_store_close(&f->fs);
    free(f->ext);
    free(f->body);
    free(f);
    return 0;
}

/* Reads [first, last] of "k" and checks it is exactly those bytes. */
static void assert_range(fixture *f, uint64_t first, uint64_t last)
{
    size_t n = (size_t)(last - first + 1), got;
    uint8_t *buf = malloc(n);
    orc_err e = {0};
    assert_int_equal(fake_store_get(&f->fs, "k", first, last, buf, &got, &e), ORC_OK);
    assert_int_equal(got, n);
    assert_memory_equal(buf, f->body + first, n);
    free(buf);
}

static void test_ranges_across_chunk_boundaries(void **state)
{
    fixture *f = *state;
    uint64_t b1 = f->ext[1].offset, b3 = f->ext[3].offset;
    assert_range(f, 0, LEN - 1);
    assert_range(f, 0, 0);
    assert_range(f, LEN - 1, LEN - 1);
    assert_range(f, b1 - 1, b1);      /* last byte of one chunk, first of the next */
    assert_range(f, b1, b1);          /* a chunk's first byte alone */
    assert_range(f, b1 - 7, b3 + 7);  /* three chunks, two partly */
    assert_range(f, b3 + 1, LEN - 2); /* to the end but one byte */
    assert_range(f, f->ext[f->next - 1].offset, LEN - 1); /* the last chunk whole */
}

/* Reads in small pieces: the copy out of each chunk resumes mid-chunk. */
static void test_small_reads_return_the_range_in_order(void **state)
{
    fixture *f = *state;
    meta_object obj;
    object_reader *r;
    orc_err e = {0};
    uint64_t first = f->ext[1].offset - 100, last = f->ext[2].offset + 100;
    uint8_t buf[333], *all = malloc(LEN);
    size_t got = 0;
    assert_int_equal(object_get_open(&f->fs.st, f->fs.bucket_id, "k", &obj, &r, &e), ORC_OK);
    meta_object_dispose(&obj);
    assert_int_equal(object_get_range(r, first, last, &e), ORC_OK);
    long n;
    while ((n = object_read(r, buf, sizeof(buf), &e)) > 0) {
        memcpy(all + got, buf, (size_t)n);
        got += (size_t)n;
    }
    assert_int_equal(n, 0);
    assert_int_equal(got, last - first + 1);
    assert_memory_equal(all, f->body + first, got);
    object_reader_free(r);
    free(all);
}

static uint64_t corrupt_count(fixture *f)
{
    uint64_t n = 0;
    for (size_t i = 0; i < f->fs.nprovs; i++) {
        provider_stats st;
        provider_stats_get(f->fs.provs[i], &st);
        n += st.corrupt;
    }
    return n;
}

/* One provider returns bad bytes for everything: each read still returns
 * the object's bytes. Done with each provider in turn as the bad one, so
 * that whichever is read first, a bad copy was met (and counted) once. */
static uint64_t below_redundancy(fixture *f)
{
    uint64_t n = 0;
    orc_err e = {0};
    assert_int_equal(meta_under_replicated(f->fs.m, 2, &n, &e), ORC_OK);
    return n;
}

/* A copy that fails verification is skipped for a good one, stops counting
 * (the chunk is below full redundancy) and repair writes it again; then a
 * fault on the other provider is survived the same way. */
static void test_corrupted_copy_is_skipped_for_a_good_one(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    for (size_t i = 0; i < 2; i++) {
        fake_set_corrupt(f->fs.provs[i], true);
        assert_range(f, 0, LEN - 1);
        fake_set_corrupt(f->fs.provs[i], false);
        assert_true(below_redundancy(f) >= 1);
        assert_true(object_repair_pass(&f->fs.st, &e) >= 1);
        assert_int_equal(below_redundancy(f), 0);
    }
    assert_true(corrupt_count(f) >= 1);
}

/* A copy that hangs is given up at its deadline and the other one read. */
static void test_hanging_copy_is_given_up_for_the_other(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < 2; i++) {
        fake_set_hang(f->fs.provs[i], FAKE_GET, true);
        assert_range(f, f->ext[1].offset, f->ext[2].offset);
        fake_set_hang(f->fs.provs[i], FAKE_GET, false);
    }
}

static void test_no_good_copy_is_ecorrupt_and_no_bytes(void **state)
{
    fixture *f = *state;
    uint8_t *buf = malloc(LEN);
    size_t got = 99;
    orc_err e = {0};
    fake_set_corrupt(f->fs.provs[0], true);
    fake_set_corrupt(f->fs.provs[1], true);
    assert_int_equal(fake_store_get(&f->fs, "k", 0, LEN - 1, buf, &got, &e), ORC_ECORRUPT);
    assert_int_equal(got, 0);
    assert_int_equal(
        fake_store_get(&f->fs, "k", f->ext[2].offset + 5, f->ext[2].offset + 9, buf, &got, &e),
        ORC_ECORRUPT);
    assert_int_equal(got, 0);
    free(buf);
}

/* The copies of one chunk in the middle are both bad: the range starts (its
 * first chunk is good), the bytes returned before the bad chunk are right,
 * then the read fails with ORC_ECORRUPT: never a wrong byte, and never a
 * clean end that would pass a short body off as whole. */
static void test_bad_chunk_mid_range_stops_the_read_before_it(void **state)
{
    fixture *f = *state;
    char name[SEAL_NAME_LEN + 1];
    seal_name(&f->fs.keys, f->ext[2].chunk.hash, name);
    assert_true(fake_corrupt_blob(f->fs.provs[0], name));
    assert_true(fake_corrupt_blob(f->fs.provs[1], name));
    uint8_t *all = malloc(LEN), buf[4096];
    size_t got = 0;
    meta_object obj;
    object_reader *r;
    orc_err e = {0};
    assert_int_equal(object_get_open(&f->fs.st, f->fs.bucket_id, "k", &obj, &r, &e), ORC_OK);
    meta_object_dispose(&obj);
    assert_int_equal(object_get_range(r, 0, LEN - 1, &e), ORC_OK);
    long n;
    while ((n = object_read(r, buf, sizeof(buf), &e)) > 0) {
        memcpy(all + got, buf, (size_t)n);
        got += (size_t)n;
    }
    assert_int_equal(n, ORC_ECORRUPT);
    /* A read that spans the boundary fails whole: up to one read short. */
    assert_true(got <= f->ext[2].offset);
    assert_true(got + sizeof(buf) > f->ext[2].offset);
    assert_memory_equal(all, f->body, got);
    object_reader_free(r);
    /* A range that does not touch it is unaffected. */
    assert_range(f, f->ext[3].offset, LEN - 1);
    free(all);
}

/* Between open (the size, for the Range) and the range (the manifest), the
 * key gets a new version, or is deleted: ORC_ECONFLICT, nothing read. */
static void test_version_switch_between_open_and_range_is_econflict(void **state)
{
    fixture *f = *state;
    meta_object obj;
    object_reader *r;
    orc_err e = {0};
    uint8_t other[100];
    fake_fill(other, sizeof(other), 12);

    assert_int_equal(object_get_open(&f->fs.st, f->fs.bucket_id, "k", &obj, &r, &e), ORC_OK);
    assert_int_equal(obj.size, LEN);
    meta_object_dispose(&obj);
    int gets = fake_calls(f->fs.provs[0], FAKE_GET) + fake_calls(f->fs.provs[1], FAKE_GET);
    assert_int_equal(fake_store_put(&f->fs, "k", other, sizeof(other), 0, NULL, &e), ORC_OK);
    assert_int_equal(object_get_range(r, 0, LEN - 1, &e), ORC_ECONFLICT);
    assert_int_equal(fake_calls(f->fs.provs[0], FAKE_GET) + fake_calls(f->fs.provs[1], FAKE_GET),
                     gets);
    object_reader_free(r);

    assert_int_equal(object_get_open(&f->fs.st, f->fs.bucket_id, "k", &obj, &r, &e), ORC_OK);
    assert_int_equal(obj.size, sizeof(other));
    meta_object_dispose(&obj);
    assert_int_equal(meta_object_delete(f->fs.m, f->fs.bucket_id, "k", &e), ORC_OK);
    assert_int_equal(object_get_range(r, 0, 9, &e), ORC_ECONFLICT);
    object_reader_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ranges_across_chunk_boundaries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_reads_return_the_range_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_corrupted_copy_is_skipped_for_a_good_one, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hanging_copy_is_given_up_for_the_other, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_good_copy_is_ecorrupt_and_no_bytes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_chunk_mid_range_stops_the_read_before_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_version_switch_between_open_and_range_is_econflict,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
