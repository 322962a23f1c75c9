/* The SQLite metadata store, objects: versions and their manifests (the
 * switch that takes the new version's chunk references and releases the old
 * one's), ranged manifest reads, listing and CopyObject (sqlite_header.c edits
 * a version's stored headers; chunks and the collector are sqlite_chunk.c).
 * See sqlite.c for the pool and transactions, sqlite_int.h for what is shared. */
#include "meta/sqlite_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/hex.h"
#include "util/time.h"

/* ---- objects ---- */

int sq_check_object_new(const meta_object_new *o, orc_err *e)
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
    int rc = sq_stmt(c, ST_OBJ_FIND, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, bucket_id) || sq_bind_text(s, 2, key))
        return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = sq_row(c, s, "object lookup", e)) == 1) {
        *id = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
    }
    return rc;
}

/* Releases the references of object id's manifest, then deletes it. */
static int object_drop(struct conn *c, int64_t id, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, ST_OBJ_RELEASE, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, id) || sqlite3_bind_int64(s, 2, orc_now_ms()))
        return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = sq_run(c, s, "sq_release references", e))) return rc;
    if ((rc = sq_stmt(c, ST_OBJ_DEL, &s, e))) return rc;
    if (sqlite3_bind_int64(s, 1, id)) return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    return sq_run(c, s, "object delete", e);
}

/* Takes a reference on each chunk (which must be LIVE) and writes the
 * manifest, checking that the chunks tile [0, size). */
static int manifest_add(struct conn *c, int64_t obj, const meta_object_new *o, orc_err *e)
{
    sqlite3_stmt *ref = NULL, *add = NULL;
    uint64_t end = 0;
    int rc = sq_stmt(c, ST_CHUNK_REF, &ref, e);
    if (!rc) rc = sq_stmt(c, ST_MANIFEST_ADD, &add, e);
    if (rc) return rc;
    for (size_t i = 0; i < o->nchunks; i++) {
        int64_t id = o->chunk_ids[i];
        if (o->offsets[i] != end)
            return orc_fail(e, ORC_EINVAL,
                            "object %s: chunk %zu starts at %" PRIu64 ", expected %" PRIu64, o->key,
                            i, o->offsets[i], end);
        if (sqlite3_bind_int64(ref, 1, id)) return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
        if ((rc = sq_row(c, ref, "chunk reference", e)) < 0) return rc;
        if (rc == 0) {
            /* Collected while the upload ran: the caller uploads again. */
            rc = sq_not_in_state(c, id, META_CHUNK_LIVE, e);
            if (rc != ORC_ENOTFOUND) return rc;
            return orc_fail(e, ORC_ECONFLICT,
                            "chunk %" PRId64 " was collected while the upload ran: upload again",
                            id);
        }
        end += (uint64_t)sqlite3_column_int64(ref, 0);
        sqlite3_reset(ref); /* RETURNING: the update is done at the first step */
        if (sqlite3_bind_int64(add, 1, obj) || sqlite3_bind_int64(add, 2, (int64_t)o->offsets[i]) ||
            sqlite3_bind_int64(add, 3, id))
            return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
        if ((rc = sq_run(c, add, "manifest insert", e))) return rc;
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
    int rc = sq_stmt(c, ST_OBJ_GET, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, bucket_id) || sq_bind_text(s, 2, key))
        return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = sq_row(c, s, "object lookup", e)) < 0) return rc;
    bool exists = rc == 1;
    if (exists) sq_copy_text(etag, sizeof(etag), s, 4); /* OBJ_COLS: etag is column 4 */
    sqlite3_reset(s);
    if (cond->kind == META_PUT_IF_ABSENT && exists)
        return orc_fail_detail(e, ORC_ECONFLICT, ORC_D_PRECONDITION,
                               "PreconditionFailed: object %s exists", key);
    if (cond->kind == META_PUT_IF_MATCH && (!exists || strcmp(etag, cond->etag) != 0))
        return orc_fail_detail(e, ORC_ECONFLICT, ORC_D_PRECONDITION,
                               "PreconditionFailed: object %s %s", key,
                               exists ? "has another ETag" : "does not exist");
    if (cond->kind == META_PUT_IF_EXISTS && !exists)
        return orc_fail_detail(e, ORC_ECONFLICT, ORC_D_PRECONDITION,
                               "PreconditionFailed: object %s does not exist", key);
    if (cond->kind == META_PUT_IF_NONE_MATCH && exists && strcmp(etag, cond->etag) == 0)
        return orc_fail_detail(e, ORC_ECONFLICT, ORC_D_PRECONDITION,
                               "PreconditionFailed: object %s has that ETag", key);
    return ORC_OK;
}

