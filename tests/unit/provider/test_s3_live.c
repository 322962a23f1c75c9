/* The S3 provider against a live S3 endpoint: round trips, ranges, missing
 * objects, head and delete, listing past one page (S3 pages hold 1000 keys,
 * and the provider has no page-size knob, so a test puts 1003 objects), and,
 * when the endpoint verifies SigV4, a refused secret.
 *
 * Needs S3_LIVE_ENDPOINT (http://127.0.0.1:PORT), S3_LIVE_BUCKET (existing),
 * S3_LIVE_ACCESS_KEY and S3_LIVE_SECRET_KEY; every test skips without them,
 * so plain ctest passes with no server around. S3_LIVE_VERIFIES_SIGV4=1 says
 * that a wrong secret must be refused (true of AWS and of orchard; s3rver
 * accepts any signature). tests/integration/test_21_s3_provider.py runs this
 * binary against s3rver and against a second `orchard serve`.
 *
 * Only requests the provider really sends are checked: it never asks for a
 * suffix range nor lists with a delimiter, the two places s3rver is wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/provider_contract.h"

#include "provider/provider.h"
#include "util/alloc.h"
#include "util/hex.h"

#define SIZE 1000
#define BIG (5u << 20) /* larger than curl's 1 MiB Expect: 100-continue threshold */
#define PAGE 1000      /* ListObjectsV2's page */
#define MANY (PAGE + 3)

typedef struct fixture {
    char prefix[48];
    provider *p;
} fixture;

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static int live(void)
{
    return env("S3_LIVE_ENDPOINT") && env("S3_LIVE_BUCKET") && env("S3_LIVE_ACCESS_KEY") &&
           env("S3_LIVE_SECRET_KEY");
}

static int open_s3(const char *prefix, const char *secret, provider **p, orc_err *e)
{
    provider_kv kv[] = {{"endpoint", env("S3_LIVE_ENDPOINT")},
                        {"bucket", env("S3_LIVE_BUCKET")},
                        {"access_key", env("S3_LIVE_ACCESS_KEY")},
                        {"secret_key", secret ? secret : env("S3_LIVE_SECRET_KEY")},
                        {"prefix", prefix}};
    return provider_open("s3", "s3-east", kv, sizeof(kv) / sizeof(kv[0]), p, e);
}

/* One prefix per test: tests cannot see each other's objects. */
static int setup(void **state)
{
    static unsigned seq;
    if (!live()) return 0;
    fixture *f = orc_calloc(1, sizeof(*f));
    snprintf(f->prefix, sizeof(f->prefix), "t%u-%ld-%ld/", ++seq, (long)getpid(), (long)time(NULL));
    orc_err e = {0};
    int rc = open_s3(f->prefix, NULL, &f->p, &e);
    if (rc) fprintf(stderr, "open: %s\n", e.msg);
    assert_int_equal(rc, ORC_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f) {
        provider_free(f->p);
        free(f);
    }
    return 0;
}

#define NEED_LIVE()                                                                                \
    do {                                                                                           \
        if (!live()) skip();                                                                       \
    } while (0)

static void test_put_get_round_trip_and_overwrite(void **state)
{
    NEED_LIVE();
    contract_round_trip(((fixture *)*state)->p);
}

static void test_large_object_round_trips_whole_and_in_ranges(void **state)
{
    NEED_LIVE();
    fixture *f = *state;
    uint8_t *data = orc_malloc(BIG);
    contract_pattern(data, BIG, 9);
    char name[65];
    contract_name("big", 0, name);
    contract_put_ok(f->p, name, data, BIG);
    orc_buf out;
    orc_buf_init(&out, 0);
    orc_err e = {0};
    assert_int_equal(provider_get(f->p, name, 0, UINT64_MAX, &out, &e), ORC_OK);
    assert_int_equal(out.len, BIG);
    assert_memory_equal(out.ptr, data, BIG);
    orc_buf_reset(&out);
    uint64_t off = (1u << 20) + 12345, len = 2u << 20;
    assert_int_equal(provider_get(f->p, name, off, len, &out, &e), ORC_OK);
    assert_int_equal(out.len, len);
    assert_memory_equal(out.ptr, data + off, len);
    uint64_t size = 0;
    assert_int_equal(provider_head(f->p, name, &size, &e), ORC_OK);
    assert_int_equal(size, BIG);
    orc_buf_dispose(&out);
    free(data);
}

static void test_empty_object_round_trips(void **state)
{
    NEED_LIVE();
    contract_empty(((fixture *)*state)->p);
}

static void test_ranged_reads_return_exactly_the_range(void **state)
{
    NEED_LIVE();
    contract_ranges(((fixture *)*state)->p);
}

static void test_missing_object_is_enotfound_on_get_and_head(void **state)
{
    NEED_LIVE();
    /* S3 answers 204 to a DELETE of a missing key. */
    contract_missing(((fixture *)*state)->p, false);
}

static void test_delete_removes_and_head_reports_size(void **state)
{
    NEED_LIVE();
    contract_delete_head(((fixture *)*state)->p, false);
}

typedef struct seen {
    char (*names)[65];
    uint64_t *sizes;
    int n, cap, stop_after;
} seen;

