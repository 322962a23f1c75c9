/* The SQLite metadata store, provider states and drains (meta.h, "providers:
 * state and drains"): which providers take writes, what a draining one still
 * holds, and moving one piece of a chunk from one provider to another in
 * one transaction. Admin and background work: statements prepared per call. */
#include "meta/sqlite_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/time.h"

/* Prepares sql on c and binds the int64 args to ?1.. */
static int prep(struct conn *c, const char *sql, const int64_t *args, int nargs, sqlite3_stmt **s,
                const char *what, orc_err *e)
{
    *s = NULL;
    if (sqlite3_prepare_v2(c->db, sql, -1, s, NULL) != SQLITE_OK)
        return sq_db_fail(c->db, sqlite3_errcode(c->db), what, e);
    for (int i = 0; i < nargs; i++)
        if (sqlite3_bind_int64(*s, i + 1, args[i]) != SQLITE_OK) {
            sqlite3_finalize(*s);
            *s = NULL;
            return sq_bind_fail(c, e);
        }
    return ORC_OK;
}

int sq_provider_list(meta *m, meta_provider **out, size_t *n, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    meta_provider *v = NULL;
    size_t len = 0, cap = 0;
    *out = NULL;
    *n = 0;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if (!(rc = prep(c,
                    "SELECT id, name, state, drain_started_ms, drain_pieces, drain_bytes"
                    " FROM providers ORDER BY id",
                    NULL, 0, &s, "provider list", e))) {
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            if (len == cap) v = orc_realloc(v, (cap = cap ? cap * 2 : 8) * sizeof(*v));
            meta_provider *p = &v[len++];
            memset(p, 0, sizeof(*p));
            p->id = (uint32_t)sqlite3_column_int64(s, 0);
            sq_copy_text(p->name, sizeof(p->name), s, 1);
            p->state = sqlite3_column_int(s, 2);
            p->drain_started_ms = sqlite3_column_int64(s, 3);
            p->drain_pieces = (uint64_t)sqlite3_column_int64(s, 4);
            p->drain_bytes = (uint64_t)sqlite3_column_int64(s, 5);
        }
        rc = rc == SQLITE_DONE ? ORC_OK : sq_db_fail(c->db, rc, "provider list", e);
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

static int held(struct conn *c, uint32_t id, uint64_t *pieces, uint64_t *bytes, orc_err *e)
{
    sqlite3_stmt *s;
    int64_t args[1] = {id};
    int rc = prep(c,
                  "SELECT count(*), coalesce(sum(" PIECE_BYTES "), 0) FROM chunk_copies cc"
                  " JOIN chunks c ON c.id = cc.chunk_id WHERE cc.provider_id = ?1",
                  args, 1, &s, "provider held", e);
    if (rc) return rc;
    if (sqlite3_step(s) != SQLITE_ROW) {
        rc = sq_db_fail(c->db, sqlite3_errcode(c->db), "provider held", e);
    } else {
        *pieces = (uint64_t)sqlite3_column_int64(s, 0);
        if (bytes) *bytes = (uint64_t)sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
    return rc;
}

int sq_provider_held(meta *m, uint32_t id, uint64_t *pieces, uint64_t *bytes, orc_err *e)
{
    struct conn *c;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    rc = held(c, id, pieces, bytes, e);
    sq_release(m, c);
    return rc;
}

static int set_state(struct conn *c, uint32_t id, int state, orc_err *e)
{
    sqlite3_stmt *s;
    int64_t args[4] = {id, state, 0, 0};
    int64_t cur = -1;
    int rc = prep(c, "SELECT state FROM providers WHERE id = ?1", args, 1, &s, "provider", e);
    if (rc) return rc;
    if ((rc = sqlite3_step(s)) == SQLITE_ROW) cur = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if (cur < 0) return orc_fail(e, ORC_ENOTFOUND, "no provider with id %" PRIu32, id);
    if (state == cur) return ORC_OK; /* a drain already under way keeps its start */
    uint64_t pieces = 0, bytes = 0;
    if ((rc = held(c, id, &pieces, &bytes, e))) return rc;
    if (state == META_PROVIDER_REMOVED && pieces)
        return orc_fail(e, ORC_ECONFLICT, "it still holds %" PRIu64 " pieces (%" PRIu64 " bytes)",
                        pieces, bytes);
    const char *sql =
        state == META_PROVIDER_DRAINING
            ? "UPDATE providers SET state = ?2, drain_started_ms = ?3, drain_pieces = ?4,"
              " drain_bytes = ?5 WHERE id = ?1"
            : "UPDATE providers SET state = ?2, drain_started_ms = 0, drain_pieces = 0,"
              " drain_bytes = 0 WHERE id = ?1";
    int64_t all[5] = {id, state, orc_now_ms(), (int64_t)pieces, (int64_t)bytes};
    if ((rc = prep(c, sql, all, state == META_PROVIDER_DRAINING ? 5 : 2, &s, "provider state", e)))
        return rc;
    rc = sq_run(c, s, "provider state", e);
    sqlite3_finalize(s);
    return rc;
}

int sq_provider_set_state(meta *m, uint32_t id, int state, orc_err *e)
{
    if (state < META_PROVIDER_ACTIVE || state > META_PROVIDER_REMOVED)
        return orc_fail(e, ORC_EINVAL, "provider state %d", state);
    struct conn *c;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if (!(rc = sq_tx_begin(m, c, TX_WRITE, e)))
        rc = sq_tx_end(m, c, TX_WRITE, set_state(c, id, state, e), e);
    sq_release(m, c);
    return rc;
}

int sq_drain_list(meta *m, uint32_t provider, int64_t after_id, size_t limit, meta_drain_item **out,
                  size_t *n, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    meta_drain_item *v = NULL;
    size_t len = 0;
    *out = NULL;
    *n = 0;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = sq_tx_begin(m, c, TX_READ, e))) goto done;
    /* The chunks first (their piece on the provider), then their LIVE pieces. */
    int64_t args[3] = {provider, after_id, (int64_t)limit};
    if (!(rc = prep(c,
                    "SELECT " CHUNK_COLS ", d.frag, d.state, cc.provider_id, cc.frag FROM"
                    " (SELECT chunk_id, frag, state FROM chunk_copies WHERE provider_id = ?1"
                    " AND chunk_id > ?2 ORDER BY chunk_id LIMIT ?3) AS d"
                    " JOIN chunks AS c ON c.id = d.chunk_id AND c.state = 1"
                    " LEFT JOIN chunk_copies AS cc ON cc.chunk_id = c.id AND cc.state = 1"
                    " ORDER BY c.id, cc.provider_id",
                    args, 3, &s, "drain list", e))) {
        v = orc_calloc(limit ? limit : 1, sizeof(*v));
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            int64_t id = sqlite3_column_int64(s, 0);
            if (len == 0 || v[len - 1].chunk.id != id) {
                if (len == limit) break;
                meta_drain_item *it = &v[len++];
                sq_read_chunk(s, 0, &it->chunk);
                it->frag = (int16_t)sqlite3_column_int(s, CHUNK_NCOLS);
                it->live = sqlite3_column_int(s, CHUNK_NCOLS + 1) == 1;
            }
            sq_add_copy(s, CHUNK_NCOLS + 2, &v[len - 1].chunk);
        }
        rc =
            rc == SQLITE_DONE || rc == SQLITE_ROW ? ORC_OK : sq_db_fail(c->db, rc, "drain list", e);
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

static int move_piece(struct conn *c, int64_t chunk_id, uint32_t from, uint32_t to, int16_t frag,
                      orc_err *e)
{
    sqlite3_stmt *s;
    int64_t args[4] = {chunk_id, to, frag, from};
    int rc = prep(c,
                  "UPDATE chunk_copies SET state = 1 WHERE chunk_id = ?1 AND provider_id = ?2"
                  " AND frag = ?3 AND state = 0"
                  " AND EXISTS (SELECT 1 FROM chunks WHERE id = ?1 AND state = 1)"
                  " AND EXISTS (SELECT 1 FROM chunk_copies WHERE chunk_id = ?1"
                  " AND provider_id = ?4 AND frag = ?3 AND state = 1)",
                  args, 4, &s, "move piece", e);
    if (rc) return rc;
    rc = sq_run(c, s, "move piece", e);
    sqlite3_finalize(s);
    if (rc) return rc;
    if (sqlite3_changes(c->db) != 1)
        return orc_fail(e, ORC_ECONFLICT,
                        "chunk %" PRId64 ": no pending piece to move to, or none to move",
                        chunk_id);
    int64_t args2[3] = {chunk_id, from, frag};
    if ((rc = prep(c,
                   "UPDATE chunk_copies SET state = 0 WHERE chunk_id = ?1 AND provider_id = ?2"
                   " AND frag = ?3 AND state = 1",
                   args2, 3, &s, "move piece", e)))
        return rc;
    rc = sq_run(c, s, "move piece", e);
    sqlite3_finalize(s);
    return rc;
}

int sq_chunk_move_piece(meta *m, int64_t chunk_id, uint32_t from, uint32_t to, int16_t frag,
                        orc_err *e)
{
    struct conn *c;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if (!(rc = sq_tx_begin(m, c, TX_WRITE, e)))
        rc = sq_tx_end(m, c, TX_WRITE, move_piece(c, chunk_id, from, to, frag, e), e);
    sq_release(m, c);
    return rc;
}

int sq_chunk_get(meta *m, int64_t chunk_id, meta_chunk *out, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    int64_t args[1] = {chunk_id};
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if (!(rc = prep(c,
                    "SELECT " CHUNK_COLS ", cc.provider_id, cc.frag FROM chunks AS c"
                    " LEFT JOIN chunk_copies AS cc ON cc.chunk_id = c.id AND cc.state = 1"
                    " WHERE c.id = ?1 ORDER BY cc.provider_id",
                    args, 1, &s, "chunk get", e))) {
        bool found = false;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            if (!found) sq_read_chunk(s, 0, out);
            found = true;
            sq_add_copy(s, CHUNK_NCOLS, out);
        }
        rc = rc != SQLITE_DONE ? sq_db_fail(c->db, rc, "chunk get", e)
             : found           ? ORC_OK
                     : orc_fail(e, ORC_ENOTFOUND, "chunk %" PRId64 " does not exist", chunk_id);
    }
    sqlite3_finalize(s);
    sq_release(m, c);
    return rc;
}
