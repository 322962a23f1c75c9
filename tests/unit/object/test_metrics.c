/* object/metrics.c over fake providers and a real SQLite store: the store's
 * gauges follow the objects (dedup ratio, stored bytes as the providers hold
 * them), ratios over zero are left out rather than shown as 0, the provider
 * counters and histograms are live while the metadata counts are kept for
 * the cache period. */
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

#define BODY (100u * 1024)

typedef struct fix {
    fake_store fs;
    store *st; /* made by object_store_new: it has a cache */
    uint8_t a[BODY], c[BODY];
} fix;

static int setup(void **state)
{
    fix *f = calloc(1, sizeof(*f));
    fake_store_open(&f->fs, 3, 2, 2, 0);
    cdc_params params = {FAKE_CDC_MIN, FAKE_CDC_AVG, FAKE_CDC_MAX};
    f->st = object_store_new(f->fs.m, f->fs.pl, &f->fs.keys, &params, 0);
    fake_fill(f->a, BODY, 1);
    fake_fill(f->c, BODY, 2);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fix *f = *state;
    object_store_free(f->st);
    fake_store_close(&f->fs);
    free(f);
    return 0;
}

static void put(fix *f, const char *key, const uint8_t *body)
{
    object_put_args a = {.bucket_id = f->fs.bucket_id, .key = key, .content_length = BODY};
    object_put *w = object_put_begin(f->st, &a);
    object_put_result res;
    orc_err e = {0};
    assert_int_equal(object_put_write(w, body, BODY, &e), ORC_OK);
    int rc = object_put_finish(w, &res, &e);
    if (rc) fprintf(stderr, "put %s: %s\n", key, e.msg);
    assert_int_equal(rc, ORC_OK);
    object_put_free(w);
}

/* The whole exposition of st, NUL-terminated (free()). */
static char *scrape(store *st)
{
    orc_buf b;
    orc_buf_init(&b, 0);
    orc_err e = {0};
    int rc = object_metrics_write(st, &b, &e);
    if (rc) fprintf(stderr, "metrics: %s\n", e.msg);
    assert_int_equal(rc, ORC_OK);
    orc_buf_append(&b, "", 0, NULL);
    return (char *)orc_buf_take(&b, NULL);
}

/* The value of the sample line that starts with series (name and labels). */
static const char *line_of(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, series, n) && p[n] == ' ') return p + n + 1;
    return NULL;
}

static double value(const char *text, const char *series)
{
    const char *v = line_of(text, series);
    if (!v) fprintf(stderr, "no sample %s in:\n%s", series, text);
    assert_non_null(v);
    return strtod(v, NULL);
}

static double provider_value(const char *text, const char *name, int i, const char *more)
{
    char series[160];
    snprintf(series, sizeof(series), "%s{provider=\"fake%d\"%s}", name, i, more);
    return value(text, series);
}

static void test_gauges_follow_the_objects_and_ratios_need_a_divisor(void **state)
{
    fix *f = *state;
    char *t = scrape(f->st);
    assert_int_equal(value(t, "orchard_objects"), 0);
    assert_int_equal(value(t, "orchard_logical_bytes"), 0);
    assert_int_equal(value(t, "orchard_stored_bytes"), 0);
    assert_int_equal(value(t, "orchard_chunks_under_replicated"), 0);
    assert_null(line_of(t, "orchard_dedup_ratio")); /* nothing over nothing */
    assert_null(line_of(t, "orchard_stored_bytes_per_logical_byte"));
    assert_null(strstr(t, "# HELP orchard_dedup_ratio"));
    for (int i = 0; i < 3; i++)
        assert_int_equal(provider_value(t, "orchard_provider_up", i, ""), 1);
    free(t);

    put(f, "a", f->a);
    put(f, "b", f->a); /* the same bytes: stored once */
    t = scrape(f->st);
    assert_int_equal(value(t, "orchard_objects"), 2);
    assert_int_equal(value(t, "orchard_logical_bytes"), 2 * BODY);
    assert_true(value(t, "orchard_dedup_ratio") == 2.0);
    uint64_t stored = 0;
    for (int i = 0; i < 3; i++) {
        provider *p = f->fs.provs[i];
        assert_int_equal(provider_value(t, "orchard_provider_stored_bytes", i, ""), fake_bytes(p));
        assert_int_equal(provider_value(t, "orchard_provider_stored_chunks", i, ""), fake_count(p));
        stored += fake_bytes(p);
    }
    assert_true(stored > 2 * BODY); /* two sealed copies of each chunk */
    assert_int_equal(value(t, "orchard_stored_bytes"), stored);
    double per = value(t, "orchard_stored_bytes_per_logical_byte");
    assert_true(per > 0.99 * stored / (2.0 * BODY) && per < 1.01 * stored / (2.0 * BODY));
    free(t);
}

