/* The SQLite metadata store, buckets: names, owners and regions; a bucket is
 * deleted only while it holds no object (multipart uploads keep it busy too,
 * through the uploads table's foreign key). */
#include "meta/sqlite_int.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/time.h"

/* ---- buckets ---- */

static void read_bucket(sqlite3_stmt *s, meta_bucket *b)
{
    memset(b, 0, sizeof(*b));
    b->id = sqlite3_column_int64(s, 0);
    sq_copy_text(b->name, sizeof(b->name), s, 1);
    b->owner = sqlite3_column_int64(s, 2);
    sq_copy_text(b->region, sizeof(b->region), s, 3);
    b->created_ms = sqlite3_column_int64(s, 4);
    sq_copy_text(b->storage_class, sizeof(b->storage_class), s, 5);
}

int sq_bucket_create(meta *m, const char *name, int64_t owner, const char *region, orc_err *e)
{
    if (!name || !*name || strlen(name) > META_BUCKET_MAX)
        return orc_fail(e, ORC_EINVAL, "bucket name must be 1 to %d bytes", META_BUCKET_MAX);
    if (!region) region = "";
    if (strlen(region) >= sizeof(((meta_bucket *)0)->region))
        return orc_fail(e, ORC_EINVAL, "region name '%.40s' is too long", region);
    struct conn *c;
    sqlite3_stmt *s = NULL;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = sq_tx_begin(m, c, TX_WRITE, e))) goto done;
    if (!(rc = sq_stmt(c, ST_BUCKET_ADD, &s, e))) {
        if (sq_bind_text(s, 1, name) || sqlite3_bind_int64(s, 2, owner) ||
            sq_bind_text(s, 3, region) || sqlite3_bind_int64(s, 4, orc_now_ms()))
            rc = sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
        else
            rc = sq_run(c, s, "bucket create", e);
        if (rc == ORC_EEXISTS)
            orc_fail(e, rc, "bucket %s already exists", name);
        else if (rc == ORC_ECONFLICT) /* the owner foreign key */
            rc = orc_fail(e, ORC_ENOTFOUND, "no user with id %" PRId64 " to own bucket %s", owner,
                          name);
    }
    rc = sq_tx_end(m, c, TX_WRITE, rc, e);
done:
    sq_release(m, c);
    return rc;
}

int sq_bucket_get(meta *m, const char *name, meta_bucket *out, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = sq_stmt(c, ST_BUCKET_GET, &s, e))) goto done;
    if (sq_bind_text(s, 1, name)) {
        rc = sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
        goto done;
    }
    rc = sq_row(c, s, "bucket lookup", e);
    if (rc == 1) {
        read_bucket(s, out);
        sqlite3_reset(s);
        rc = ORC_OK;
    } else if (rc == 0) {
        rc = orc_fail(e, ORC_ENOTFOUND, "no bucket %s", name);
    }
done:
    sq_release(m, c);
    return rc;
}

static int bucket_delete(struct conn *c, const char *name, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    meta_bucket b;
    int rc = sq_stmt(c, ST_BUCKET_GET, &s, e);
    if (rc) return rc;
    if (sq_bind_text(s, 1, name)) return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = sq_row(c, s, "bucket lookup", e)) <= 0)
        return rc ? rc : orc_fail(e, ORC_ENOTFOUND, "no bucket %s", name);
    read_bucket(s, &b);
    sqlite3_reset(s);

    if ((rc = sq_stmt(c, ST_BUCKET_NONEMPTY, &s, e))) return rc;
    if (sqlite3_bind_int64(s, 1, b.id)) return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    if ((rc = sq_row(c, s, "bucket check", e)) < 0) return rc;
    if (rc == 1) {
        sqlite3_reset(s);
        return orc_fail(e, ORC_ECONFLICT, "bucket %s is not empty", name);
    }
    if ((rc = sq_stmt(c, ST_BUCKET_DEL, &s, e))) return rc;
    if (sqlite3_bind_int64(s, 1, b.id)) return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
    return sq_run(c, s, "bucket delete", e);
}

int sq_bucket_delete(meta *m, const char *name, orc_err *e)
{
    struct conn *c;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if (!(rc = sq_tx_begin(m, c, TX_WRITE, e)))
        rc = sq_tx_end(m, c, TX_WRITE, bucket_delete(c, name, e), e);
    sq_release(m, c);
    return rc;
}

int sq_bucket_list(meta *m, int64_t owner, meta_bucket **out, size_t *n, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    meta_bucket *v = NULL;
    size_t len = 0, cap = 0;
    *out = NULL;
    *n = 0;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = sq_stmt(c, ST_BUCKET_LIST, &s, e))) goto done;
    if (sqlite3_bind_int64(s, 1, owner)) {
        rc = sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
        goto done;
    }
    while ((rc = sq_row(c, s, "bucket list", e)) == 1) {
        if (len == cap) v = orc_realloc(v, (cap = cap ? cap * 2 : 8) * sizeof(*v));
        read_bucket(s, &v[len++]);
    }
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

int sq_bucket_set_class(meta *m, const char *name, const char *storage_class, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = sq_tx_begin(m, c, TX_WRITE, e))) goto done;
    if (!(rc = sq_stmt(c, ST_BUCKET_SET_CLASS, &s, e))) {
        if (sq_bind_text(s, 1, name) ||
            sq_bind_text(s, 2, storage_class && *storage_class ? storage_class : NULL))
            rc = sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
        else if (!(rc = sq_run(c, s, "bucket set class", e)) && sqlite3_changes(c->db) == 0)
            rc = orc_fail(e, ORC_ENOTFOUND, "no bucket %.80s", name ? name : "");
    }
    rc = sq_tx_end(m, c, TX_WRITE, rc, e);
done:
    sq_release(m, c);
    return rc;
}
