/* The SQLite metadata store, repair's queue (meta.h "the repair queue"), the
 * scrub's listing of live chunks, and small durable settings. Background
 * work only: the statements are prepared per call, except the one that
 * queues a chunk inside another operation's transaction (ST_REPAIR_ENQUEUE). */
#include "meta/sqlite_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/time.h"

/* Runs one statement (prepared now, ?1..: the int64 args) in a write
 * transaction; *changes gets its row count (may be NULL). */
static int write_one(meta *m, const char *sql, const int64_t *args, int nargs, const char *text,
                     int *changes, const char *what, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = sq_tx_begin(m, c, TX_WRITE, e))) goto done;
    if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) != SQLITE_OK) {
        rc = sq_db_fail(c->db, sqlite3_errcode(c->db), what, e);
    } else {
        for (int i = 0; i < nargs && !rc; i++)
            if (sqlite3_bind_int64(s, i + 1, args[i])) rc = sq_bind_fail(c, e);
        if (!rc && text && sqlite3_bind_text(s, nargs + 1, text, -1, SQLITE_STATIC))
            rc = sq_bind_fail(c, e);
        if (!rc) rc = sq_run(c, s, what, e);
        if (!rc && changes) *changes = sqlite3_changes(c->db);
    }
    sqlite3_finalize(s);
    rc = sq_tx_end(m, c, TX_WRITE, rc, e);
done:
    sq_release(m, c);
    return rc;
}

int sq_repair_enqueue(meta *m, int64_t chunk_id, int reason, orc_err *e)
{
    struct conn *c;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if (!(rc = sq_tx_begin(m, c, TX_WRITE, e)))
        rc = sq_tx_end(m, c, TX_WRITE, sq_repair_queue(c, chunk_id, reason, e), e);
    sq_release(m, c);
    return rc;
}

/* An unreferenced chunk's item waits this long before it is looked at again:
 * a write commits its chunks before the version that references them. */
#define REPAIR_UNREF_WAIT_MS 30000

/* The chunk of an item: ITEM_REPAIR (LIVE and referenced; k filled with its
 * LIVE pieces), ITEM_WAIT (LIVE, not referenced yet or any more: the
 * version that will reference it may not have committed, or it is garbage
 * the collector will take), ITEM_GONE (collected, or never made LIVE), or
 * an error (< 0). */
enum { ITEM_GONE = 0, ITEM_REPAIR = 1, ITEM_WAIT = 2 };
static int item_chunk(struct conn *c, int64_t id, meta_chunk *k, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = ORC_OK;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT " CHUNK_COLS ", c.refcount, cc.provider_id, cc.frag"
                           " FROM chunks AS c LEFT JOIN chunk_copies AS cc"
                           " ON cc.chunk_id = c.id AND cc.state = 1"
                           " WHERE c.id = ?1 AND c.state = 1 ORDER BY cc.provider_id",
                           -1, &s, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(s, 1, id) != SQLITE_OK) {
        rc = sq_db_fail(c->db, sqlite3_errcode(c->db), "repair chunk", e);
        sqlite3_finalize(s);
        return rc;
    }
    int found = ITEM_GONE;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (found == ITEM_GONE) {
            sq_read_chunk(s, 0, k);
            found = sqlite3_column_int64(s, CHUNK_NCOLS) > 0 ? ITEM_REPAIR : ITEM_WAIT;
        }
        sq_add_copy(s, CHUNK_NCOLS + 1, k);
    }
    rc = rc == SQLITE_DONE ? found : sq_db_fail(c->db, rc, "repair chunk", e);
    sqlite3_finalize(s);
    return rc;
}

