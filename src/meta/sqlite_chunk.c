/* The SQLite metadata store, chunks: the life cycle of meta.h (claim, commit,
 * abandon, pending copies), the collector's mark and forget, and the repair
 * bookkeeping (which chunks lack copies, recording new ones). Object versions
 * take and release the references (sqlite_object.c). See sqlite.c for the
 * pool and transactions, sqlite_int.h for what the files share. */
#include "meta/sqlite_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/hex.h"
#include "util/time.h"

/* ---- chunks ---- */

/* Fills *k (no copies) from CHUNK_COLS starting at column col. */
void sq_read_chunk(sqlite3_stmt *s, int col, meta_chunk *k)
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
    k->layout.ec_k = (uint8_t)sqlite3_column_int(s, col + 7);
    k->layout.ec_m = (uint8_t)sqlite3_column_int(s, col + 8);
    k->layout.width = (uint8_t)sqlite3_column_int(s, col + 9);
}

/* Adds the piece in columns col (provider id) and col + 1 (frag), if any,
 * to k's copies. */
void sq_add_copy(sqlite3_stmt *s, int col, meta_chunk *k)
{
    if (sqlite3_column_type(s, col) == SQLITE_NULL || k->ncopies >= META_MAX_COPIES) return;
    k->copies[k->ncopies] = (uint32_t)sqlite3_column_int64(s, col);
    k->frags[k->ncopies++] = (int16_t)sqlite3_column_int(s, col + 1);
}

/* Binds a layout (NULL: whole copies, width 0) to parameters first.. first + 2. */
static int bind_layout(sqlite3_stmt *s, int first, const meta_layout *lay)
{
    meta_layout none = {0, 0, 0};
    if (!lay) lay = &none;
    return sqlite3_bind_int(s, first, lay->ec_k) || sqlite3_bind_int(s, first + 1, lay->ec_m) ||
           sqlite3_bind_int(s, first + 2, lay->width);
}

static int frag_of(const int16_t *frags, int i)
{
    return frags ? frags[i] : META_WHOLE;
}

static int load_copies(struct conn *c, meta_chunk *k, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, ST_CHUNK_COPIES, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, k->id)) return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    k->ncopies = 0;
    while ((rc = sq_row(c, s, "chunk copies", e)) == 1)
        sq_add_copy(s, 0, k);
    return rc;
}

/* k's PENDING pieces into its copies (a taken-over chunk's leftovers). */
static int load_pending(struct conn *c, meta_chunk *k, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, ST_COPY_PENDING_LIST, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, k->id)) return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    k->ncopies = 0;
    while ((rc = sq_row(c, s, "pending copies", e)) == 1)
        sq_add_copy(s, 0, k);
    return rc;
}

/* Explains why chunk id is not in the state `want`. */
int sq_not_in_state(struct conn *c, int64_t id, int want, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, ST_CHUNK_STATE, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, id)) return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = sq_row(c, s, "chunk state", e)) < 0) return rc;
    if (rc == 0) return orc_fail(e, ORC_ENOTFOUND, "chunk %" PRId64 " does not exist", id);
    int state = sqlite3_column_int(s, 0);
    sqlite3_reset(s);
    return orc_fail(e, ORC_ECONFLICT, "chunk %" PRId64 " is %s, not %s", id, sq_state_name(state),
                    sq_state_name(want));
}

