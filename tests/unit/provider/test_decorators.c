/* Unit tests for the provider decorator stack (src/provider/registry.c,
 * metrics.c, retry.c, fault.c): the order of the layers, retry with backoff
 * bounded by the call's deadline, cancellation of a fault hang, a delay and
 * an s3 GET to a server that never answers, cancelled calls not counting
 * against health, the fail-nth / fail-fraction / down rules, the p95 of
 * recent gets, and the counters and Prometheus histogram /metrics reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "provider/provider_impl.h"
#include "util/time.h"

#define NAME "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char dir[64];

static int group_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/orc-deco-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd);
}

/* An fs provider under dir with inline fault rules and the extra pairs. */
static provider *open_fs(const char *faults, const provider_kv *extra, size_t nx)
{
    static int n;
    char path[128];
    snprintf(path, sizeof(path), "%s/p%d", dir, n++);
    provider_kv kv[8] = {{"path", path}, {"fsync", "false"}};
    size_t k = 2;
    if (faults) kv[k++] = (provider_kv){"faults", faults};
    for (size_t i = 0; i < nx; i++)
        kv[k++] = extra[i];
    provider *p = NULL;
    orc_err e = {0};
    assert_int_equal(provider_open("fs", "deco", kv, k, &p, &e), 0);
    return p;
}

static int64_t ms_since(int64_t t0)
{
    return (orc_monotonic_us() - t0) / 1000;
}

static void test_stack_is_metrics_health_retry_fault_kind(void **state)
{
    (void)state;
    provider *p = open_fs("get delay 1", NULL, 0);
    const char *want[] = {"metrics", "health", "retry", "fault"};
    const provider *l = p;
    for (int i = 0; i < 4; i++, l = l->inner) {
        assert_non_null(l->layer);
        assert_string_equal(l->layer->role, want[i]);
    }
    assert_null(l->layer); /* the kind at the bottom does the I/O */
    assert_null(l->inner);
    assert_string_equal(provider_type(p), "fs");
    provider_free(p);
    /* Without faults there is no fault layer. */
    p = open_fs(NULL, NULL, 0);
    assert_null(provider_find_layer(p, "fault"));
    assert_non_null(provider_find_layer(p, "retry"));
    provider_free(p);
}

/* fail-nth 2: the second put fails once, and the retry layer below health
 * makes the call succeed: callers and health see one good call. */
static void test_fail_nth_fails_only_that_call_and_retry_saves_it(void **state)
{
    (void)state;
    provider_kv kv[] = {{"retry_base_ms", "5"}, {"retry_attempts", "1"}};
    provider *p = open_fs("put fail-nth 2", kv, 2); /* no retries: see the raw rule */
    orc_err e = {0};
    const uint8_t d[] = "abc";
    assert_int_equal(provider_put(p, NAME, d, 3, &e), 0);
    assert_int_equal(provider_put(p, NAME, d, 3, &e), ORC_ETRANSIENT);
    assert_non_null(strstr(e.msg, "503"));
    for (int i = 0; i < 5; i++)
        assert_int_equal(provider_put(p, NAME, d, 3, &e), 0);
    provider_free(p);

    p = open_fs("put fail-nth 1", kv, 1); /* default attempts: retried */
    assert_int_equal(provider_put(p, NAME, d, 3, &e), 0);
    provider_stats st;
    provider_stats_get(p, &st);
    assert_int_equal(st.puts, 1);
    assert_int_equal(st.errors, 0);
    assert_int_equal(st.consecutive_failures, 0);
    provider_free(p);
}

static void test_fail_fraction_fails_about_that_share(void **state)
{
    (void)state;
    provider_kv kv[] = {{"retry_attempts", "1"}};
    provider *p = open_fs("head fail-fraction 0.3", kv, 1);
    int failed = 0;
    uint64_t size;
    for (int i = 0; i < 400; i++)
        if (provider_head(p, NAME, &size, NULL) == ORC_ETRANSIENT) failed++;
    assert_true(failed > 80 && failed < 160); /* 120 expected */
    provider_free(p);
    p = open_fs("head fail-fraction 0", kv, 1);
    for (int i = 0; i < 50; i++)
        assert_int_equal(provider_head(p, NAME, &size, NULL), ORC_ENOTFOUND);
    provider_free(p);
}