static int repair_take(struct conn *c, int64_t now_ms, int64_t lease_ms, size_t limit,
                       meta_repair_item **out, size_t *n, orc_err *e)
{
    sqlite3_stmt *s = NULL, *u = NULL;
    meta_repair_item *v = orc_calloc(limit ? limit : 1, sizeof(*v));
    size_t len = 0;
    int rc = ORC_OK;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT chunk_id, reason, gen, attempts, queued_ms FROM repair_queue"
                           " WHERE not_before_ms <= ?1 AND lease_until_ms <= ?1"
                           " ORDER BY not_before_ms, chunk_id LIMIT ?2",
                           -1, &s, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(s, 1, now_ms) || sqlite3_bind_int64(s, 2, (int64_t)limit)) {
        rc = sq_db_fail(c->db, sqlite3_errcode(c->db), "repair take", e);
        goto done;
    }
    while (len < limit && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        meta_repair_item *it = &v[len++];
        it->chunk_id = sqlite3_column_int64(s, 0);
        it->reason = sqlite3_column_int(s, 1);
        it->gen = sqlite3_column_int64(s, 2);
        it->attempts = (uint32_t)sqlite3_column_int64(s, 3);
        it->queued_ms = sqlite3_column_int64(s, 4);
    }
    rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? ORC_OK : sq_db_fail(c->db, rc, "repair take", e);
    sqlite3_finalize(s);
    s = NULL;
    if (rc) goto done;
    /* A lease for the items handed out; an unreferenced chunk's item waits. */
    if (sqlite3_prepare_v2(c->db, "UPDATE repair_queue SET lease_until_ms = ?2 WHERE chunk_id = ?1",
                           -1, &u, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c->db, "DELETE FROM repair_queue WHERE chunk_id = ?1", -1, &s, NULL) !=
            SQLITE_OK) {
        rc = sq_db_fail(c->db, sqlite3_errcode(c->db), "repair take", e);
        goto done;
    }
    size_t kept = 0;
    for (size_t i = 0; i < len && !rc; i++) {
        int found = item_chunk(c, v[i].chunk_id, &v[i].chunk, e);
        if (found < 0) {
            rc = found;
            break;
        }
        sqlite3_stmt *st = found == ITEM_GONE ? s : u;
        sqlite3_reset(st);
        int64_t until = now_ms + (found == ITEM_WAIT ? REPAIR_UNREF_WAIT_MS : lease_ms);
        if (sqlite3_bind_int64(st, 1, v[i].chunk_id) ||
            (found != ITEM_GONE && sqlite3_bind_int64(st, 2, until)))
            rc = sq_bind_fail(c, e);
        else
            rc = sq_run(c, st, found == ITEM_GONE ? "repair drop" : "repair lease", e);
        if (found == ITEM_REPAIR) v[kept++] = v[i];
    }
    len = kept;
done:
    sqlite3_finalize(s);
    sqlite3_finalize(u);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = len;
    return ORC_OK;
}

int sq_repair_take(meta *m, int64_t now_ms, int64_t lease_ms, size_t limit, meta_repair_item **out,
                   size_t *n, orc_err *e)
{
    *out = NULL;
    *n = 0;
    meta_repair_stats st;
    /* A read first: an idle worker asks every second, and an empty queue
     * should cost no write lock. */
    int rc = sq_repair_stats_get(m, now_ms, &st, e);
    if (rc || st.due == 0) return rc;
    struct conn *c;
    if ((rc = sq_acquire(m, &c, e))) return rc;
    if (!(rc = sq_tx_begin(m, c, TX_WRITE, e))) {
        rc = sq_tx_end(m, c, TX_WRITE, repair_take(c, now_ms, lease_ms, limit, out, n, e), e);
        if (rc) {
            free(*out);
            *out = NULL;
            *n = 0;
        }
    }
    sq_release(m, c);
    return rc;
}

int sq_repair_scan(meta *m, int legacy_width, uint64_t *queued, orc_err *e)
{
    int64_t args[2] = {legacy_width, orc_now_ms()};
    int changes = 0;
    int rc = write_one(m,
                       "INSERT INTO repair_queue(chunk_id, reason, queued_ms, not_before_ms)"
                       " SELECT id, 1, ?2, ?2 FROM chunks AS c WHERE c.state = 1"
                       " AND c.refcount > 0 AND (SELECT count(*) FROM chunk_copies"
                       " WHERE chunk_id = c.id AND state = 1)"
                       " < (CASE WHEN c.width > 0 THEN c.width ELSE ?1 END)"
                       " ORDER BY id ON CONFLICT DO NOTHING",
                       args, 2, NULL, &changes, "repair scan", e);
    *queued = rc ? 0 : (uint64_t)changes;
    return rc;
}

int sq_repair_done(meta *m, int64_t chunk_id, int64_t gen, orc_err *e)
{
    int64_t args[2] = {chunk_id, gen};
    int changes = 0;
    int rc = write_one(m, "DELETE FROM repair_queue WHERE chunk_id = ?1 AND gen = ?2", args, 2,
                       NULL, &changes, "repair done", e);
    if (rc || changes) return rc;
    /* Reported again while it was worked on: due again now, as a new item. */
    args[1] = 0;
    return write_one(m, "UPDATE repair_queue SET lease_until_ms = ?2 WHERE chunk_id = ?1", args, 2,
                     NULL, NULL, "repair requeue", e);
}

int sq_repair_retry(meta *m, int64_t chunk_id, int64_t not_before_ms, const char *why, orc_err *e)
{
    int64_t args[2] = {chunk_id, not_before_ms};
    return write_one(m,
                     "UPDATE repair_queue SET attempts = attempts + 1, not_before_ms = ?2,"
                     " lease_until_ms = 0, last_error = substr(?3, 1, 300) WHERE chunk_id = ?1",
                     args, 2, why ? why : "", NULL, "repair retry", e);
}