static int chunk_claim(struct conn *c, const uint8_t hash[32], uint32_t plain_len,
                       uint32_t sealed_len, uint8_t format, uint32_t key_version,
                       const meta_layout *lay, meta_chunk *out, bool *is_new, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int64_t now = orc_now_ms();
    int rc = sq_stmt(c, ST_CHUNK_BY_HASH, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC))
        return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = sq_row(c, s, "chunk lookup", e)) < 0) return rc;
    if (rc == 1) {
        sq_read_chunk(s, 0, out);
        sqlite3_reset(s);
        if (out->state == META_CHUNK_PENDING) { /* given up by its writer? */
            if ((rc = sq_stmt(c, ST_CHUNK_TAKE_OVER, &s, e))) return rc;
            if (sqlite3_bind_int64(s, 1, out->id) || sqlite3_bind_int64(s, 2, now) ||
                bind_layout(s, 3, lay))
                return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
            if ((rc = sq_run(c, s, "chunk take over", e))) return rc;
            if (sqlite3_changes(c->db) == 1) { /* ours now; its pending copies stay */
                out->layout = lay ? *lay : (meta_layout){0, 0, 0};
                *is_new = true;
                return load_pending(c, out, e);
            }
        }
        if (out->state != META_CHUNK_LIVE) {
            char hex[17];
            hex_encode(hash, 8, hex);
            return orc_fail(e, ORC_EBUSY, "chunk %s... is %s; retry shortly", hex,
                            sq_state_name(out->state));
        }
        *is_new = false;
        if ((rc = sq_stmt(c, ST_CHUNK_TOUCH, &s, e))) return rc;
        if (sqlite3_bind_int64(s, 1, out->id) || sqlite3_bind_int64(s, 2, now))
            return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
        if ((rc = sq_run(c, s, "chunk touch", e))) return rc;
        return load_copies(c, out, e);
    }
    if ((rc = sq_stmt(c, ST_CHUNK_ADD, &s, e))) return rc;
    if (sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC) || sqlite3_bind_int64(s, 2, plain_len) ||
        sqlite3_bind_int64(s, 3, sealed_len) || sqlite3_bind_int(s, 4, format) ||
        sqlite3_bind_int64(s, 5, key_version) || sqlite3_bind_int64(s, 6, now) ||
        bind_layout(s, 7, lay))
        return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = sq_run(c, s, "chunk insert", e))) return rc;
    memset(out, 0, sizeof(*out));
    out->id = sqlite3_last_insert_rowid(c->db);
    memcpy(out->hash, hash, sizeof(out->hash));
    out->plain_len = plain_len;
    out->sealed_len = sealed_len;
    out->format = format;
    out->key_version = key_version;
    out->state = META_CHUNK_PENDING;
    if (lay) out->layout = *lay;
    *is_new = true;
    return ORC_OK;
}

int sq_chunk_claim(meta *m, const uint8_t hash[32], uint32_t plain_len, uint32_t sealed_len,
                   uint8_t format, uint32_t key_version, const meta_layout *lay, meta_chunk *out,
                   bool *is_new, orc_err *e)
{
    if (lay && (lay->width < 1 || lay->width > META_MAX_COPIES ||
                (lay->ec_k && lay->ec_k + lay->ec_m != lay->width)))
        return orc_fail(e, ORC_EINVAL, "chunk layout k=%d m=%d width=%d is not valid", lay->ec_k,
                        lay->ec_m, lay->width);
    struct conn *c;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if (!(rc = sq_tx_begin(m, c, TX_WRITE_LAZY, e))) {
        rc = chunk_claim(c, hash, plain_len, sealed_len, format, key_version, lay, out, is_new, e);
        rc = sq_tx_end(m, c, TX_WRITE_LAZY, rc, e);
    }
    sq_release(m, c);
    return rc;
}

/* Queuing a chunk for repair inside the caller's write transaction: here,
 * with the chunk life cycle that reports it (sqlite_repair.c owns the queue). */
int sq_repair_queue(struct conn *c, int64_t chunk_id, int reason, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, ST_REPAIR_ENQUEUE, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, chunk_id) || sqlite3_bind_int(s, 2, reason) ||
        sqlite3_bind_int64(s, 3, orc_now_ms()))
        return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    return sq_run(c, s, "repair enqueue", e);
}