/* down: every call fails at once, retries included, and the provider goes
 * down; bad rules are refused at open with the key named. */
static void test_down_fails_at_once_and_marks_down(void **state)
{
    (void)state;
    provider_kv kv[] = {{"retry_base_ms", "1"}, {"retry_cap_ms", "2"}};
    provider *p = open_fs("* down", kv, 2);
    orc_err e = {0};
    int64_t t0 = orc_monotonic_us();
    for (int i = 0; i < PROVIDER_DOWN_AFTER_DEFAULT; i++)
        assert_int_equal(provider_put(p, NAME, (const uint8_t *)"a", 1, &e), ORC_ETRANSIENT);
    assert_true(ms_since(t0) < 500);
    assert_non_null(strstr(e.msg, "down"));
    assert_false(provider_is_up(p));
    provider_free(p);

    const char *bad[] = {"get fail-nth 0", "get fail-fraction 1.5", "get delay", "put explode",
                         "get down 3"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        provider_kv k2[] = {{"path", dir}, {"faults", bad[i]}};
        provider *q = NULL;
        assert_int_equal(provider_open("fs", "x", k2, 2, &q, &e), ORC_EINVAL);
        assert_non_null(strstr(e.msg, "faults"));
        assert_null(q);
    }
}

/* "* fail" with a 300 ms deadline: the retry layer backs off and tries
 * again, but never past the deadline. */
static void test_retry_backs_off_within_the_deadline(void **state)
{
    (void)state;
    provider_kv kv[] = {{"deadline_base_ms", "300"},
                        {"deadline_per_mib_ms", "1"},
                        {"retry_attempts", "20"},
                        {"retry_base_ms", "40"},
                        {"retry_cap_ms", "80"}};
    provider *p = open_fs("get fail", kv, 5);
    orc_buf b;
    orc_buf_init(&b, 0);
    orc_err e = {0};
    int64_t t0 = orc_monotonic_us();
    assert_int_equal(provider_get(p, NAME, 0, 10, &b, &e), ORC_ETRANSIENT);
    int64_t ms = ms_since(t0);
    /* It kept trying (backoffs of up to 80 ms) until the deadline was near,
     * and stopped there: 20 attempts would take over a second. */
    assert_true(ms >= 150 && ms < 450);
    assert_int_equal(b.len, 0);
    provider_stats st;
    provider_stats_get(p, &st);
    assert_int_equal(st.gets, 1); /* metrics above retry: one call */
    assert_int_equal(st.consecutive_failures, 1);
    orc_buf_dispose(&b);
    provider_free(p);
}

struct raiser {
    _Atomic bool flag;
    int after_ms;
};

static void *raise_later(void *arg)
{
    struct raiser *r = arg;
    struct timespec ts = {0, (long)r->after_ms * 1000000L};
    nanosleep(&ts, NULL);
    atomic_store(&r->flag, true);
    return NULL;
}

/* Runs a get on p with a flag raised after 50 ms; returns its ms, rc in *rc. */
static int64_t cancelled_get(provider *p, int *rc)
{
    struct raiser r = {false, 50};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, raise_later, &r), 0);
    const _Atomic bool *was = provider_set_cancel(&r.flag);
    orc_buf b;
    orc_buf_init(&b, 0);
    orc_err e = {0};
    int64_t t0 = orc_monotonic_us();
    *rc = provider_get(p, NAME, 0, UINT64_MAX, &b, &e);
    int64_t ms = ms_since(t0);
    assert_int_equal(b.len, 0);
    assert_null(provider_set_cancel(was) == &r.flag ? NULL : "flag not restored");
    pthread_join(th, NULL);
    orc_buf_dispose(&b);
    return ms;
}

