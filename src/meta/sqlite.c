/* The SQLite metadata store: one database file in WAL mode with synchronous=FULL,
 * shared by the server's threads through a small pool of connections, each with
 * its prepared statements cached. Every change that must be atomic (an object
 * version switch, a chunk going live with its copies, a GC mark) is one
 * BEGIN IMMEDIATE transaction, so the chunk life cycle in meta.h holds across
 * crashes and concurrent uploads.
 *
 * This file holds the schema and its migrations, the statement table, the
 * pool and transactions, open and close, and the ops table (meta_sqlite_ops)
 * meta_open("sqlite") hands out; the operations live one concept per file:
 * sqlite_user.c, sqlite_bucket.c, sqlite_stats.c (provider ids, counts),
 * sqlite_chunk.c (chunk life cycle, GC, repair), sqlite_object.c,
 * sqlite_header.c, sqlite_multipart.c, sqlite_completed.c. */
#include "meta/sqlite_int.h"

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
#define SCHEMA_VERSION 10     /* PRAGMA user_version of the newest schema */

/* Schema version 1. Notes:
 * - keys are TEXT compared with BINARY (memcmp) collation, so S3 byte order
 *   holds for any UTF-8 and the prefix listing is an index range scan;
 * - manifest rows are keyed by the chunk's start offset: sq_version_put enforces
 *   that chunks tile the object, so a ranged read seeks straight to its first
 *   chunk instead of scanning the whole manifest;
 * - manifest.chunk_id has no foreign key on purpose: refcount is what guards
 *   a referenced chunk (gc_mark only takes refcount 0, sq_version_put only takes
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

/* Schema version 4 (issue 9): a copy's state, so a copy is recorded PENDING
 * before its write is sent and LIVE once the provider confirmed it (the
 * collector deletes both; readers and repair count only LIVE ones), and the
 * start time of the request that wrote each version, so a write that started
 * before the current version was written never replaces it. Existing rows
 * are LIVE copies and versions of time 0. */
static const char schema_v4[] =
    "ALTER TABLE chunk_copies ADD COLUMN state INTEGER NOT NULL DEFAULT 1"
    " CHECK (state IN (0, 1));\n" /* 0 pending, 1 live */
    "ALTER TABLE objects ADD COLUMN started_ms INTEGER NOT NULL DEFAULT 0;\n";

/* Schema version 5: completed multipart uploads, kept META_COMPLETED_KEEP_MS
 * so a repeated CompleteMultipartUpload gets the first one's answer
 * (sqlite_completed.c). Rows name the object by bucket and key only: the
 * object may since have been replaced, as with S3. */
static const char schema_v5[] =
    "CREATE TABLE completed_uploads (\n"
    "    upload_id    TEXT PRIMARY KEY,\n"
    "    bucket_id    INTEGER NOT NULL,\n"
    "    key          TEXT NOT NULL COLLATE BINARY,\n"
    "    etag         TEXT NOT NULL,           -- the completed object's\n"
    "    completed_ms INTEGER NOT NULL\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX completed_by_age ON completed_uploads(completed_ms);\n";

/* Schema version 6 (issue 10): dispersal and storage classes.
 * - A chunk records how it is stored: ec_k/ec_m (0/0: whole copies; else K
 *   data + M parity fragments of the sealed chunk) and width, the pieces it
 *   should have (N copies or K+M fragments); 0 is a chunk written before
 *   version 6, replicated to the default placement's copies.
 * - A piece (chunk_copies row) records frag, its fragment index, or -1 for a
 *   whole copy; a chunk being re-encoded may hold both kinds. A piece's
 *   provider name is not stored: it is derived from the chunk's hash, frag
 *   and the naming key of the chunk's key_version (seal_name,
 *   seal_fragment_name), so the row says exactly what a provider holds.
 *   The primary key stays (chunk, provider): a provider holds at most one
 *   piece of a chunk, so losing one provider loses at most one fragment.
 * - Objects and uploads record their S3 storage class, buckets a default
 *   one; NULL is the server's default class. */
