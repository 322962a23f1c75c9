/* The SQLite metadata store, fsck's side (meta.h, "fsck"): every piece
 * recorded on a provider, and the orphan candidates (names a provider holds
 * that no record references) with their fences; and what each provider did
 * by month (meta.h, "provider usage by month"), for its bill. Statements
 * prepared per call: both are rare. */
#include "meta/sqlite_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

int sq_provider_pieces(meta *m, uint32_t provider, int64_t after_id, size_t limit, meta_piece **out,
                       size_t *n, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    meta_piece *v = NULL;
    size_t len = 0;
    *out = NULL;
    *n = 0;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT " CHUNK_COLS ", cc.frag, cc.state FROM chunk_copies AS cc"
                           " JOIN chunks AS c ON c.id = cc.chunk_id WHERE cc.provider_id = ?1"
                           " AND cc.chunk_id > ?2 ORDER BY cc.chunk_id LIMIT ?3",
                           -1, &s, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(s, 1, provider) || sqlite3_bind_int64(s, 2, after_id) ||
        sqlite3_bind_int64(s, 3, (int64_t)limit)) {
        rc = sq_db_fail(c->db, sqlite3_errcode(c->db), "provider pieces", e);
    } else {
        v = orc_calloc(limit ? limit : 1, sizeof(*v));
        while (len < limit && (rc = sqlite3_step(s)) == SQLITE_ROW) {
            sq_read_chunk(s, 0, &v[len].chunk);
            v[len].frag = (int16_t)sqlite3_column_int(s, CHUNK_NCOLS);
            v[len++].live = sqlite3_column_int(s, CHUNK_NCOLS + 1) == 1;
        }
        rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? ORC_OK
                                                   : sq_db_fail(c->db, rc, "provider pieces", e);
    }
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

/* Runs each of sqls[] (NULL-terminated) in one write transaction, the
 * middle one (at index each) once per name with ?1 provider, ?2 name, ?3
 * size, ?4 now; the others with ?1 provider only. */
static int orphan_tx(meta *m, uint32_t provider, const char *const *sqls, int each,
                     const meta_orphan *found, const char *const *names, size_t n, int64_t now,
                     const char *what, orc_err *e)
{
    struct conn *c;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = sq_tx_begin(m, c, TX_WRITE, e))) goto done;
    for (int q = 0; sqls[q] && !rc; q++) {
        sqlite3_stmt *s = NULL;
        if (sqlite3_prepare_v2(c->db, sqls[q], -1, &s, NULL) != SQLITE_OK) {
            rc = sq_db_fail(c->db, sqlite3_errcode(c->db), what, e);
            break;
        }
        size_t times = q == each ? n : 1;
        for (size_t i = 0; i < times && !rc; i++) {
            sqlite3_reset(s);
            if (sqlite3_bind_int64(s, 1, provider) != SQLITE_OK) rc = sq_bind_fail(c, e);
            if (!rc && q == each) {
                const char *nm = found ? found[i].name : names[i];
                if (sq_bind_text(s, 2, nm) ||
                    (found && (sqlite3_bind_int64(s, 3, (int64_t)found[i].size) ||
                               sqlite3_bind_int64(s, 4, now))))
                    rc = sq_bind_fail(c, e);
            }
            if (!rc) rc = sq_run(c, s, what, e);
        }
        sqlite3_finalize(s);
    }
    rc = sq_tx_end(m, c, TX_WRITE, rc, e);
done:
    sq_release(m, c);
    return rc;
}

int sq_orphans_update(meta *m, uint32_t provider, const meta_orphan *found, size_t n,
                      int64_t now_ms, orc_err *e)
{
    static const char *const sqls[] = {
        "UPDATE orphans SET seen = 0 WHERE provider_id = ?1",
        "INSERT INTO orphans(provider_id, name, size, first_seen_ms) VALUES (?1, ?2, ?3, ?4)"
        " ON CONFLICT DO UPDATE SET seen = 1, size = ?3",
        "DELETE FROM orphans WHERE provider_id = ?1 AND seen = 0 AND fenced = 0",
        NULL,
    };
    return orphan_tx(m, provider, sqls, 1, found, NULL, n, now_ms, "orphans update", e);
}