static void test_cancel_ends_hang_and_delay_quickly_and_is_not_a_failure(void **state)
{
    (void)state;
    const char *rules[] = {"get hang", "get delay 10000", "get late"};
    for (int i = 0; i < 3; i++) {
        provider *p = open_fs(rules[i], NULL, 0);
        assert_int_equal(provider_put(p, NAME, (const uint8_t *)"abc", 3, NULL), 0);
        for (int k = 0; k < PROVIDER_DOWN_AFTER_DEFAULT + 1; k++) {
            int rc;
            int64_t ms = cancelled_get(p, &rc);
            assert_int_equal(rc, ORC_ECANCELED);
            assert_true(ms < 150); /* raised at 50 ms: ends within 100 ms of it */
        }
        provider_stats st;
        provider_stats_get(p, &st);
        assert_true(st.up); /* cancelled calls say nothing of health */
        assert_int_equal(st.consecutive_failures, 0);
        assert_int_equal(st.errors, 0);
        assert_int_equal(st.cancelled, PROVIDER_DOWN_AFTER_DEFAULT + 1);
        assert_int_equal(st.get_p95_ms, 0); /* nor of its latency */
        provider_free(p);
    }
    /* A flag raised before the call: it does not start. */
    provider *p = open_fs(NULL, NULL, 0);
    _Atomic bool up = true;
    provider_set_cancel(&up);
    assert_int_equal(provider_put(p, NAME, (const uint8_t *)"abc", 3, NULL), ORC_ECANCELED);
    provider_set_cancel(NULL);
    uint64_t size;
    assert_int_equal(provider_head(p, NAME, &size, NULL), ORC_ENOTFOUND);
    provider_free(p);
}

struct rewriter {
    const char *path, *text;
    int after_ms;
};

static void *rewrite_later(void *arg)
{
    struct rewriter *w = arg;
    struct timespec ts = {0, (long)w->after_ms * 1000000L};
    nanosleep(&ts, NULL);
    FILE *f = fopen(w->path, "w");
    if (f) {
        fputs(w->text, f);
        fclose(f);
    }
    return NULL;
}

/* A call cancelled after a failed attempt answers that failure: health and
 * metrics see a provider that fails, not a cancel (a refusing cloud must go
 * down even when hedges end its retries). The attempts fail until, at
 * 15 ms, the fault file turns them into hangs; the next attempt hangs
 * until the cancel at 50 ms. And a cancel in the backoff: the same. */
static void test_cancel_after_a_failed_attempt_answers_the_failure(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof(path), "%s/faults-cancel", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("get fail\n", f);
    fclose(f);
    provider_kv kv[] = {{"fault_file", path},
                        {"retry_attempts", "20"},
                        {"retry_base_ms", "10"},
                        {"retry_cap_ms", "10"}};
    provider *p = open_fs(NULL, kv, 4);
    struct rewriter w = {path, "get hang # a longer file: re-read\n", 15};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, rewrite_later, &w), 0);
    int rc;
    int64_t ms = cancelled_get(p, &rc);
    pthread_join(th, NULL);
    assert_int_equal(rc, ORC_ETRANSIENT);
    assert_true(ms < 300);
    provider_stats st;
    provider_stats_get(p, &st);
    assert_int_equal(st.cancelled, 0);
    assert_int_equal(st.errors, 1);
    assert_int_equal(st.consecutive_failures, 1);
    provider_free(p);

    provider_kv slow[] = {
        {"retry_attempts", "5"}, {"retry_base_ms", "400"}, {"retry_cap_ms", "400"}};
    p = open_fs("get fail", slow, 3);
    assert_true(cancelled_get(p, &rc) < 300);
    assert_int_equal(rc, ORC_ETRANSIENT);
    provider_stats_get(p, &st);
    assert_int_equal(st.cancelled, 0);
    assert_int_equal(st.errors, 1);
    provider_free(p);
}

/* A listener that accepts connections (the kernel does) and never answers. */
static int silent_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 16), 0);
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void test_cancel_aborts_s3_get_waiting_for_first_byte(void **state)
{
    (void)state;
    int port;
    int fd = silent_listener(&port);
    char ep[64];
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", port);
    provider_kv kv[] = {{"endpoint", ep},        {"bucket", "bkt"},
                        {"access_key", "AKIDX"}, {"secret_key", "secretsecret"},
                        {"region", "us-east-1"}, {"path_style", "true"}};
    provider *p = NULL;
    orc_err e = {0};
    assert_int_equal(provider_open("s3", "silent", kv, 6, &p, &e), 0);
    for (int k = 0; k < PROVIDER_DOWN_AFTER_DEFAULT + 1; k++) {
        int rc;
        int64_t ms = cancelled_get(p, &rc);
        assert_int_equal(rc, ORC_ECANCELED);
        assert_true(ms < 150);
    }
    assert_true(provider_is_up(p));
    provider_free(p);
    close(fd);
}