static const char schema_v6[] =
    "ALTER TABLE chunks ADD COLUMN ec_k INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE chunks ADD COLUMN ec_m INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE chunks ADD COLUMN width INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE chunk_copies ADD COLUMN frag INTEGER NOT NULL DEFAULT -1"
    " CHECK (frag BETWEEN -1 AND 255);\n"
    "ALTER TABLE objects ADD COLUMN storage_class TEXT;\n"
    "ALTER TABLE uploads ADD COLUMN storage_class TEXT;\n"
    "ALTER TABLE buckets ADD COLUMN storage_class TEXT;\n";

/* Schema version 7 (issue 11): the durable repair queue and small durable
 * settings (the scrub's cursor, drains). One queue item per chunk; gen
 * counts the times it was queued, so work taken before a new report never
 * removes that report (meta_repair_done of an older gen keeps the item). */
static const char schema_v7[] = "CREATE TABLE repair_queue (\n"
                                "    chunk_id       INTEGER PRIMARY KEY,\n"
                                "    reason         INTEGER NOT NULL,\n"
                                "    gen            INTEGER NOT NULL DEFAULT 1,\n"
                                "    attempts       INTEGER NOT NULL DEFAULT 0,\n"
                                "    queued_ms      INTEGER NOT NULL,\n"
                                "    not_before_ms  INTEGER NOT NULL,\n"
                                "    lease_until_ms INTEGER NOT NULL DEFAULT 0,\n"
                                "    last_error     TEXT\n"
                                ");\n"
                                "CREATE INDEX repair_due ON repair_queue(not_before_ms);\n"
                                "CREATE TABLE settings (\n"
                                "    key   TEXT PRIMARY KEY,\n"
                                "    value TEXT NOT NULL\n"
                                ") WITHOUT ROWID;\n";

/* Schema version 8 (issue 11): a provider's state (0 active, 1 draining, 2
 * removed) and, while it drains, what it held when the drain began. */
static const char schema_v8[] =
    "ALTER TABLE providers ADD COLUMN state INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE providers ADD COLUMN drain_started_ms INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE providers ADD COLUMN drain_pieces INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE providers ADD COLUMN drain_bytes INTEGER NOT NULL DEFAULT 0;\n"
    "CREATE INDEX chunk_copies_by_provider ON chunk_copies(provider_id, chunk_id);\n";

/* Schema version 9 (issue 11): names fsck found on a provider that no
 * record references (orphan candidates), since when, and whether one is
 * fenced: while fenced no write may record a piece under that name
 * (meta_chunk_copies_pending with names), which makes deleting an orphan
 * safe against an upload of the same content. */
static const char schema_v9[] = "CREATE TABLE orphans (\n"
                                "    provider_id   INTEGER NOT NULL,\n"
                                "    name          TEXT NOT NULL,\n"
                                "    size          INTEGER NOT NULL,\n"
                                "    first_seen_ms INTEGER NOT NULL,\n"
                                "    seen          INTEGER NOT NULL DEFAULT 1,\n"
                                "    fenced        INTEGER NOT NULL DEFAULT 0,\n"
                                "    PRIMARY KEY (provider_id, name)\n"
                                ") WITHOUT ROWID;\n";

/* Schema version 10 (issue 11): each provider's requests and egress by
 * month (UTC "YYYY-MM"), what its bill counts. */
static const char schema_v10[] = "CREATE TABLE provider_months (\n"
                                 "    provider_id  INTEGER NOT NULL,\n"
                                 "    month        TEXT NOT NULL,\n"
                                 "    puts         INTEGER NOT NULL DEFAULT 0,\n"
                                 "    gets         INTEGER NOT NULL DEFAULT 0,\n"
                                 "    egress_bytes INTEGER NOT NULL DEFAULT 0,\n"
                                 "    PRIMARY KEY (provider_id, month)\n"
                                 ") WITHOUT ROWID;\n";

