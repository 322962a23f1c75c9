/* The SQLite metadata store: one database file in WAL mode with synchronous=FULL,
 * shared by the server's threads through a small pool of connections, each with
 * its prepared statements cached. Every change that must be atomic (an object
 * version switch, a chunk going live with its copies, a GC mark) is one
 * BEGIN IMMEDIATE transaction, so the chunk life cycle in meta.h holds across
 * crashes and concurrent uploads. */
#include "meta/meta.h"

#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/hex.h"
#include "util/time.h"

#define POOL_MAX 8            /* connections; more threads queue for one */
#define BUSY_TIMEOUT_MS 10000 /* waits on another process (admin CLI, checkpoints) */
#define SCHEMA_VERSION 3      /* PRAGMA user_version of the newest schema */

/* Schema version 1. Notes:
 * - keys are TEXT compared with BINARY (memcmp) collation, so S3 byte order
 *   holds for any UTF-8 and the prefix listing is an index range scan;
 * - manifest rows are keyed by the chunk's start offset: object_put enforces
 *   that chunks tile the object, so a ranged read seeks straight to its first
 *   chunk instead of scanning the whole manifest;
 * - manifest.chunk_id has no foreign key on purpose: refcount is what guards
 *   a referenced chunk (gc_mark only takes refcount 0, object_put only takes
 *   LIVE), and a foreign key would need an index on manifest(chunk_id), paid
 *   on every PUT, to let gc_forget delete a chunk;
 * - the partial indexes keep the collector's scans to the chunks it may take. */
static const char schema_v1[] =
    "CREATE TABLE providers (\n"
    "    id   INTEGER PRIMARY KEY,\n"
    "    name TEXT NOT NULL UNIQUE\n"
    ");\n"
    "CREATE TABLE users (\n"
    "    id         INTEGER PRIMARY KEY,\n"
    "    name       TEXT NOT NULL UNIQUE,\n"
    "    access_key TEXT NOT NULL UNIQUE,\n"
    "    secret     BLOB NOT NULL,           -- sealed with seal_secret()\n"
    "    created_ms INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE buckets (\n"
    "    id         INTEGER PRIMARY KEY,\n"
    "    name       TEXT NOT NULL UNIQUE,\n"
    "    owner      INTEGER NOT NULL REFERENCES users(id),\n"
    "    region     TEXT NOT NULL,\n"
    "    created_ms INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX buckets_by_owner ON buckets(owner, name);\n"
    "CREATE TABLE chunks (\n"
    "    id          INTEGER PRIMARY KEY,\n"
    "    hash        BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),\n"
    "    plain_len   INTEGER NOT NULL,\n"
    "    sealed_len  INTEGER NOT NULL,\n"
    "    format      INTEGER NOT NULL,\n"
    "    key_version INTEGER NOT NULL,\n"
    "    state       INTEGER NOT NULL CHECK (state IN (0, 1, 2)), -- pending, live, deleting\n"
    "    refcount    INTEGER NOT NULL DEFAULT 0 CHECK (refcount >= 0),\n"
    "    touched_ms  INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX chunks_unreferenced ON chunks(touched_ms) WHERE refcount = 0;\n"
    "CREATE INDEX chunks_deleting ON chunks(id) WHERE state = 2;\n"
    "CREATE TABLE chunk_copies (\n"
    "    chunk_id    INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,\n"
    "    provider_id INTEGER NOT NULL REFERENCES providers(id),\n"
    "    PRIMARY KEY (chunk_id, provider_id)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE objects (\n"
    "    id           INTEGER PRIMARY KEY,\n"
    "    bucket_id    INTEGER NOT NULL REFERENCES buckets(id),\n"
    "    key          TEXT NOT NULL COLLATE BINARY,\n"
    "    size         INTEGER NOT NULL,\n"
    "    etag         TEXT NOT NULL,\n"
    "    content_type TEXT,\n"
    "    headers      TEXT,\n"
    "    mtime_ms     INTEGER NOT NULL,\n"
    "    UNIQUE (bucket_id, key)\n"
    ");\n"
    "CREATE TABLE manifest (\n"
    "    object_id INTEGER NOT NULL REFERENCES objects(id) ON DELETE CASCADE,\n"
    "    start     INTEGER NOT NULL,          -- offset of the chunk's first byte\n"
    "    chunk_id  INTEGER NOT NULL,\n"
    "    PRIMARY KEY (object_id, start)\n"
    ") WITHOUT ROWID;\n";

/* Schema version 2: multipart uploads. Each part's manifest holds chunk
 * references (refcount) like an object's, so the collector never takes a
 * chunk an unfinished upload uses; object_parts keeps a completed object's
 * part boundaries for GET ?partNumber. uploads.bucket_id has no cascade: a
 * bucket with uploads in progress is not empty (their references would leak). */
static const char schema_v2[] =
    "CREATE TABLE uploads (\n"
    "    id           INTEGER PRIMARY KEY,\n"
    "    upload_id    TEXT NOT NULL UNIQUE,    -- what clients see\n"
    "    bucket_id    INTEGER NOT NULL REFERENCES buckets(id),\n"
    "    key          TEXT NOT NULL COLLATE BINARY,\n"
    "    initiator    INTEGER NOT NULL,        -- users.id\n"
    "    content_type TEXT,\n"
    "    headers      TEXT,\n"
    "    created_ms   INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX uploads_by_key ON uploads(bucket_id, key, upload_id);\n"
    "CREATE INDEX uploads_by_age ON uploads(created_ms);\n"
    "CREATE TABLE parts (\n"
    "    upload   INTEGER NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,\n"
    "    number   INTEGER NOT NULL CHECK (number BETWEEN 1 AND 10000),\n"
    "    size     INTEGER NOT NULL,\n"
    "    etag     TEXT NOT NULL,\n"
    "    mtime_ms INTEGER NOT NULL,\n"
    "    PRIMARY KEY (upload, number)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE part_manifest (          -- a part's chunks, by offset in the part\n"
    "    upload   INTEGER NOT NULL,\n"
    "    number   INTEGER NOT NULL,\n"
    "    start    INTEGER NOT NULL,\n"
    "    chunk_id INTEGER NOT NULL,\n"
    "    PRIMARY KEY (upload, number, start),\n"
    "    FOREIGN KEY (upload, number) REFERENCES parts(upload, number) ON DELETE CASCADE\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE object_parts (           -- a completed multipart object's parts\n"
    "    object_id INTEGER NOT NULL REFERENCES objects(id) ON DELETE CASCADE,\n"
    "    number    INTEGER NOT NULL,        -- 1..N in object order\n"
    "    start     INTEGER NOT NULL,\n"
    "    size      INTEGER NOT NULL,\n"
    "    PRIMARY KEY (object_id, number)\n"
    ") WITHOUT ROWID;\n";

/* Schema version 3: a part's additional checksum (x-amz-checksum-*), kept
 * for ListParts and for the composite checksum CompleteMultipartUpload
 * stores; NULL when the part was sent without one. */
static const char schema_v3[] = "ALTER TABLE parts ADD COLUMN checksum TEXT;\n";

/* migrations[v] moves a database from schema version v to v + 1. */
static const char *const migrations[SCHEMA_VERSION] = {schema_v1, schema_v2, schema_v3};

enum st {
    ST_BEGIN,
    ST_BEGIN_WRITE,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_PROVIDER_GET,
    ST_PROVIDER_ADD,
    ST_USER_ADD,
    ST_USER_BY_KEY,
    ST_USER_BY_NAME,
    ST_USER_BY_ID,
    ST_USER_LIST,
    ST_USER_DEL,
    ST_USER_SET_SECRET,
    ST_BUCKET_ADD,
    ST_BUCKET_GET,
    ST_BUCKET_EXISTS,
    ST_BUCKET_NONEMPTY,
    ST_BUCKET_DEL,
    ST_BUCKET_LIST,
    ST_CHUNK_BY_HASH,
    ST_CHUNK_ADD,
    ST_CHUNK_TOUCH,
    ST_CHUNK_COPIES,
    ST_CHUNK_STATE,
    ST_CHUNK_LIVE,
    ST_COPY_ADD,
    ST_CHUNK_DROP,
    ST_CHUNK_REF,
    ST_OBJ_FIND,
    ST_OBJ_RELEASE,
    ST_OBJ_DEL,
    ST_OBJ_ADD,
    ST_MANIFEST_ADD,
    ST_OBJ_GET,
    ST_EXTENTS,
    ST_LIST_GE,
    ST_LIST_GT,
    ST_LIST_GE_LT,
    ST_LIST_GT_LT,
    ST_GC_COUNT,
    ST_GC_MARK,
    ST_GC_DELETING,
    ST_STATS,
    /* multipart */
    ST_MP_UPLOAD_ADD,
    ST_MP_UPLOAD_GET,
    ST_MP_UPLOAD_RELEASE,
    ST_MP_UPLOAD_DEL,
    ST_MP_UPLOAD_LIST,
    ST_MP_EXPIRED,
    ST_MP_PART_GET,
    ST_MP_PART_RELEASE,
    ST_MP_PART_DEL,
    ST_MP_PART_ADD,
    ST_MP_PART_LIST,
    ST_MP_PMAN_ADD,
    ST_MP_PMAN_GET,
    ST_MP_OBJPART_ADD,
    ST_MP_OBJPART_GET,
    ST_COUNT
};

#define USER_COLS "id, name, access_key, secret, created_ms"
#define BUCKET_COLS "id, name, owner, region, created_ms"
#define CHUNK_COLS "c.id, c.hash, c.plain_len, c.sealed_len, c.format, c.key_version, c.state"
#define OBJ_COLS "id, bucket_id, key, size, etag, content_type, headers, mtime_ms"
#define LIST_SQL(lower, upper)                                                                     \
    "SELECT " OBJ_COLS " FROM objects WHERE bucket_id = ?1 AND key " lower " ?2" upper             \
    " ORDER BY key LIMIT ?4"

#define UPLOAD_COLS "id, upload_id, bucket_id, key, initiator, content_type, headers, created_ms"
/* Releases the references of an upload's part manifests (all, or part ?3),
 * as ST_OBJ_RELEASE does for an object. */
#define MP_RELEASE_SQL(part)                                                                       \
    "UPDATE chunks SET refcount = refcount - r.n,"                                                 \
    " touched_ms = CASE WHEN refcount = r.n THEN ?2 ELSE touched_ms END"                           \
    " FROM (SELECT chunk_id, count(*) AS n FROM part_manifest WHERE upload = ?1" part              \
    " GROUP BY chunk_id) AS r WHERE chunks.id = r.chunk_id"

