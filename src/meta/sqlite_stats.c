/* The SQLite metadata store, providers and counts: the stable small ids of
 * provider names, and the counting views tests and the admin output read
 * (totals, a provider's usage, what repair would repair). */
#include "meta/sqlite_int.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/time.h"

/* ---- providers ---- */

/* 1 and *id if name is known, 0 if not, or an error. */
static int provider_find(struct conn *c, const char *name, int64_t *id, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, ST_PROVIDER_GET, &s, e);
    if (rc) return rc;
    if (sq_bind_text(s, 1, name)) return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = sq_row(c, s, "provider lookup", e)) == 1) {
        *id = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
    }
    return rc;
}

static int provider_add(struct conn *c, const char *name, int64_t *id, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, ST_PROVIDER_ADD, &s, e);
    if (rc) return rc;
    if (sq_bind_text(s, 1, name)) return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = sq_run(c, s, "provider add", e))) return rc;
    rc = provider_find(c, name, id, e);
    return rc == 1 ? ORC_OK : rc ? rc : orc_fail(e, ORC_EINTERNAL, "provider %s vanished", name);
}

int sq_provider_id(meta *m, const char *name, uint32_t *id, orc_err *e)
{
    if (!name || !*name) return orc_fail(e, ORC_EINVAL, "provider name is empty");
    struct conn *c;
    int64_t v = 0;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    rc = provider_find(c, name, &v, e);
    if (rc == 0 && (rc = sq_tx_begin(m, c, TX_WRITE, e)) == 0)
        rc = sq_tx_end(m, c, TX_WRITE, provider_add(c, name, &v, e), e);
    sq_release(m, c);
    if (rc < 0) return rc;
    if (v <= 0 || v > UINT32_MAX)
        return orc_fail(e, ORC_EINTERNAL, "provider %s has id %" PRId64 " out of range", name, v);
    *id = (uint32_t)v;
    return ORC_OK;
}

/* ---- counts ---- */

int sq_stats_get(meta *m, meta_stats *out, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    memset(out, 0, sizeof(*out));
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = sq_stmt(c, ST_STATS, &s, e))) goto done;
    if ((rc = sq_row(c, s, "stats", e)) == 1) {
        out->objects = (uint64_t)sqlite3_column_int64(s, 0);
        out->chunks = (uint64_t)sqlite3_column_int64(s, 1);
        out->chunk_refs = (uint64_t)sqlite3_column_int64(s, 2);
        out->bytes_logical = (uint64_t)sqlite3_column_int64(s, 3);
        out->bytes_stored = (uint64_t)sqlite3_column_int64(s, 4);
        out->bytes_unique = (uint64_t)sqlite3_column_int64(s, 5);
        sqlite3_reset(s);
        rc = ORC_OK;
    } else if (rc == 0) {
        rc = orc_fail(e, ORC_EINTERNAL, "metadata stats: no sq_row");
    }
done:
    sq_release(m, c);
    return rc;
}

/* ---- provider usage (admin view): rare, so prepared per call ---- */

static int count_query(meta *m, const char *query, int64_t arg, uint64_t *a, uint64_t *b,
                       orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if (sqlite3_prepare_v2(c->db, query, -1, &s, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(s, 1, arg) != SQLITE_OK)
        rc = sq_db_fail(c->db, sqlite3_errcode(c->db), "prepare", e);
    else if (sqlite3_step(s) != SQLITE_ROW)
        rc = sq_db_fail(c->db, sqlite3_errcode(c->db), "count", e);
    else {
        *a = (uint64_t)sqlite3_column_int64(s, 0);
        if (b) *b = (uint64_t)sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
    sq_release(m, c);
    return rc;
}

int sq_provider_usage(meta *m, uint32_t provider_id, uint64_t *chunks, uint64_t *bytes, orc_err *e)
{
    return count_query(m,
                       "SELECT count(*), coalesce(sum(" PIECE_BYTES "), 0) FROM chunk_copies cc "
                       "JOIN chunks c ON c.id = cc.chunk_id WHERE cc.provider_id = ?1"
                       " AND cc.state = 1",
                       provider_id, chunks, bytes, e);
}

int sq_under_replicated(meta *m, int legacy_width, uint64_t *n, orc_err *e)
{
    return count_query(m,
                       /* What repair repairs (meta_repair_list): referenced
                        * chunks only; garbage waits for the collector. */
                       "SELECT count(*) FROM chunks WHERE state = 1 AND refcount > 0 AND "
                       "(SELECT count(*) FROM chunk_copies WHERE chunk_id = chunks.id"
                       " AND state = 1) < (CASE WHEN width > 0 THEN width ELSE ?1 END)",
                       legacy_width, n, NULL, e);
}

int sq_redundancy_list(meta *m, int legacy_width, meta_redundancy **out, size_t *n, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    meta_redundancy *v = NULL;
    size_t len = 0, cap = 0;
    *out = NULL;
    *n = 0;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT ec_k, ec_m, w, count(*), sum(live < w) FROM"
                           " (SELECT ec_k, ec_m, CASE WHEN width > 0 THEN width ELSE ?1 END AS w,"
                           " (SELECT count(*) FROM chunk_copies WHERE chunk_id = chunks.id"
                           " AND state = 1) AS live FROM chunks WHERE state = 1 AND refcount > 0)"
                           " GROUP BY ec_k, ec_m, w ORDER BY ec_k, w",
                           -1, &s, NULL) != SQLITE_OK ||
        sqlite3_bind_int(s, 1, legacy_width) != SQLITE_OK) {
        rc = sq_db_fail(c->db, sqlite3_errcode(c->db), "redundancy", e);
        goto done;
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (len == cap) v = orc_realloc(v, (cap = cap ? cap * 2 : 4) * sizeof(*v));
        v[len].layout.ec_k = (uint8_t)sqlite3_column_int(s, 0);
        v[len].layout.ec_m = (uint8_t)sqlite3_column_int(s, 1);
        v[len].layout.width = (uint8_t)sqlite3_column_int(s, 2);
        v[len].chunks = (uint64_t)sqlite3_column_int64(s, 3);
        v[len].below = (uint64_t)sqlite3_column_int64(s, 4);
        len++;
    }
    rc = rc == SQLITE_DONE ? ORC_OK : sq_db_fail(c->db, rc, "redundancy", e);
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
