/* Unit tests for the threaded PUT pipeline (src/object/put.c) over fake
 * providers (fakes/fake_provider.h) and a real SQLite metadata store: what
 * lands reads back, dedup stores a chunk once, a failing or hanging provider
 * and a client gone before the commit make nothing visible, and the
 * pipeline holds a bounded amount of the body however fast the client is. */
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
#include "util/time.h"

/* Mirrors of put.c's limits, for the bounds asserted below. */
#define PUT_BLOCK (1u << 20)
#define PUT_BLOCKS 4
#define PUT_WRITERS 3

static fake_store *fs_new(size_t nprovs, int copies, int min_copies, long deadline_ms)
{
    fake_store *fs = malloc(sizeof(*fs));
    fake_store_open(fs, nprovs, copies, min_copies, deadline_ms);
    return fs;
}

static void fs_free(fake_store *fs)
{
    fake_store_close(fs);
    free(fs);
}

/* Whether key reads back as exactly body. */
static void assert_reads_back(fake_store *fs, const char *key, const uint8_t *body, size_t len)
{
    uint8_t *got = malloc(len + 1);
    size_t n;
    orc_err e = {0};
    int rc = fake_store_get(fs, key, 0, len - 1, got, &n, &e);
    if (rc) fprintf(stderr, "get %s: %s\n", key, e.msg);
    assert_int_equal(rc, ORC_OK);
    assert_int_equal(n, len);
    assert_memory_equal(got, body, len);
    free(got);
}

static void assert_not_visible(fake_store *fs, const char *key)
{
    meta_object obj;
    object_reader *r = NULL;
    orc_err e = {0};
    assert_int_equal(object_get_open(&fs->st, fs->bucket_id, key, &obj, &r, &e), ORC_ENOTFOUND);
    assert_null(r);
}

static void test_small_and_multi_chunk_objects_read_back(void **state)
{
    fake_store *fs = fs_new(2, 2, 2, 0);
    uint8_t small[1000];
    size_t big_len = 1u << 20;
    uint8_t *big = malloc(big_len);
    orc_err e = {0};
    fake_fill(small, sizeof(small), 1);
    fake_fill(big, big_len, 2);

    assert_int_equal(fake_store_put(fs, "small", small, sizeof(small), 0, NULL, &e), ORC_OK);
    assert_reads_back(fs, "small", small, sizeof(small));
    assert_int_equal(fake_count(fs->provs[0]), 1); /* one chunk, a copy on each */
    assert_int_equal(fake_count(fs->provs[1]), 1);

    /* In uneven pieces, so chunk and block boundaries fall mid-write. */
    assert_int_equal(fake_store_put(fs, "big", big, big_len, 12345, NULL, &e), ORC_OK);
    assert_reads_back(fs, "big", big, big_len);
    size_t chunks = fake_count(fs->provs[0]) - 1;
    assert_true(chunks >= big_len / FAKE_CDC_MAX); /* no chunk is above max */
    assert_int_equal(fake_count(fs->provs[1]) - 1, chunks);
    free(big);
    fs_free(fs);
}

static void test_same_content_twice_stores_its_chunks_once(void **state)
{
    fake_store *fs = fs_new(1, 1, 1, 0);
    size_t len = 600 * 1024;
    uint8_t *body = malloc(len);
    orc_err e = {0};
    fake_fill(body, len, 3);
    assert_int_equal(fake_store_put(fs, "a", body, len, 0, NULL, &e), ORC_OK);
    size_t blobs = fake_count(fs->provs[0]);
    int puts = fake_calls(fs->provs[0], FAKE_PUT);
    uint64_t chunks = fake_store_chunks(fs);
    assert_int_equal(fake_store_put(fs, "b", body, len, 4096, NULL, &e), ORC_OK);
    assert_int_equal(fake_count(fs->provs[0]), blobs);
    assert_int_equal(fake_calls(fs->provs[0], FAKE_PUT), puts); /* nothing sent again */
    assert_int_equal(fake_store_chunks(fs), chunks);
    assert_reads_back(fs, "a", body, len);
    assert_reads_back(fs, "b", body, len);
    free(body);
    fs_free(fs);
}

/* One provider of two refuses every write: with min_copies 1 the PUT lands
 * on the other, under-replicated; with min_copies 2 it fails as transient and
 * nothing is visible (and no copy is left behind on the good provider). */
static void failing_provider(size_t len, int min_copies)
{
    fake_store *fs = fs_new(2, 2, min_copies, 0);
    uint8_t *body = malloc(len);
    orc_err e = {0};
    fake_fill(body, len, 4);
    fake_fail_next(fs->provs[0], FAKE_PUT, 1 << 20, ORC_EIO);
    int rc = fake_store_put(fs, "k", body, len, 0, NULL, &e);
    assert_true(fake_calls(fs->provs[0], FAKE_PUT) >= 1);
    assert_int_equal(fake_count(fs->provs[0]), 0);
    if (min_copies == 1) {
        assert_int_equal(rc, ORC_OK);
        assert_reads_back(fs, "k", body, len);
        assert_true(fake_count(fs->provs[1]) >= 1);
    } else {
        assert_int_equal(rc, ORC_ETRANSIENT);
        assert_not_visible(fs, "k");
        assert_int_equal(fake_count(fs->provs[1]), 0);
    }
    free(body);
    fs_free(fs);
}

static void test_failing_provider_above_min_copies_still_lands(void **state)
{
    failing_provider(1000, 1);
    failing_provider(400 * 1024, 1);
}

