/* The SQLite store's test-only hooks (sqlite_test.h): raw SQL on the store's
 * own connections, for tests of the schema and of states only a crash can
 * leave. Linked into the unit tests only (CMakeLists.txt), never into orchard. */
#include "meta/sqlite_test.h"

#include "meta/sqlite_int.h"

static int check_type(meta *m, orc_err *e)
{
    if (m->ops != &meta_sqlite_ops)
        return orc_fail(e, ORC_EINVAL, "metadata store %s is not sqlite", meta_type(m));
    return ORC_OK;
}

int meta_sqlite_test_exec(meta *m, const char *sql, orc_err *e)
{
    struct conn *c;
    int rc = check_type(m, e);
    if (rc || (rc = sq_acquire(m, &c, e))) return rc;
    if (!(rc = sq_tx_begin(m, c, TX_WRITE, e))) {
        int src = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
        rc = sq_tx_end(m, c, TX_WRITE, src == SQLITE_OK ? ORC_OK : sq_db_fail(c->db, src, sql, e),
                       e);
    }
    sq_release(m, c);
    return rc;
}

int meta_sqlite_test_int(meta *m, const char *sql, int64_t *out, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    int rc = check_type(m, e);
    if (rc || (rc = sq_acquire(m, &c, e))) return rc;
    int src = sqlite3_prepare_v2(c->db, sql, -1, &s, NULL);
    if (src != SQLITE_OK) {
        rc = sq_db_fail(c->db, src, sql, e);
        goto done;
    }
    src = sqlite3_step(s);
    if (src == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    else
        rc = src == SQLITE_DONE ? orc_fail(e, ORC_ENOTFOUND, "no row")
                                : sq_db_fail(c->db, src, sql, e);
done:
    sqlite3_finalize(s);
    sq_release(m, c);
    return rc;
}