int sq_repair_queue_short(struct conn *c, int64_t chunk_id, int n, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = ORC_OK;
    if (sqlite3_prepare_v2(c->db,
                           "INSERT INTO repair_queue(chunk_id, reason, queued_ms, not_before_ms)"
                           " SELECT id, 1, ?3, ?4 FROM chunks WHERE id = ?1 AND width > ?2"
                           " ON CONFLICT DO UPDATE SET gen = gen + 1",
                           -1, &s, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(s, 1, chunk_id) || sqlite3_bind_int(s, 2, n) ||
        sqlite3_bind_int64(s, 3, orc_now_ms()) ||
        sqlite3_bind_int64(s, 4, orc_now_ms() + META_REPAIR_SHORT_DELAY_MS))
        rc = sq_db_fail(c->db, sqlite3_errcode(c->db), "repair enqueue", e);
    else
        rc = sq_run(c, s, "repair enqueue", e);
    sqlite3_finalize(s);
    return rc;
}

static int chunk_commit(struct conn *c, int64_t chunk_id, const uint32_t *providers,
                        const int16_t *frags, int n, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, ST_CHUNK_LIVE, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, chunk_id) || sqlite3_bind_int64(s, 2, orc_now_ms()))
        return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = sq_run(c, s, "chunk commit", e))) return rc;
    if (sqlite3_changes(c->db) == 0) return sq_not_in_state(c, chunk_id, META_CHUNK_PENDING, e);
    if ((rc = sq_stmt(c, ST_COPY_ADD, &s, e))) return rc;
    for (int i = 0; i < n; i++) {
        if (sqlite3_bind_int64(s, 1, chunk_id) || sqlite3_bind_int64(s, 2, providers[i]) ||
            sqlite3_bind_int(s, 3, frag_of(frags, i)))
            return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
        if ((rc = sq_run(c, s, "chunk copy", e)) == ORC_ECONFLICT)
            return orc_fail(e, ORC_EINVAL, "chunk %" PRId64 ": unknown provider id %" PRIu32,
                            chunk_id, providers[i]);
        if (rc) return rc;
    }
    return sq_repair_queue_short(c, chunk_id, n, e); /* a write below its quorum */
}

int sq_chunk_commit(meta *m, int64_t chunk_id, const uint32_t *providers, const int16_t *frags,
                    int n, orc_err *e)
{
    /* A live chunk without copies would be reused by dedup and unreadable. */
    if (n < 1 || n > META_MAX_COPIES || !providers)
        return orc_fail(e, ORC_EINVAL, "chunk %" PRId64 ": %d copies; need 1 to %d", chunk_id, n,
                        META_MAX_COPIES);
    struct conn *c;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if (!(rc = sq_tx_begin(m, c, TX_WRITE_LAZY, e)))
        rc = sq_tx_end(m, c, TX_WRITE_LAZY, chunk_commit(c, chunk_id, providers, frags, n, e), e);
    sq_release(m, c);
    return rc;
}

/* Deletes chunk id if it is in state (its copies cascade). */
static int chunk_drop(struct conn *c, int64_t id, int state, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, ST_CHUNK_DROP, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, id) || sqlite3_bind_int(s, 2, state))
        return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = sq_run(c, s, "chunk delete", e))) return rc;
    return sqlite3_changes(c->db) ? ORC_OK : sq_not_in_state(c, id, state, e);
}

static int chunk_drop_tx(meta *m, int64_t id, int state, orc_err *e)
{
    struct conn *c;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if (!(rc = sq_tx_begin(m, c, TX_WRITE_LAZY, e)))
        rc = sq_tx_end(m, c, TX_WRITE_LAZY, chunk_drop(c, id, state, e), e);
    sq_release(m, c);
    return rc;
}

/* A PENDING chunk with copies recorded may have bytes on those providers
 * (a write that timed out can still land): it is not forgotten but left
 * PENDING with touched_ms 0, which the collector takes at its next pass
 * (deleting those copies) and a claim of the same content takes over: it
 * writes the same bytes under the same name (content-derived), so the old
 * pending rows stay true. */