static void test_failing_provider_below_min_copies_fails_and_shows_nothing(void **state)
{
    failing_provider(1000, 2);
    failing_provider(400 * 1024, 2);
}

/* A provider that never answers: its calls end at their deadline, so the PUT
 * fails (only provider) or goes to the next one (two), within a bounded time
 * rather than hanging the request. */
static void test_hanging_provider_is_cut_at_its_deadline(void **state)
{
    size_t len = 200 * 1024;
    uint8_t *body = malloc(len);
    orc_err e = {0};
    fake_fill(body, len, 5);

    fake_store *fs = fs_new(1, 1, 1, 100);
    fake_set_hang(fs->provs[0], FAKE_PUT, true);
    int64_t t0 = orc_monotonic_us();
    assert_int_equal(fake_store_put(fs, "k", body, len, 0, NULL, &e), ORC_ETRANSIENT);
    int64_t took_ms = (orc_monotonic_us() - t0) / 1000;
    assert_true(took_ms >= 100);
    assert_true(took_ms < 3000);
    assert_not_visible(fs, "k");
    provider_stats st;
    provider_stats_get(fs->provs[0], &st);
    assert_true(st.timeouts >= 1);
    fs_free(fs);

    fs = fs_new(2, 1, 1, 100);
    fake_set_hang(fs->provs[0], FAKE_PUT, true);
    assert_int_equal(fake_store_put(fs, "k", body, len, 0, NULL, &e), ORC_OK);
    assert_reads_back(fs, "k", body, len);
    assert_int_equal(fake_count(fs->provs[0]), 0);
    fs_free(fs);
    free(body);
}

static bool gone(void *ctx)
{
    int *asked = ctx;
    (*asked)++;
    return false;
}

/* The client closed before the commit: ORC_ECANCELED, nothing visible, and
 * an earlier version of the key stays the current one. */
static void test_client_gone_before_commit_makes_nothing_visible(void **state)
{
    fake_store *fs = fs_new(1, 1, 1, 0);
    size_t len = 300 * 1024;
    uint8_t *body = malloc(len), old[100];
    orc_err e = {0};
    int asked = 0;
    object_commit cm = {.alive = gone, .alive_ctx = &asked};
    fake_fill(body, len, 6);
    fake_fill(old, sizeof(old), 7);

    assert_int_equal(fake_store_put(fs, "new", body, 10, 0, &cm, &e), ORC_ECANCELED);
    assert_not_visible(fs, "new");
    assert_int_equal(fake_store_put(fs, "new", body, len, 0, &cm, &e), ORC_ECANCELED);
    assert_not_visible(fs, "new");
    assert_int_equal(asked, 2);

    assert_int_equal(fake_store_put(fs, "old", old, sizeof(old), 0, NULL, &e), ORC_OK);
    assert_int_equal(fake_store_put(fs, "old", body, len, 0, &cm, &e), ORC_ECANCELED);
    assert_reads_back(fs, "old", old, sizeof(old));
    free(body);
    fs_free(fs);
}

/* A fast client and a slow provider: the client is held back (writes block)
 * so that what it sent but is not yet stored stays within the pipeline's
 * buffers, and no more chunks are written at once than there are writers. */
static void test_slow_provider_bounds_what_the_pipeline_holds(void **state)
{
    fake_store *fs = fs_new(1, 1, 1, 0);
    size_t len = 16u << 20, piece = 64 * 1024;
    uint8_t *body = malloc(len);
    orc_err e = {0};
    fake_fill(body, len, 8);
    fake_set_delay(fs->provs[0], FAKE_PUT, 3);
    /* Receive blocks, the chunker's stream buffer (a block and a maximum
     * chunk) and the sealed buffers, with a chunk of slack. */
    uint64_t bound = (uint64_t)(PUT_BLOCKS + 1) * PUT_BLOCK + (PUT_WRITERS + 4) * FAKE_CDC_MAX;
    uint64_t worst = 0;

    object_put_args a = {.bucket_id = fs->bucket_id, .key = "k", .content_length = len};
    object_put *w = object_put_begin(&fs->st, &a);
    for (size_t off = 0; off < len; off += piece) {
        assert_int_equal(object_put_write(w, body + off, piece, &e), ORC_OK);
        uint64_t sent = off + piece, stored = fake_bytes(fs->provs[0]);
        if (sent > stored && sent - stored > worst) worst = sent - stored;
    }
    object_put_result res;
    assert_int_equal(object_put_finish(w, &res, &e), ORC_OK);
    object_put_free(w);
    if (worst > bound) fprintf(stderr, "held %llu bytes\n", (unsigned long long)worst);
    assert_true(worst <= bound);
    assert_true(fake_max_in_flight(fs->provs[0], FAKE_PUT) <= PUT_WRITERS);
    assert_true(fake_max_in_flight(fs->provs[0], FAKE_PUT) > 1); /* writers do overlap */
    assert_reads_back(fs, "k", body, len);
    free(body);
    fs_free(fs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_and_multi_chunk_objects_read_back),
        cmocka_unit_test(test_same_content_twice_stores_its_chunks_once),
        cmocka_unit_test(test_failing_provider_above_min_copies_still_lands),
        cmocka_unit_test(test_failing_provider_below_min_copies_fails_and_shows_nothing),
        cmocka_unit_test(test_hanging_provider_is_cut_at_its_deadline),
        cmocka_unit_test(test_client_gone_before_commit_makes_nothing_visible),
        cmocka_unit_test(test_slow_provider_bounds_what_the_pipeline_holds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