static const char *const sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN",
    [ST_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_PROVIDER_GET] = "SELECT id FROM providers WHERE name = ?1",
    [ST_PROVIDER_ADD] = "INSERT INTO providers(name) VALUES (?1) ON CONFLICT DO NOTHING",
    [ST_USER_ADD] =
        "INSERT INTO users(name, access_key, secret, created_ms) VALUES (?1, ?2, ?3, ?4)",
    [ST_USER_BY_KEY] = "SELECT " USER_COLS " FROM users WHERE access_key = ?1",
    [ST_USER_BY_NAME] = "SELECT " USER_COLS " FROM users WHERE name = ?1",
    [ST_USER_BY_ID] = "SELECT " USER_COLS " FROM users WHERE id = ?1",
    [ST_USER_LIST] = "SELECT " USER_COLS " FROM users ORDER BY name",
    [ST_USER_DEL] = "DELETE FROM users WHERE name = ?1",
    [ST_USER_SET_SECRET] = "UPDATE users SET secret = ?2 WHERE name = ?1",
    [ST_BUCKET_ADD] =
        "INSERT INTO buckets(name, owner, region, created_ms) VALUES (?1, ?2, ?3, ?4)",
    [ST_BUCKET_GET] = "SELECT " BUCKET_COLS " FROM buckets WHERE name = ?1",
    [ST_BUCKET_EXISTS] = "SELECT 1 FROM buckets WHERE id = ?1",
    [ST_BUCKET_NONEMPTY] = "SELECT 1 FROM objects WHERE bucket_id = ?1 LIMIT 1",
    [ST_BUCKET_DEL] = "DELETE FROM buckets WHERE id = ?1",
    [ST_BUCKET_LIST] = "SELECT " BUCKET_COLS " FROM buckets WHERE owner = ?1 ORDER BY name",
    [ST_CHUNK_BY_HASH] = "SELECT " CHUNK_COLS " FROM chunks AS c WHERE hash = ?1",
    [ST_CHUNK_ADD] = "INSERT INTO chunks(hash, plain_len, sealed_len, format, key_version, state,"
                     " refcount, touched_ms) VALUES (?1, ?2, ?3, ?4, ?5, 0, 0, ?6)",
    [ST_CHUNK_TOUCH] = "UPDATE chunks SET touched_ms = ?2 WHERE id = ?1",
    [ST_CHUNK_COPIES] = "SELECT provider_id FROM chunk_copies WHERE chunk_id = ?1"
                        " ORDER BY provider_id",
    [ST_CHUNK_STATE] = "SELECT state FROM chunks WHERE id = ?1",
    [ST_CHUNK_LIVE] = "UPDATE chunks SET state = 1, touched_ms = ?2 WHERE id = ?1 AND state = 0",
    [ST_COPY_ADD] = "INSERT INTO chunk_copies(chunk_id, provider_id) VALUES (?1, ?2)"
                    " ON CONFLICT DO NOTHING",
    [ST_CHUNK_DROP] = "DELETE FROM chunks WHERE id = ?1 AND state = ?2",
    [ST_CHUNK_REF] = "UPDATE chunks SET refcount = refcount + 1 WHERE id = ?1 AND state = 1"
                     " RETURNING plain_len",
    [ST_OBJ_FIND] = "SELECT id FROM objects WHERE bucket_id = ?1 AND key = ?2",
    /* SET expressions all see the row before the update, so refcount = r.n
     * means "reaches 0". */
    [ST_OBJ_RELEASE] = "UPDATE chunks SET refcount = refcount - r.n,"
                       " touched_ms = CASE WHEN refcount = r.n THEN ?2 ELSE touched_ms END"
                       " FROM (SELECT chunk_id, count(*) AS n FROM manifest WHERE object_id = ?1"
                       " GROUP BY chunk_id) AS r WHERE chunks.id = r.chunk_id",
    [ST_OBJ_DEL] = "DELETE FROM objects WHERE id = ?1",
    [ST_OBJ_ADD] = "INSERT INTO objects(bucket_id, key, size, etag, content_type, headers,"
                   " mtime_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_MANIFEST_ADD] = "INSERT INTO manifest(object_id, start, chunk_id) VALUES (?1, ?2, ?3)",
    [ST_OBJ_GET] = "SELECT " OBJ_COLS " FROM objects WHERE bucket_id = ?1 AND key = ?2",
    /* The subquery finds the chunk holding byte ?2 by one seek (chunks tile
     * the object), so the scan starts there; the exact overlap test stays. */
    [ST_EXTENTS] = "SELECT m.start, " CHUNK_COLS ", cc.provider_id FROM manifest AS m"
                   " JOIN chunks AS c ON c.id = m.chunk_id"
                   " LEFT JOIN chunk_copies AS cc ON cc.chunk_id = c.id"
                   " WHERE m.object_id = ?1 AND m.start < ?3 AND m.start + c.plain_len > ?2"
                   " AND m.start >= coalesce((SELECT max(start) FROM manifest"
                   " WHERE object_id = ?1 AND start <= ?2), 0)"
                   " ORDER BY m.start, cc.provider_id",
    [ST_LIST_GE] = LIST_SQL(">=", ""),
    [ST_LIST_GT] = LIST_SQL(">", ""),
    [ST_LIST_GE_LT] = LIST_SQL(">=", " AND key < ?3"),
    [ST_LIST_GT_LT] = LIST_SQL(">", " AND key < ?3"),
    [ST_GC_COUNT] = "SELECT count(*) FROM chunks WHERE state = 2",
    [ST_GC_MARK] = "UPDATE chunks SET state = 2 WHERE id IN (SELECT id FROM chunks"
                   " WHERE refcount = 0 AND touched_ms < ?1 AND state <> 2"
                   " ORDER BY touched_ms LIMIT ?2)",
    [ST_GC_DELETING] = "SELECT " CHUNK_COLS ", cc.provider_id FROM chunks AS c"
                       " LEFT JOIN chunk_copies AS cc ON cc.chunk_id = c.id"
                       " WHERE c.state = 2 ORDER BY c.id, cc.provider_id",
    [ST_STATS] = "SELECT (SELECT count(*) FROM objects), (SELECT count(*) FROM chunks),"
                 " (SELECT coalesce(sum(refcount), 0) FROM chunks),"
                 " (SELECT coalesce(sum(size), 0) FROM objects),"
                 " (SELECT coalesce(sum(c.sealed_len), 0) FROM chunk_copies AS cc"
                 " JOIN chunks AS c ON c.id = cc.chunk_id)",
    /* multipart */
    [ST_MP_UPLOAD_ADD] = "INSERT INTO uploads(upload_id, bucket_id, key, initiator, content_type,"
                         " headers, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_MP_UPLOAD_GET] = "SELECT " UPLOAD_COLS " FROM uploads WHERE upload_id = ?1",
    [ST_MP_UPLOAD_RELEASE] = MP_RELEASE_SQL(""),
    [ST_MP_UPLOAD_DEL] = "DELETE FROM uploads WHERE id = ?1",
    /* ?3 NULL: strictly after key ?2; else uploads of key ?2 after id ?3 too. */
    [ST_MP_UPLOAD_LIST] = "SELECT " UPLOAD_COLS " FROM uploads WHERE bucket_id = ?1 AND key >= ?2"
                          " AND (key > ?2 OR (?3 IS NOT NULL AND upload_id > ?3))"
                          " AND (?4 IS NULL OR key < ?4) ORDER BY key, upload_id LIMIT ?5",
    [ST_MP_EXPIRED] = "SELECT id FROM uploads WHERE created_ms < ?1 ORDER BY created_ms LIMIT ?2",
    [ST_MP_PART_GET] = "SELECT size, etag FROM parts WHERE upload = ?1 AND number = ?2",
    [ST_MP_PART_RELEASE] = MP_RELEASE_SQL(" AND number = ?3"),
    [ST_MP_PART_DEL] = "DELETE FROM parts WHERE upload = ?1 AND number = ?2",
    [ST_MP_PART_ADD] = "INSERT INTO parts(upload, number, size, etag, mtime_ms)"
                       " VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_MP_PART_LIST] = "SELECT number, size, etag, mtime_ms, checksum FROM parts WHERE upload = ?1"
                        " AND number > ?2 ORDER BY number LIMIT ?3",
    [ST_MP_PMAN_ADD] = "INSERT INTO part_manifest(upload, number, start, chunk_id)"
                       " VALUES (?1, ?2, ?3, ?4)",
    [ST_MP_PMAN_GET] = "SELECT start, chunk_id FROM part_manifest WHERE upload = ?1"
                       " AND number = ?2 ORDER BY start",
    [ST_MP_OBJPART_ADD] = "INSERT INTO object_parts(object_id, number, start, size)"
                          " VALUES (?1, ?2, ?3, ?4)",
    [ST_MP_OBJPART_GET] = "SELECT o.id, (SELECT count(*) FROM object_parts WHERE object_id = o.id),"
                          " p.start, p.size FROM objects AS o LEFT JOIN object_parts AS p"
                          " ON p.object_id = o.id AND p.number = ?3"
                          " WHERE o.bucket_id = ?1 AND o.key = ?2",
};

/* One connection, used by one thread at a time. */
struct conn {
    sqlite3 *db;
    bool lazy;                  /* synchronous = NORMAL for the current transaction */
    sqlite3_stmt *st[ST_COUNT]; /* prepared on first use, kept until close */
    struct conn *next;          /* in the idle list */
};

struct meta {
    char *path;
    pthread_mutex_t mu; /* guards idle and nconns */
    pthread_cond_t cv;  /* signalled when a connection is returned */
    struct conn *idle;
    int nconns; /* open or being opened */
    /* Serializes write transactions in-process: writers queue on this mutex
     * instead of polling SQLite's busy handler, which sleeps up to 100 ms
     * between tries. SQLite allows one writer at a time anyway. */
    pthread_mutex_t wmu;
};

/* TX_WRITE_LAZY commits without fsyncing the log (synchronous = NORMAL). It
 * is for chunk bookkeeping (claim, commit, abandon) only: the object version
 * switch that references those rows is a TX_WRITE, whose fsync of the
 * append-only log makes every earlier commit durable with it. A crash can
 * lose a lazy commit whose object never committed; its copies are then
 * orphans on the providers (space, never wrong data). */
enum { TX_READ, TX_WRITE, TX_WRITE_LAZY };

static const char *state_name(int state)
{
    switch (state) {
    case META_CHUNK_PENDING:
        return "pending";
    case META_CHUNK_LIVE:
        return "live";
    case META_CHUNK_DELETING:
        return "being collected";
    }
    return "in an unknown state";
}

/* Maps a SQLite result to an orc code and fills e with what failed. */
static int db_fail(sqlite3 *db, int rc, const char *what, orc_err *e)
{
    int code;
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        code = ORC_EEXISTS;
        break;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        code = ORC_ECONFLICT;
        break;
    default:
        switch (rc & 0xff) {
        case SQLITE_FULL:
            code = ORC_ENOSPC;
            break;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            code = ORC_ETRANSIENT;
            break;
        case SQLITE_IOERR:
        case SQLITE_CANTOPEN:
        case SQLITE_READONLY:
        case SQLITE_PERM:
        case SQLITE_PROTOCOL:
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
            code = ORC_EIO;
            break;
        default:
            code = ORC_EINTERNAL;
        }
    }
    return orc_fail(e, code, "metadata %s: %s", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

/* The cached statement id on c, prepared on first use. */
static int stmt(struct conn *c, enum st id, sqlite3_stmt **out, orc_err *e)
{
    if (!c->st[id]) {
        int rc =
            sqlite3_prepare_v3(c->db, sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->st[id], NULL);
        if (rc != SQLITE_OK) return db_fail(c->db, rc, "prepare", e);
    }
    *out = c->st[id];
    return ORC_OK;
}

/* Runs s, which returns no rows, and resets it. */
static int run(struct conn *c, sqlite3_stmt *s, const char *what, orc_err *e)
{
    int rc = sqlite3_step(s);
    int ret = rc == SQLITE_DONE ? ORC_OK : db_fail(c->db, rc, what, e);
    sqlite3_reset(s);
    return ret;
}

/* Steps s: 1 for a row (the caller reads it, and resets s when done), 0 at
 * the end, or an error code; s is reset in those two cases. */
static int row(struct conn *c, sqlite3_stmt *s, const char *what, orc_err *e)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) return 1;
    int ret = rc == SQLITE_DONE ? 0 : db_fail(c->db, rc, what, e);
    sqlite3_reset(s);
    return ret;
}

static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
    return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC); /* NULL binds NULL */
}

static void copy_text(char *dst, size_t cap, sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static char *dup_text(sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    return t ? orc_strndup((const char *)t, (size_t)sqlite3_column_bytes(s, col)) : NULL;
}

static int64_t clamp64(uint64_t v)
{
    return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* ---- connections and transactions ---- */

static void conn_close(struct conn *c)
{
    if (!c) return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(c->st[i]);
    sqlite3_close(c->db);
    free(c);
}

static int conn_open(const char *path, struct conn **out, orc_err *e)
{
    struct conn *c = orc_calloc(1, sizeof(*c));
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &c->db, flags, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_extended_result_codes(c->db, 1);
        sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
        /* synchronous=FULL in WAL mode fsyncs the log at every commit: the
         * server acknowledges a write only once it is durable. */
        rc = sqlite3_exec(c->db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;", NULL, NULL,
                          NULL);
    }
    if (rc != SQLITE_OK) {
        char what[300];
        snprintf(what, sizeof(what), "database %s", path);
        int code = db_fail(c->db, rc, what, e);
        conn_close(c);
        return code;
    }
    *out = c;
    return ORC_OK;
}

/* Reads a one-integer pragma. */
static int pragma_int(struct conn *c, const char *q, int64_t *v, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(c->db, q, -1, &s, NULL);
    if (rc != SQLITE_OK) return db_fail(c->db, rc, q, e);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) *v = sqlite3_column_int64(s, 0);
    int ret = rc == SQLITE_ROW ? ORC_OK : db_fail(c->db, rc, q, e);
    sqlite3_finalize(s);
    return ret;
}

/* Switches to WAL and brings the schema to SCHEMA_VERSION, refusing a
 * database written by a newer orchard. */
static int schema_init(struct conn *c, const char *path, orc_err *e)
{
    char mode[16] = "";
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
        copy_text(mode, sizeof(mode), s, 0);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW) return db_fail(c->db, rc, "journal_mode", e);
    if (strcmp(mode, "wal") != 0)
        return orc_fail(e, ORC_EIO, "metadata database %s: cannot use WAL (journal mode %s)", path,
                        mode);

    int64_t v = 0;
    if ((rc = pragma_int(c, "PRAGMA user_version", &v, e))) return rc;
    if (v == SCHEMA_VERSION) return ORC_OK;
    if (v < 0 || v > SCHEMA_VERSION)
        return orc_fail(e, ORC_EINVAL,
                        "metadata database %s has schema version %" PRId64
                        ", newer than this orchard knows (%d): run a newer orchard",
                        path, v, SCHEMA_VERSION);
    /* Re-read under the write lock: another process may be migrating too. */
    rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) return db_fail(c->db, rc, "schema", e);
    if ((rc = pragma_int(c, "PRAGMA user_version", &v, e))) goto done;
    for (; v < SCHEMA_VERSION; v++) {
        char set[48];
        snprintf(set, sizeof(set), "PRAGMA user_version = %" PRId64, v + 1);
        int src = sqlite3_exec(c->db, migrations[v], NULL, NULL, NULL);
        if (src == SQLITE_OK) src = sqlite3_exec(c->db, set, NULL, NULL, NULL);
        if (src != SQLITE_OK) {
            rc = db_fail(c->db, src, "schema migration", e);
            goto done;
        }
    }
    rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) rc = db_fail(c->db, rc, "schema commit", e);
done:
    if (!sqlite3_get_autocommit(c->db)) sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int acquire(meta *m, struct conn **out, orc_err *e)
{
    pthread_mutex_lock(&m->mu);
    while (!m->idle && m->nconns >= POOL_MAX)
        pthread_cond_wait(&m->cv, &m->mu);
    struct conn *c = m->idle;
    if (c) {
        m->idle = c->next;
        pthread_mutex_unlock(&m->mu);
        *out = c;
        return ORC_OK;
    }
    m->nconns++; /* reserve the slot; open outside the lock */
    pthread_mutex_unlock(&m->mu);
    int rc = conn_open(m->path, &c, e);
    if (rc) {
        pthread_mutex_lock(&m->mu);
        m->nconns--;
        pthread_cond_signal(&m->cv);
        pthread_mutex_unlock(&m->mu);
        return rc;
    }
    *out = c;
    return ORC_OK;
}

