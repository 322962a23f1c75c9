/* Unit tests of what is the SQLite metadata store's own (src/meta/sqlite*.c),
 * beyond the contract every store keeps (tests/unit/support/meta_contract*.c,
 * run by test_contract_sqlite.c): the schema version and WAL mode survive a
 * reopen, a newer schema is refused, a version 3 database migrates, and a
 * state only a crash or a bug could leave (a referenced chunk DELETING) is
 * refused. The raw SQL goes through the store's own connections
 * (meta/sqlite_test.h), never a second handle on the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meta/meta.h"
#include "meta/sqlite_test.h"
#include "support/meta_tmp.h"

#define MD5_A "0123456789abcdef0123456789abcdef"

typedef struct fixture {
    char dir[64];
    char path[128];
    meta *m;
    int64_t owner;
    int64_t bucket;
    uint32_t prov[2];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    orc_err e = {0};
    meta_bucket b;
    meta_tmp_open(f->dir, sizeof(f->dir), "/tmp/orchard-meta-XXXXXX", f->path, sizeof(f->path),
                  &f->m);
    assert_string_equal(meta_type(f->m), "sqlite");
    assert_int_equal(
        meta_user_add(f->m, "alice", "AKALICE", (const uint8_t *)"sealed", 6, &f->owner, &e),
        ORC_OK);
    assert_int_equal(meta_bucket_create(f->m, "photos", f->owner, "us-east-1", &e), ORC_OK);
    assert_int_equal(meta_bucket_get(f->m, "photos", &b, &e), ORC_OK);
    f->bucket = b.id;
    assert_int_equal(meta_provider_id(f->m, "disk-a", &f->prov[0], &e), ORC_OK);
    assert_int_equal(meta_provider_id(f->m, "disk-b", &f->prov[1], &e), ORC_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    meta_tmp_remove(f->m, f->dir, f->path);
    free(f);
    return 0;
}

static void exec_sql(fixture *f, const char *sql)
{
    orc_err e = {0};
    int rc = meta_sqlite_test_exec(f->m, sql, &e);
    if (rc) fprintf(stderr, "%s: %s\n", sql, e.msg);
    assert_int_equal(rc, ORC_OK);
}

static int64_t query_int(fixture *f, const char *sql)
{
    orc_err e = {0};
    int64_t v = -1;
    assert_int_equal(meta_sqlite_test_int(f->m, sql, &v, &e), ORC_OK);
    return v;
}

/* Claims and commits a chunk of len bytes (content by tag) on both providers. */
static int64_t live_chunk(fixture *f, uint8_t tag, uint32_t len)
{
    uint8_t h[32];
    meta_chunk k;
    bool is_new = false;
    orc_err e = {0};
    memset(h, tag, sizeof(h));
    assert_int_equal(meta_chunk_claim(f->m, h, len, len + 28, 1, 1, NULL, &k, &is_new, &e), ORC_OK);
    assert_true(is_new);
    assert_int_equal(meta_chunk_commit(f->m, k.id, f->prov, NULL, 2, &e), ORC_OK);
    return k.id;
}

/* key as the one chunk id of len bytes, written by a request started at start_ms. */
static void put(fixture *f, const char *key, const char *etag, int64_t id, uint32_t len,
                int64_t start_ms, int64_t *oid)
{
    uint64_t off = 0;
    orc_err e = {0};
    meta_object_new o = {.key = key,
                         .size = len,
                         .etag = etag,
                         .mtime_ms = 1,
                         .chunk_ids = &id,
                         .offsets = &off,
                         .nchunks = 1,
                         .start_ms = start_ms};
    assert_int_equal(meta_object_put(f->m, f->bucket, &o, oid, &e), ORC_OK);
}

