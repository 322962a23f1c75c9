/* The metadata store contract (meta_contract.h), the repair queue (issue
 * 11): a failed verification queues its chunk in the same call; a short
 * write queues at commit; the scan queues what is short and not queued;
 * items are leased, so two workers never hold one; an item leaves only by
 * done, and a report during the work keeps it; retry backs off; garbage and
 * collected chunks leave the queue; settings keep values; provider states
 * and a drain's bookkeeping (what a provider holds, moving one piece). */
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
#include "util/time.h"

typedef struct fixture {
    void *ctx;
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

/* A LIVE chunk of width 3 with n whole copies, referenced by key when key
 * is not NULL. */
static int64_t chunk(fixture *f, uint8_t tag, int n, const char *key)
{
    uint8_t h[32];
    bool is_new = false;
    orc_err e = {0};
    meta_chunk k;
    meta_layout lay = {0, 0, 3};
    memset(h, tag, sizeof(h));
    assert_int_equal(meta_chunk_claim(f->m, h, 10, 38, 1, 1, &lay, &k, &is_new, &e), 0);
    assert_true(is_new);
    assert_int_equal(meta_chunk_commit(f->m, k.id, f->prov, NULL, n, &e), 0);
    if (key) {
        uint64_t off = 0;
        int64_t id;
        meta_object_new o = {.key = key,
                             .size = 10,
                             .etag = "e",
                             .mtime_ms = 1,
                             .chunk_ids = &k.id,
                             .offsets = &off,
                             .nchunks = 1};
        assert_int_equal(meta_object_put(f->m, f->bucket, &o, &id, &e), 0);
    }
    return k.id;
}

static meta_repair_stats stats(fixture *f, int64_t now)
{
    meta_repair_stats st;
    orc_err e = {0};
    assert_int_equal(meta_repair_stats_get(f->m, now, &st, &e), 0);
    return st;
}

static void test_suspect_and_short_commit_queue_the_chunk(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    int64_t full = chunk(f, 1, 3, "a");
    assert_int_equal(stats(f, INT64_MAX).items, 0); /* a full write queues nothing */
    int64_t shortc = chunk(f, 2, 2, "b");
    assert_int_equal(stats(f, INT64_MAX).items, 1);
    assert_int_equal(meta_chunk_copy_suspect(f->m, full, f->prov[1], META_WHOLE, &e), 0);
    assert_int_equal(stats(f, INT64_MAX).items, 2);
    /* A piece not LIVE: nothing more to report. */
    assert_int_equal(meta_chunk_copy_suspect(f->m, full, f->prov[1], META_WHOLE, &e), 0);
    assert_int_equal(stats(f, INT64_MAX).items, 2);
    meta_repair_item *it = NULL;
    size_t n = 0;
    assert_int_equal(meta_repair_take(f->m, INT64_MAX / 2, 1000, 10, &it, &n, &e), 0);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        if (it[i].chunk_id == full) {
            assert_int_equal(it[i].reason, META_REPAIR_CORRUPT);
            assert_int_equal(it[i].chunk.ncopies, 2); /* the suspect is not LIVE */
        } else {
            assert_int_equal(it[i].chunk_id, shortc);
            assert_int_equal(it[i].reason, META_REPAIR_SHORT);
            assert_int_equal(it[i].chunk.ncopies, 2);
        }
    }
    free(it);
}

static void test_lease_done_and_a_report_during_the_work(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    int64_t id = chunk(f, 3, 2, "a");
    int64_t now = orc_now_ms() + META_REPAIR_SHORT_DELAY_MS + 1000;
    meta_repair_item *it = NULL, *again = NULL;
    size_t n = 0, n2 = 0;
    assert_int_equal(meta_repair_take(f->m, now, 5000, 10, &it, &n, &e), 0);
    assert_int_equal(n, 1);
    /* Leased: another worker gets nothing until the lease ends. */
    assert_int_equal(meta_repair_take(f->m, now + 4999, 5000, 10, &again, &n2, &e), 0);
    assert_int_equal(n2, 0);
    free(again);
    assert_int_equal(stats(f, now).due, 0);
    /* A crashed worker's item comes back after its lease. */
    assert_int_equal(meta_repair_take(f->m, now + 5000, 5000, 10, &again, &n2, &e), 0);
    assert_int_equal(n2, 1);
    assert_int_equal(again[0].gen, it[0].gen);
    /* Reported again while worked on: done of the old gen keeps it. */
    assert_int_equal(meta_chunk_copy_suspect(f->m, id, f->prov[0], META_WHOLE, &e), 0);
    assert_int_equal(meta_repair_done(f->m, id, it[0].gen, &e), 0);
    assert_int_equal(stats(f, INT64_MAX).items, 1);
    free(again);
    assert_int_equal(meta_repair_take(f->m, now + 5001, 5000, 10, &again, &n2, &e), 0);
    assert_int_equal(n2, 1); /* due again at once */
    assert_true(again[0].gen > it[0].gen);
    assert_int_equal(meta_repair_done(f->m, id, again[0].gen, &e), 0);
    assert_int_equal(stats(f, INT64_MAX).items, 0);
    free(it);
    free(again);
}