/* Resets every statement still running, so none holds a snapshot or blocks
 * COMMIT. Functions reset what they step; this is the guard. */
static void reset_all(struct conn *c)
{
    for (sqlite3_stmt *s = sqlite3_next_stmt(c->db, NULL); s; s = sqlite3_next_stmt(c->db, s))
        if (sqlite3_stmt_busy(s)) sqlite3_reset(s);
}

static void release(meta *m, struct conn *c)
{
    reset_all(c);
    if (!sqlite3_get_autocommit(c->db)) sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_lock(&m->mu);
    c->next = m->idle;
    m->idle = c;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

/* Writes use BEGIN IMMEDIATE: taking the write lock up front means a
 * transaction never has to upgrade a read lock, which can deadlock. */
static int tx_begin(meta *m, struct conn *c, int mode, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = ORC_OK;
    if (mode != TX_READ) pthread_mutex_lock(&m->wmu);
    if (mode != TX_READ && c->lazy != (mode == TX_WRITE_LAZY)) {
        c->lazy = mode == TX_WRITE_LAZY;
        if (sqlite3_exec(c->db,
                         c->lazy ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL",
                         NULL, NULL, NULL) != SQLITE_OK)
            rc = db_fail(c->db, SQLITE_ERROR, "set synchronous", e);
    }
    if (!rc) rc = stmt(c, mode == TX_READ ? ST_BEGIN : ST_BEGIN_WRITE, &s, e);
    if (!rc) rc = run(c, s, "begin", e);
    if (rc && mode != TX_READ) pthread_mutex_unlock(&m->wmu);
    return rc;
}

/* Commits if rc is ORC_OK, else rolls back; returns the outcome. */
static int tx_end(meta *m, struct conn *c, int mode, int rc, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    if (rc == ORC_OK) {
        reset_all(c);
        rc = stmt(c, ST_COMMIT, &s, e);
        if (!rc) rc = run(c, s, "commit", e);
    }
    if (rc != ORC_OK && !sqlite3_get_autocommit(c->db)) {
        reset_all(c);
        if (stmt(c, ST_ROLLBACK, &s, NULL) == ORC_OK) run(c, s, "rollback", NULL);
    }
    if (mode != TX_READ) pthread_mutex_unlock(&m->wmu);
    return rc;
}

int meta_open_sqlite(const char *path, meta **out, orc_err *e)
{
    if (!path || !*path) return orc_fail(e, ORC_EINVAL, "metadata database path is empty");
    if (!sqlite3_threadsafe())
        return orc_fail(e, ORC_EINTERNAL, "metadata: SQLite was built without thread support");
    struct conn *c;
    int rc = conn_open(path, &c, e);
    if (rc) return rc;
    if ((rc = schema_init(c, path, e))) {
        conn_close(c);
        return rc;
    }
    meta *m = orc_calloc(1, sizeof(*m));
    m->path = orc_strdup(path);
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    pthread_mutex_init(&m->wmu, NULL);
    m->idle = c;
    m->nconns = 1;
    *out = m;
    return ORC_OK;
}

/* Every connection must be back in the pool: no call may be running. */
void meta_close(meta *m)
{
    if (!m) return;
    while (m->idle) {
        struct conn *c = m->idle;
        m->idle = c->next;
        conn_close(c);
    }
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->wmu);
    free(m->path);
    free(m);
}

/* ---- providers ---- */

/* 1 and *id if name is known, 0 if not, or an error. */
static int provider_find(struct conn *c, const char *name, int64_t *id, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = stmt(c, ST_PROVIDER_GET, &s, e);
    if (rc) return rc;
    if (bind_text(s, 1, name)) return db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = row(c, s, "provider lookup", e)) == 1) {
        *id = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
    }
    return rc;
}

static int provider_add(struct conn *c, const char *name, int64_t *id, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = stmt(c, ST_PROVIDER_ADD, &s, e);
    if (rc) return rc;
    if (bind_text(s, 1, name)) return db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = run(c, s, "provider add", e))) return rc;
    rc = provider_find(c, name, id, e);
    return rc == 1 ? ORC_OK : rc ? rc : orc_fail(e, ORC_EINTERNAL, "provider %s vanished", name);
}

int meta_provider_id(meta *m, const char *name, uint32_t *id, orc_err *e)
{
    if (!name || !*name) return orc_fail(e, ORC_EINVAL, "provider name is empty");
    struct conn *c;
    int64_t v = 0;
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    rc = provider_find(c, name, &v, e);
    if (rc == 0 && (rc = tx_begin(m, c, TX_WRITE, e)) == 0)
        rc = tx_end(m, c, TX_WRITE, provider_add(c, name, &v, e), e);
    release(m, c);
    if (rc < 0) return rc;
    if (v <= 0 || v > UINT32_MAX)
        return orc_fail(e, ORC_EINTERNAL, "provider %s has id %" PRId64 " out of range", name, v);
    *id = (uint32_t)v;
    return ORC_OK;
}

/* ---- users ---- */

static int read_user(sqlite3_stmt *s, meta_user *u, orc_err *e)
{
    memset(u, 0, sizeof(*u));
    u->id = sqlite3_column_int64(s, 0);
    copy_text(u->name, sizeof(u->name), s, 1);
    copy_text(u->access_key, sizeof(u->access_key), s, 2);
    int n = sqlite3_column_bytes(s, 3);
    if (n < 0 || (size_t)n > sizeof(u->secret_sealed))
        return orc_fail(e, ORC_EIO, "metadata: user %s has a %d-byte sealed secret", u->name, n);
    if (n) memcpy(u->secret_sealed, sqlite3_column_blob(s, 3), (size_t)n);
    u->secret_sealed_len = (size_t)n;
    u->created_ms = sqlite3_column_int64(s, 4);
    return ORC_OK;
}

int meta_user_add(meta *m, const char *name, const char *access_key, const uint8_t *sealed,
                  size_t sealed_len, int64_t *id, orc_err *e)
{
    if (!name || !*name || strlen(name) >= sizeof(((meta_user *)0)->name))
        return orc_fail(e, ORC_EINVAL, "user name must be 1 to 63 bytes");
    if (!access_key || !*access_key || strlen(access_key) >= sizeof(((meta_user *)0)->access_key))
        return orc_fail(e, ORC_EINVAL, "access key must be 1 to 127 bytes");
    if (!sealed || sealed_len == 0 || sealed_len > sizeof(((meta_user *)0)->secret_sealed))
        return orc_fail(e, ORC_EINVAL, "sealed secret must be 1 to 256 bytes");
    struct conn *c;
    sqlite3_stmt *s = NULL;
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = tx_begin(m, c, TX_WRITE, e))) goto done;
    if (!(rc = stmt(c, ST_USER_ADD, &s, e))) {
        if (bind_text(s, 1, name) || bind_text(s, 2, access_key) ||
            sqlite3_bind_blob(s, 3, sealed, (int)sealed_len, SQLITE_STATIC) ||
            sqlite3_bind_int64(s, 4, orc_now_ms()))
            rc = db_fail(c->db, SQLITE_ERROR, "bind", e);
        else
            rc = run(c, s, "user add", e);
        if (rc == ORC_EEXISTS)
            orc_fail(e, rc, "a user named %s or with that access key already exists", name);
        if (!rc && id) *id = sqlite3_last_insert_rowid(c->db);
    }
    rc = tx_end(m, c, TX_WRITE, rc, e);
done:
    release(m, c);
    return rc;
}

/* One user by access key or name (text) or else by id. */
static int user_one(meta *m, enum st q, const char *text, int64_t id, meta_user *out, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = stmt(c, q, &s, e))) goto done;
    if (text ? bind_text(s, 1, text) : sqlite3_bind_int64(s, 1, id)) {
        rc = db_fail(c->db, SQLITE_ERROR, "bind", e);
        goto done;
    }
    rc = row(c, s, "user lookup", e);
    if (rc == 1) {
        rc = read_user(s, out, e);
        sqlite3_reset(s);
    } else if (rc == 0) {
        rc = text ? orc_fail(e, ORC_ENOTFOUND, "no user %s", text)
                  : orc_fail(e, ORC_ENOTFOUND, "no user with id %" PRId64, id);
    }
done:
    release(m, c);
    return rc;
}

int meta_user_by_key(meta *m, const char *access_key, meta_user *out, orc_err *e)
{
    return user_one(m, ST_USER_BY_KEY, access_key ? access_key : "", 0, out, e);
}

int meta_user_by_name(meta *m, const char *name, meta_user *out, orc_err *e)
{
    return user_one(m, ST_USER_BY_NAME, name ? name : "", 0, out, e);
}

int meta_user_by_id(meta *m, int64_t id, meta_user *out, orc_err *e)
{
    return user_one(m, ST_USER_BY_ID, NULL, id, out, e);
}

int meta_user_list(meta *m, meta_user **out, size_t *n, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    meta_user *v = NULL;
    size_t len = 0, cap = 0;
    *out = NULL;
    *n = 0;
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = stmt(c, ST_USER_LIST, &s, e))) goto done;
    while ((rc = row(c, s, "user list", e)) == 1) {
        if (len == cap) v = orc_realloc(v, (cap = cap ? cap * 2 : 8) * sizeof(*v));
        if ((rc = read_user(s, &v[len++], e))) break;
    }
done:
    release(m, c);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = len;
    return ORC_OK;
}

int meta_user_remove(meta *m, const char *name, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = tx_begin(m, c, TX_WRITE, e))) goto done;
    if (!(rc = stmt(c, ST_USER_DEL, &s, e))) {
        rc = bind_text(s, 1, name) ? db_fail(c->db, SQLITE_ERROR, "bind", e)
                                   : run(c, s, "user remove", e);
        if (rc == ORC_ECONFLICT)
            orc_fail(e, rc, "user %s still owns buckets: delete them first", name);
        else if (!rc && sqlite3_changes(c->db) == 0)
            rc = orc_fail(e, ORC_ENOTFOUND, "no user %s", name);
    }
    rc = tx_end(m, c, TX_WRITE, rc, e);
done:
    release(m, c);
    return rc;
}

int meta_user_set_secret(meta *m, const char *name, const uint8_t *sealed, size_t sealed_len,
                         orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    if (!sealed || sealed_len == 0 || sealed_len > sizeof(((meta_user *)0)->secret_sealed))
        return orc_fail(e, ORC_EINVAL, "sealed secret must be 1 to %zu bytes",
                        sizeof(((meta_user *)0)->secret_sealed));
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = tx_begin(m, c, TX_WRITE, e))) goto done;
    if (!(rc = stmt(c, ST_USER_SET_SECRET, &s, e))) {
        rc = bind_text(s, 1, name) ||
                     sqlite3_bind_blob(s, 2, sealed, (int)sealed_len, SQLITE_TRANSIENT)
                 ? db_fail(c->db, SQLITE_ERROR, "bind", e)
                 : run(c, s, "user set secret", e);
        if (!rc && sqlite3_changes(c->db) == 0) rc = orc_fail(e, ORC_ENOTFOUND, "no user %s", name);
    }
    rc = tx_end(m, c, TX_WRITE, rc, e);
done:
    release(m, c);
    return rc;
}

/* ---- buckets ---- */

static void read_bucket(sqlite3_stmt *s, meta_bucket *b)
{
    memset(b, 0, sizeof(*b));
    b->id = sqlite3_column_int64(s, 0);
    copy_text(b->name, sizeof(b->name), s, 1);
    b->owner = sqlite3_column_int64(s, 2);
    copy_text(b->region, sizeof(b->region), s, 3);
    b->created_ms = sqlite3_column_int64(s, 4);
}

int meta_bucket_create(meta *m, const char *name, int64_t owner, const char *region, orc_err *e)
{
    if (!name || !*name || strlen(name) > META_BUCKET_MAX)
        return orc_fail(e, ORC_EINVAL, "bucket name must be 1 to %d bytes", META_BUCKET_MAX);
    if (!region) region = "";
    if (strlen(region) >= sizeof(((meta_bucket *)0)->region))
        return orc_fail(e, ORC_EINVAL, "region name '%.40s' is too long", region);
    struct conn *c;
    sqlite3_stmt *s = NULL;
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = tx_begin(m, c, TX_WRITE, e))) goto done;
    if (!(rc = stmt(c, ST_BUCKET_ADD, &s, e))) {
        if (bind_text(s, 1, name) || sqlite3_bind_int64(s, 2, owner) || bind_text(s, 3, region) ||
            sqlite3_bind_int64(s, 4, orc_now_ms()))
            rc = db_fail(c->db, SQLITE_ERROR, "bind", e);
        else
            rc = run(c, s, "bucket create", e);
        if (rc == ORC_EEXISTS)
            orc_fail(e, rc, "bucket %s already exists", name);
        else if (rc == ORC_ECONFLICT) /* the owner foreign key */
            rc = orc_fail(e, ORC_ENOTFOUND, "no user with id %" PRId64 " to own bucket %s", owner,
                          name);
    }
    rc = tx_end(m, c, TX_WRITE, rc, e);
done:
    release(m, c);
    return rc;
}

int meta_bucket_get(meta *m, const char *name, meta_bucket *out, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = stmt(c, ST_BUCKET_GET, &s, e))) goto done;
    if (bind_text(s, 1, name)) {
        rc = db_fail(c->db, SQLITE_ERROR, "bind", e);
        goto done;
    }
    rc = row(c, s, "bucket lookup", e);
    if (rc == 1) {
        read_bucket(s, out);
        sqlite3_reset(s);
        rc = ORC_OK;
    } else if (rc == 0) {
        rc = orc_fail(e, ORC_ENOTFOUND, "no bucket %s", name);
    }