/* 1 when the current version of (bucket, key) was written by a request that
 * started after start_ms (so a write started at start_ms is superseded), 0
 * when not or there is none, or an error. Equal times: the later commit wins. */
int sq_superseded(struct conn *c, int64_t bucket_id, const char *key, int64_t start_ms, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, ST_OBJ_STARTED, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, bucket_id) || sq_bind_text(s, 2, key))
        return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = sq_row(c, s, "object lookup", e)) != 1) return rc;
    int64_t cur = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return cur > start_ms;
}

int sq_version_put(struct conn *c, int64_t bucket_id, const meta_object_new *o, int64_t *id,
                   orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int64_t old = 0, start = o->start_ms ? o->start_ms : orc_now_ms();
    int rc = sq_stmt(c, ST_BUCKET_EXISTS, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, bucket_id)) return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = sq_row(c, s, "bucket lookup", e)) < 0) return rc;
    if (rc == 0) return orc_fail(e, ORC_ENOTFOUND, "no bucket with id %" PRId64, bucket_id);
    sqlite3_reset(s);
    if ((rc = put_cond_check(c, bucket_id, o->key, &o->cond, e))) return rc;
    /* S3's "latest timestamp wins": a write that started before the current
     * version's changes nothing (its chunks stay unreferenced). */
    if ((rc = sq_superseded(c, bucket_id, o->key, start, e)) < 0) return rc;
    if (rc == 1) {
        if (id) *id = 0;
        return ORC_OK;
    }

    /* The old version goes first: (bucket, key) is unique. Its chunks may
     * drop to 0 here and come back up below if the new version shares them;
     * all of it commits or none. */
    if ((rc = object_find(c, bucket_id, o->key, &old, e)) < 0) return rc;
    if (rc == 1 && (rc = object_drop(c, old, e))) return rc;

    if ((rc = sq_stmt(c, ST_OBJ_ADD, &s, e))) return rc;
    if (sqlite3_bind_int64(s, 1, bucket_id) || sq_bind_text(s, 2, o->key) ||
        sqlite3_bind_int64(s, 3, (int64_t)o->size) || sq_bind_text(s, 4, o->etag) ||
        sq_bind_text(s, 5, o->content_type) || sq_bind_text(s, 6, o->headers) ||
        sqlite3_bind_int64(s, 7, o->mtime_ms) || sqlite3_bind_int64(s, 8, start) ||
        sq_bind_text(s, 9, o->storage_class && *o->storage_class ? o->storage_class : NULL))
        return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = sq_run(c, s, "object insert", e))) return rc;
    int64_t obj = sqlite3_last_insert_rowid(c->db);
    if ((rc = manifest_add(c, obj, o, e))) return rc;
    if (id) *id = obj;
    return ORC_OK;
}

int sq_object_put(meta *m, int64_t bucket_id, const meta_object_new *o, int64_t *id, orc_err *e)
{
    int rc = sq_check_object_new(o, e);
    if (rc) return rc;
    struct conn *c;
    if ((rc = sq_acquire(m, &c, e))) return rc;
    if (!(rc = sq_tx_begin(m, c, TX_WRITE, e)))
        rc = sq_tx_end(m, c, TX_WRITE, sq_version_put(c, bucket_id, o, id, e), e);
    sq_release(m, c);
    return rc;
}

