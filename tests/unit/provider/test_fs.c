/* Unit tests for the local-disk provider (src/provider/fs.c): round trips,
 * ranges, missing chunks, name validation, the on-disk layout, temp-file
 * hygiene and listing. Each test gets a fresh mkdtemp directory. */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include <cmocka.h>

#include "provider/provider.h"
#include "util/alloc.h"
#include "util/hex.h"

typedef struct fixture {
    char dir[64];    /* mkdtemp result */
    char store[128]; /* dir/store: the provider's path */
    provider *p;
} fixture;

/* A deterministic 64-hex name, spread over shards like real seal names. */
static void make_name(uint64_t i, char out[65])
{
    uint8_t raw[32];
    uint64_t x = i * 0x9e3779b97f4a7c15ull + 1;
    for (size_t k = 0; k < sizeof(raw); k++) {
        x ^= x >> 31;
        x *= 0xbf58476d1ce4e5b9ull;
        x ^= x >> 29;
        raw[k] = (uint8_t)(x >> 56);
    }
    hex_encode(raw, sizeof(raw), out);
}

static int open_fs(const char *path, const char *fsync_val, provider **p, orc_err *e)
{
    provider_kv kv[2] = {{"path", path}, {"fsync", fsync_val}};
    return provider_open("fs", "disk1", kv, fsync_val ? 2 : 1, p, e);
}

