/* The SQLite metadata store, users: the S3 identities (name, access key,
 * sealed secret) the front authenticates against. See sqlite.c for the pool
 * and transactions, sqlite_int.h for what the files share. */
#include "meta/sqlite_int.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/time.h"

/* ---- users ---- */

static int read_user(sqlite3_stmt *s, meta_user *u, orc_err *e)
{
    memset(u, 0, sizeof(*u));
    u->id = sqlite3_column_int64(s, 0);
    sq_copy_text(u->name, sizeof(u->name), s, 1);
    sq_copy_text(u->access_key, sizeof(u->access_key), s, 2);
    int n = sqlite3_column_bytes(s, 3);
    if (n < 0 || (size_t)n > sizeof(u->secret_sealed))
        return orc_fail(e, ORC_EIO, "metadata: user %s has a %d-byte sealed secret", u->name, n);
    if (n) memcpy(u->secret_sealed, sqlite3_column_blob(s, 3), (size_t)n);
    u->secret_sealed_len = (size_t)n;
    u->created_ms = sqlite3_column_int64(s, 4);
    return ORC_OK;
}

int sq_user_add(meta *m, const char *name, const char *access_key, const uint8_t *sealed,
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
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = sq_tx_begin(m, c, TX_WRITE, e))) goto done;
    if (!(rc = sq_stmt(c, ST_USER_ADD, &s, e))) {
        if (sq_bind_text(s, 1, name) || sq_bind_text(s, 2, access_key) ||
            sqlite3_bind_blob(s, 3, sealed, (int)sealed_len, SQLITE_STATIC) ||
            sqlite3_bind_int64(s, 4, orc_now_ms()))
            rc = sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
        else
            rc = sq_run(c, s, "user add", e);
        if (rc == ORC_EEXISTS)
            orc_fail(e, rc, "a user named %s or with that access key already exists", name);
        if (!rc && id) *id = sqlite3_last_insert_rowid(c->db);
    }
    rc = sq_tx_end(m, c, TX_WRITE, rc, e);
done:
    sq_release(m, c);
    return rc;
}

/* One user by access key or name (text) or else by id. */
static int user_one(meta *m, enum st q, const char *text, int64_t id, meta_user *out, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = sq_stmt(c, q, &s, e))) goto done;
    if (text ? sq_bind_text(s, 1, text) : sqlite3_bind_int64(s, 1, id)) {
        rc = sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
        goto done;
    }
    rc = sq_row(c, s, "user lookup", e);
    if (rc == 1) {
        rc = read_user(s, out, e);
        sqlite3_reset(s);
    } else if (rc == 0) {
        rc = text ? orc_fail(e, ORC_ENOTFOUND, "no user %s", text)
                  : orc_fail(e, ORC_ENOTFOUND, "no user with id %" PRId64, id);
    }
done:
    sq_release(m, c);
    return rc;
}

int sq_user_by_key(meta *m, const char *access_key, meta_user *out, orc_err *e)
{
    return user_one(m, ST_USER_BY_KEY, access_key ? access_key : "", 0, out, e);
}

int sq_user_by_name(meta *m, const char *name, meta_user *out, orc_err *e)
{
    return user_one(m, ST_USER_BY_NAME, name ? name : "", 0, out, e);
}

int sq_user_by_id(meta *m, int64_t id, meta_user *out, orc_err *e)
{
    return user_one(m, ST_USER_BY_ID, NULL, id, out, e);
}

int sq_user_list(meta *m, meta_user **out, size_t *n, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    meta_user *v = NULL;
    size_t len = 0, cap = 0;
    *out = NULL;
    *n = 0;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = sq_stmt(c, ST_USER_LIST, &s, e))) goto done;
    while ((rc = sq_row(c, s, "user list", e)) == 1) {
        if (len == cap) v = orc_realloc(v, (cap = cap ? cap * 2 : 8) * sizeof(*v));
        if ((rc = read_user(s, &v[len++], e))) break;
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

int sq_user_remove(meta *m, const char *name, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = sq_tx_begin(m, c, TX_WRITE, e))) goto done;
    if (!(rc = sq_stmt(c, ST_USER_DEL, &s, e))) {
        rc = sq_bind_text(s, 1, name) ? sq_db_fail(c->db, SQLITE_ERROR, "bind", e)
                                      : sq_run(c, s, "user remove", e);
        if (rc == ORC_ECONFLICT)
            orc_fail(e, rc, "user %s still owns buckets: delete them first", name);
        else if (!rc && sqlite3_changes(c->db) == 0)
            rc = orc_fail(e, ORC_ENOTFOUND, "no user %s", name);
    }
    rc = sq_tx_end(m, c, TX_WRITE, rc, e);
done:
    sq_release(m, c);
    return rc;
}

int sq_user_set_secret(meta *m, const char *name, const uint8_t *sealed, size_t sealed_len,
                       orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    if (!sealed || sealed_len == 0 || sealed_len > sizeof(((meta_user *)0)->secret_sealed))
        return orc_fail(e, ORC_EINVAL, "sealed secret must be 1 to %zu bytes",
                        sizeof(((meta_user *)0)->secret_sealed));
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = sq_tx_begin(m, c, TX_WRITE, e))) goto done;
    if (!(rc = sq_stmt(c, ST_USER_SET_SECRET, &s, e))) {
        rc = sq_bind_text(s, 1, name) ||
                     sqlite3_bind_blob(s, 2, sealed, (int)sealed_len, SQLITE_TRANSIENT)
                 ? sq_db_fail(c->db, SQLITE_ERROR, "bind", e)
                 : sq_run(c, s, "user set secret", e);
        if (!rc && sqlite3_changes(c->db) == 0) rc = orc_fail(e, ORC_ENOTFOUND, "no user %s", name);
    }
    rc = sq_tx_end(m, c, TX_WRITE, rc, e);
done:
    sq_release(m, c);
    return rc;
}