static void read_object(sqlite3_stmt *s, meta_object *o)
{
    memset(o, 0, sizeof(*o));
    o->id = sqlite3_column_int64(s, 0);
    o->bucket_id = sqlite3_column_int64(s, 1);
    o->key = sq_dup_text(s, 2);
    if (!o->key) o->key = orc_strdup("");
    o->size = (uint64_t)sqlite3_column_int64(s, 3);
    sq_copy_text(o->etag, sizeof(o->etag), s, 4);
    o->content_type = sq_dup_text(s, 5);
    o->headers = sq_dup_text(s, 6);
    o->mtime_ms = sqlite3_column_int64(s, 7);
    sq_copy_text(o->storage_class, sizeof(o->storage_class), s, 8);
}

/* The extents of object obj overlapping [from, to), each with its copies. */
static int extents_get(struct conn *c, int64_t obj, uint64_t from, uint64_t to, meta_extent **out,
                       size_t *n, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    meta_extent *v = NULL;
    size_t len = 0, cap = 0;
    int rc = sq_stmt(c, ST_EXTENTS, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, obj) || sqlite3_bind_int64(s, 2, sq_clamp64(from)) ||
        sqlite3_bind_int64(s, 3, sq_clamp64(to)))
        return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    /* One sq_row per (extent, copy), ordered by start: group them. */
    while ((rc = sq_row(c, s, "object extents", e)) == 1) {
        uint64_t start = (uint64_t)sqlite3_column_int64(s, 0);
        if (len == 0 || v[len - 1].offset != start) {
            if (len == cap) v = orc_realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
            v[len].offset = start;
            sq_read_chunk(s, 1, &v[len].chunk);
            len++;
        }
        sq_add_copy(s, 1 + CHUNK_NCOLS, &v[len - 1].chunk);
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
    int rc = sq_stmt(c, ST_OBJ_GET, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, bucket_id) || sq_bind_text(s, 2, key))
        return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = sq_row(c, s, "object lookup", e)) < 0) return rc;
    if (rc == 0) return orc_fail(e, ORC_ENOTFOUND, "no object %s", key);
    read_object(s, out);
    sqlite3_reset(s);
    if (!want_extents) return ORC_OK;
    if ((rc = extents_get(c, out->id, from, to, ext, next, e))) meta_object_dispose(out);
    return rc;
}

int sq_object_get(meta *m, int64_t bucket_id, const char *key, bool want_extents, uint64_t from,
                  uint64_t to, meta_object *out, meta_extent **ext, size_t *next, orc_err *e)
{
    memset(out, 0, sizeof(*out));
    if (ext) *ext = NULL;
    if (next) *next = 0;
    if (!key) return orc_fail(e, ORC_EINVAL, "object key is missing");
    if (want_extents && (!ext || !next))
        return orc_fail(e, ORC_EINVAL, "object %s: extents asked for without room", key);
    struct conn *c;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if (!want_extents) {
        rc = object_get(c, bucket_id, key, false, 0, 0, out, NULL, NULL, e);
    } else if (!(rc = sq_tx_begin(m, c, TX_READ, e))) {
        /* One read transaction: the object sq_row and its manifest are one snapshot. */
        rc = object_get(c, bucket_id, key, true, from, to, out, ext, next, e);
        int end = sq_tx_end(m, c, TX_READ, rc, e);
        if (!rc && end) { /* do not hand out a result whose snapshot failed */
            meta_object_dispose(out);
            free(*ext);
            *ext = NULL;
            *next = 0;
            rc = end;
        }
    }
    sq_release(m, c);
    return rc;
}

/* 1 if the row v->id still holds version v, 0 if not, or an error. */
static int version_stored(struct conn *c, const meta_object *v, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, ST_OBJ_VERSION, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, v->id) || sqlite3_bind_int64(s, 2, v->bucket_id) ||
        sq_bind_text(s, 3, v->key) || sqlite3_bind_int64(s, 4, sq_clamp64(v->size)) ||
        sq_bind_text(s, 5, v->etag) || sqlite3_bind_int64(s, 6, v->mtime_ms))
        return sq_bind_fail(c, e);
    if ((rc = sq_row(c, s, "object version", e)) == 1) sqlite3_reset(s);
    return rc;
}