done:
    release(m, c);
    return rc;
}

static int bucket_delete(struct conn *c, const char *name, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    meta_bucket b;
    int rc = stmt(c, ST_BUCKET_GET, &s, e);
    if (rc) return rc;
    if (bind_text(s, 1, name)) return db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = row(c, s, "bucket lookup", e)) <= 0)
        return rc ? rc : orc_fail(e, ORC_ENOTFOUND, "no bucket %s", name);
    read_bucket(s, &b);
    sqlite3_reset(s);

    if ((rc = stmt(c, ST_BUCKET_NONEMPTY, &s, e))) return rc;
    if (sqlite3_bind_int64(s, 1, b.id)) return db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = row(c, s, "bucket check", e)) < 0) return rc;
    if (rc == 1) {
        sqlite3_reset(s);
        return orc_fail(e, ORC_ECONFLICT, "bucket %s is not empty", name);
    }
    if ((rc = stmt(c, ST_BUCKET_DEL, &s, e))) return rc;
    if (sqlite3_bind_int64(s, 1, b.id)) return db_fail(c->db, SQLITE_ERROR, "bind", e);
    return run(c, s, "bucket delete", e);
}

int meta_bucket_delete(meta *m, const char *name, orc_err *e)
{
    struct conn *c;
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    if (!(rc = tx_begin(m, c, TX_WRITE, e)))
        rc = tx_end(m, c, TX_WRITE, bucket_delete(c, name, e), e);
    release(m, c);
    return rc;
}

int meta_bucket_list(meta *m, int64_t owner, meta_bucket **out, size_t *n, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    meta_bucket *v = NULL;
    size_t len = 0, cap = 0;
    *out = NULL;
    *n = 0;
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = stmt(c, ST_BUCKET_LIST, &s, e))) goto done;
    if (sqlite3_bind_int64(s, 1, owner)) {
        rc = db_fail(c->db, SQLITE_ERROR, "bind", e);
        goto done;
    }
    while ((rc = row(c, s, "bucket list", e)) == 1) {
        if (len == cap) v = orc_realloc(v, (cap = cap ? cap * 2 : 8) * sizeof(*v));
        read_bucket(s, &v[len++]);
    }
done:
    release(m, c);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = len;
    return ORC_OK;
}

/* ---- chunks ---- */

/* Fills *k (no copies) from CHUNK_COLS starting at column col. */
static void read_chunk(sqlite3_stmt *s, int col, meta_chunk *k)
{
    memset(k, 0, sizeof(*k));
    k->id = sqlite3_column_int64(s, col);
    if (sqlite3_column_bytes(s, col + 1) == (int)sizeof(k->hash))
        memcpy(k->hash, sqlite3_column_blob(s, col + 1), sizeof(k->hash));
    k->plain_len = (uint32_t)sqlite3_column_int64(s, col + 2);
    k->sealed_len = (uint32_t)sqlite3_column_int64(s, col + 3);
    k->format = (uint8_t)sqlite3_column_int(s, col + 4);
    k->key_version = (uint32_t)sqlite3_column_int64(s, col + 5);
    k->state = sqlite3_column_int(s, col + 6);
}

/* Adds the provider id in column col, if any, to k's copies. */
static void add_copy(sqlite3_stmt *s, int col, meta_chunk *k)
{
    if (sqlite3_column_type(s, col) != SQLITE_NULL && k->ncopies < META_MAX_COPIES)
        k->copies[k->ncopies++] = (uint32_t)sqlite3_column_int64(s, col);
}

static int load_copies(struct conn *c, meta_chunk *k, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = stmt(c, ST_CHUNK_COPIES, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, k->id)) return db_fail(c->db, SQLITE_ERROR, "bind", e);
    k->ncopies = 0;
    while ((rc = row(c, s, "chunk copies", e)) == 1)
        add_copy(s, 0, k);
    return rc;
}

/* Explains why chunk id is not in the state `want`. */
static int not_in_state(struct conn *c, int64_t id, int want, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = stmt(c, ST_CHUNK_STATE, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, id)) return db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = row(c, s, "chunk state", e)) < 0) return rc;
    if (rc == 0) return orc_fail(e, ORC_ENOTFOUND, "chunk %" PRId64 " does not exist", id);
    int state = sqlite3_column_int(s, 0);
    sqlite3_reset(s);
    return orc_fail(e, ORC_ECONFLICT, "chunk %" PRId64 " is %s, not %s", id, state_name(state),
                    state_name(want));
}

static int chunk_claim(struct conn *c, const uint8_t hash[32], uint32_t plain_len,
                       uint32_t sealed_len, uint8_t format, uint32_t key_version, meta_chunk *out,
                       bool *is_new, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int64_t now = orc_now_ms();
    int rc = stmt(c, ST_CHUNK_BY_HASH, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC))
        return db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = row(c, s, "chunk lookup", e)) < 0) return rc;
    if (rc == 1) {
        read_chunk(s, 0, out);
        sqlite3_reset(s);
        if (out->state != META_CHUNK_LIVE) {
            char hex[17];
            hex_encode(hash, 8, hex);
            return orc_fail(e, ORC_EBUSY, "chunk %s... is %s; retry shortly", hex,
                            state_name(out->state));
        }
        *is_new = false;
        if ((rc = stmt(c, ST_CHUNK_TOUCH, &s, e))) return rc;
        if (sqlite3_bind_int64(s, 1, out->id) || sqlite3_bind_int64(s, 2, now))
            return db_fail(c->db, SQLITE_ERROR, "bind", e);
        if ((rc = run(c, s, "chunk touch", e))) return rc;
        return load_copies(c, out, e);
    }
    if ((rc = stmt(c, ST_CHUNK_ADD, &s, e))) return rc;
    if (sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC) || sqlite3_bind_int64(s, 2, plain_len) ||
        sqlite3_bind_int64(s, 3, sealed_len) || sqlite3_bind_int(s, 4, format) ||
        sqlite3_bind_int64(s, 5, key_version) || sqlite3_bind_int64(s, 6, now))
        return db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = run(c, s, "chunk insert", e))) return rc;
    memset(out, 0, sizeof(*out));
    out->id = sqlite3_last_insert_rowid(c->db);
    memcpy(out->hash, hash, sizeof(out->hash));
    out->plain_len = plain_len;
    out->sealed_len = sealed_len;
    out->format = format;
    out->key_version = key_version;
    out->state = META_CHUNK_PENDING;
    *is_new = true;
    return ORC_OK;
}

int meta_chunk_claim(meta *m, const uint8_t hash[32], uint32_t plain_len, uint32_t sealed_len,
                     uint8_t format, uint32_t key_version, meta_chunk *out, bool *is_new,
                     orc_err *e)
{
    struct conn *c;
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    if (!(rc = tx_begin(m, c, TX_WRITE_LAZY, e))) {
        rc = chunk_claim(c, hash, plain_len, sealed_len, format, key_version, out, is_new, e);
        rc = tx_end(m, c, TX_WRITE_LAZY, rc, e);
    }
    release(m, c);
    return rc;
}

static int chunk_commit(struct conn *c, int64_t chunk_id, const uint32_t *providers, int n,
                        orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = stmt(c, ST_CHUNK_LIVE, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, chunk_id) || sqlite3_bind_int64(s, 2, orc_now_ms()))
        return db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = run(c, s, "chunk commit", e))) return rc;
    if (sqlite3_changes(c->db) == 0) return not_in_state(c, chunk_id, META_CHUNK_PENDING, e);
    if ((rc = stmt(c, ST_COPY_ADD, &s, e))) return rc;
    for (int i = 0; i < n; i++) {
        if (sqlite3_bind_int64(s, 1, chunk_id) || sqlite3_bind_int64(s, 2, providers[i]))
            return db_fail(c->db, SQLITE_ERROR, "bind", e);
        if ((rc = run(c, s, "chunk copy", e)) == ORC_ECONFLICT)
            return orc_fail(e, ORC_EINVAL, "chunk %" PRId64 ": unknown provider id %" PRIu32,
                            chunk_id, providers[i]);
        if (rc) return rc;
    }
    return ORC_OK;
}

int meta_chunk_commit(meta *m, int64_t chunk_id, const uint32_t *providers, int n, orc_err *e)
{
    /* A live chunk without copies would be reused by dedup and unreadable. */
    if (n < 1 || n > META_MAX_COPIES || !providers)
        return orc_fail(e, ORC_EINVAL, "chunk %" PRId64 ": %d copies; need 1 to %d", chunk_id, n,
                        META_MAX_COPIES);
    struct conn *c;
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    if (!(rc = tx_begin(m, c, TX_WRITE_LAZY, e)))
        rc = tx_end(m, c, TX_WRITE_LAZY, chunk_commit(c, chunk_id, providers, n, e), e);
    release(m, c);
    return rc;
}

/* Deletes chunk id if it is in state (its copies cascade). */
static int chunk_drop(struct conn *c, int64_t id, int state, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = stmt(c, ST_CHUNK_DROP, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, id) || sqlite3_bind_int(s, 2, state))
        return db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = run(c, s, "chunk delete", e))) return rc;
    return sqlite3_changes(c->db) ? ORC_OK : not_in_state(c, id, state, e);
}

static int chunk_drop_tx(meta *m, int64_t id, int state, orc_err *e)
{
    struct conn *c;
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    if (!(rc = tx_begin(m, c, TX_WRITE_LAZY, e)))
        rc = tx_end(m, c, TX_WRITE_LAZY, chunk_drop(c, id, state, e), e);
    release(m, c);
    return rc;
}

int meta_chunk_abandon(meta *m, int64_t chunk_id, orc_err *e)
{
    return chunk_drop_tx(m, chunk_id, META_CHUNK_PENDING, e);
}

int meta_gc_forget(meta *m, int64_t chunk_id, orc_err *e)
{
    return chunk_drop_tx(m, chunk_id, META_CHUNK_DELETING, e);
}

/* ---- objects ---- */

static int check_object_new(const meta_object_new *o, orc_err *e)
{
    if (!o->key || !*o->key || strlen(o->key) > META_KEY_MAX)
        return orc_fail(e, ORC_EINVAL, "object key must be 1 to %d bytes", META_KEY_MAX);
    if (!o->etag || strlen(o->etag) >= sizeof(((meta_object *)0)->etag))
        return orc_fail(e, ORC_EINVAL, "object %s: bad ETag", o->key);
    if (o->size > INT64_MAX) return orc_fail(e, ORC_EINVAL, "object %s: size too large", o->key);
    if (o->nchunks && (!o->chunk_ids || !o->offsets))
        return orc_fail(e, ORC_EINVAL, "object %s: chunks without ids or offsets", o->key);
    return ORC_OK;
}

/* 1 and *id if (bucket, key) exists, 0 if not, or an error. */
static int object_find(struct conn *c, int64_t bucket_id, const char *key, int64_t *id, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = stmt(c, ST_OBJ_FIND, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, bucket_id) || bind_text(s, 2, key))
        return db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = row(c, s, "object lookup", e)) == 1) {
        *id = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
    }
    return rc;
}

/* Releases the references of object id's manifest, then deletes it. */
static int object_drop(struct conn *c, int64_t id, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = stmt(c, ST_OBJ_RELEASE, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, id) || sqlite3_bind_int64(s, 2, orc_now_ms()))
        return db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = run(c, s, "release references", e))) return rc;
    if ((rc = stmt(c, ST_OBJ_DEL, &s, e))) return rc;
    if (sqlite3_bind_int64(s, 1, id)) return db_fail(c->db, SQLITE_ERROR, "bind", e);
    return run(c, s, "object delete", e);
}

/* Takes a reference on each chunk (which must be LIVE) and writes the
 * manifest, checking that the chunks tile [0, size). */
static int manifest_add(struct conn *c, int64_t obj, const meta_object_new *o, orc_err *e)
{
    sqlite3_stmt *ref = NULL, *add = NULL;
    uint64_t end = 0;
    int rc = stmt(c, ST_CHUNK_REF, &ref, e);
    if (!rc) rc = stmt(c, ST_MANIFEST_ADD, &add, e);
    if (rc) return rc;
    for (size_t i = 0; i < o->nchunks; i++) {
        int64_t id = o->chunk_ids[i];
        if (o->offsets[i] != end)
            return orc_fail(e, ORC_EINVAL,
                            "object %s: chunk %zu starts at %" PRIu64 ", expected %" PRIu64, o->key,
                            i, o->offsets[i], end);
        if (sqlite3_bind_int64(ref, 1, id)) return db_fail(c->db, SQLITE_ERROR, "bind", e);
        if ((rc = row(c, ref, "chunk reference", e)) < 0) return rc;
        if (rc == 0) {
            /* Collected while the upload ran: the caller uploads again. */
            rc = not_in_state(c, id, META_CHUNK_LIVE, e);
            if (rc != ORC_ENOTFOUND) return rc;
            return orc_fail(e, ORC_ECONFLICT,
                            "chunk %" PRId64 " was collected while the upload ran: upload again",
                            id);
        }
        end += (uint64_t)sqlite3_column_int64(ref, 0);
        sqlite3_reset(ref); /* RETURNING: the update is done at the first step */
        if (sqlite3_bind_int64(add, 1, obj) || sqlite3_bind_int64(add, 2, (int64_t)o->offsets[i]) ||
            sqlite3_bind_int64(add, 3, id))
            return db_fail(c->db, SQLITE_ERROR, "bind", e);
        if ((rc = run(c, add, "manifest insert", e))) return rc;
    }
    if (end != o->size)
        return orc_fail(e, ORC_EINVAL,
                        "object %s: chunks cover %" PRIu64 " bytes, size is %" PRIu64, o->key, end,
                        o->size);
    return ORC_OK;
}