static int collect(void *ctx, const char *name, uint64_t size)
{
    seen *s = ctx;
    if (s->n >= s->cap) return -100;
    snprintf(s->names[s->n], 65, "%s", name);
    s->sizes[s->n++] = size;
    return s->stop_after && s->n == s->stop_after ? 42 : 0;
}

static void seen_init(seen *s, int cap)
{
    *s = (seen){
        .names = orc_calloc((size_t)cap, 65), .sizes = orc_calloc((size_t)cap, 8), .cap = cap};
}

static void seen_free(seen *s)
{
    free(s->names);
    free(s->sizes);
}

typedef struct entry {
    char name[65]; /* first: cmp_name compares names and strings alike */
    uint64_t size;
} entry;

static int cmp_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_list_walks_every_page_and_only_our_prefix(void **state)
{
    NEED_LIVE();
    fixture *f = *state;
    uint8_t data[16];
    contract_pattern(data, sizeof(data), 4);
    entry *put = orc_calloc(MANY, sizeof(*put));
    for (unsigned i = 0; i < MANY; i++) {
        contract_name("list", i, put[i].name);
        put[i].size = 1 + i % 16;
        contract_put_ok(f->p, put[i].name, data, put[i].size);
    }
    /* A neighbour under a longer prefix: not ours to list. */
    char other[64];
    snprintf(other, sizeof(other), "%sx/", f->prefix);
    provider *q = NULL;
    orc_err e = {0};
    assert_int_equal(open_s3(other, NULL, &q, &e), ORC_OK);
    char stray[65];
    contract_name("stray", 0, stray);
    contract_put_ok(q, stray, data, 5);

    seen s;
    seen_init(&s, MANY + 10);
    int rc = provider_list(f->p, collect, &s, &e);
    if (rc) fprintf(stderr, "list: %s\n", e.msg);
    assert_int_equal(rc, ORC_OK);
    assert_int_equal(s.n, MANY); /* two pages, each name once */
    qsort(put, MANY, sizeof(*put), cmp_name);
    for (int k = 0; k < s.n; k++) {
        entry *hit = bsearch(s.names[k], put, MANY, sizeof(*put), cmp_name);
        assert_non_null(hit);
        assert_int_equal(s.sizes[k], hit->size);
    }
    qsort(s.names, (size_t)s.n, 65, cmp_name);
    for (int k = 1; k < s.n; k++)
        assert_true(strcmp(s.names[k - 1], s.names[k]) < 0);
    seen_free(&s);

    seen stop;
    seen_init(&stop, MANY);
    stop.stop_after = PAGE + 1; /* stops on the second page */
    assert_int_equal(provider_list(f->p, collect, &stop, &e), 42);
    assert_int_equal(stop.n, PAGE + 1);
    seen_free(&stop);

    seen mine;
    seen_init(&mine, 4);
    assert_int_equal(provider_list(q, collect, &mine, &e), ORC_OK);
    assert_int_equal(mine.n, 1);
    assert_string_equal(mine.names[0], stray);
    seen_free(&mine);
    provider_free(q);
    free(put);
}

static void test_wrong_secret_is_eauth_and_the_message_hides_it(void **state)
{
    NEED_LIVE();
    if (!env("S3_LIVE_VERIFIES_SIGV4")) skip(); /* s3rver accepts any signature */
    fixture *f = *state;
    static const char wrong[] = "wrongSECRETwrongSECRETwrongSECRET0000";
    provider *bad = NULL;
    orc_err e = {0};
    assert_int_equal(open_s3(f->prefix, wrong, &bad, &e), ORC_OK); /* open sends nothing */
    uint8_t data[16] = {0};
    char name[65];
    contract_name("auth", 0, name);
    assert_int_equal(provider_put(bad, name, data, sizeof(data), &e), ORC_EAUTH);
    assert_non_null(strstr(e.msg, "s3-east"));
    assert_non_null(strstr(e.msg, "403"));
    assert_non_null(strstr(e.msg, "check access_key and secret_key"));
    assert_null(strstr(e.msg, wrong));
    assert_null(strstr(e.msg, env("S3_LIVE_SECRET_KEY")));
    orc_buf out;
    orc_buf_init(&out, 0);
    assert_int_equal(provider_get(bad, name, 0, UINT64_MAX, &out, &e), ORC_EAUTH);
    assert_null(strstr(e.msg, wrong));
    seen s;
    seen_init(&s, 4);
    assert_int_equal(provider_list(bad, collect, &s, &e), ORC_EAUTH);
    assert_null(strstr(e.msg, wrong));
    seen_free(&s);
    orc_buf_dispose(&out);
    provider_free(bad);

    /* Nothing was stored under the refused signature. */
    uint64_t size;
    assert_int_equal(provider_head(f->p, name, &size, &e), ORC_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_round_trip_and_overwrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_object_round_trips_whole_and_in_ranges, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_empty_object_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranged_reads_return_exactly_the_range, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_missing_object_is_enotfound_on_get_and_head, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_delete_removes_and_head_reports_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_walks_every_page_and_only_our_prefix, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wrong_secret_is_eauth_and_the_message_hides_it, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