static void test_reopen_keeps_data_and_schema_version(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    meta_user u;
    meta_bucket b;
    uint32_t id;
    meta_close(f->m);
    assert_int_equal(meta_open_sqlite(f->path, &f->m, &e), ORC_OK);
    assert_int_equal(meta_user_by_name(f->m, "alice", &u, &e), ORC_OK);
    assert_int_equal(u.id, f->owner);
    assert_int_equal(meta_bucket_get(f->m, "photos", &b, &e), ORC_OK);
    assert_string_equal(b.region, "us-east-1");
    assert_int_equal(meta_provider_id(f->m, "disk-b", &id, &e), ORC_OK);
    assert_int_equal(id, f->prov[1]);
    assert_int_equal(query_int(f, "PRAGMA user_version"), 10);
    assert_int_equal(query_int(f, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
}

static void test_newer_schema_version_is_refused(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    exec_sql(f, "PRAGMA user_version = 99");
    meta_close(f->m);
    f->m = NULL;
    assert_int_equal(meta_open_sqlite(f->path, &f->m, &e), ORC_EINVAL);
    assert_null(f->m);
    assert_non_null(strstr(e.msg, "schema version 99"));
}

/* The registry names the type it does not know, and the sqlite type its keys. */
static void test_open_refuses_unknown_type_and_keys(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    meta *m = NULL;
    meta_kv kv[] = {{"path", f->path}, {"pth", f->path}};
    assert_int_equal(meta_open("postgres", kv, 1, &m, &e), ORC_EINVAL);
    assert_null(m);
    assert_non_null(strstr(e.msg, "unknown type 'postgres'"));
    assert_int_equal(meta_open("sqlite", kv, 2, &m, &e), ORC_EINVAL);
    assert_null(m);
    assert_non_null(strstr(e.msg, "unknown key 'pth'"));
    assert_int_equal(meta_open("sqlite", NULL, 0, &m, &e), ORC_EINVAL);
    assert_int_equal(meta_open("sqlite", kv, 1, &m, &e), ORC_OK);
    assert_string_equal(meta_type(m), "sqlite");
    meta_close(m);
}

/* What schema version 10 added (usage by month), taken away. */
#define V10_UNDO "DROP TABLE provider_months;"

/* What schema version 9 added (fsck's orphans), taken away. */
#define V9_UNDO V10_UNDO "DROP TABLE orphans;"

/* What schema version 8 added (provider states), taken away. */
#define V8_UNDO                                                                                    \
    V9_UNDO                                                                                        \
    "DROP INDEX chunk_copies_by_provider;"                                                         \
    "ALTER TABLE providers DROP COLUMN state;"                                                     \
    "ALTER TABLE providers DROP COLUMN drain_started_ms;"                                          \
    "ALTER TABLE providers DROP COLUMN drain_pieces;"                                              \
    "ALTER TABLE providers DROP COLUMN drain_bytes;"

/* What schema version 7 added (the repair queue, settings), taken away. */
#define V7_UNDO V8_UNDO "DROP TABLE repair_queue; DROP TABLE settings;"

/* What schema version 6 added, taken away again: a store as version 5
 * (the code before erasure coding and storage classes) wrote it. */
#define V6_UNDO                                                                                    \
    V7_UNDO                                                                                        \
    "ALTER TABLE chunks DROP COLUMN ec_k;"                                                         \
    "ALTER TABLE chunks DROP COLUMN ec_m;"                                                         \
    "ALTER TABLE chunks DROP COLUMN width;"                                                        \
    "ALTER TABLE chunk_copies DROP COLUMN frag;"                                                   \
    "ALTER TABLE objects DROP COLUMN storage_class;"                                               \
    "ALTER TABLE uploads DROP COLUMN storage_class;"                                               \
    "ALTER TABLE buckets DROP COLUMN storage_class;"

/* A version 5 store opens as version 6 with every object readable: its
 * chunks are legacy replicated ones (width 0: the default placement's
 * copies), their copies whole, the objects of the default class; and a
 * chunk written now can be erasure coded beside them. */
static void test_migration_from_version_5(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    int64_t id = live_chunk(f, 7, 10), obj;
    put(f, "v5", "a", id, 10, 0, &obj);
    exec_sql(f, V6_UNDO "PRAGMA user_version = 5;");
    meta_close(f->m);
    assert_int_equal(meta_open_sqlite(f->path, &f->m, &e), 0);
    assert_int_equal(query_int(f, "PRAGMA user_version"), 10);
    meta_object o;
    meta_extent *x = NULL;
    size_t nx = 0;
    assert_int_equal(meta_object_get(f->m, f->bucket, "v5", true, 0, UINT64_MAX, &o, &x, &nx, &e),
                     0);
    assert_string_equal(o.storage_class, "");
    assert_int_equal(nx, 1);
    assert_int_equal(x[0].chunk.layout.width, 0);
    assert_int_equal(x[0].chunk.layout.ec_k, 0);
    assert_int_equal(x[0].chunk.ncopies, 2);
    for (int i = 0; i < x[0].chunk.ncopies; i++)
        assert_int_equal(x[0].chunk.frags[i], META_WHOLE);
    free(x);
    meta_object_dispose(&o);
    /* Legacy chunks count against the width the caller gives them. */
    uint64_t below = 99;
    assert_int_equal(meta_under_replicated(f->m, 2, &below, &e), 0);
    assert_int_equal(below, 0);
    assert_int_equal(meta_under_replicated(f->m, 3, &below, &e), 0);
    assert_int_equal(below, 1);
    /* An erasure-coded chunk beside it. */
    uint8_t h[32];
    memset(h, 0x5c, sizeof(h));
    meta_layout lay = {4, 2, 6};
    meta_chunk c;
    bool is_new;
    assert_int_equal(meta_chunk_claim(f->m, h, 10, 64, 2, 1, &lay, &c, &is_new, &e), 0);
    assert_true(is_new);
    uint32_t ps[2] = {f->prov[0], f->prov[1]};
    int16_t fr[2] = {0, 5};
    assert_int_equal(meta_chunk_commit(f->m, c.id, ps, fr, 2, &e), 0);
    assert_int_equal(query_int(f, "SELECT count(*) FROM chunk_copies WHERE frag = 5"), 1);
}

/* A version 3 database (no copy state, no start time, no completed
 * uploads) opens as the newest version with its copies LIVE and its objects
 * replaceable. */
/* A version 6 store opens as the newest: an empty repair queue that a
 * failed verification fills, settings that keep a value (version 7), and
 * every provider active (version 8). */
static void test_migration_from_version_6(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    int64_t id = live_chunk(f, 8, 10), obj;
    put(f, "v6", "a", id, 10, 0, &obj);
    exec_sql(f, V7_UNDO "PRAGMA user_version = 6;");
    meta_close(f->m);
    assert_int_equal(meta_open_sqlite(f->path, &f->m, &e), 0);
    assert_int_equal(query_int(f, "PRAGMA user_version"), 10);
    meta_repair_stats st;
    assert_int_equal(meta_repair_stats_get(f->m, INT64_MAX, &st, &e), 0);
    assert_int_equal(st.items, 0);
    assert_int_equal(meta_chunk_copy_suspect(f->m, id, f->prov[0], META_WHOLE, &e), 0);
    assert_int_equal(meta_repair_stats_get(f->m, INT64_MAX, &st, &e), 0);
    assert_int_equal(st.items, 1);
    char v[16];
    assert_int_equal(meta_setting_set(f->m, "k", "v1", &e), 0);
    assert_int_equal(meta_setting_get(f->m, "k", v, sizeof(v), &e), 0);
    assert_string_equal(v, "v1");
    meta_provider *ps = NULL;
    size_t n = 0;
    assert_int_equal(meta_provider_list(f->m, &ps, &n, &e), 0);
    assert_true(n >= 2);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ps[i].state, META_PROVIDER_ACTIVE);
    free(ps);
}

static void test_migration_from_version_3(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    int64_t id = live_chunk(f, 6, 10), obj;
    put(f, "old", "v3", id, 10, 0, &obj);
    exec_sql(f, V6_UNDO "ALTER TABLE chunk_copies DROP COLUMN state;"
                        "ALTER TABLE objects DROP COLUMN started_ms;"
                        "DROP TABLE completed_uploads;"
                        "PRAGMA user_version = 3;");
    meta_close(f->m);
    assert_int_equal(meta_open_sqlite(f->path, &f->m, &e), 0);
    assert_int_equal(query_int(f, "PRAGMA user_version"), 10);
    meta_object o;
    meta_extent *x = NULL;
    size_t nx = 0;
    assert_int_equal(meta_object_get(f->m, f->bucket, "old", true, 0, UINT64_MAX, &o, &x, &nx, &e),
                     0);
    assert_int_equal(nx, 1);
    assert_int_equal(x[0].chunk.ncopies, 2);
    free(x);
    meta_object_dispose(&o);
    put(f, "old", "v4", id, 10, 1, &obj);
    assert_true(obj > 0);
}

/* A chunk being collected while a part references it cannot happen (the
 * collector takes refcount 0 only); complete re-checks anyway, as a guard. */
static void test_complete_rechecks_chunks_are_live(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    int64_t a = live_chunk(f, 1, 100);
    assert_int_equal(
        meta_upload_create(f->m, f->bucket, "k", "u1", f->owner, NULL, NULL, NULL, 1, &e), ORC_OK);
    meta_part_new p = {"u1", "k", 1, 100, MD5_A, 1000, &a, (uint64_t[]){0}, 1};
    assert_int_equal(meta_part_put(f->m, f->bucket, &p, &e), ORC_OK);
    exec_sql(f, "UPDATE chunks SET state = 2");
    meta_part_ref ok[] = {{1, MD5_A}};
    meta_complete mc = {.upload_id = "u1",
                        .key = "k",
                        .parts = ok,
                        .nparts = 1,
                        .etag = "00112233445566778899aabbccddeeff-1",
                        .mtime_ms = 2000};
    assert_int_equal(meta_upload_complete(f->m, f->bucket, &mc, &e), ORC_ECONFLICT);
    meta_upload u;
    assert_int_equal(meta_upload_get(f->m, f->bucket, "k", "u1", &u, &e), ORC_OK);
    meta_upload_dispose(&u);
    meta_object o;
    assert_int_equal(meta_object_get(f->m, f->bucket, "k", false, 0, 0, &o, NULL, NULL, &e),
                     ORC_ENOTFOUND);
    assert_int_equal(query_int(f, "SELECT refcount FROM chunks"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reopen_keeps_data_and_schema_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_version_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_unknown_type_and_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_version_5, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_version_6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_version_3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complete_rechecks_chunks_are_live, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