/* Checks a conditional write against the current version of (bucket, key),
 * inside the caller's write transaction. */
static int put_cond_check(struct conn *c, int64_t bucket_id, const char *key,
                          const meta_put_cond *cond, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    char etag[64] = "";
    if (cond->kind == META_PUT_ALWAYS) return ORC_OK;
    int rc = stmt(c, ST_OBJ_GET, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, bucket_id) || bind_text(s, 2, key))
        return db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = row(c, s, "object lookup", e)) < 0) return rc;
    bool exists = rc == 1;
    if (exists) copy_text(etag, sizeof(etag), s, 4); /* OBJ_COLS: etag is column 4 */
    sqlite3_reset(s);
    if (cond->kind == META_PUT_IF_ABSENT && exists)
        return orc_fail(e, ORC_ECONFLICT, META_PRECONDITION ": object %s exists", key);
    if (cond->kind == META_PUT_IF_MATCH && (!exists || strcmp(etag, cond->etag) != 0))
        return orc_fail(e, ORC_ECONFLICT, META_PRECONDITION ": object %s %s", key,
                        exists ? "has another ETag" : "does not exist");
    return ORC_OK;
}

static int object_put(struct conn *c, int64_t bucket_id, const meta_object_new *o, int64_t *id,
                      orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int64_t old = 0;
    int rc = stmt(c, ST_BUCKET_EXISTS, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, bucket_id)) return db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = row(c, s, "bucket lookup", e)) < 0) return rc;
    if (rc == 0) return orc_fail(e, ORC_ENOTFOUND, "no bucket with id %" PRId64, bucket_id);
    sqlite3_reset(s);
    if ((rc = put_cond_check(c, bucket_id, o->key, &o->cond, e))) return rc;

    /* The old version goes first: (bucket, key) is unique. Its chunks may
     * drop to 0 here and come back up below if the new version shares them;
     * all of it commits or none. */
    if ((rc = object_find(c, bucket_id, o->key, &old, e)) < 0) return rc;
    if (rc == 1 && (rc = object_drop(c, old, e))) return rc;

    if ((rc = stmt(c, ST_OBJ_ADD, &s, e))) return rc;
    if (sqlite3_bind_int64(s, 1, bucket_id) || bind_text(s, 2, o->key) ||
        sqlite3_bind_int64(s, 3, (int64_t)o->size) || bind_text(s, 4, o->etag) ||
        bind_text(s, 5, o->content_type) || bind_text(s, 6, o->headers) ||
        sqlite3_bind_int64(s, 7, o->mtime_ms))
        return db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = run(c, s, "object insert", e))) return rc;
    int64_t obj = sqlite3_last_insert_rowid(c->db);
    if ((rc = manifest_add(c, obj, o, e))) return rc;
    if (id) *id = obj;
    return ORC_OK;
}

int meta_object_put(meta *m, int64_t bucket_id, const meta_object_new *o, int64_t *id, orc_err *e)
{
    int rc = check_object_new(o, e);
    if (rc) return rc;
    struct conn *c;
    if ((rc = acquire(m, &c, e))) return rc;
    if (!(rc = tx_begin(m, c, TX_WRITE, e)))
        rc = tx_end(m, c, TX_WRITE, object_put(c, bucket_id, o, id, e), e);
    release(m, c);
    return rc;
}

static void read_object(sqlite3_stmt *s, meta_object *o)
{
    memset(o, 0, sizeof(*o));
    o->id = sqlite3_column_int64(s, 0);
    o->bucket_id = sqlite3_column_int64(s, 1);
    o->key = dup_text(s, 2);
    if (!o->key) o->key = orc_strdup("");
    o->size = (uint64_t)sqlite3_column_int64(s, 3);
    copy_text(o->etag, sizeof(o->etag), s, 4);
    o->content_type = dup_text(s, 5);
    o->headers = dup_text(s, 6);
    o->mtime_ms = sqlite3_column_int64(s, 7);
}

void meta_object_dispose(meta_object *o)
{
    if (!o) return;
    free(o->key);
    free(o->content_type);
    free(o->headers);
    o->key = o->content_type = o->headers = NULL;
}

/* The extents of object obj overlapping [from, to), each with its copies. */
static int extents_get(struct conn *c, int64_t obj, uint64_t from, uint64_t to, meta_extent **out,
                       size_t *n, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    meta_extent *v = NULL;
    size_t len = 0, cap = 0;
    int rc = stmt(c, ST_EXTENTS, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, obj) || sqlite3_bind_int64(s, 2, clamp64(from)) ||
        sqlite3_bind_int64(s, 3, clamp64(to)))
        return db_fail(c->db, SQLITE_ERROR, "bind", e);
    /* One row per (extent, copy), ordered by start: group them. */
    while ((rc = row(c, s, "object extents", e)) == 1) {
        uint64_t start = (uint64_t)sqlite3_column_int64(s, 0);
        if (len == 0 || v[len - 1].offset != start) {
            if (len == cap) v = orc_realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
            v[len].offset = start;
            read_chunk(s, 1, &v[len].chunk);
            len++;
        }
        add_copy(s, 8, &v[len - 1].chunk);
    }
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = len;
    return ORC_OK;
}

static int object_get(struct conn *c, int64_t bucket_id, const char *key, bool want_extents,
                      uint64_t from, uint64_t to, meta_object *out, meta_extent **ext, size_t *next,
                      orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = stmt(c, ST_OBJ_GET, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, bucket_id) || bind_text(s, 2, key))
        return db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = row(c, s, "object lookup", e)) < 0) return rc;
    if (rc == 0) return orc_fail(e, ORC_ENOTFOUND, "no object %s", key);
    read_object(s, out);
    sqlite3_reset(s);
    if (!want_extents) return ORC_OK;
    if ((rc = extents_get(c, out->id, from, to, ext, next, e))) meta_object_dispose(out);
    return rc;
}

int meta_object_get(meta *m, int64_t bucket_id, const char *key, bool want_extents, uint64_t from,
                    uint64_t to, meta_object *out, meta_extent **ext, size_t *next, orc_err *e)
{
    memset(out, 0, sizeof(*out));
    if (ext) *ext = NULL;
    if (next) *next = 0;
    if (!key) return orc_fail(e, ORC_EINVAL, "object key is missing");
    if (want_extents && (!ext || !next))
        return orc_fail(e, ORC_EINVAL, "object %s: extents asked for without room", key);
    struct conn *c;
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    if (!want_extents) {
        rc = object_get(c, bucket_id, key, false, 0, 0, out, NULL, NULL, e);
    } else if (!(rc = tx_begin(m, c, TX_READ, e))) {
        /* One read transaction: the object row and its manifest are one snapshot. */
        rc = object_get(c, bucket_id, key, true, from, to, out, ext, next, e);
        int end = tx_end(m, c, TX_READ, rc, e);
        if (!rc && end) { /* do not hand out a result whose snapshot failed */
            meta_object_dispose(out);
            free(*ext);
            *ext = NULL;
            *next = 0;
            rc = end;
        }
    }
    release(m, c);
    return rc;
}

static int object_delete(struct conn *c, int64_t bucket_id, const char *key, orc_err *e)
{
    int64_t id = 0;
    int rc = object_find(c, bucket_id, key, &id, e);
    if (rc < 0) return rc;
    if (rc == 0) return orc_fail(e, ORC_ENOTFOUND, "no object %s", key);
    return object_drop(c, id, e);
}

int meta_object_delete(meta *m, int64_t bucket_id, const char *key, orc_err *e)
{
    if (!key) return orc_fail(e, ORC_EINVAL, "object key is missing");
    struct conn *c;
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    if (!(rc = tx_begin(m, c, TX_WRITE, e)))
        rc = tx_end(m, c, TX_WRITE, object_delete(c, bucket_id, key, e), e);
    release(m, c);
    return rc;
}

/* The smallest string greater than every string starting with prefix, in
 * byte order: drop trailing 0xFF bytes and increment the last. false if none
 * exists (prefix empty or all 0xFF). */
static bool prefix_successor(const char *prefix, char *out, size_t cap)
{
    size_t n = strlen(prefix);
    while (n > 0 && (unsigned char)prefix[n - 1] == 0xFF)
        n--;
    if (n == 0 || n >= cap) return false;
    memcpy(out, prefix, n);
    out[n - 1] = (char)((unsigned char)out[n - 1] + 1);
    out[n] = '\0';
    return true;
}

int meta_object_list(meta *m, int64_t bucket_id, const char *prefix, const char *from,
                     bool from_inclusive, size_t limit, meta_object **out, size_t *n, orc_err *e)
{
    char upper[META_KEY_MAX + 1];
    *out = NULL;
    *n = 0;
    if (!prefix) prefix = "";
    if (strlen(prefix) > META_KEY_MAX || (from && strlen(from) > META_KEY_MAX))
        return orc_fail(e, ORC_EINVAL, "prefix or marker longer than %d bytes", META_KEY_MAX);
    if (limit == 0) return ORC_OK;

    /* Both bounds are plain comparisons, so SQLite scans the (bucket_id, key)
     * index over exactly the range; LIKE would mis-handle % and _ in keys.
     * strcmp compares as unsigned char, the same order as BINARY. */
    const char *lower = prefix;
    bool inclusive = true;
    if (from) {
        int cmp = strcmp(from, prefix);
        if (cmp >= 0) {
            lower = from;
            inclusive = from_inclusive;
        }
    }
    bool bounded = prefix_successor(prefix, upper, sizeof(upper));
    enum st q =
        inclusive ? (bounded ? ST_LIST_GE_LT : ST_LIST_GE) : (bounded ? ST_LIST_GT_LT : ST_LIST_GT);

    struct conn *c;
    sqlite3_stmt *s = NULL;
    meta_object *v = NULL;
    size_t len = 0, cap = 0;
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = stmt(c, q, &s, e))) goto done;
    if (sqlite3_bind_int64(s, 1, bucket_id) || bind_text(s, 2, lower) ||
        (bounded && bind_text(s, 3, upper)) || sqlite3_bind_int64(s, 4, clamp64(limit))) {
        rc = db_fail(c->db, SQLITE_ERROR, "bind", e);
        goto done;
    }
    while ((rc = row(c, s, "object list", e)) == 1) {
        if (len == cap) v = orc_realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
        read_object(s, &v[len++]);
    }
done:
    release(m, c);
    if (rc) {
        for (size_t i = 0; i < len; i++)
            meta_object_dispose(&v[i]);
        free(v);
        return rc;
    }
    *out = v;
    *n = len;
    return ORC_OK;
}

/* ---- garbage collection ---- */

static int gc_mark(struct conn *c, int64_t cutoff_ms, size_t limit, meta_chunk **out, size_t *n,
                   orc_err *e)
{
    sqlite3_stmt *s = NULL;
    meta_chunk *v = NULL;
    size_t len = 0, cap = 0;
    int64_t already = 0;
    int rc = stmt(c, ST_GC_COUNT, &s, e);
    if (rc) return rc;
    if ((rc = row(c, s, "gc count", e)) < 0) return rc;
    if (rc == 1) {
        already = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
    }
    /* Chunks left DELETING by an interrupted run count against the limit,
     * so one call never hands out much more than limit chunks. */
    if ((uint64_t)already < limit) {
        if ((rc = stmt(c, ST_GC_MARK, &s, e))) return rc;
        if (sqlite3_bind_int64(s, 1, cutoff_ms) ||
            sqlite3_bind_int64(s, 2, clamp64(limit - (uint64_t)already)))
            return db_fail(c->db, SQLITE_ERROR, "bind", e);
        if ((rc = run(c, s, "gc mark", e))) return rc;
    }
    if ((rc = stmt(c, ST_GC_DELETING, &s, e))) return rc;
    while ((rc = row(c, s, "gc list", e)) == 1) {
        int64_t id = sqlite3_column_int64(s, 0);
        if (len == 0 || v[len - 1].id != id) {
            if (len == cap) v = orc_realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
            read_chunk(s, 0, &v[len++]);
        }
        add_copy(s, 7, &v[len - 1]);
    }
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = len;
    return ORC_OK;
}

int meta_gc_mark(meta *m, int64_t cutoff_ms, size_t limit, meta_chunk **out, size_t *n, orc_err *e)
{
    *out = NULL;
    *n = 0;
    struct conn *c;
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    if (!(rc = tx_begin(m, c, TX_WRITE, e))) {
        rc = tx_end(m, c, TX_WRITE, gc_mark(c, cutoff_ms, limit, out, n, e), e);
        if (rc) { /* the commit failed after the list was built */
            free(*out);
            *out = NULL;
            *n = 0;
        }
    }
    release(m, c);
    return rc;
}

int meta_stats_get(meta *m, meta_stats *out, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    memset(out, 0, sizeof(*out));
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = stmt(c, ST_STATS, &s, e))) goto done;
    if ((rc = row(c, s, "stats", e)) == 1) {
        out->objects = (uint64_t)sqlite3_column_int64(s, 0);
        out->chunks = (uint64_t)sqlite3_column_int64(s, 1);
        out->chunk_refs = (uint64_t)sqlite3_column_int64(s, 2);
        out->bytes_logical = (uint64_t)sqlite3_column_int64(s, 3);
        out->bytes_stored = (uint64_t)sqlite3_column_int64(s, 4);
        sqlite3_reset(s);
        rc = ORC_OK;
    } else if (rc == 0) {
        rc = orc_fail(e, ORC_EINTERNAL, "metadata stats: no row");
    }