static void test_get_p95_is_over_recent_gets(void **state)
{
    (void)state;
    provider *p = open_fs("get delay 40", NULL, 0);
    assert_int_equal(provider_get_p95_us(p), 0); /* no sample yet */
    orc_buf b;
    orc_buf_init(&b, 0);
    provider_set_recent_window_ms(400);
    for (int i = 0; i < 6; i++)
        provider_get(p, NAME, 0, 10, &b, NULL);
    uint64_t us = provider_get_p95_us(p);
    assert_true(us >= 32000 && us <= 60000);
    provider_stats st;
    provider_stats_get(p, &st);
    assert_true(st.get_p95_ms >= 32 && st.get_p95_ms <= 60);
    /* Puts do not count; two windows later the gets are forgotten. */
    provider_put(p, NAME, (const uint8_t *)"x", 1, NULL);
    struct timespec ts = {0, 900 * 1000000L};
    nanosleep(&ts, NULL);
    assert_int_equal(provider_get_p95_us(p), 0);
    provider_stats_get(p, &st);
    assert_true(st.p50_ms >= 32); /* the all-ops percentiles keep everything */
    provider_set_recent_window_ms(0);
    orc_buf_dispose(&b);
    provider_free(p);
}

static int list_one(void *ctx, const char *name, uint64_t size)
{
    (*(int *)ctx)++;
    return 0;
}

/* Every op is counted where it starts; the histogram holds the timed calls
 * (put, get, del, head: not the listing) in the bucket of their latency. */
static void test_counters_and_histogram_cover_every_op(void **state)
{
    (void)state;
    provider *p = open_fs("get delay 30", NULL, 0);
    orc_buf b;
    orc_buf_init(&b, 0);
    orc_err e = {0};
    uint64_t size;
    int listed = 0;
    assert_int_equal(provider_put(p, NAME, (const uint8_t *)"abc", 3, &e), 0);
    assert_int_equal(provider_get(p, NAME, 0, 3, &b, &e), 0);
    assert_int_equal(provider_get(p, NAME, 0, 3, &b, &e), 0);
    assert_int_equal(provider_head(p, NAME, &size, &e), 0);
    assert_int_equal(provider_list(p, list_one, &listed, &e), 0);
    assert_int_equal(listed, 1);
    assert_int_equal(provider_del(p, NAME, &e), 0);
    provider_stats st;
    provider_stats_get(p, &st);
    assert_int_equal(st.puts, 1);
    assert_int_equal(st.gets, 2);
    assert_int_equal(st.heads, 1);
    assert_int_equal(st.lists, 1);
    assert_int_equal(st.dels, 1);
    assert_int_equal(st.bytes_in, 3);
    assert_int_equal(st.bytes_out, 6);
    prom_hist_counts h;
    provider_histogram(p, &h);
    assert_int_equal(prom_hist_count(&h), 5); /* the listing is not timed */
    uint64_t fast = 0, slow = 0;              /* at most 25 ms (bucket 4, le="0.025"), and above */
    assert_int_equal(prom_hist_bounds_us[4], 25000);
    for (int i = 0; i < PROM_HIST_N; i++)
        *(i <= 4 ? &fast : &slow) += h.n[i];
    assert_int_equal(slow, 2); /* the two delayed gets: over 25 ms */
    assert_int_equal(fast, 3);
    assert_true(h.sum_us >= 60000);
    orc_buf_dispose(&b);
    provider_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stack_is_metrics_health_retry_fault_kind),
        cmocka_unit_test(test_fail_nth_fails_only_that_call_and_retry_saves_it),
        cmocka_unit_test(test_fail_fraction_fails_about_that_share),
        cmocka_unit_test(test_down_fails_at_once_and_marks_down),
        cmocka_unit_test(test_retry_backs_off_within_the_deadline),
        cmocka_unit_test(test_cancel_ends_hang_and_delay_quickly_and_is_not_a_failure),
        cmocka_unit_test(test_cancel_after_a_failed_attempt_answers_the_failure),
        cmocka_unit_test(test_cancel_aborts_s3_get_waiting_for_first_byte),
        cmocka_unit_test(test_get_p95_is_over_recent_gets),
        cmocka_unit_test(test_counters_and_histogram_cover_every_op),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
