/* Unit tests for the per-call deadline and health accounting in the provider
 * wrappers (src/provider/provider.c), driven through the fault decorator
 * (src/provider/fault.c) over an fs provider: a hanging provider costs one
 * deadline per call, counts as failing and goes down; a copy flagged corrupt
 * counts as its provider's error; rules are re-read when the file changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "provider/provider.h"
#include "util/time.h"

#define NAME "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

typedef struct fixture {
    char dir[64];
    char store[128], rules[128];
    provider *p;
} fixture;

static void write_rules(fixture *f, const char *text)
{
    /* Through a rename, so the decorator sees a new inode even within one
     * mtime tick. */
    char tmp[160];
    snprintf(tmp, sizeof(tmp), "%s.tmp", f->rules);
    FILE *fp = fopen(tmp, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    assert_int_equal(rename(tmp, f->rules), 0);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/orc-fault-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->store, sizeof(f->store), "%s/store", f->dir);
    snprintf(f->rules, sizeof(f->rules), "%s/faults", f->dir);
    provider_kv kv[] = {{"path", f->store},
                        {"fsync", "false"},
                        {"fault_file", f->rules},
                        {"deadline_base_ms", "300"},
                        {"deadline_per_mib_ms", "100"}};
    orc_err e = {0};
    assert_int_equal(provider_open("fs", "flaky", kv, 5, &f->p, &e), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    provider_free(f->p);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void test_no_rules_behaves_as_the_inner_provider(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    assert_string_equal(provider_type(f->p), "fs");
    assert_int_equal(provider_put(f->p, NAME, (const uint8_t *)"abc", 3, &e), 0);
    orc_buf b;
    orc_buf_init(&b, 0);
    assert_int_equal(provider_get(f->p, NAME, 0, UINT64_MAX, &b, &e), 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.ptr, "abc", 3);
    orc_buf_dispose(&b);
}

/* The bound of issue 9: a provider that reads requests and never answers
 * costs each call its deadline, each such call is a failure, and down_after
 * of them mark it down. */
static void test_hanging_get_ends_at_its_deadline_and_marks_provider_down(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    assert_int_equal(provider_put(f->p, NAME, (const uint8_t *)"abc", 3, &e), 0);
    write_rules(f, "get hang\n");
    orc_buf b;
    orc_buf_init(&b, 0);
    for (int i = 0; i < PROVIDER_DOWN_AFTER_DEFAULT; i++) {
        int64_t t0 = orc_monotonic_us();
        int rc = provider_get(f->p, NAME, 0, 3, &b, &e);
        int64_t ms = (orc_monotonic_us() - t0) / 1000;
        assert_int_equal(rc, ORC_ETRANSIENT);
        assert_int_equal(b.len, 0);
        assert_true(ms >= 300 && ms < 1500); /* base 300 + 100 for its (partial) MiB */
    }
    provider_stats st;
    provider_stats_get(f->p, &st);
    assert_false(st.up);
    assert_int_equal(st.errors, PROVIDER_DOWN_AFTER_DEFAULT);
    assert_int_equal(st.timeouts, PROVIDER_DOWN_AFTER_DEFAULT);
    /* The hang ends: the probe finds it answering and it is up again. */
    write_rules(f, "");
    provider_probe(f->p);
    assert_true(provider_is_up(f->p));
    orc_buf_dispose(&b);
}

/* A call that ends past its deadline but succeeds (a stalled local disk) keeps
 * its result and still counts against the provider's health. */
static void test_late_success_counts_as_a_failure_for_health(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    write_rules(f, "put delay 500\n");
    assert_int_equal(provider_put(f->p, NAME, (const uint8_t *)"abc", 3, &e), 0);
    provider_stats st;
    provider_stats_get(f->p, &st);
    assert_int_equal(st.consecutive_failures, 1);
    assert_int_equal(st.timeouts, 1);
    write_rules(f, "");
    uint64_t size = 0;
    assert_int_equal(provider_head(f->p, NAME, &size, &e), 0);
    assert_int_equal(size, 3);
}

/* "late": the write happens but its answer never arrives in time. */
static void test_late_put_stores_the_bytes_but_reports_failure(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    write_rules(f, "put late\n");
    assert_int_equal(provider_put(f->p, NAME, (const uint8_t *)"abc", 3, &e), ORC_ETRANSIENT);
    write_rules(f, "");
    uint64_t size = 0;
    assert_int_equal(provider_head(f->p, NAME, &size, &e), 0);
    assert_int_equal(size, 3);
}

static void test_fail_rule_and_corrupt_note_count_as_errors(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    write_rules(f, "# comment\nbogus line\n* fail\n");
    assert_int_equal(provider_put(f->p, NAME, (const uint8_t *)"abc", 3, &e), ORC_ETRANSIENT);
    assert_non_null(strstr(e.msg, "flaky"));
    provider_note_corrupt(f->p);
    provider_stats st;
    provider_stats_get(f->p, &st);
    assert_int_equal(st.errors, 2);
    assert_int_equal(st.corrupt, 1);
    assert_int_equal(st.timeouts, 0);
}

static void test_corrupt_rule_flips_a_byte_of_a_get(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    assert_int_equal(provider_put(f->p, NAME, (const uint8_t *)"abc", 3, &e), 0);
    write_rules(f, "get corrupt\n");
    orc_buf b;
    orc_buf_init(&b, 0);
    assert_int_equal(provider_get(f->p, NAME, 0, UINT64_MAX, &b, &e), 0);
    assert_int_equal(b.len, 3);
    assert_memory_not_equal(b.ptr, "abc", 3);
    orc_buf_dispose(&b);
}

static void test_bad_deadline_key_is_einval(void **state)
{
    (void)state;
    provider_kv kv[] = {{"path", "/tmp/orc-fault-unused"}, {"deadline_base_ms", "0"}};
    provider *p = NULL;
    orc_err e = {0};
    assert_int_equal(provider_open("fs", "x", kv, 2, &p, &e), ORC_EINVAL);
    assert_non_null(strstr(e.msg, "deadline_base_ms"));
    assert_null(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_rules_behaves_as_the_inner_provider, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_hanging_get_ends_at_its_deadline_and_marks_provider_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_success_counts_as_a_failure_for_health, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_late_put_stores_the_bytes_but_reports_failure, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fail_rule_and_corrupt_note_count_as_errors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_rule_flips_a_byte_of_a_get, setup, teardown),
        cmocka_unit_test(test_bad_deadline_key_is_einval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