done:
    release(m, c);
    return rc;
}

/* ---- provider usage (admin view): rare, so prepared per call ---- */

static int count_query(meta *m, const char *query, int64_t arg, uint64_t *a, uint64_t *b,
                       orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    if (sqlite3_prepare_v2(c->db, query, -1, &s, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(s, 1, arg) != SQLITE_OK)
        rc = db_fail(c->db, sqlite3_errcode(c->db), "prepare", e);
    else if (sqlite3_step(s) != SQLITE_ROW)
        rc = db_fail(c->db, sqlite3_errcode(c->db), "count", e);
    else {
        *a = (uint64_t)sqlite3_column_int64(s, 0);
        if (b) *b = (uint64_t)sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
    release(m, c);
    return rc;
}

int meta_provider_usage(meta *m, uint32_t provider_id, uint64_t *chunks, uint64_t *bytes,
                        orc_err *e)
{
    return count_query(m,
                       "SELECT count(*), coalesce(sum(c.sealed_len), 0) FROM chunk_copies cc "
                       "JOIN chunks c ON c.id = cc.chunk_id WHERE cc.provider_id = ?1",
                       provider_id, chunks, bytes, e);
}

int meta_under_replicated(meta *m, int copies, uint64_t *n, orc_err *e)
{
    return count_query(m,
                       "SELECT count(*) FROM chunks WHERE state = 1 AND (SELECT count(*) FROM "
                       "chunk_copies WHERE chunk_id = chunks.id) < ?1",
                       copies, n, NULL, e);
}

/* ---- copy (CopyObject): a new manifest over the same chunks ---- */

/* Copies are rarer than PUTs: their statements are prepared per call, which
 * keeps them out of the shared statement table. Binds ?1 = a and, if the
 * statement has it, ?2 = b. */
static int run_once(struct conn *c, const char *q, int64_t a, int64_t b, const char *what,
                    orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(c->db, q, -1, &s, NULL);
    if (rc != SQLITE_OK) return db_fail(c->db, rc, what, e);
    if (sqlite3_bind_int64(s, 1, a) ||
        (sqlite3_bind_parameter_count(s) > 1 && sqlite3_bind_int64(s, 2, b))) {
        sqlite3_finalize(s);
        return db_fail(c->db, SQLITE_ERROR, "bind", e);
    }
    rc = sqlite3_step(s);
    int ret = rc == SQLITE_DONE ? ORC_OK : db_fail(c->db, rc, what, e);
    sqlite3_finalize(s);
    return ret;
}

/* Copying onto itself: only the metadata and the time change. */
static int copy_in_place(struct conn *c, int64_t id, const char *ct, const char *hd,
                         int64_t mtime_ms, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(
        c->db, "UPDATE objects SET content_type = ?2, headers = ?3, mtime_ms = ?4 WHERE id = ?1",
        -1, &s, NULL);
    if (rc != SQLITE_OK) return db_fail(c->db, rc, "object update", e);
    if (sqlite3_bind_int64(s, 1, id) || bind_text(s, 2, ct) || bind_text(s, 3, hd) ||
        sqlite3_bind_int64(s, 4, mtime_ms))
        rc = db_fail(c->db, SQLITE_ERROR, "bind", e);
    else if ((rc = sqlite3_step(s)) != SQLITE_DONE)
        rc = db_fail(c->db, rc, "object update", e);
    else
        rc = ORC_OK;
    sqlite3_finalize(s);
    return rc;
}

/* Inserts the destination row and its manifest (the source's rows), taking a
 * reference per manifest row; returns the new id in *id. */
static int copy_manifest(struct conn *c, const meta_object_copy_args *a, const meta_object *src,
                         const char *ct, const char *hd, int64_t *id, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int64_t old = 0;
    /* The old version goes first ((bucket, key) is unique); chunks it shares
     * with the source dip and come back up in this transaction. */
    int rc = object_find(c, a->dst_bucket, a->dst_key, &old, e);
    if (rc < 0) return rc;
    if (rc == 1 && (rc = object_drop(c, old, e))) return rc;
    if ((rc = stmt(c, ST_OBJ_ADD, &s, e))) return rc;
    if (sqlite3_bind_int64(s, 1, a->dst_bucket) || bind_text(s, 2, a->dst_key) ||
        sqlite3_bind_int64(s, 3, (int64_t)src->size) || bind_text(s, 4, src->etag) ||
        bind_text(s, 5, ct) || bind_text(s, 6, hd) || sqlite3_bind_int64(s, 7, a->mtime_ms))
        return db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = run(c, s, "object insert", e))) return rc;
    *id = sqlite3_last_insert_rowid(c->db);
    /* The source's chunks are referenced by it, so LIVE: the collector only
     * takes chunks at refcount 0, and this transaction holds the write lock. */
    rc = run_once(c,
                  "UPDATE chunks SET refcount = refcount + r.n FROM (SELECT chunk_id,"
                  " count(*) AS n FROM manifest WHERE object_id = ?1 GROUP BY chunk_id) AS r"
                  " WHERE chunks.id = r.chunk_id",
                  src->id, 0, "copy references", e);
    if (!rc)
        rc = run_once(c,
                      "INSERT INTO manifest(object_id, start, chunk_id)"
                      " SELECT ?2, start, chunk_id FROM manifest WHERE object_id = ?1",
                      src->id, *id, "copy manifest", e);
    return rc;
}

static int object_copy(struct conn *c, const meta_object_copy_args *a, meta_object *out, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = object_get(c, a->src_bucket, a->src_key, false, 0, 0, out, NULL, NULL, e);
    if (rc) return rc;
    if (a->src_etag && strcmp(out->etag, a->src_etag) != 0)
        return orc_fail(e, ORC_ECONFLICT, META_PRECONDITION ": copy source %s changed", a->src_key);
    if ((rc = stmt(c, ST_BUCKET_EXISTS, &s, e))) return rc;
    if (sqlite3_bind_int64(s, 1, a->dst_bucket)) return db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = row(c, s, "bucket lookup", e)) < 0) return rc;
    if (rc == 0) return orc_fail(e, ORC_ENOTFOUND, "no bucket with id %" PRId64, a->dst_bucket);
    sqlite3_reset(s);
    if ((rc = put_cond_check(c, a->dst_bucket, a->dst_key, &a->cond, e))) return rc;

    if (a->replace_meta) {
        free(out->content_type);
        free(out->headers);
        out->content_type = a->content_type ? orc_strdup(a->content_type) : NULL;
        out->headers = a->headers ? orc_strdup(a->headers) : NULL;
    }
    int64_t id = out->id;
    if (a->src_bucket == a->dst_bucket && strcmp(a->src_key, a->dst_key) == 0)
        rc = copy_in_place(c, id, out->content_type, out->headers, a->mtime_ms, e);
    else
        rc = copy_manifest(c, a, out, out->content_type, out->headers, &id, e);
    if (rc) return rc;
    free(out->key);
    out->key = orc_strdup(a->dst_key);
    out->id = id;
    out->bucket_id = a->dst_bucket;
    out->mtime_ms = a->mtime_ms;
    return ORC_OK;
}

int meta_object_copy(meta *m, const meta_object_copy_args *a, meta_object *out, orc_err *e)
{
    memset(out, 0, sizeof(*out));
    if (!a->src_key || !a->dst_key || !*a->dst_key || strlen(a->dst_key) > META_KEY_MAX)
        return orc_fail(e, ORC_EINVAL, "object key must be 1 to %d bytes", META_KEY_MAX);
    struct conn *c;
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    if (!(rc = tx_begin(m, c, TX_WRITE, e)))
        rc = tx_end(m, c, TX_WRITE, object_copy(c, a, out, e), e);
    release(m, c);
    if (rc) meta_object_dispose(out);
    return rc;
}

/* ---- multipart ----
 * Parts hold chunk references through part_manifest exactly as objects do
 * through manifest; every function that drops a part or an upload releases
 * them in the same transaction. */

static int bind_fail(struct conn *c, orc_err *e)
{
    return db_fail(c->db, SQLITE_ERROR, "bind", e);
}

static void read_upload(sqlite3_stmt *s, meta_upload *u)
{
    memset(u, 0, sizeof(*u));
    u->id = sqlite3_column_int64(s, 0);
    copy_text(u->upload_id, sizeof(u->upload_id), s, 1);
    u->bucket_id = sqlite3_column_int64(s, 2);
    u->key = dup_text(s, 3);
    if (!u->key) u->key = orc_strdup("");
    u->initiator = sqlite3_column_int64(s, 4);
    u->content_type = dup_text(s, 5);
    u->headers = dup_text(s, 6);
    u->created_ms = sqlite3_column_int64(s, 7);
}

void meta_upload_dispose(meta_upload *u)
{
    if (!u) return;
    free(u->key);
    free(u->content_type);
    free(u->headers);
    u->key = u->content_type = u->headers = NULL;
}

static int no_upload(const char *upload_id, orc_err *e)
{
    return orc_fail(e, ORC_ENOTFOUND, "no multipart upload %.80s", upload_id);
}

/* 1 and *u if upload_id is an upload of (bucket, key), 0 if not, or an error. */
static int upload_find(struct conn *c, int64_t bucket_id, const char *key, const char *upload_id,
                       meta_upload *u, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = stmt(c, ST_MP_UPLOAD_GET, &s, e);
    if (rc) return rc;
    if (bind_text(s, 1, upload_id)) return bind_fail(c, e);
    if ((rc = row(c, s, "upload lookup", e)) <= 0) return rc;
    read_upload(s, u);
    sqlite3_reset(s);
    if (u->bucket_id != bucket_id || strcmp(u->key, key) != 0) {
        meta_upload_dispose(u);
        return 0;
    }
    return 1;
}

static int check_upload_args(const char *key, const char *upload_id, orc_err *e)
{
    if (!key || !*key || strlen(key) > META_KEY_MAX)
        return orc_fail(e, ORC_EINVAL, "object key must be 1 to %d bytes", META_KEY_MAX);
    if (!upload_id || !*upload_id || strlen(upload_id) > META_UPLOAD_ID_MAX)
        return orc_fail(e, ORC_EINVAL, "upload id must be 1 to %d bytes", META_UPLOAD_ID_MAX);
    return ORC_OK;
}

static int upload_create(struct conn *c, int64_t bucket_id, const char *key, const char *upload_id,
                         int64_t initiator, const char *content_type, const char *headers,
                         int64_t created_ms, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = stmt(c, ST_BUCKET_EXISTS, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, bucket_id)) return bind_fail(c, e);
    if ((rc = row(c, s, "bucket lookup", e)) < 0) return rc;
    if (rc == 0) return orc_fail(e, ORC_ENOTFOUND, "no bucket with id %" PRId64, bucket_id);
    sqlite3_reset(s);
    if ((rc = stmt(c, ST_MP_UPLOAD_ADD, &s, e))) return rc;
    if (bind_text(s, 1, upload_id) || sqlite3_bind_int64(s, 2, bucket_id) || bind_text(s, 3, key) ||
        sqlite3_bind_int64(s, 4, initiator) || bind_text(s, 5, content_type) ||
        bind_text(s, 6, headers) || sqlite3_bind_int64(s, 7, created_ms))
        return bind_fail(c, e);
    rc = run(c, s, "upload create", e);
    if (rc == ORC_EEXISTS) orc_fail(e, rc, "upload id %s is taken", upload_id);
    return rc;
}

int meta_upload_create(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                       int64_t initiator, const char *content_type, const char *headers,
                       int64_t created_ms, orc_err *e)
{
    int rc = check_upload_args(key, upload_id, e);
    if (rc) return rc;
    struct conn *c;
    if ((rc = acquire(m, &c, e))) return rc;
    if (!(rc = tx_begin(m, c, TX_WRITE, e)))
        rc = tx_end(m, c, TX_WRITE,
                    upload_create(c, bucket_id, key, upload_id, initiator, content_type, headers,
                                  created_ms, e),
                    e);
    release(m, c);
    return rc;
}

int meta_upload_get(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                    meta_upload *out, orc_err *e)
{
    memset(out, 0, sizeof(*out));
    int rc = check_upload_args(key, upload_id, e);
    if (rc) return rc == ORC_EINVAL ? no_upload(upload_id ? upload_id : "", e) : rc;
    struct conn *c;
    if ((rc = acquire(m, &c, e))) return rc;
    rc = upload_find(c, bucket_id, key, upload_id, out, e);
    release(m, c);
    return rc == 1 ? ORC_OK : rc == 0 ? no_upload(upload_id, e) : rc;
}

/* Releases part `number` of upload row `up` (if it exists) and deletes it. */
static int part_drop(struct conn *c, int64_t up, int number, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = stmt(c, ST_MP_PART_RELEASE, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, up) || sqlite3_bind_int64(s, 2, orc_now_ms()) ||
        sqlite3_bind_int(s, 3, number))
        return bind_fail(c, e);
    if ((rc = run(c, s, "release part references", e))) return rc;
    if ((rc = stmt(c, ST_MP_PART_DEL, &s, e))) return rc;
    if (sqlite3_bind_int64(s, 1, up) || sqlite3_bind_int(s, 2, number)) return bind_fail(c, e);
    return run(c, s, "part delete", e);
}

/* Releases every part of upload row `up` and deletes the upload (parts and
 * their manifests cascade). */
