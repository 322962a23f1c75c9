/* Completed multipart uploads, remembered for a while (schema version 4's
 * completed_uploads) so that a CompleteMultipartUpload repeated after it
 * succeeded, which SDKs do when the first answer was lost, gets the same
 * answer instead of NoSuchUpload. Kept apart from sqlite_multipart.c: its
 * statements are prepared per call (a complete is rare next to a PUT), so
 * the shared statement table does not change. */
#include <string.h>

#include "meta/sqlite_int.h"

static int prepare(struct conn *c, const char *sql, sqlite3_stmt **s, orc_err *e)
{
    int rc = sqlite3_prepare_v2(c->db, sql, -1, s, NULL);
    return rc == SQLITE_OK ? ORC_OK : sq_db_fail(c->db, rc, "prepare", e);
}

int sq_completed_add(struct conn *c, int64_t bucket_id, const char *key, const char *upload_id,
                     const char *etag, int64_t now_ms, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    /* Forget what is past keeping first: the table stays as small as the
     * completes of the last META_COMPLETED_KEEP_MS. */
    int rc = prepare(c, "DELETE FROM completed_uploads WHERE completed_ms < ?1", &s, e);
    if (!rc && sqlite3_bind_int64(s, 1, now_ms - META_COMPLETED_KEEP_MS)) rc = sq_bind_fail(c, e);
    if (!rc) rc = sq_run(c, s, "completed upload expiry", e);
    sqlite3_finalize(s);
    if (rc) return rc;
    rc = prepare(c,
                 "INSERT OR REPLACE INTO completed_uploads(upload_id, bucket_id, key, etag,"
                 " completed_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                 &s, e);
    if (!rc &&
        (sq_bind_text(s, 1, upload_id) || sqlite3_bind_int64(s, 2, bucket_id) ||
         sq_bind_text(s, 3, key) || sq_bind_text(s, 4, etag) || sqlite3_bind_int64(s, 5, now_ms)))
        rc = sq_bind_fail(c, e);
    if (!rc) rc = sq_run(c, s, "completed upload insert", e);
    sqlite3_finalize(s);
    return rc;
}

int sq_upload_completed(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                        int64_t now_ms, meta_completed *out, orc_err *e)
{
    struct conn *c;
    sqlite3_stmt *s = NULL;
    memset(out, 0, sizeof(*out));
    if (!key || !upload_id) return orc_fail(e, ORC_ENOTFOUND, "no completed upload");
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    rc = prepare(c,
                 "SELECT etag, completed_ms FROM completed_uploads WHERE upload_id = ?1"
                 " AND bucket_id = ?2 AND key = ?3 AND completed_ms >= ?4",
                 &s, e);
    if (!rc &&
        (sq_bind_text(s, 1, upload_id) || sqlite3_bind_int64(s, 2, bucket_id) ||
         sq_bind_text(s, 3, key) || sqlite3_bind_int64(s, 4, now_ms - META_COMPLETED_KEEP_MS)))
        rc = sq_bind_fail(c, e);
    if (!rc && (rc = sq_row(c, s, "completed upload lookup", e)) == 1) {
        sq_copy_text(out->etag, sizeof(out->etag), s, 0);
        out->completed_ms = sqlite3_column_int64(s, 1);
        rc = ORC_OK;
    } else if (rc == 0) {
        rc = orc_fail(e, ORC_ENOTFOUND, "no completed upload %.80s", upload_id);
    }
    sqlite3_finalize(s);
    sq_release(m, c);
    return rc;
}