static int setup(void **state)
{
    fixture *f = orc_calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/orc-test-fs-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->store, sizeof(f->store), "%s/store", f->dir);
    orc_err e = {0};
    assert_int_equal(open_fs(f->store, NULL, &f->p, &e), ORC_OK);
    *state = f;
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int teardown(void **state)
{
    fixture *f = *state;
    provider_free(f->p);
    assert_int_equal(nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
    free(f);
    return 0;
}

/* Entries in dir other than "." and "..". */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

static void put_ok(provider *p, const char *name, const void *data, size_t len)
{
    orc_err e = {0};
    int rc = provider_put(p, name, data, len, &e);
    if (rc) fail_msg("put %s: %s", name, e.msg);
}

static void test_open_without_path_is_einval_naming_provider(void **state)
{
    provider *p = NULL;
    orc_err e = {0};
    assert_int_equal(provider_open("fs", "disk9", NULL, 0, &p, &e), ORC_EINVAL);
    assert_null(p);
    assert_non_null(strstr(e.msg, "disk9"));
    assert_non_null(strstr(e.msg, "path"));
}

static void test_open_rejects_bad_fsync_value(void **state)
{
    fixture *f = *state;
    provider *p = NULL;
    orc_err e = {0};
    assert_int_equal(open_fs(f->store, "maybe", &p, &e), ORC_EINVAL);
    assert_non_null(strstr(e.msg, "fsync"));
}

static void test_open_creates_missing_parents(void **state)
{
    fixture *f = *state;
    char deep[192];
    snprintf(deep, sizeof(deep), "%s/a/b/c", f->dir);
    provider *p = NULL;
    orc_err e = {0};
    assert_int_equal(open_fs(deep, "false", &p, &e), ORC_OK);
    assert_int_equal(provider_caps(p) & PROVIDER_CAP_RANGE, PROVIDER_CAP_RANGE);
    assert_string_equal(provider_name(p), "disk1");
    struct stat st;
    char sub[224];
    snprintf(sub, sizeof(sub), "%s/chunks", deep);
    assert_int_equal(stat(sub, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    snprintf(sub, sizeof(sub), "%s/tmp", deep);
    assert_int_equal(stat(sub, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    provider_free(p);
}

static void round_trip(provider *p, uint64_t i, size_t len)
{
    char name[65];
    make_name(i, name);
    uint8_t *data = orc_malloc(len ? len : 1);
    for (size_t k = 0; k < len; k++)
        data[k] = (uint8_t)(k * 7 + i);
    put_ok(p, name, data, len);
    orc_buf out;
    orc_buf_init(&out, 0);
    orc_err e = {0};
    assert_int_equal(provider_get(p, name, 0, UINT64_MAX, &out, &e), ORC_OK);
    assert_int_equal(out.len, len);
    if (len) assert_memory_equal(out.ptr, data, len);
    uint64_t size = 99;
    assert_int_equal(provider_head(p, name, &size, &e), ORC_OK);
    assert_int_equal(size, len);
    orc_buf_dispose(&out);
    free(data);
}

static void test_put_get_round_trips_0_1_and_1mib(void **state)
{
    fixture *f = *state;
    round_trip(f->p, 1, 0);
    round_trip(f->p, 2, 1);
    round_trip(f->p, 3, 1 << 20);
}

static void test_put_overwrites_existing_name(void **state)
{
    fixture *f = *state;
    char name[65];
    make_name(4, name);
    put_ok(f->p, name, "aaaa", 4);
    put_ok(f->p, name, "bb", 2);
    orc_buf out;
    orc_buf_init(&out, 0);
    orc_err e = {0};
    assert_int_equal(provider_get(f->p, name, 0, UINT64_MAX, &out, &e), ORC_OK);
    assert_int_equal(out.len, 2);
    assert_memory_equal(out.ptr, "bb", 2);
    orc_buf_dispose(&out);
}

static void expect_range(provider *p, const char *name, uint64_t off, uint64_t len,
                         const char *want)
{
    orc_buf out;
    orc_buf_init(&out, 0);
    orc_buf_append(&out, "x", 1, NULL); /* get appends, never overwrites */
    orc_err e = {0};
    assert_int_equal(provider_get(p, name, off, len, &out, &e), ORC_OK);
    assert_int_equal(out.len, 1 + strlen(want));
    assert_memory_equal(out.ptr, "x", 1);
    assert_memory_equal(out.ptr + 1, want, strlen(want));
    assert_int_equal(out.ptr[out.len], 0);
    orc_buf_dispose(&out);
}

static void test_ranged_get_returns_only_requested_bytes(void **state)
{
    fixture *f = *state;
    char name[65];
    make_name(5, name);
    put_ok(f->p, name, "0123456789", 10);
    expect_range(f->p, name, 3, 4, "3456");
    expect_range(f->p, name, 6, UINT64_MAX, "6789");
    expect_range(f->p, name, 8, 100, "89");
    expect_range(f->p, name, 10, 5, "");
    expect_range(f->p, name, 1000, UINT64_MAX, "");
    expect_range(f->p, name, 0, 0, "");
}

static void test_get_respects_buffer_ceiling(void **state)
{
    fixture *f = *state;
    char name[65];
    make_name(6, name);
    put_ok(f->p, name, "0123456789", 10);
    orc_buf out;
    orc_buf_init(&out, 4);
    orc_err e = {0};
    assert_int_equal(provider_get(f->p, name, 0, UINT64_MAX, &out, &e), ORC_ENOSPC);
    assert_int_equal(out.len, 0);
    orc_buf_dispose(&out);
}

static void test_missing_and_deleted_chunks_are_enotfound(void **state)
{
    fixture *f = *state;
    char name[65];
    make_name(7, name);
    orc_buf out;
    orc_buf_init(&out, 0);
    orc_err e = {0};
    uint64_t size;
    assert_int_equal(provider_get(f->p, name, 0, UINT64_MAX, &out, &e), ORC_ENOTFOUND);
    assert_int_equal(provider_head(f->p, name, &size, &e), ORC_ENOTFOUND);
    assert_int_equal(provider_del(f->p, name, &e), ORC_ENOTFOUND);

    put_ok(f->p, name, "abc", 3);
    assert_int_equal(provider_del(f->p, name, &e), ORC_OK);
    assert_int_equal(provider_get(f->p, name, 0, UINT64_MAX, &out, &e), ORC_ENOTFOUND);
    assert_int_equal(provider_head(f->p, name, &size, &e), ORC_ENOTFOUND);
    assert_int_equal(provider_del(f->p, name, &e), ORC_ENOTFOUND);
    assert_int_equal(out.len, 0);
    orc_buf_dispose(&out);
}

static void test_bad_names_are_einval(void **state)
{
    fixture *f = *state;
    char longname[201];
    memset(longname, 'a', 200);
    longname[200] = 0;
    const char *bad[] = {"../x", "A", "", longname, "ab/cd", "..", "abc.tmp", "abcd\n"};
    orc_buf out;
    orc_buf_init(&out, 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        orc_err e = {0};
        uint64_t size;
        assert_int_equal(provider_put(f->p, bad[i], (const uint8_t *)"x", 1, &e), ORC_EINVAL);
        assert_non_null(strstr(e.msg, "disk1"));
        assert_int_equal(provider_get(f->p, bad[i], 0, UINT64_MAX, &out, &e), ORC_EINVAL);
        assert_int_equal(provider_head(f->p, bad[i], &size, &e), ORC_EINVAL);
        assert_int_equal(provider_del(f->p, bad[i], &e), ORC_EINVAL);
    }
    orc_buf_dispose(&out);
    /* Nothing was written anywhere. */
    char sub[192];
    snprintf(sub, sizeof(sub), "%s/chunks", f->store);
    assert_int_equal(count_entries(sub), 0);
    assert_int_equal(count_entries(f->dir), 1);
}

static void test_names_at_length_limits_are_accepted(void **state)
{
    fixture *f = *state;
    char name128[129];
    memset(name128, 'z', 128);
    name128[128] = 0;
    const char *good[] = {"a", "0z", "abc", name128};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        put_ok(f->p, good[i], good[i], strlen(good[i]));
        uint64_t size = 0;
        orc_err e = {0};
        assert_int_equal(provider_head(f->p, good[i], &size, &e), ORC_OK);
        assert_int_equal(size, strlen(good[i]));
    }
    char name129[130];
    memset(name129, 'z', 129);
    name129[129] = 0;
    orc_err e = {0};
    assert_int_equal(provider_put(f->p, name129, (const uint8_t *)"x", 1, &e), ORC_EINVAL);
}

static void test_chunk_lands_at_sharded_path(void **state)
{
    fixture *f = *state;
    char name[65];
    make_name(8, name);
    put_ok(f->p, name, "hello", 5);
    char path[256];
    snprintf(path, sizeof(path), "%s/chunks/%.2s/%.2s/%s", f->store, name, name + 2, name);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_size, 5);
}

static void test_puts_leave_no_temp_files(void **state)
{
    fixture *f = *state;
    for (uint64_t i = 0; i < 20; i++) {
        char name[65];
        make_name(100 + i, name);
        put_ok(f->p, name, name, 64);
    }
    char tmp[192];
    snprintf(tmp, sizeof(tmp), "%s/tmp", f->store);
    assert_int_equal(count_entries(tmp), 0);
}

static void test_failed_put_is_eio_and_removes_temp_file(void **state)
{
    fixture *f = *state;
    char name[65];
    make_name(9, name);
    /* A file where the first shard directory belongs makes the rename fail. */
    char path[256];
    snprintf(path, sizeof(path), "%s/chunks/%.2s", f->store, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    orc_err e = {0};
    assert_int_equal(provider_put(f->p, name, (const uint8_t *)"abc", 3, &e), ORC_EIO);
    assert_non_null(strstr(e.msg, "disk1"));
    assert_non_null(strstr(e.msg, strerror(ENOTDIR)));
    snprintf(path, sizeof(path), "%s/tmp", f->store);
    assert_int_equal(count_entries(path), 0);
    provider_stats st;
    provider_stats_get(f->p, &st);
    assert_int_equal(st.errors, 1);
    assert_int_equal(st.bytes_in, 0);
}

static void test_open_removes_stale_temp_files(void **state)
{
    fixture *f = *state;
    char path[256];
    snprintf(path, sizeof(path), "%s/tmp/1234-1234-0.tmp", f->store);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("torn", fp);
    fclose(fp);
    provider *p = NULL;
    orc_err e = {0};
    assert_int_equal(open_fs(f->store, NULL, &p, &e), ORC_OK);
    snprintf(path, sizeof(path), "%s/tmp", f->store);
    assert_int_equal(count_entries(path), 0);
    provider_free(p);
}

typedef struct seen {
    char names[300][65];
    uint64_t sizes[300];
    int n, stop_at, stop_value;
} seen;

static int collect(void *ctx, const char *name, uint64_t size)
{
    seen *s = ctx;
    assert_true(s->n < 300);
    assert_int_equal(strlen(name), 64);
    memcpy(s->names[s->n], name, 65);
    s->sizes[s->n] = size;
    s->n++;
    return s->n == s->stop_at ? s->stop_value : 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_list_finds_exactly_the_names_put(void **state)
{
    fixture *f = *state;
    provider *p = NULL;
    orc_err e = {0};
    assert_int_equal(open_fs(f->store, "false", &p, &e), ORC_OK);
    static char want[300][65];
    for (uint64_t i = 0; i < 300; i++) {
        make_name(1000 + i, want[i]);
        put_ok(p, want[i], want[i], i % 64);
    }
    /* Strays a crash or an operator could leave are not chunks. */
    char path[256];
    snprintf(path, sizeof(path), "%s/chunks/README", f->store);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    snprintf(path, sizeof(path), "%s/chunks/%.2s/%.2s/x.tmp", f->store, want[0], want[0] + 2);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);

    static seen s;
    memset(&s, 0, sizeof(s));
    assert_int_equal(provider_list(p, collect, &s, &e), ORC_OK);
    assert_int_equal(s.n, 300);
    for (int i = 0; i < s.n; i++) {
        uint64_t idx = 0;
        for (; idx < 300 && strcmp(want[idx], s.names[i]) != 0; idx++) {
        }
        assert_true(idx < 300);
        assert_int_equal(s.sizes[i], idx % 64);
    }
    qsort(s.names, 300, 65, cmp_name);
    qsort(want, 300, 65, cmp_name);
    assert_memory_equal(s.names, want, sizeof(want));

    memset(&s, 0, sizeof(s));
    s.stop_at = 1;
    s.stop_value = 1;
    assert_int_equal(provider_list(p, collect, &s, &e), 1);
    assert_int_equal(s.n, 1);

    memset(&s, 0, sizeof(s));
    s.stop_at = 5;
    s.stop_value = 42;
    assert_int_equal(provider_list(p, collect, &s, &e), 42);
    assert_int_equal(s.n, 5);
    provider_free(p);
}

static void test_list_of_empty_store_calls_nothing(void **state)
{
    fixture *f = *state;
    static seen s;
    memset(&s, 0, sizeof(s));
    orc_err e = {0};
    assert_int_equal(provider_list(f->p, collect, &s, &e), ORC_OK);
    assert_int_equal(s.n, 0);
}

static void test_stats_count_puts_gets_and_bytes(void **state)
{
    fixture *f = *state;
    char a[65], b[65];
    make_name(20, a);
    make_name(21, b);
    put_ok(f->p, a, "12345", 5);
    put_ok(f->p, b, "123", 3);
    orc_buf out;
    orc_buf_init(&out, 0);
    orc_err e = {0};
    assert_int_equal(provider_get(f->p, a, 1, 2, &out, &e), ORC_OK);
    assert_int_equal(provider_del(f->p, b, &e), ORC_OK);
    assert_int_equal(provider_del(f->p, b, &e), ORC_ENOTFOUND);
    orc_buf_dispose(&out);
    provider_stats st;
    provider_stats_get(f->p, &st);
    assert_int_equal(st.puts, 2);
    assert_int_equal(st.bytes_in, 8);
    assert_int_equal(st.gets, 1);
    assert_int_equal(st.bytes_out, 2);
    assert_int_equal(st.dels, 2);
    assert_int_equal(st.errors, 0); /* ENOTFOUND is not an error */
}

typedef struct worker {
    provider *p;
    int id;
    int failures;
} worker;

static void *put_many(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < 50; i++) {
        char name[65];
        /* Every thread writes the same first names too: same-name races must be safe. */
        make_name(i < 10 ? (uint64_t)i : (uint64_t)(5000 + w->id * 100 + i), name);
        orc_err e = {0};
        if (provider_put(w->p, name, (const uint8_t *)name, 64, &e)) w->failures++;
    }
    return NULL;
}

static void test_concurrent_puts_all_land(void **state)
{
    fixture *f = *state;
    provider *p = NULL;
    orc_err e = {0};
    assert_int_equal(open_fs(f->store, "false", &p, &e), ORC_OK);
    pthread_t th[4];
    worker w[4];
    for (int t = 0; t < 4; t++) {
        w[t] = (worker){p, t, 0};
        assert_int_equal(pthread_create(&th[t], NULL, put_many, &w[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(w[t].failures, 0);
    }
    static seen s;
    memset(&s, 0, sizeof(s));
    assert_int_equal(provider_list(p, collect, &s, &e), ORC_OK);
    assert_int_equal(s.n, 10 + 4 * 40);
    for (int i = 0; i < s.n; i++)
        assert_int_equal(s.sizes[i], 64);
    char tmp[192];
    snprintf(tmp, sizeof(tmp), "%s/tmp", f->store);
    assert_int_equal(count_entries(tmp), 0);
    provider_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_without_path_is_einval_naming_provider),
        cmocka_unit_test_setup_teardown(test_open_rejects_bad_fsync_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_creates_missing_parents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_get_round_trips_0_1_and_1mib, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_overwrites_existing_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranged_get_returns_only_requested_bytes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_get_respects_buffer_ceiling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_and_deleted_chunks_are_enotfound, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_names_are_einval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_at_length_limits_are_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunk_lands_at_sharded_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_puts_leave_no_temp_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_put_is_eio_and_removes_temp_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_open_removes_stale_temp_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_finds_exactly_the_names_put, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_of_empty_store_calls_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats_count_puts_gets_and_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_puts_all_land, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