/* migrations[v] moves a database from schema version v to v + 1. */
static const char *const migrations[SCHEMA_VERSION] = {schema_v1, schema_v2, schema_v3, schema_v4,
                                                       schema_v5, schema_v6, schema_v7, schema_v8,
                                                       schema_v9, schema_v10};

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
                     " refcount, touched_ms, ec_k, ec_m, width)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, 0, 0, ?6, ?7, ?8, ?9)",
    [ST_CHUNK_TOUCH] = "UPDATE chunks SET touched_ms = ?2 WHERE id = ?1",
    [ST_CHUNK_COPIES] =
        "SELECT provider_id, frag FROM chunk_copies WHERE chunk_id = ?1 AND state = 1"
        " ORDER BY provider_id",
    [ST_CHUNK_STATE] = "SELECT state FROM chunks WHERE id = ?1",
    [ST_CHUNK_LIVE] = "UPDATE chunks SET state = 1, touched_ms = ?2 WHERE id = ?1 AND state = 0",
    [ST_COPY_ADD] = "INSERT INTO chunk_copies(chunk_id, provider_id, state, frag)"
                    " VALUES (?1, ?2, 1, ?3) ON CONFLICT DO UPDATE SET state = 1, frag = ?3",
    /* A row already there for the same piece is fine (a take-over writes
     * the same bytes again); one for another piece of the chunk on that
     * provider changes nothing, and sqlite3_changes() 0 tells. */
    [ST_COPY_PENDING] = "INSERT INTO chunk_copies(chunk_id, provider_id, state, frag)"
                        " VALUES (?1, ?2, 0, ?3) ON CONFLICT DO UPDATE SET frag = frag"
                        " WHERE frag = excluded.frag",
    [ST_COPY_ANY] = "SELECT 1 FROM chunk_copies WHERE chunk_id = ?1 LIMIT 1",
    [ST_BUCKET_SET_CLASS] = "UPDATE buckets SET storage_class = ?2 WHERE name = ?1",
    [ST_COPY_SUSPECT] = "UPDATE chunk_copies SET state = 0"
                        " WHERE chunk_id = ?1 AND provider_id = ?2 AND frag = ?3 AND state = 1",
    [ST_COPY_PENDING_LIST] = "SELECT provider_id, frag FROM chunk_copies"
                             " WHERE chunk_id = ?1 AND state = 0 ORDER BY provider_id",
    /* A new report of a chunk already queued: gen + 1 (the worker holding
     * it keeps it), and due now unless it is backing off. */
    [ST_REPAIR_ENQUEUE] = "INSERT INTO repair_queue(chunk_id, reason, queued_ms, not_before_ms)"
                          " VALUES (?1, ?2, ?3, ?3) ON CONFLICT DO UPDATE SET gen = gen + 1",
    [ST_ORPHAN_FENCED] =
        "SELECT 1 FROM orphans WHERE provider_id = ?1 AND name = ?2 AND fenced = 1",
    [ST_COPY_FORGET] = "DELETE FROM chunk_copies"
                       " WHERE chunk_id = ?1 AND provider_id = ?2 AND state = 0",
    /* touched_ms 0 on a PENDING chunk: given up by its writer (see
     * meta_chunk_abandon); the collector takes it at once, a claim takes
     * it over. */
    [ST_CHUNK_GIVE_UP] = "UPDATE chunks SET touched_ms = 0 WHERE id = ?1 AND state = 0",
    [ST_CHUNK_TAKE_OVER] = "UPDATE chunks SET touched_ms = ?2, ec_k = ?3, ec_m = ?4, width = ?5"
                           " WHERE id = ?1 AND state = 0"
                           " AND touched_ms = 0",
    [ST_OBJ_STARTED] = "SELECT started_ms FROM objects WHERE bucket_id = ?1 AND key = ?2",
    [ST_CHUNK_DROP] = "DELETE FROM chunks WHERE id = ?1 AND state = ?2",
    [ST_CHUNK_REF] = "UPDATE chunks SET refcount = refcount + 1 WHERE id = ?1 AND state = 1"
                     " RETURNING plain_len",
    [ST_OBJ_FIND] = "SELECT id FROM objects WHERE bucket_id = ?1 AND key = ?2",
    /* SET expressions all see the sq_row before the update, so refcount = r.n
     * means "reaches 0". */
    [ST_OBJ_RELEASE] = "UPDATE chunks SET refcount = refcount - r.n,"
                       " touched_ms = CASE WHEN refcount = r.n THEN ?2 ELSE touched_ms END"
                       " FROM (SELECT chunk_id, count(*) AS n FROM manifest WHERE object_id = ?1"
                       " GROUP BY chunk_id) AS r WHERE chunks.id = r.chunk_id",
    [ST_OBJ_DEL] = "DELETE FROM objects WHERE id = ?1",
    [ST_OBJ_ADD] = "INSERT INTO objects(bucket_id, key, size, etag, content_type, headers,"
                   " mtime_ms, started_ms, storage_class)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [ST_MANIFEST_ADD] = "INSERT INTO manifest(object_id, start, chunk_id) VALUES (?1, ?2, ?3)",
    [ST_OBJ_GET] = "SELECT " OBJ_COLS " FROM objects WHERE bucket_id = ?1 AND key = ?2",
    /* The subquery finds the chunk holding byte ?2 by one seek (chunks tile
     * the object), so the primary key range (start >= it, start < ?3) holds
     * only the rows overlapping [?2, ?3): EXPLAIN QUERY PLAN shows "SEARCH m
     * USING PRIMARY KEY (object_id=? AND start>? AND start<?)". The exact
     * overlap test stays, for a manifest that does not tile. */
    [ST_EXTENTS] = "SELECT m.start, " CHUNK_COLS ", cc.provider_id, cc.frag FROM manifest AS m"
                   " JOIN chunks AS c ON c.id = m.chunk_id"
                   " LEFT JOIN chunk_copies AS cc ON cc.chunk_id = c.id AND cc.state = 1"
                   " WHERE m.object_id = ?1 AND m.start < ?3 AND m.start + c.plain_len > ?2"
                   " AND m.start >= coalesce((SELECT max(start) FROM manifest"
                   " WHERE object_id = ?1 AND start <= ?2), 0)"
                   " ORDER BY m.start, cc.provider_id",
    /* Ids are reused (INTEGER PRIMARY KEY: an overwrite of the newest row
     * gets its id back), so a version is the id and what identifies its bytes. */
    [ST_OBJ_VERSION] = "SELECT 1 FROM objects WHERE id = ?1 AND bucket_id = ?2 AND key = ?3"
                       " AND size = ?4 AND etag = ?5 AND mtime_ms = ?6",
    [ST_LIST_GE] = LIST_SQL(">=", ""),
    [ST_LIST_GT] = LIST_SQL(">", ""),
    [ST_LIST_GE_LT] = LIST_SQL(">=", " AND key < ?3"),
    [ST_LIST_GT_LT] = LIST_SQL(">", " AND key < ?3"),
    [ST_GC_COUNT] = "SELECT count(*) FROM chunks WHERE state = 2",
    [ST_GC_MARK] = "UPDATE chunks SET state = 2 WHERE id IN (SELECT id FROM chunks"
                   " WHERE refcount = 0 AND touched_ms < ?1 AND state <> 2"
                   " ORDER BY touched_ms LIMIT ?2)",
    [ST_GC_DELETING] = "SELECT " CHUNK_COLS ", cc.provider_id, cc.frag FROM chunks AS c"
                       " LEFT JOIN chunk_copies AS cc ON cc.chunk_id = c.id"
                       " WHERE c.state = 2 ORDER BY c.id, cc.provider_id",
    [ST_STATS] = "SELECT (SELECT count(*) FROM objects), (SELECT count(*) FROM chunks),"
                 " (SELECT coalesce(sum(refcount), 0) FROM chunks),"
                 " (SELECT coalesce(sum(size), 0) FROM objects),"
                 " (SELECT coalesce(sum(" PIECE_BYTES "), 0) FROM chunk_copies AS cc"
                 " JOIN chunks AS c ON c.id = cc.chunk_id),"
                 " (SELECT coalesce(sum(plain_len), 0) FROM chunks"
                 " WHERE id IN (SELECT chunk_id FROM manifest))",
    /* multipart */
    [ST_MP_UPLOAD_ADD] = "INSERT INTO uploads(upload_id, bucket_id, key, initiator, content_type,"
                         " headers, created_ms, storage_class)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
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