int sq_repair_stats_get(meta *m, int64_t now_ms, meta_repair_stats *out, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    memset(out, 0, sizeof(*out));
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT count(*),"
                           " coalesce(sum(not_before_ms <= ?1 AND lease_until_ms <= ?1), 0),"
                           " coalesce(sum(attempts > 0), 0), coalesce(min(queued_ms), 0)"
                           " FROM repair_queue",
                           -1, &s, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(s, 1, now_ms) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
        rc = sq_db_fail(c->db, sqlite3_errcode(c->db), "repair stats", e);
    } else {
        out->items = (uint64_t)sqlite3_column_int64(s, 0);
        out->due = (uint64_t)sqlite3_column_int64(s, 1);
        out->failing = (uint64_t)sqlite3_column_int64(s, 2);
        out->oldest_ms = sqlite3_column_int64(s, 3);
    }
    sqlite3_finalize(s);
    sq_release(m, c);
    return rc;
}

int sq_chunk_list(meta *m, int64_t after_id, size_t limit, meta_chunk **out, size_t *n, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    meta_chunk *v = NULL;
    size_t len = 0;
    *out = NULL;
    *n = 0;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = sq_tx_begin(m, c, TX_READ, e))) goto done;
    /* The chunks first (LIMIT counts chunks, not pieces), then their pieces. */
    if (sqlite3_prepare_v2(c->db,
                           "SELECT " CHUNK_COLS ", cc.provider_id, cc.frag FROM"
                           " (SELECT * FROM chunks WHERE id > ?1 AND state = 1 AND refcount > 0"
                           " ORDER BY id LIMIT ?2) AS c"
                           " LEFT JOIN chunk_copies AS cc ON cc.chunk_id = c.id AND cc.state = 1"
                           " ORDER BY c.id, cc.provider_id",
                           -1, &s, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(s, 1, after_id) || sqlite3_bind_int64(s, 2, (int64_t)limit)) {
        rc = sq_db_fail(c->db, sqlite3_errcode(c->db), "chunk list", e);
    } else {
        v = orc_calloc(limit ? limit : 1, sizeof(*v));
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            int64_t id = sqlite3_column_int64(s, 0);
            if (len == 0 || v[len - 1].id != id) {
                if (len == limit) break;
                sq_read_chunk(s, 0, &v[len++]);
            }
            sq_add_copy(s, CHUNK_NCOLS, &v[len - 1]);
        }
        rc =
            rc == SQLITE_DONE || rc == SQLITE_ROW ? ORC_OK : sq_db_fail(c->db, rc, "chunk list", e);
    }
    sqlite3_finalize(s);
    rc = sq_tx_end(m, c, TX_READ, rc, e);
done:
    sq_release(m, c);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = len;
    return ORC_OK;
}

int sq_setting_get(meta *m, const char *key, char *buf, size_t cap, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if (sqlite3_prepare_v2(c->db, "SELECT value FROM settings WHERE key = ?1", -1, &s, NULL) !=
            SQLITE_OK ||
        sq_bind_text(s, 1, key)) {
        rc = sq_db_fail(c->db, sqlite3_errcode(c->db), "setting get", e);
    } else if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        sq_copy_text(buf, cap, s, 0);
        rc = ORC_OK;
    } else {
        rc = rc == SQLITE_DONE ? orc_fail(e, ORC_ENOTFOUND, "setting %s is not set", key)
                               : sq_db_fail(c->db, rc, "setting get", e);
    }
    sqlite3_finalize(s);
    sq_release(m, c);
    return rc;
}

int sq_setting_set(meta *m, const char *key, const char *value, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = sq_tx_begin(m, c, TX_WRITE, e))) goto done;
    if (sqlite3_prepare_v2(c->db,
                           value ? "INSERT INTO settings(key, value) VALUES (?1, ?2)"
                                   " ON CONFLICT DO UPDATE SET value = ?2"
                                 : "DELETE FROM settings WHERE key = ?1",
                           -1, &s, NULL) != SQLITE_OK ||
        sq_bind_text(s, 1, key) || (value && sq_bind_text(s, 2, value)))
        rc = sq_db_fail(c->db, sqlite3_errcode(c->db), "setting set", e);
    else
        rc = sq_run(c, s, "setting set", e);
    sqlite3_finalize(s);
    rc = sq_tx_end(m, c, TX_WRITE, rc, e);
done:
    sq_release(m, c);
    return rc;
}