static int upload_drop(struct conn *c, int64_t up, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = stmt(c, ST_MP_UPLOAD_RELEASE, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, up) || sqlite3_bind_int64(s, 2, orc_now_ms()))
        return bind_fail(c, e);
    if ((rc = run(c, s, "release upload references", e))) return rc;
    if ((rc = stmt(c, ST_MP_UPLOAD_DEL, &s, e))) return rc;
    if (sqlite3_bind_int64(s, 1, up)) return bind_fail(c, e);
    return run(c, s, "upload delete", e);
}

/* Takes a reference on each chunk of p (which must be LIVE) and writes the
 * part's manifest, checking that the chunks tile [0, size). */
static int part_manifest_add(struct conn *c, int64_t up, const meta_part_new *p, orc_err *e)
{
    sqlite3_stmt *ref = NULL, *add = NULL;
    uint64_t end = 0;
    int rc = stmt(c, ST_CHUNK_REF, &ref, e);
    if (!rc) rc = stmt(c, ST_MP_PMAN_ADD, &add, e);
    if (rc) return rc;
    for (size_t i = 0; i < p->nchunks; i++) {
        int64_t id = p->chunk_ids[i];
        if (p->offsets[i] != end)
            return orc_fail(e, ORC_EINVAL,
                            "part %d: chunk %zu starts at %" PRIu64 ", expected %" PRIu64,
                            p->number, i, p->offsets[i], end);
        if (sqlite3_bind_int64(ref, 1, id)) return bind_fail(c, e);
        if ((rc = row(c, ref, "chunk reference", e)) < 0) return rc;
        if (rc == 0) {
            rc = not_in_state(c, id, META_CHUNK_LIVE, e);
            if (rc != ORC_ENOTFOUND) return rc;
            return orc_fail(e, ORC_ECONFLICT,
                            "chunk %" PRId64 " was collected while the upload ran: upload again",
                            id);
        }
        end += (uint64_t)sqlite3_column_int64(ref, 0);
        sqlite3_reset(ref);
        if (sqlite3_bind_int64(add, 1, up) || sqlite3_bind_int(add, 2, p->number) ||
            sqlite3_bind_int64(add, 3, (int64_t)p->offsets[i]) || sqlite3_bind_int64(add, 4, id))
            return bind_fail(c, e);
        if ((rc = run(c, add, "part manifest insert", e))) return rc;
    }
    if (end != p->size)
        return orc_fail(e, ORC_EINVAL, "part %d: chunks cover %" PRIu64 " bytes, size is %" PRIu64,
                        p->number, end, p->size);
    return ORC_OK;
}

static int part_put(struct conn *c, int64_t bucket_id, const meta_part_new *p, orc_err *e)
{
    meta_upload u;
    sqlite3_stmt *s = NULL;
    int rc = upload_find(c, bucket_id, p->key, p->upload_id, &u, e);
    if (rc <= 0) return rc ? rc : no_upload(p->upload_id, e);
    int64_t up = u.id;
    meta_upload_dispose(&u);
    /* The part it replaces goes first; shared chunks may touch 0 and come
     * back up below, all in this transaction. */
    if ((rc = part_drop(c, up, p->number, e))) return rc;
    if ((rc = stmt(c, ST_MP_PART_ADD, &s, e))) return rc;
    if (sqlite3_bind_int64(s, 1, up) || sqlite3_bind_int(s, 2, p->number) ||
        sqlite3_bind_int64(s, 3, (int64_t)p->size) || bind_text(s, 4, p->etag) ||
        sqlite3_bind_int64(s, 5, p->mtime_ms))
        return bind_fail(c, e);
    if ((rc = run(c, s, "part insert", e))) return rc;
    return part_manifest_add(c, up, p, e);
}

int meta_part_put(meta *m, int64_t bucket_id, const meta_part_new *p, orc_err *e)
{
    int rc = check_upload_args(p->key, p->upload_id, e);
    if (rc) return rc;
    if (p->number < 1 || p->number > META_PART_MAX)
        return orc_fail(e, ORC_EINVAL, "part number %d is not 1 to %d", p->number, META_PART_MAX);
    if (!p->etag || strlen(p->etag) >= sizeof(((meta_part *)0)->etag))
        return orc_fail(e, ORC_EINVAL, "part %d: bad ETag", p->number);
    if (p->size > INT64_MAX) return orc_fail(e, ORC_EINVAL, "part %d: too large", p->number);
    if (p->nchunks && (!p->chunk_ids || !p->offsets))
        return orc_fail(e, ORC_EINVAL, "part %d: chunks without ids or offsets", p->number);
    struct conn *c;
    if ((rc = acquire(m, &c, e))) return rc;
    if (!(rc = tx_begin(m, c, TX_WRITE, e)))
        rc = tx_end(m, c, TX_WRITE, part_put(c, bucket_id, p, e), e);
    release(m, c);
    return rc;
}

static int part_list(struct conn *c, int64_t bucket_id, const char *key, const char *upload_id,
                     int after, size_t limit, meta_part **out, size_t *n, orc_err *e)
{
    meta_upload u;
    sqlite3_stmt *s = NULL;
    meta_part *v = NULL;
    size_t len = 0, cap = 0;
    int rc = upload_find(c, bucket_id, key, upload_id, &u, e);
    if (rc <= 0) return rc ? rc : no_upload(upload_id, e);
    int64_t up = u.id;
    meta_upload_dispose(&u);
    if ((rc = stmt(c, ST_MP_PART_LIST, &s, e))) return rc;
    if (sqlite3_bind_int64(s, 1, up) || sqlite3_bind_int(s, 2, after) ||
        sqlite3_bind_int64(s, 3, clamp64(limit)))
        return bind_fail(c, e);
    while ((rc = row(c, s, "part list", e)) == 1) {
        if (len == cap) v = orc_realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
        meta_part *p = &v[len++];
        p->number = sqlite3_column_int(s, 0);
        p->size = (uint64_t)sqlite3_column_int64(s, 1);
        copy_text(p->etag, sizeof(p->etag), s, 2);
        p->mtime_ms = sqlite3_column_int64(s, 3);
        copy_text(p->checksum, sizeof(p->checksum), s, 4);
    }
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = len;
    return ORC_OK;
}

int meta_part_list(meta *m, int64_t bucket_id, const char *key, const char *upload_id, int after,
                   size_t limit, meta_part **out, size_t *n, orc_err *e)
{
    *out = NULL;
    *n = 0;
    int rc = check_upload_args(key, upload_id, e);
    if (rc) return rc == ORC_EINVAL ? no_upload(upload_id ? upload_id : "", e) : rc;
    struct conn *c;
    if ((rc = acquire(m, &c, e))) return rc;
    if (!(rc = tx_begin(m, c, TX_READ, e))) {
        rc = part_list(c, bucket_id, key, upload_id, after, limit, out, n, e);
        int end = tx_end(m, c, TX_READ, rc, e);
        if (!rc && end) {
            free(*out);
            *out = NULL;
            *n = 0;
            rc = end;
        }
    }
    release(m, c);
    return rc;
}

/* The chunks of one completed object being stitched from its parts. */
struct stitch {
    int64_t *ids;
    uint64_t *offs;
    size_t n, cap;
};

static void stitch_push(struct stitch *st, int64_t id, uint64_t off)
{
    if (st->n == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 64;
        st->ids = orc_realloc(st->ids, st->cap * sizeof(*st->ids));
        st->offs = orc_realloc(st->offs, st->cap * sizeof(*st->offs));
    }
    st->ids[st->n] = id;
    st->offs[st->n++] = off;
}

static int complete_fault(meta_complete *mc, int fault, int number, orc_err *e)
{
    static const char *const why[] = {"", "parts are not in ascending order",
                                      "a part is missing or its ETag does not match",
                                      "a part before the last is too small"};
    mc->fault = fault;
    mc->fault_part = number;
    return orc_fail(e, ORC_EINVAL, "part %d: %s", number, why[fault]);
}

/* Validates the listed parts and appends their manifests to st, shifted to
 * their offsets in the object; *size gets the object's size. */
static int stitch_parts(struct conn *c, int64_t up, meta_complete *mc, struct stitch *st,
                        uint64_t *starts, uint64_t *sizes, orc_err *e)
{
    sqlite3_stmt *ps = NULL, *ms = NULL;
    uint64_t size = 0;
    int prev = 0, small = 0; /* a missing part is reported before a small one */
    int rc = stmt(c, ST_MP_PART_GET, &ps, e);
    if (!rc) rc = stmt(c, ST_MP_PMAN_GET, &ms, e);
    if (rc) return rc;
    for (size_t i = 0; i < mc->nparts; i++) {
        int num = mc->parts[i].number;
        if (num <= prev || num > META_PART_MAX)
            return complete_fault(mc, META_COMPLETE_BAD_ORDER, num, e);
        prev = num;
        if (sqlite3_bind_int64(ps, 1, up) || sqlite3_bind_int(ps, 2, num)) return bind_fail(c, e);
        if ((rc = row(c, ps, "part lookup", e)) < 0) return rc;
        if (rc == 0) return complete_fault(mc, META_COMPLETE_NO_PART, num, e);
        uint64_t psize = (uint64_t)sqlite3_column_int64(ps, 0);
        const unsigned char *etag = sqlite3_column_text(ps, 1);
        bool same = etag && mc->parts[i].etag && strcmp((const char *)etag, mc->parts[i].etag) == 0;
        sqlite3_reset(ps);
        if (!same) return complete_fault(mc, META_COMPLETE_NO_PART, num, e);
        if (i + 1 < mc->nparts && psize < mc->min_part_size && !small) small = num;
        if (sqlite3_bind_int64(ms, 1, up) || sqlite3_bind_int(ms, 2, num)) return bind_fail(c, e);
        while ((rc = row(c, ms, "part manifest", e)) == 1)
            stitch_push(st, sqlite3_column_int64(ms, 1),
                        size + (uint64_t)sqlite3_column_int64(ms, 0));
        if (rc) return rc;
        starts[i] = size;
        sizes[i] = psize;
        size += psize;
    }
    if (small) return complete_fault(mc, META_COMPLETE_TOO_SMALL, small, e);
    mc->size = size;
    return ORC_OK;
}

static int upload_complete(struct conn *c, int64_t bucket_id, meta_complete *mc, orc_err *e)
{
    meta_upload u = {0};
    struct stitch st = {0};
    sqlite3_stmt *s = NULL;
    uint64_t *starts = orc_malloc(mc->nparts * sizeof(*starts));
    uint64_t *sizes = orc_malloc(mc->nparts * sizeof(*sizes));
    int rc = upload_find(c, bucket_id, mc->key, mc->upload_id, &u, e);
    if (rc <= 0) {
        if (rc == 0) rc = no_upload(mc->upload_id, e);
        goto done;
    }
    if ((rc = stitch_parts(c, u.id, mc, &st, starts, sizes, e))) goto done;
    meta_object_new o = {
        .key = u.key,
        .size = mc->size,
        .etag = mc->etag,
        .content_type = u.content_type,
        .headers = mc->headers ? mc->headers : u.headers,
        .mtime_ms = mc->mtime_ms,
        .chunk_ids = st.ids,
        .offsets = st.offs,
        .nchunks = st.n,
    };
    /* object_put re-checks every chunk is LIVE and takes the object's
     * references before upload_drop releases the parts': a chunk never
     * passes through 0 for good in between. */
    if ((rc = check_object_new(&o, e)) || (rc = object_put(c, bucket_id, &o, &mc->object_id, e)))
        goto done;
    if ((rc = stmt(c, ST_MP_OBJPART_ADD, &s, e))) goto done;
    for (size_t i = 0; i < mc->nparts; i++) {
        if (sqlite3_bind_int64(s, 1, mc->object_id) || sqlite3_bind_int64(s, 2, (int64_t)i + 1) ||
            sqlite3_bind_int64(s, 3, (int64_t)starts[i]) ||
            sqlite3_bind_int64(s, 4, (int64_t)sizes[i])) {
            rc = bind_fail(c, e);
            goto done;
        }
        if ((rc = run(c, s, "object part insert", e))) goto done;
    }
    rc = upload_drop(c, u.id, e);
done:
    meta_upload_dispose(&u);
    free(st.ids);
    free(st.offs);
    free(starts);
    free(sizes);
    return rc;
}

int meta_upload_complete(meta *m, int64_t bucket_id, meta_complete *mc, orc_err *e)
{
    mc->fault = META_COMPLETE_OK;
    mc->fault_part = 0;
    mc->size = 0;
    mc->object_id = 0;
    int rc = check_upload_args(mc->key, mc->upload_id, e);
    if (rc) return rc;
    if (mc->nparts == 0 || mc->nparts > META_PART_MAX || !mc->parts)
        return orc_fail(e, ORC_EINVAL, "a complete needs 1 to %d parts", META_PART_MAX);
    if (!mc->etag || strlen(mc->etag) >= sizeof(((meta_object *)0)->etag))
        return orc_fail(e, ORC_EINVAL, "bad ETag for the completed object");
    struct conn *c;
    if ((rc = acquire(m, &c, e))) return rc;
    if (!(rc = tx_begin(m, c, TX_WRITE, e)))
        rc = tx_end(m, c, TX_WRITE, upload_complete(c, bucket_id, mc, e), e);
    release(m, c);
    return rc;
}