static int chunk_abandon(struct conn *c, int64_t id, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, ST_COPY_ANY, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, id)) return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = sq_row(c, s, "chunk copies", e)) < 0) return rc;
    sqlite3_reset(s);
    if (rc == 0) return chunk_drop(c, id, META_CHUNK_PENDING, e);
    if ((rc = sq_stmt(c, ST_CHUNK_GIVE_UP, &s, e))) return rc;
    if (sqlite3_bind_int64(s, 1, id)) return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = sq_run(c, s, "chunk abandon", e))) return rc;
    return sqlite3_changes(c->db) ? ORC_OK : sq_not_in_state(c, id, META_CHUNK_PENDING, e);
}

int sq_chunk_abandon(meta *m, int64_t chunk_id, orc_err *e)
{
    struct conn *c;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if (!(rc = sq_tx_begin(m, c, TX_WRITE_LAZY, e)))
        rc = sq_tx_end(m, c, TX_WRITE_LAZY, chunk_abandon(c, chunk_id, e), e);
    sq_release(m, c);
    return rc;
}

/* ORC_EBUSY if fsck fenced provider's name to delete it as an orphan. */
static int not_fenced(struct conn *c, uint32_t provider, const char *name, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, ST_ORPHAN_FENCED, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, provider) || sq_bind_text(s, 2, name))
        return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = sq_row(c, s, "orphan fence", e)) < 0) return rc;
    if (rc == 0) return ORC_OK;
    sqlite3_reset(s);
    return orc_fail(e, ORC_EBUSY,
                    "provider %" PRIu32 ": an orphan under this chunk's name is being deleted; "
                    "retry shortly",
                    provider);
}

static int copies_pending(struct conn *c, int64_t chunk_id, const uint32_t *providers,
                          const int16_t *frags, const char *const *names, int n, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = ORC_OK;
    for (int i = 0; names && !rc && i < n; i++)
        rc = not_fenced(c, providers[i], names[i], e);
    if (!rc) rc = sq_stmt(c, ST_COPY_PENDING, &s, e);
    for (int i = 0; !rc && i < n; i++) {
        if (sqlite3_bind_int64(s, 1, chunk_id) || sqlite3_bind_int64(s, 2, providers[i]) ||
            sqlite3_bind_int(s, 3, frag_of(frags, i)))
            return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
        if ((rc = sq_run(c, s, "pending copy", e)) == ORC_ECONFLICT)
            return orc_fail(e, ORC_ENOTFOUND,
                            "chunk %" PRId64 " or provider %" PRIu32 " does not exist", chunk_id,
                            providers[i]);
        /* The provider may hold another piece of this chunk already (a
         * take-over placed differently): one record per provider, so this
         * write must not go there. */
        if (!rc && sqlite3_changes(c->db) == 0)
            return orc_fail(e, ORC_ECONFLICT,
                            "chunk %" PRId64 ": provider %" PRIu32
                            " already holds another piece of it",
                            chunk_id, providers[i]);
    }
    return rc;
}

int sq_chunk_copies_pending(meta *m, int64_t chunk_id, const uint32_t *providers,
                            const int16_t *frags, const char *const *names, int n, orc_err *e)
{
    if (n < 0 || (n && !providers))
        return orc_fail(e, ORC_EINVAL, "chunk %" PRId64 ": bad provider list", chunk_id);
    struct conn *c;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    /* A full (fsynced) commit: the record must survive a crash that happens
     * while the provider is writing, or the copy would be an orphan. */
    if (!(rc = sq_tx_begin(m, c, TX_WRITE, e)))
        rc = sq_tx_end(m, c, TX_WRITE, copies_pending(c, chunk_id, providers, frags, names, n, e),
                       e);
    sq_release(m, c);
    return rc;
}

int sq_gc_forget(meta *m, int64_t chunk_id, orc_err *e)
{
    return chunk_drop_tx(m, chunk_id, META_CHUNK_DELETING, e);
}

/* ---- garbage collection ---- */