int sq_object_extents(meta *m, const meta_object *v, uint64_t from, uint64_t to, meta_extent **ext,
                      size_t *next, orc_err *e)
{
    *ext = NULL;
    *next = 0;
    if (!v || !v->key) return orc_fail(e, ORC_EINVAL, "object version is missing");
    struct conn *c;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if (!(rc = sq_tx_begin(m, c, TX_READ, e))) {
        /* The check and the manifest are one snapshot: a version switch
         * commits either before both or after both. */
        rc = version_stored(c, v, e);
        if (rc == 0)
            rc = orc_fail(e, ORC_ECONFLICT, "object %.200s changed while it was read", v->key);
        else if (rc == 1)
            rc = extents_get(c, v->id, from, to, ext, next, e);
        int end = sq_tx_end(m, c, TX_READ, rc, e);
        if (!rc && end) {
            free(*ext);
            *ext = NULL;
            *next = 0;
            rc = end;
        }
    }
    sq_release(m, c);
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

int sq_object_delete(meta *m, int64_t bucket_id, const char *key, orc_err *e)
{
    if (!key) return orc_fail(e, ORC_EINVAL, "object key is missing");
    struct conn *c;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if (!(rc = sq_tx_begin(m, c, TX_WRITE, e)))
        rc = sq_tx_end(m, c, TX_WRITE, object_delete(c, bucket_id, key, e), e);
    sq_release(m, c);
    return rc;
}

int sq_object_list(meta *m, int64_t bucket_id, const char *prefix, const char *from,
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
    bool bounded = sq_prefix_successor(prefix, upper, sizeof(upper));
    enum st q =
        inclusive ? (bounded ? ST_LIST_GE_LT : ST_LIST_GE) : (bounded ? ST_LIST_GT_LT : ST_LIST_GT);

    struct conn *c;
    sqlite3_stmt *s = NULL;
    meta_object *v = NULL;
    size_t len = 0, cap = 0;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = sq_stmt(c, q, &s, e))) goto done;
    if (sqlite3_bind_int64(s, 1, bucket_id) || sq_bind_text(s, 2, lower) ||
        (bounded && sq_bind_text(s, 3, upper)) || sqlite3_bind_int64(s, 4, sq_clamp64(limit))) {
        rc = sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
        goto done;
    }
    while ((rc = sq_row(c, s, "object list", e)) == 1) {
        if (len == cap) v = orc_realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
        read_object(s, &v[len++]);
    }
done:
    sq_release(m, c);
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

/* ---- copy (CopyObject): a new manifest over the same chunks ---- */

/* Copies are rarer than PUTs: their statements are prepared per call, which
 * keeps them out of the shared statement table. Binds ?1 = a and, if the
 * statement has it, ?2 = b. */
static int run_once(struct conn *c, const char *q, int64_t a, int64_t b, const char *what,
                    orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(c->db, q, -1, &s, NULL);
    if (rc != SQLITE_OK) return sq_db_fail(c->db, rc, what, e);
    if (sqlite3_bind_int64(s, 1, a) ||
        (sqlite3_bind_parameter_count(s) > 1 && sqlite3_bind_int64(s, 2, b))) {
        sqlite3_finalize(s);
        return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    }
    rc = sqlite3_step(s);
    int ret = rc == SQLITE_DONE ? ORC_OK : sq_db_fail(c->db, rc, what, e);
    sqlite3_finalize(s);
    return ret;
}

