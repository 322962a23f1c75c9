/* The SQLite metadata store: one stored header line of an object's current
 * version (object tagging keeps its tag set there), changed in place in one
 * transaction without touching the manifest, size, ETag or time. */
#include "meta/sqlite_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

/* ---- one stored header of the current version (object tagging) ----
 * Rare next to PUTs and GETs: statements are prepared per call. */

/* headers with the "name: ..." line dropped and, if value, "name: value"
 * appended. Caller frees. */
static char *headers_with(const char *headers, const char *name, const char *value)
{
    orc_buf b;
    size_t nl = strlen(name);
    orc_buf_init(&b, 0);
    orc_buf_append(&b, "", 0, NULL);
    for (const char *l = headers; l && *l;) {
        const char *end = strchr(l, '\n');
        size_t len = end ? (size_t)(end - l) + 1 : strlen(l);
        if (!(len > nl + 1 && memcmp(l, name, nl) == 0 && l[nl] == ':'))
            orc_buf_append(&b, l, len, NULL);
        l += len;
    }
    if (value) orc_buf_printf(&b, NULL, "%s: %s\n", name, value);
    return (char *)orc_buf_take(&b, NULL);
}

static int object_set_header(struct conn *c, int64_t bucket_id, const char *key, const char *name,
                             const char *value, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    char *hd = NULL;
    int64_t id = 0;
    int rc = sqlite3_prepare_v2(
        c->db, "SELECT id, headers FROM objects WHERE bucket_id = ?1 AND key = ?2", -1, &s, NULL);
    if (rc != SQLITE_OK) return sq_db_fail(c->db, rc, "object lookup", e);
    if (sqlite3_bind_int64(s, 1, bucket_id) || sq_bind_text(s, 2, key)) {
        rc = sq_bind_fail(c, e);
    } else if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        id = sqlite3_column_int64(s, 0);
        const unsigned char *t = sqlite3_column_text(s, 1);
        hd = headers_with(t ? (const char *)t : NULL, name, value);
        rc = ORC_OK;
    } else {
        rc = rc == SQLITE_DONE ? orc_fail(e, ORC_ENOTFOUND, "no object %.200s", key)
                               : sq_db_fail(c->db, rc, "object lookup", e);
    }
    sqlite3_finalize(s);
    s = NULL;
    if (rc) goto done;
    rc = sqlite3_prepare_v2(c->db, "UPDATE objects SET headers = ?2 WHERE id = ?1", -1, &s, NULL);
    if (rc != SQLITE_OK) {
        rc = sq_db_fail(c->db, rc, "object update", e);
        goto done;
    }
    if (sqlite3_bind_int64(s, 1, id) || sq_bind_text(s, 2, *hd ? hd : NULL))
        rc = sq_bind_fail(c, e);
    else if ((rc = sqlite3_step(s)) != SQLITE_DONE)
        rc = sq_db_fail(c->db, rc, "object update", e);
    else
        rc = ORC_OK;
done:
    sqlite3_finalize(s);
    free(hd);
    return rc;
}

int sq_object_set_header(meta *m, int64_t bucket_id, const char *key, const char *name,
                         const char *value, orc_err *e)
{
    if (!key || !name || !*name || strchr(name, '\n') || (value && strchr(value, '\n')))
        return orc_fail(e, ORC_EINVAL, "bad stored header");
    struct conn *c;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if (!(rc = sq_tx_begin(m, c, TX_WRITE, e)))
        rc = sq_tx_end(m, c, TX_WRITE, object_set_header(c, bucket_id, key, name, value, e), e);
    sq_release(m, c);
    return rc;
}