static int gc_mark(struct conn *c, int64_t cutoff_ms, size_t limit, meta_chunk **out, size_t *n,
                   orc_err *e)
{
    sqlite3_stmt *s = NULL;
    meta_chunk *v = NULL;
    size_t len = 0, cap = 0;
    int64_t already = 0;
    int rc = sq_stmt(c, ST_GC_COUNT, &s, e);
    if (rc) return rc;
    if ((rc = sq_row(c, s, "gc count", e)) < 0) return rc;
    if (rc == 1) {
        already = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
    }
    /* Chunks left DELETING by an interrupted sq_run count against the limit,
     * so one call never hands out much more than limit chunks. */
    if ((uint64_t)already < limit) {
        if ((rc = sq_stmt(c, ST_GC_MARK, &s, e))) return rc;
        if (sqlite3_bind_int64(s, 1, cutoff_ms) ||
            sqlite3_bind_int64(s, 2, sq_clamp64(limit - (uint64_t)already)))
            return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
        if ((rc = sq_run(c, s, "gc mark", e))) return rc;
    }
    if ((rc = sq_stmt(c, ST_GC_DELETING, &s, e))) return rc;
    while ((rc = sq_row(c, s, "gc list", e)) == 1) {
        int64_t id = sqlite3_column_int64(s, 0);
        if (len == 0 || v[len - 1].id != id) {
            if (len == cap) v = orc_realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
            sq_read_chunk(s, 0, &v[len++]);
        }
        sq_add_copy(s, CHUNK_NCOLS, &v[len - 1]);
    }
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = len;
    return ORC_OK;
}

int sq_gc_mark(meta *m, int64_t cutoff_ms, size_t limit, meta_chunk **out, size_t *n, orc_err *e)
{
    *out = NULL;
    *n = 0;
    struct conn *c;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if (!(rc = sq_tx_begin(m, c, TX_WRITE, e))) {
        rc = sq_tx_end(m, c, TX_WRITE, gc_mark(c, cutoff_ms, limit, out, n, e), e);
        if (rc) { /* the commit failed after the list was built */
            free(*out);
            *out = NULL;
            *n = 0;
        }
    }
    sq_release(m, c);
    return rc;
}

/* ---- repair: chunks with fewer copies than the placement wants ---- */

int sq_repair_list(meta *m, int legacy_width, int64_t after_id, size_t limit, meta_chunk **out,
                   size_t *n, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    meta_chunk *v = NULL;
    size_t len = 0;
    *out = NULL;
    *n = 0;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT " CHUNK_COLS
                           " FROM chunks AS c WHERE c.state = 1 AND c.refcount > 0 AND c.id > ?1 "
                           "AND (SELECT count(*) FROM chunk_copies WHERE chunk_id = c.id"
                           " AND state = 1) < (CASE WHEN c.width > 0 THEN c.width ELSE ?2 END) "
                           "ORDER BY c.id LIMIT ?3",
                           -1, &s, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(s, 1, after_id) || sqlite3_bind_int(s, 2, legacy_width) ||
        sqlite3_bind_int64(s, 3, (int64_t)limit)) {
        rc = sq_db_fail(c->db, sqlite3_errcode(c->db), "repair list", e);
        goto done;
    }
    v = orc_calloc(limit ? limit : 1, sizeof(*v));
    while (len < limit && (rc = sqlite3_step(s)) == SQLITE_ROW)
        sq_read_chunk(s, 0, &v[len++]);
    rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? ORC_OK : sq_db_fail(c->db, rc, "repair list", e);
    sqlite3_finalize(s);
    s = NULL;
    for (size_t i = 0; !rc && i < len; i++)
        rc = load_copies(c, &v[i], e);
done:
    sqlite3_finalize(s);
    sq_release(m, c);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = len;
    return ORC_OK;
}