static void test_retry_backs_off_and_scan_fills_in(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    int64_t id = chunk(f, 4, 2, "a");
    int64_t now = orc_now_ms() + META_REPAIR_SHORT_DELAY_MS + 1000;
    meta_repair_item *it = NULL;
    size_t n = 0;
    assert_int_equal(meta_repair_take(f->m, now, 60000, 10, &it, &n, &e), 0);
    assert_int_equal(n, 1);
    free(it);
    assert_int_equal(meta_repair_retry(f->m, id, now + 8000, "provider down", &e), 0);
    meta_repair_stats st = stats(f, now + 7999);
    assert_int_equal(st.items, 1);
    assert_int_equal(st.due, 0);
    assert_int_equal(st.failing, 1);
    assert_int_equal(meta_repair_take(f->m, now + 8000, 60000, 10, &it, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(it[0].attempts, 1);
    assert_int_equal(meta_repair_done(f->m, id, it[0].gen, &e), 0);
    free(it);
    /* Short again and not queued (a lost report): the scan queues it, once. */
    uint64_t q = 0;
    assert_int_equal(meta_repair_scan(f->m, 3, &q, &e), 0);
    assert_int_equal(q, 1);
    assert_int_equal(meta_repair_scan(f->m, 3, &q, &e), 0);
    assert_int_equal(q, 0);
    assert_int_equal(stats(f, INT64_MAX).items, 1);
}

static void test_garbage_and_collected_chunks_leave_or_wait(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    int64_t unref = chunk(f, 5, 2, NULL); /* committed, no version yet */
    int64_t now = orc_now_ms() + META_REPAIR_SHORT_DELAY_MS + 1000;
    meta_repair_item *it = NULL;
    size_t n = 0;
    assert_int_equal(meta_repair_take(f->m, now, 1000, 10, &it, &n, &e), 0);
    assert_int_equal(n, 0); /* not handed out, but kept: a version may reference it */
    free(it);
    assert_int_equal(stats(f, INT64_MAX).items, 1);
    /* Collected: it leaves the queue. */
    meta_chunk *cs = NULL;
    assert_int_equal(meta_gc_mark(f->m, INT64_MAX, 10, &cs, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(cs[0].id, unref);
    free(cs);
    assert_int_equal(meta_gc_forget(f->m, unref, &e), 0);
    assert_int_equal(meta_repair_take(f->m, INT64_MAX / 2, 1000, 10, &it, &n, &e), 0);
    assert_int_equal(n, 0);
    free(it);
    assert_int_equal(stats(f, INT64_MAX).items, 0);
}

static void test_chunk_list_and_settings(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    int64_t a = chunk(f, 6, 3, "a"), b = chunk(f, 7, 2, "b");
    chunk(f, 8, 2, NULL); /* unreferenced: not scrubbed */
    meta_chunk *cs = NULL;
    size_t n = 0;
    assert_int_equal(meta_chunk_list(f->m, 0, 1, &cs, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(cs[0].id, a);
    assert_int_equal(cs[0].ncopies, 3);
    free(cs);
    assert_int_equal(meta_chunk_list(f->m, a, 10, &cs, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(cs[0].id, b);
    assert_int_equal(cs[0].ncopies, 2);
    free(cs);
    char v[8];
    assert_int_equal(meta_setting_get(f->m, "x", v, sizeof(v), &e), ORC_ENOTFOUND);
    assert_int_equal(meta_setting_set(f->m, "x", "one", &e), 0);
    assert_int_equal(meta_setting_set(f->m, "x", "two", &e), 0);
    assert_int_equal(meta_setting_get(f->m, "x", v, sizeof(v), &e), 0);
    assert_string_equal(v, "two");
    assert_int_equal(meta_setting_set(f->m, "x", NULL, &e), 0);
    assert_int_equal(meta_setting_get(f->m, "x", v, sizeof(v), &e), ORC_ENOTFOUND);
}

static void test_provider_states_and_drain_bookkeeping(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    int64_t a = chunk(f, 9, 3, "a"); /* pieces on p0, p1, p2 */
    meta_provider *ps = NULL;
    size_t n = 0;
    assert_int_equal(meta_provider_list(f->m, &ps, &n, &e), 0);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ps[i].state, META_PROVIDER_ACTIVE);
    free(ps);
    /* removing a provider that holds a piece is refused */
    assert_int_equal(meta_provider_set_state(f->m, f->prov[1], META_PROVIDER_REMOVED, &e),
                     ORC_ECONFLICT);
    assert_int_equal(meta_provider_set_state(f->m, f->prov[1], META_PROVIDER_DRAINING, &e), 0);
    assert_int_equal(meta_provider_list(f->m, &ps, &n, &e), 0);
    for (size_t i = 0; i < n; i++)
        if (ps[i].id == f->prov[1]) {
            assert_int_equal(ps[i].state, META_PROVIDER_DRAINING);
            assert_int_equal(ps[i].drain_pieces, 1);
            assert_int_equal(ps[i].drain_bytes, 38);
            assert_true(ps[i].drain_started_ms > 0);
        }
    free(ps);
    meta_drain_item *it = NULL;
    assert_int_equal(meta_drain_list(f->m, f->prov[1], 0, 10, &it, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(it[0].chunk.id, a);
    assert_true(it[0].live);
    assert_int_equal(it[0].frag, META_WHOLE);
    assert_int_equal(it[0].chunk.ncopies, 3);
    free(it);
    /* a move needs the new piece PENDING first */
    assert_int_equal(meta_chunk_move_piece(f->m, a, f->prov[1], f->prov[3], META_WHOLE, &e),
                     ORC_ECONFLICT);
    uint32_t to = f->prov[3];
    assert_int_equal(meta_chunk_copies_pending(f->m, a, &to, NULL, 1, &e), 0);
    assert_int_equal(meta_chunk_move_piece(f->m, a, f->prov[1], f->prov[3], META_WHOLE, &e), 0);
    meta_chunk k;
    assert_int_equal(meta_chunk_get(f->m, a, &k, &e), 0);
    assert_int_equal(k.ncopies, 3); /* never fewer than before */
    for (int i = 0; i < k.ncopies; i++)
        assert_true(k.copies[i] != f->prov[1]);
    /* the old piece is PENDING: still held (to delete), listed as not live */
    uint64_t pieces = 0, bytes = 0;
    assert_int_equal(meta_provider_held(f->m, f->prov[1], &pieces, &bytes, &e), 0);
    assert_int_equal(pieces, 1);
    assert_int_equal(meta_drain_list(f->m, f->prov[1], 0, 10, &it, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_false(it[0].live);
    free(it);
    assert_int_equal(meta_chunk_copy_forget(f->m, a, f->prov[1], &e), 0);
    assert_int_equal(meta_provider_held(f->m, f->prov[1], &pieces, &bytes, &e), 0);
    assert_int_equal(pieces, 0);
    assert_int_equal(meta_provider_set_state(f->m, f->prov[1], META_PROVIDER_REMOVED, &e), 0);
    assert_int_equal(meta_chunk_get(f->m, 999999, &k, &e), ORC_ENOTFOUND);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_suspect_and_short_commit_queue_the_chunk, setup, teardown),
    cmocka_unit_test_setup_teardown(test_lease_done_and_a_report_during_the_work, setup, teardown),
    cmocka_unit_test_setup_teardown(test_retry_backs_off_and_scan_fills_in, setup, teardown),
    cmocka_unit_test_setup_teardown(test_garbage_and_collected_chunks_leave_or_wait, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_chunk_list_and_settings, setup, teardown),
    cmocka_unit_test_setup_teardown(test_provider_states_and_drain_bookkeeping, setup, teardown),
};

const meta_contract_group meta_contract_repair = {"repair queue", tests,
                                                  sizeof(tests) / sizeof(tests[0])};