/* The cached statement id on c, prepared on first use. */
int sq_stmt(struct conn *c, enum st id, sqlite3_stmt **out, orc_err *e)
{
    if (!c->st[id]) {
        int rc =
            sqlite3_prepare_v3(c->db, sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->st[id], NULL);
        if (rc != SQLITE_OK) return sq_db_fail(c->db, rc, "prepare", e);
    }
    *out = c->st[id];
    return ORC_OK;
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
        int code = sq_db_fail(c->db, rc, what, e);
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
    if (rc != SQLITE_OK) return sq_db_fail(c->db, rc, q, e);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) *v = sqlite3_column_int64(s, 0);
    int ret = rc == SQLITE_ROW ? ORC_OK : sq_db_fail(c->db, rc, q, e);
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
        sq_copy_text(mode, sizeof(mode), s, 0);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW) return sq_db_fail(c->db, rc, "journal_mode", e);
    if (strcmp(mode, "wal") != 0)
        return orc_fail(e, ORC_EIO, "metadata database %s: cannot use WAL (journal mode %s)", path,
                        mode);

    int64_t v = 0;
    if ((rc = pragma_int(c, "PRAGMA user_version", &v, e))) return rc;
    if (v == SCHEMA_VERSION) return ORC_OK;
    if (v < 0 || v > SCHEMA_VERSION)
        return orc_fail(e, ORC_EINVAL,
                        "metadata database %s has schema version %" PRId64
                        ", newer than this orchard knows (%d): sq_run a newer orchard",
                        path, v, SCHEMA_VERSION);
    /* Re-read under the write lock: another process may be migrating too. */
    rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) return sq_db_fail(c->db, rc, "schema", e);
    if ((rc = pragma_int(c, "PRAGMA user_version", &v, e))) goto done;
    for (; v < SCHEMA_VERSION; v++) {
        char set[48];
        snprintf(set, sizeof(set), "PRAGMA user_version = %" PRId64, v + 1);
        int src = sqlite3_exec(c->db, migrations[v], NULL, NULL, NULL);
        if (src == SQLITE_OK) src = sqlite3_exec(c->db, set, NULL, NULL, NULL);
        if (src != SQLITE_OK) {
            rc = sq_db_fail(c->db, src, "schema migration", e);
            goto done;
        }
    }
    rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) rc = sq_db_fail(c->db, rc, "schema commit", e);