/* Copying onto itself: only the metadata and the time change. */
static int copy_in_place(struct conn *c, int64_t id, const char *ct, const char *hd, const char *sc,
                         int64_t mtime_ms, int64_t start_ms, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(
        c->db,
        "UPDATE objects SET content_type = ?2, headers = ?3, mtime_ms = ?4, started_ms = ?5,"
        " storage_class = ?6 WHERE id = ?1",
        -1, &s, NULL);
    if (rc != SQLITE_OK) return sq_db_fail(c->db, rc, "object update", e);
    if (sqlite3_bind_int64(s, 1, id) || sq_bind_text(s, 2, ct) || sq_bind_text(s, 3, hd) ||
        sqlite3_bind_int64(s, 4, mtime_ms) || sqlite3_bind_int64(s, 5, start_ms) ||
        sq_bind_text(s, 6, sc && *sc ? sc : NULL))
        rc = sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    else if ((rc = sqlite3_step(s)) != SQLITE_DONE)
        rc = sq_db_fail(c->db, rc, "object update", e);
    else
        rc = ORC_OK;
    sqlite3_finalize(s);
    return rc;
}

/* Inserts the destination sq_row and its manifest (the source's rows), taking a
 * reference per manifest sq_row; returns the new id in *id. */
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
    if ((rc = sq_stmt(c, ST_OBJ_ADD, &s, e))) return rc;
    if (sqlite3_bind_int64(s, 1, a->dst_bucket) || sq_bind_text(s, 2, a->dst_key) ||
        sqlite3_bind_int64(s, 3, (int64_t)src->size) || sq_bind_text(s, 4, src->etag) ||
        sq_bind_text(s, 5, ct) || sq_bind_text(s, 6, hd) || sqlite3_bind_int64(s, 7, a->mtime_ms) ||
        sqlite3_bind_int64(s, 8, a->start_ms ? a->start_ms : orc_now_ms()) ||
        sq_bind_text(s, 9, a->storage_class && *a->storage_class ? a->storage_class : NULL))
        return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = sq_run(c, s, "object insert", e))) return rc;
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
        return orc_fail_detail(e, ORC_ECONFLICT, ORC_D_SOURCE_CHANGED,
                               "PreconditionFailed: copy source %s changed", a->src_key);
    if ((rc = sq_stmt(c, ST_BUCKET_EXISTS, &s, e))) return rc;
    if (sqlite3_bind_int64(s, 1, a->dst_bucket)) return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = sq_row(c, s, "bucket lookup", e)) < 0) return rc;
    if (rc == 0) return orc_fail(e, ORC_ENOTFOUND, "no bucket with id %" PRId64, a->dst_bucket);
    sqlite3_reset(s);
    if ((rc = put_cond_check(c, a->dst_bucket, a->dst_key, &a->cond, e))) return rc;
    int64_t start = a->start_ms ? a->start_ms : orc_now_ms();
    if ((rc = sq_superseded(c, a->dst_bucket, a->dst_key, start, e)) < 0) return rc;
    if (rc == 1) { /* latest start wins: nothing changes, *out is the source */
        out->id = 0;
        out->mtime_ms = a->mtime_ms;
        snprintf(out->storage_class, sizeof(out->storage_class), "%s",
                 a->storage_class ? a->storage_class : "");
        return ORC_OK;
    }

    if (a->replace_meta) {
        free(out->content_type);
        free(out->headers);
        out->content_type = a->content_type ? orc_strdup(a->content_type) : NULL;
        out->headers = a->headers ? orc_strdup(a->headers) : NULL;
    }
    int64_t id = out->id;
    if (a->src_bucket == a->dst_bucket && strcmp(a->src_key, a->dst_key) == 0)
        rc = copy_in_place(c, id, out->content_type, out->headers, a->storage_class, a->mtime_ms,
                           start, e);
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

int sq_object_copy(meta *m, const meta_object_copy_args *a, meta_object *out, orc_err *e)
{
    memset(out, 0, sizeof(*out));
    if (!a->src_key || !a->dst_key || !*a->dst_key || strlen(a->dst_key) > META_KEY_MAX)
        return orc_fail(e, ORC_EINVAL, "object key must be 1 to %d bytes", META_KEY_MAX);
    struct conn *c;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if (!(rc = sq_tx_begin(m, c, TX_WRITE, e)))
        rc = sq_tx_end(m, c, TX_WRITE, object_copy(c, a, out, e), e);
    sq_release(m, c);
    if (rc) meta_object_dispose(out);
    return rc;
}