static int upload_abort(struct conn *c, int64_t bucket_id, const char *key, const char *upload_id,
                        orc_err *e)
{
    meta_upload u;
    int rc = upload_find(c, bucket_id, key, upload_id, &u, e);
    if (rc <= 0) return rc ? rc : no_upload(upload_id, e);
    rc = upload_drop(c, u.id, e);
    meta_upload_dispose(&u);
    return rc;
}

int meta_upload_abort(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                      orc_err *e)
{
    int rc = check_upload_args(key, upload_id, e);
    if (rc) return rc == ORC_EINVAL ? no_upload(upload_id ? upload_id : "", e) : rc;
    struct conn *c;
    if ((rc = acquire(m, &c, e))) return rc;
    if (!(rc = tx_begin(m, c, TX_WRITE, e)))
        rc = tx_end(m, c, TX_WRITE, upload_abort(c, bucket_id, key, upload_id, e), e);
    release(m, c);
    return rc;
}

int meta_upload_list(meta *m, int64_t bucket_id, const char *prefix, const char *from_key,
                     const char *from_upload, size_t limit, meta_upload **out, size_t *n,
                     orc_err *e)
{
    char upper[META_KEY_MAX + 1];
    *out = NULL;
    *n = 0;
    if (!prefix) prefix = "";
    if (strlen(prefix) > META_KEY_MAX || (from_key && strlen(from_key) > META_KEY_MAX))
        return orc_fail(e, ORC_EINVAL, "prefix or marker longer than %d bytes", META_KEY_MAX);
    if (limit == 0) return ORC_OK;
    /* From the later of prefix and from_key; "" takes every upload of it. */
    const char *lower = prefix, *after = "";
    if (from_key && strcmp(from_key, prefix) >= 0) {
        lower = from_key;
        after = from_upload;
    }
    bool bounded = prefix_successor(prefix, upper, sizeof(upper));

    struct conn *c;
    sqlite3_stmt *s = NULL;
    meta_upload *v = NULL;
    size_t len = 0, cap = 0;
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = stmt(c, ST_MP_UPLOAD_LIST, &s, e))) goto done;
    if (sqlite3_bind_int64(s, 1, bucket_id) || bind_text(s, 2, lower) || bind_text(s, 3, after) ||
        bind_text(s, 4, bounded ? upper : NULL) || sqlite3_bind_int64(s, 5, clamp64(limit))) {
        rc = bind_fail(c, e);
        goto done;
    }
    while ((rc = row(c, s, "upload list", e)) == 1) {
        if (len == cap) v = orc_realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
        read_upload(s, &v[len++]);
    }
done:
    release(m, c);
    if (rc) {
        for (size_t i = 0; i < len; i++)
            meta_upload_dispose(&v[i]);
        free(v);
        return rc;
    }
    *out = v;
    *n = len;
    return ORC_OK;
}

static int upload_expire(struct conn *c, int64_t cutoff_ms, size_t limit, size_t *n, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int64_t *ids = NULL;
    size_t len = 0, cap = 0;
    int rc = stmt(c, ST_MP_EXPIRED, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, cutoff_ms) || sqlite3_bind_int64(s, 2, clamp64(limit)))
        return bind_fail(c, e);
    while ((rc = row(c, s, "expired uploads", e)) == 1) {
        if (len == cap) ids = orc_realloc(ids, (cap = cap ? cap * 2 : 16) * sizeof(*ids));
        ids[len++] = sqlite3_column_int64(s, 0);
    }
    for (size_t i = 0; !rc && i < len; i++)
        rc = upload_drop(c, ids[i], e);
    free(ids);
    if (!rc) *n = len;
    return rc;
}

int meta_upload_expire(meta *m, int64_t cutoff_ms, size_t limit, size_t *n, orc_err *e)
{
    *n = 0;
    struct conn *c;
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    if (!(rc = tx_begin(m, c, TX_WRITE, e)))
        rc = tx_end(m, c, TX_WRITE, upload_expire(c, cutoff_ms, limit, n, e), e);
    if (rc) *n = 0;
    release(m, c);
    return rc;
}

int meta_object_part(meta *m, int64_t bucket_id, const char *key, int number, int64_t *object_id,
                     int *nparts, uint64_t *start, uint64_t *size, orc_err *e)
{
    *object_id = 0;
    *nparts = 0;
    *start = *size = 0;
    if (!key) return orc_fail(e, ORC_EINVAL, "object key is missing");
    struct conn *c;
    sqlite3_stmt *s = NULL;
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = stmt(c, ST_MP_OBJPART_GET, &s, e))) goto done;
    if (sqlite3_bind_int64(s, 1, bucket_id) || bind_text(s, 2, key) ||
        sqlite3_bind_int(s, 3, number)) {
        rc = bind_fail(c, e);
        goto done;
    }
    if ((rc = row(c, s, "object part", e)) == 1) {
        *object_id = sqlite3_column_int64(s, 0);
        *nparts = sqlite3_column_int(s, 1);
        if (sqlite3_column_type(s, 2) != SQLITE_NULL) {
            *start = (uint64_t)sqlite3_column_int64(s, 2);
            *size = (uint64_t)sqlite3_column_int64(s, 3);
        }
        sqlite3_reset(s);
        rc = ORC_OK;
    } else if (rc == 0) {
        rc = orc_fail(e, ORC_ENOTFOUND, "no object %s", key);
    }
done:
    release(m, c);
    return rc;
}

/* ---- repair: chunks with fewer copies than the placement wants ---- */

int meta_repair_list(meta *m, int copies, int64_t after_id, size_t limit, meta_chunk **out,
                     size_t *n, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    meta_chunk *v = NULL;
    size_t len = 0;
    *out = NULL;
    *n = 0;
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT " CHUNK_COLS " FROM chunks AS c WHERE c.state = 1 AND c.id > ?1 "
                           "AND (SELECT count(*) FROM chunk_copies WHERE chunk_id = c.id) < ?2 "
                           "ORDER BY c.id LIMIT ?3",
                           -1, &s, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(s, 1, after_id) || sqlite3_bind_int(s, 2, copies) ||
        sqlite3_bind_int64(s, 3, (int64_t)limit)) {
        rc = db_fail(c->db, sqlite3_errcode(c->db), "repair list", e);
        goto done;
    }
    v = orc_calloc(limit ? limit : 1, sizeof(*v));
    while (len < limit && (rc = sqlite3_step(s)) == SQLITE_ROW)
        read_chunk(s, 0, &v[len++]);
    rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? ORC_OK : db_fail(c->db, rc, "repair list", e);
    sqlite3_finalize(s);
    s = NULL;
    for (size_t i = 0; !rc && i < len; i++)
        rc = load_copies(c, &v[i], e);
done:
    sqlite3_finalize(s);
    release(m, c);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = len;
    return ORC_OK;
}

int meta_chunk_add_copies(meta *m, int64_t chunk_id, const uint32_t *providers, int n, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = tx_begin(m, c, TX_WRITE, e))) goto done;
    /* Only a LIVE chunk: the collector owns a DELETING one and would not
     * know about copies added now. */
    if (!(rc = stmt(c, ST_CHUNK_STATE, &s, e))) {
        if (sqlite3_bind_int64(s, 1, chunk_id))
            rc = db_fail(c->db, SQLITE_ERROR, "bind", e);
        else if ((rc = row(c, s, "chunk state", e)) == 1) {
            int state = sqlite3_column_int(s, 0);
            sqlite3_reset(s);
            rc = state == META_CHUNK_LIVE ? ORC_OK : not_in_state(c, chunk_id, META_CHUNK_LIVE, e);
        } else if (rc == 0) {
            rc = orc_fail(e, ORC_ENOTFOUND, "chunk %" PRId64 " does not exist", chunk_id);
        }
    }
    for (int i = 0; !rc && i < n; i++) {
        if ((rc = stmt(c, ST_COPY_ADD, &s, e))) break;
        if (sqlite3_bind_int64(s, 1, chunk_id) || sqlite3_bind_int64(s, 2, providers[i]))
            rc = db_fail(c->db, SQLITE_ERROR, "bind", e);
        else
            rc = run(c, s, "copy add", e);
    }
    rc = tx_end(m, c, TX_WRITE, rc, e);
done:
    release(m, c);
    return rc;
}

/* ---- one stored header of the current version (object tagging) ----
 * Rare next to PUTs and GETs: statements are prepared per call. */

/* headers with the "name: ..." line dropped and, if value, "name: value"
 * appended. Caller frees. */
static char *headers_with(const char *headers, const char *name, const char *value)
{
    orc_buf b;
    size_t nl = strlen(name);
    orc_buf_init(&b, 0);
    orc_buf_append(&b, "", 0, NULL);
    for (const char *l = headers; l && *l;) {
        const char *end = strchr(l, '\n');
        size_t len = end ? (size_t)(end - l) + 1 : strlen(l);
        if (!(len > nl + 1 && memcmp(l, name, nl) == 0 && l[nl] == ':'))
            orc_buf_append(&b, l, len, NULL);
        l += len;
    }
    if (value) orc_buf_printf(&b, NULL, "%s: %s\n", name, value);
    return (char *)orc_buf_take(&b, NULL);
}

static int object_set_header(struct conn *c, int64_t bucket_id, const char *key, const char *name,
                             const char *value, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    char *hd = NULL;
    int64_t id = 0;
    int rc = sqlite3_prepare_v2(
        c->db, "SELECT id, headers FROM objects WHERE bucket_id = ?1 AND key = ?2", -1, &s, NULL);
    if (rc != SQLITE_OK) return db_fail(c->db, rc, "object lookup", e);
    if (sqlite3_bind_int64(s, 1, bucket_id) || bind_text(s, 2, key)) {
        rc = bind_fail(c, e);
    } else if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        id = sqlite3_column_int64(s, 0);
        const unsigned char *t = sqlite3_column_text(s, 1);
        hd = headers_with(t ? (const char *)t : NULL, name, value);
        rc = ORC_OK;
    } else {
        rc = rc == SQLITE_DONE ? orc_fail(e, ORC_ENOTFOUND, "no object %.200s", key)
                               : db_fail(c->db, rc, "object lookup", e);
    }
    sqlite3_finalize(s);
    s = NULL;
    if (rc) goto done;
    rc = sqlite3_prepare_v2(c->db, "UPDATE objects SET headers = ?2 WHERE id = ?1", -1, &s, NULL);
    if (rc != SQLITE_OK) {
        rc = db_fail(c->db, rc, "object update", e);
        goto done;
    }
    if (sqlite3_bind_int64(s, 1, id) || bind_text(s, 2, *hd ? hd : NULL))
        rc = bind_fail(c, e);
    else if ((rc = sqlite3_step(s)) != SQLITE_DONE)
        rc = db_fail(c->db, rc, "object update", e);
    else
        rc = ORC_OK;
done:
    sqlite3_finalize(s);
    free(hd);
    return rc;
}

int meta_object_set_header(meta *m, int64_t bucket_id, const char *key, const char *name,
                           const char *value, orc_err *e)
{
    if (!key || !name || !*name || strchr(name, '\n') || (value && strchr(value, '\n')))
        return orc_fail(e, ORC_EINVAL, "bad stored header");
    struct conn *c;
    int rc = acquire(m, &c, e);
    if (rc) return rc;
    if (!(rc = tx_begin(m, c, TX_WRITE, e)))
        rc = tx_end(m, c, TX_WRITE, object_set_header(c, bucket_id, key, name, value, e), e);
    release(m, c);
    return rc;
}

/* ---- a part's additional checksum (multipart checksums) ---- */

static int part_set_checksum(struct conn *c, int64_t bucket_id, const char *key,
                             const char *upload_id, int number, const char *etag, int64_t mtime_ms,
                             const char *checksum, orc_err *e)
{
    meta_upload u;
    sqlite3_stmt *s = NULL;
    int rc = upload_find(c, bucket_id, key, upload_id, &u, e);
    if (rc <= 0) return rc ? rc : no_upload(upload_id, e);
    int64_t up = u.id;
    meta_upload_dispose(&u);
    rc = sqlite3_prepare_v2(c->db,
                            "UPDATE parts SET checksum = ?5 WHERE upload = ?1 AND number = ?2"
                            " AND etag = ?3 AND mtime_ms = ?4",
                            -1, &s, NULL);
    if (rc != SQLITE_OK) return db_fail(c->db, rc, "part update", e);
    if (sqlite3_bind_int64(s, 1, up) || sqlite3_bind_int(s, 2, number) || bind_text(s, 3, etag) ||
        sqlite3_bind_int64(s, 4, mtime_ms) || bind_text(s, 5, checksum))
        rc = bind_fail(c, e);
    else if ((rc = sqlite3_step(s)) != SQLITE_DONE)
        rc = db_fail(c->db, rc, "part update", e);
    else
        rc = sqlite3_changes(c->db) == 1
                 ? ORC_OK
                 : orc_fail(e, ORC_ENOTFOUND, "part %d was replaced", number);
    sqlite3_finalize(s);
    return rc;
}

int meta_part_set_checksum(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                           int number, const char *etag, int64_t mtime_ms, const char *checksum,
                           orc_err *e)
{
    int rc = check_upload_args(key, upload_id, e);
    if (rc) return rc == ORC_EINVAL ? no_upload(upload_id ? upload_id : "", e) : rc;
    if (!etag) return orc_fail(e, ORC_EINVAL, "part ETag missing");
    struct conn *c;
    if ((rc = acquire(m, &c, e))) return rc;
    if (!(rc = tx_begin(m, c, TX_WRITE, e)))
        rc = tx_end(
            m, c, TX_WRITE,
            part_set_checksum(c, bucket_id, key, upload_id, number, etag, mtime_ms, checksum, e),
            e);
    release(m, c);
    return rc;
}