done:
    if (!sqlite3_get_autocommit(c->db)) sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int sq_acquire(meta *mm, struct conn **out, orc_err *e)
{
    struct sq_meta *m = (struct sq_meta *)mm;
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

void sq_release(meta *mm, struct conn *c)
{
    struct sq_meta *m = (struct sq_meta *)mm;
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
int sq_tx_begin(meta *mm, struct conn *c, int mode, orc_err *e)
{
    struct sq_meta *m = (struct sq_meta *)mm;
    sqlite3_stmt *s = NULL;
    int rc = ORC_OK;
    if (mode != TX_READ) pthread_mutex_lock(&m->wmu);
    if (mode != TX_READ && c->lazy != (mode == TX_WRITE_LAZY)) {
        c->lazy = mode == TX_WRITE_LAZY;
        if (sqlite3_exec(c->db,
                         c->lazy ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL",
                         NULL, NULL, NULL) != SQLITE_OK)
            rc = sq_db_fail(c->db, SQLITE_ERROR, "set synchronous", e);
    }
    if (!rc) rc = sq_stmt(c, mode == TX_READ ? ST_BEGIN : ST_BEGIN_WRITE, &s, e);
    if (!rc) rc = sq_run(c, s, "begin", e);
    if (rc && mode != TX_READ) pthread_mutex_unlock(&m->wmu);
    return rc;
}

/* Commits if rc is ORC_OK, else rolls back; returns the outcome. */
int sq_tx_end(meta *mm, struct conn *c, int mode, int rc, orc_err *e)
{
    struct sq_meta *m = (struct sq_meta *)mm;
    sqlite3_stmt *s = NULL;
    if (rc == ORC_OK) {
        reset_all(c);
        rc = sq_stmt(c, ST_COMMIT, &s, e);
        if (!rc) rc = sq_run(c, s, "commit", e);
    }
    if (rc != ORC_OK && !sqlite3_get_autocommit(c->db)) {
        reset_all(c);
        if (sq_stmt(c, ST_ROLLBACK, &s, NULL) == ORC_OK) sq_run(c, s, "rollback", NULL);
    }
    if (mode != TX_READ) pthread_mutex_unlock(&m->wmu);
    return rc;
}

/* meta_open_fn for "sqlite": the one key is "path". */
int meta_sqlite_open(const meta_kv *kv, size_t nkv, meta **out, orc_err *e)
{
    const char *path = NULL;
    for (size_t i = 0; i < nkv; i++) {
        if (strcmp(kv[i].key, "path") != 0)
            return orc_fail(e, ORC_EINVAL,
                            "metadata store sqlite: unknown key '%.32s' (known: path)", kv[i].key);
        path = kv[i].value;
    }
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
    struct sq_meta *m = orc_calloc(1, sizeof(*m));
    m->base.ops = &meta_sqlite_ops;
    m->path = orc_strdup(path);
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    pthread_mutex_init(&m->wmu, NULL);
    m->idle = c;
    m->nconns = 1;
    *out = &m->base;
    return ORC_OK;
}

/* Every connection must be back in the pool: no call may be running. */
static void sq_close(meta *mm)
{
    struct sq_meta *m = (struct sq_meta *)mm;
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

/* ---- the ops table: every op of meta_impl.h, in its order ---- */

const meta_ops meta_sqlite_ops = {
    .type = "sqlite",
    .close = sq_close,
    .provider_id = sq_provider_id,
    .user_add = sq_user_add,
    .user_by_key = sq_user_by_key,
    .user_by_name = sq_user_by_name,
    .user_by_id = sq_user_by_id,
    .user_list = sq_user_list,
    .user_remove = sq_user_remove,
    .user_set_secret = sq_user_set_secret,
    .bucket_create = sq_bucket_create,
    .bucket_get = sq_bucket_get,
    .bucket_delete = sq_bucket_delete,
    .bucket_set_class = sq_bucket_set_class,
    .bucket_list = sq_bucket_list,
    .chunk_claim = sq_chunk_claim,
    .chunk_commit = sq_chunk_commit,
    .chunk_copies_pending = sq_chunk_copies_pending,
    .chunk_abandon = sq_chunk_abandon,
    .object_put = sq_object_put,
    .object_get = sq_object_get,
    .object_extents = sq_object_extents,
    .object_delete = sq_object_delete,
    .object_list = sq_object_list,
    .object_copy = sq_object_copy,
    .object_set_header = sq_object_set_header,
    .gc_mark = sq_gc_mark,
    .gc_forget = sq_gc_forget,
    .stats_get = sq_stats_get,
    .provider_usage = sq_provider_usage,
    .under_replicated = sq_under_replicated,
    .redundancy_list = sq_redundancy_list,
    .repair_list = sq_repair_list,
    .chunk_add_copies = sq_chunk_add_copies,
    .chunk_copy_suspect = sq_chunk_copy_suspect,
    .chunk_pending_list = sq_chunk_pending_list,
    .chunk_copy_forget = sq_chunk_copy_forget,
    .usage_add = sq_usage_add,
    .usage_get = sq_usage_get,
    .provider_pieces = sq_provider_pieces,
    .orphans_update = sq_orphans_update,
    .orphans_due = sq_orphans_due,
    .orphans_fence = sq_orphans_fence,
    .provider_list = sq_provider_list,
    .provider_set_state = sq_provider_set_state,
    .provider_held = sq_provider_held,
    .drain_list = sq_drain_list,
    .chunk_move_piece = sq_chunk_move_piece,
    .chunk_get = sq_chunk_get,
    .repair_enqueue = sq_repair_enqueue,
    .repair_take = sq_repair_take,
    .repair_scan = sq_repair_scan,
    .repair_done = sq_repair_done,
    .repair_retry = sq_repair_retry,
    .repair_stats_get = sq_repair_stats_get,
    .chunk_list = sq_chunk_list,
    .setting_get = sq_setting_get,
    .setting_set = sq_setting_set,
    .upload_create = sq_upload_create,
    .upload_get = sq_upload_get,
    .part_put = sq_part_put,
    .part_list = sq_part_list,
    .upload_complete = sq_upload_complete,
    .upload_completed = sq_upload_completed,
    .upload_abort = sq_upload_abort,
    .upload_list = sq_upload_list,
    .upload_expire = sq_upload_expire,
    .object_part = sq_object_part,
    .part_set_checksum = sq_part_set_checksum,
};