int sq_chunk_add_copies(meta *m, int64_t chunk_id, const uint32_t *providers, const int16_t *frags,
                        int n, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = sq_tx_begin(m, c, TX_WRITE, e))) goto done;
    /* Only a LIVE chunk: the collector owns a DELETING one and would not
     * know about copies added now. */
    if (!(rc = sq_stmt(c, ST_CHUNK_STATE, &s, e))) {
        if (sqlite3_bind_int64(s, 1, chunk_id))
            rc = sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
        else if ((rc = sq_row(c, s, "chunk state", e)) == 1) {
            int state = sqlite3_column_int(s, 0);
            sqlite3_reset(s);
            rc = state == META_CHUNK_LIVE ? ORC_OK
                                          : sq_not_in_state(c, chunk_id, META_CHUNK_LIVE, e);
        } else if (rc == 0) {
            rc = orc_fail(e, ORC_ENOTFOUND, "chunk %" PRId64 " does not exist", chunk_id);
        }
    }
    for (int i = 0; !rc && i < n; i++) {
        if ((rc = sq_stmt(c, ST_COPY_ADD, &s, e))) break;
        if (sqlite3_bind_int64(s, 1, chunk_id) || sqlite3_bind_int64(s, 2, providers[i]) ||
            sqlite3_bind_int(s, 3, frag_of(frags, i)))
            rc = sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
        else
            rc = sq_run(c, s, "copy add", e);
    }
    rc = sq_tx_end(m, c, TX_WRITE, rc, e);
done:
    sq_release(m, c);
    return rc;
}

/* One write statement on (chunk, provider[, frag]) in its own transaction. */
static int copy_update(meta *m, int st, int64_t chunk_id, uint32_t provider, int frag,
                       const char *what, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = sq_tx_begin(m, c, TX_WRITE, e))) goto done;
    if (!(rc = sq_stmt(c, st, &s, e))) {
        if (sqlite3_bind_int64(s, 1, chunk_id) || sqlite3_bind_int64(s, 2, provider) ||
            (frag != INT32_MIN && sqlite3_bind_int(s, 3, frag)))
            rc = sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
        else
            rc = sq_run(c, s, what, e);
    }
    rc = sq_tx_end(m, c, TX_WRITE, rc, e);
done:
    sq_release(m, c);
    return rc;
}

int sq_chunk_copy_suspect(meta *m, int64_t chunk_id, uint32_t provider, int16_t frag, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = sq_tx_begin(m, c, TX_WRITE, e))) goto done;
    if (!(rc = sq_stmt(c, ST_COPY_SUSPECT, &s, e))) {
        if (sqlite3_bind_int64(s, 1, chunk_id) || sqlite3_bind_int64(s, 2, provider) ||
            sqlite3_bind_int(s, 3, frag))
            rc = sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
        else
            rc = sq_run(c, s, "copy suspect", e);
    }
    /* The chunk is short now: repair's work, in the same transaction. */
    if (!rc && sqlite3_changes(c->db) == 1)
        rc = sq_repair_queue(c, chunk_id, META_REPAIR_CORRUPT, e);
    rc = sq_tx_end(m, c, TX_WRITE, rc, e);
done:
    sq_release(m, c);
    return rc;
}

int sq_chunk_copy_forget(meta *m, int64_t chunk_id, uint32_t provider, orc_err *e)
{
    return copy_update(m, ST_COPY_FORGET, chunk_id, provider, INT32_MIN, "copy forget", e);
}

int sq_chunk_pending_list(meta *m, int64_t chunk_id, uint32_t *providers, int16_t *frags, int *n,
                          orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = sq_tx_begin(m, c, TX_READ, e))) goto done;
    if (!(rc = sq_stmt(c, ST_COPY_PENDING_LIST, &s, e))) {
        if (sqlite3_bind_int64(s, 1, chunk_id)) rc = sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
        while (!rc && (rc = sq_row(c, s, "pending copies", e)) == 1) {
            rc = 0;
            if (*n >= META_MAX_COPIES) continue;
            providers[*n] = (uint32_t)sqlite3_column_int64(s, 0);
            frags[(*n)++] = (int16_t)sqlite3_column_int(s, 1);
        }
        if (rc > 0) rc = 0;
        sqlite3_reset(s);
    }
    rc = sq_tx_end(m, c, TX_READ, rc, e);
done:
    sq_release(m, c);
    return rc;
}