/* Each provider's histogram counts its timed calls: puts, gets, deletes
 * and heads that were not cancelled. */
static void test_provider_counters_match_their_histogram(void **state)
{
    fix *f = *state;
    put(f, "a", f->a);
    char *t = scrape(f->st);
    double puts = 0, pieces = 0;
    for (int i = 0; i < 3; i++) {
        double timed = 0;
        const char *ops[] = {"put", "get", "delete", "head"};
        for (int k = 0; k < 4; k++) {
            char more[48];
            snprintf(more, sizeof(more), ",operation=\"%s\"", ops[k]);
            timed += provider_value(t, "orchard_provider_operations_total", i, more);
        }
        puts += provider_value(t, "orchard_provider_operations_total", i, ",operation=\"put\"");
        pieces += provider_value(t, "orchard_provider_stored_chunks", i, "");
        timed -= provider_value(t, "orchard_provider_cancelled_total", i, "");
        assert_true(provider_value(t, "orchard_provider_request_duration_seconds_count", i, "") ==
                    timed);
        assert_true(provider_value(t, "orchard_provider_request_duration_seconds_bucket", i,
                                   ",le=\"+Inf\"") == timed);
        assert_int_equal(provider_value(t, "orchard_provider_bytes_total", i, ",direction=\"in\""),
                         fake_bytes(f->fs.provs[i]));
    }
    assert_true(pieces > 0);
    assert_true(puts >= pieces); /* every piece held took a put */
    free(t);
}

/* The metadata counts are kept for the cache period, the provider counters
 * are not; a store without a cache reads every time. */
static void test_metadata_counts_are_cached_provider_counters_are_live(void **state)
{
    fix *f = *state;
    put(f, "a", f->a);
    object_store_set_metrics_cache(f->st, 3600 * 1000);
    char *t = scrape(f->st);
    assert_int_equal(value(t, "orchard_objects"), 1);
    double puts = provider_value(t, "orchard_provider_operations_total", 0, ",operation=\"put\"") +
                  provider_value(t, "orchard_provider_operations_total", 1, ",operation=\"put\"") +
                  provider_value(t, "orchard_provider_operations_total", 2, ",operation=\"put\"");
    free(t);

    put(f, "c", f->c); /* new bytes: new pieces */
    t = scrape(f->st);
    assert_int_equal(value(t, "orchard_objects"), 1); /* kept */
    double now = provider_value(t, "orchard_provider_operations_total", 0, ",operation=\"put\"") +
                 provider_value(t, "orchard_provider_operations_total", 1, ",operation=\"put\"") +
                 provider_value(t, "orchard_provider_operations_total", 2, ",operation=\"put\"");
    assert_true(now > puts); /* live */
    free(t);

    t = scrape(&f->fs.st); /* built without object_store_new: no cache */
    assert_int_equal(value(t, "orchard_objects"), 2);
    free(t);
    object_store_set_metrics_cache(f->st, 0); /* dropped, and not kept from now on */
    t = scrape(f->st);
    assert_int_equal(value(t, "orchard_objects"), 2);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_gauges_follow_the_objects_and_ratios_need_a_divisor,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_provider_counters_match_their_histogram, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_metadata_counts_are_cached_provider_counters_are_live,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