int sq_orphans_due(meta *m, uint32_t provider, int64_t cutoff_ms, meta_orphan **out, size_t *n,
                   orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    meta_orphan *v = NULL;
    size_t len = 0, cap = 0;
    *out = NULL;
    *n = 0;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT name, size, first_seen_ms FROM orphans WHERE provider_id = ?1"
                           " AND first_seen_ms <= ?2 ORDER BY name",
                           -1, &s, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(s, 1, provider) || sqlite3_bind_int64(s, 2, cutoff_ms)) {
        rc = sq_db_fail(c->db, sqlite3_errcode(c->db), "orphans due", e);
    } else {
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            if (len == cap) v = orc_realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
            sq_copy_text(v[len].name, sizeof(v[len].name), s, 0);
            v[len].size = (uint64_t)sqlite3_column_int64(s, 1);
            v[len++].first_seen_ms = sqlite3_column_int64(s, 2);
        }
        rc = rc == SQLITE_DONE ? ORC_OK : sq_db_fail(c->db, rc, "orphans due", e);
    }
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

int sq_orphans_fence(meta *m, uint32_t provider, const char *const *names, size_t n, bool fence,
                     orc_err *e)
{
    static const char *const on[] = {
        "UPDATE orphans SET fenced = 1 WHERE provider_id = ?1 AND name = ?2", NULL};
    static const char *const off[] = {"DELETE FROM orphans WHERE provider_id = ?1 AND name = ?2",
                                      NULL};
    return orphan_tx(m, provider, fence ? on : off, 0, NULL, names, n, 0, "orphans fence", e);
}

/* ---- provider usage by month ---- */

int sq_usage_add(meta *m, uint32_t provider, const char *month, const meta_month_usage *add,
                 orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = sq_tx_begin(m, c, TX_WRITE, e))) goto done;
    if (sqlite3_prepare_v2(
            c->db,
            "INSERT INTO provider_months(provider_id, month, puts, gets, egress_bytes)"
            " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO UPDATE SET"
            " puts = puts + ?3, gets = gets + ?4, egress_bytes = egress_bytes + ?5",
            -1, &s, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(s, 1, provider) || sq_bind_text(s, 2, month) ||
        sqlite3_bind_int64(s, 3, sq_clamp64(add->puts)) ||
        sqlite3_bind_int64(s, 4, sq_clamp64(add->gets)) ||
        sqlite3_bind_int64(s, 5, sq_clamp64(add->egress_bytes)))
        rc = sq_db_fail(c->db, sqlite3_errcode(c->db), "usage add", e);
    else
        rc = sq_run(c, s, "usage add", e);
    sqlite3_finalize(s);
    rc = sq_tx_end(m, c, TX_WRITE, rc, e);
done:
    sq_release(m, c);
    return rc;
}

int sq_usage_get(meta *m, uint32_t provider, const char *month, meta_month_usage *out, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    memset(out, 0, sizeof(*out));
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT puts, gets, egress_bytes FROM provider_months"
                           " WHERE provider_id = ?1 AND month = ?2",
                           -1, &s, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(s, 1, provider) || sq_bind_text(s, 2, month)) {
        rc = sq_db_fail(c->db, sqlite3_errcode(c->db), "usage get", e);
    } else if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        out->puts = (uint64_t)sqlite3_column_int64(s, 0);
        out->gets = (uint64_t)sqlite3_column_int64(s, 1);
        out->egress_bytes = (uint64_t)sqlite3_column_int64(s, 2);
        rc = ORC_OK;
    } else {
        rc = rc == SQLITE_DONE ? ORC_OK : sq_db_fail(c->db, rc, "usage get", e);
    }
    sqlite3_finalize(s);
    sq_release(m, c);
    return rc;
}
