/* What the SQLite metadata store's files share: the handle, the connection
 * pool and transaction helpers (sqlite.c), the statement table, the row
 * helpers (sqlite_util.c), what the files take from each other, and the ops
 * each defines for the table in sqlite.c. Not for other layers: they use
 * meta.h (and implementations, meta_impl.h). */
#ifndef ORC_META_SQLITE_INT_H
#define ORC_META_SQLITE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <sqlite3.h>

#include "meta/meta_impl.h"

enum st {
    ST_BEGIN,
    ST_BEGIN_WRITE,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_PROVIDER_GET,
    ST_PROVIDER_ADD,
    ST_USER_ADD,
    ST_USER_BY_KEY,
    ST_USER_BY_NAME,
    ST_USER_BY_ID,
    ST_USER_LIST,
    ST_USER_DEL,
    ST_USER_SET_SECRET,
    ST_BUCKET_ADD,
    ST_BUCKET_GET,
    ST_BUCKET_EXISTS,
    ST_BUCKET_NONEMPTY,
    ST_BUCKET_DEL,
    ST_BUCKET_LIST,
    ST_CHUNK_BY_HASH,
    ST_CHUNK_ADD,
    ST_CHUNK_TOUCH,
    ST_CHUNK_COPIES,
    ST_CHUNK_STATE,
    ST_CHUNK_LIVE,
    ST_COPY_ADD,
    ST_COPY_PENDING,
    ST_COPY_ANY,
    ST_BUCKET_SET_CLASS,
    ST_COPY_SUSPECT,
    ST_COPY_PENDING_LIST,
    ST_COPY_FORGET,
    ST_REPAIR_ENQUEUE,
    ST_ORPHAN_FENCED,
    ST_CHUNK_GIVE_UP,
    ST_CHUNK_TAKE_OVER,
    ST_OBJ_STARTED,
    ST_CHUNK_DROP,
    ST_CHUNK_REF,
    ST_OBJ_FIND,
    ST_OBJ_RELEASE,
    ST_OBJ_DEL,
    ST_OBJ_ADD,
    ST_MANIFEST_ADD,
    ST_OBJ_GET,
    ST_EXTENTS,
    ST_OBJ_VERSION,
    ST_LIST_GE,
    ST_LIST_GT,
    ST_LIST_GE_LT,
    ST_LIST_GT_LT,
    ST_GC_COUNT,
    ST_GC_MARK,
    ST_GC_DELETING,
    ST_STATS,
    /* multipart */
    ST_MP_UPLOAD_ADD,
    ST_MP_UPLOAD_GET,
    ST_MP_UPLOAD_RELEASE,
    ST_MP_UPLOAD_DEL,
    ST_MP_UPLOAD_LIST,
    ST_MP_EXPIRED,
    ST_MP_PART_GET,
    ST_MP_PART_RELEASE,
    ST_MP_PART_DEL,
    ST_MP_PART_ADD,
    ST_MP_PART_LIST,
    ST_MP_PMAN_ADD,
    ST_MP_PMAN_GET,
    ST_MP_OBJPART_ADD,
    ST_MP_OBJPART_GET,
    ST_COUNT
};

#define USER_COLS "id, name, access_key, secret, created_ms"
#define BUCKET_COLS "id, name, owner, region, created_ms, storage_class"
#define CHUNK_COLS                                                                                 \
    "c.id, c.hash, c.plain_len, c.sealed_len, c.format, c.key_version, c.state, c.ec_k, c.ec_m,"   \
    " c.width"
#define CHUNK_NCOLS 10
/* The bytes a piece (chunk_copies AS cc of chunks AS c) holds: a fragment is
 * ceil(sealed_len / ec_k) bytes (place/ec.h), a whole copy sealed_len. */
#define PIECE_BYTES                                                                                \
    "(CASE WHEN cc.frag >= 0 AND c.ec_k > 0 THEN (c.sealed_len + c.ec_k - 1) / c.ec_k"             \
    " ELSE c.sealed_len END)"
#define OBJ_COLS "id, bucket_id, key, size, etag, content_type, headers, mtime_ms, storage_class"
#define LIST_SQL(lower, upper)                                                                     \
    "SELECT " OBJ_COLS " FROM objects WHERE bucket_id = ?1 AND key " lower " ?2" upper             \
    " ORDER BY key LIMIT ?4"

#define UPLOAD_COLS                                                                                \
    "id, upload_id, bucket_id, key, initiator, content_type, headers, created_ms, storage_class"
/* Releases the references of an upload's part manifests (all, or part ?3),
 * as ST_OBJ_RELEASE does for an object. */
#define MP_RELEASE_SQL(part)                                                                       \
    "UPDATE chunks SET refcount = refcount - r.n,"                                                 \
    " touched_ms = CASE WHEN refcount = r.n THEN ?2 ELSE touched_ms END"                           \
    " FROM (SELECT chunk_id, count(*) AS n FROM part_manifest WHERE upload = ?1" part              \
    " GROUP BY chunk_id) AS r WHERE chunks.id = r.chunk_id"

/* One connection, used by one thread at a time. */
struct conn {
    sqlite3 *db;
    bool lazy;                  /* synchronous = NORMAL for the current transaction */
    sqlite3_stmt *st[ST_COUNT]; /* prepared on first use, kept until close */
    struct conn *next;          /* in the idle list */
};

/* The store's handle; m->base.ops is &meta_sqlite_ops. */
struct sq_meta {
    meta base;
    char *path;
    pthread_mutex_t mu; /* guards idle and nconns */
    pthread_cond_t cv;  /* signalled when a connection is returned */
    struct conn *idle;
    int nconns; /* open or being opened */
    /* Serializes write transactions in-process: writers queue on this mutex
     * instead of polling SQLite's busy handler, which sleeps up to 100 ms
     * between tries. SQLite allows one writer at a time anyway. */
    pthread_mutex_t wmu;
};

/* TX_WRITE_LAZY commits without fsyncing the log (synchronous = NORMAL). It
 * is for chunk bookkeeping (claim, commit, abandon) only: the object version
 * switch that references those rows is a TX_WRITE, whose fsync of the
 * append-only log makes every earlier commit durable with it. A crash can
 * lose a lazy commit whose object never committed; its copies are then
 * orphans on the providers (space, never wrong data). */
enum { TX_READ, TX_WRITE, TX_WRITE_LAZY };

/* Helpers shared by the files; each is documented where it is defined.
 * Dependencies run one way: every file uses sqlite.c (pool, statements,
 * transactions) and sqlite_util.c (plumbing, which uses nothing here);
 * sqlite_object.c uses the chunk rows of sqlite_chunk.c; sqlite_multipart.c
 * also uses the object side below, since completing an upload makes an
 * object version; sqlite_object.c uses no multipart code. */
/* sqlite.c */
int sq_acquire(meta *m, struct conn **out, orc_err *e);
void sq_release(meta *m, struct conn *c);
int sq_stmt(struct conn *c, enum st id, sqlite3_stmt **out, orc_err *e);
int sq_tx_begin(meta *m, struct conn *c, int mode, orc_err *e);
int sq_tx_end(meta *m, struct conn *c, int mode, int rc, orc_err *e);
/* sqlite_util.c */
int sq_bind_fail(struct conn *c, orc_err *e);
int sq_bind_text(sqlite3_stmt *s, int i, const char *v);
int64_t sq_clamp64(uint64_t v);
void sq_copy_text(char *dst, size_t cap, sqlite3_stmt *s, int col);
int sq_db_fail(sqlite3 *db, int rc, const char *what, orc_err *e);
char *sq_dup_text(sqlite3_stmt *s, int col);
bool sq_prefix_successor(const char *prefix, char *out, size_t cap);
int sq_row(struct conn *c, sqlite3_stmt *s, const char *what, orc_err *e);
int sq_run(struct conn *c, sqlite3_stmt *s, const char *what, orc_err *e);
const char *sq_state_name(int state);
/* sqlite_chunk.c: a chunk row's CHUNK_COLS from column col into *k (no
 * copies); one piece's provider id and frag from columns col, col + 1
 * appended to k; and the
 * error for a chunk that is not in state want (ORC_ENOTFOUND, ORC_ECONFLICT). */
void sq_read_chunk(sqlite3_stmt *s, int col, meta_chunk *k);
void sq_add_copy(sqlite3_stmt *s, int col, meta_chunk *k);
int sq_not_in_state(struct conn *c, int64_t id, int want, orc_err *e);
/* sqlite_object.c */
int sq_check_object_new(const meta_object_new *o, orc_err *e);
int sq_version_put(struct conn *c, int64_t bucket_id, const meta_object_new *o, int64_t *id,
                   orc_err *e);
int sq_superseded(struct conn *c, int64_t bucket_id, const char *key, int64_t start_ms, orc_err *e);
/* sqlite_completed.c: records a completed upload, in the complete's write
 * transaction, and forgets those older than META_COMPLETED_KEEP_MS. */
int sq_completed_add(struct conn *c, int64_t bucket_id, const char *key, const char *upload_id,
                     const char *etag, int64_t now_ms, orc_err *e);

/* The ops of meta_sqlite_ops (sqlite.c), one file per concept; each is the
 * meta.h function of the same name without "meta_" (see meta_impl.h). They
 * are external only so that the one const table in sqlite.c can name them:
 * nothing outside meta/sqlite*.c declares or calls them. */
extern const meta_ops meta_sqlite_ops;
/* sqlite_user.c */
int sq_user_add(meta *m, const char *name, const char *access_key, const uint8_t *sealed,
                size_t sealed_len, int64_t *id, orc_err *e);
int sq_user_by_key(meta *m, const char *access_key, meta_user *out, orc_err *e);
int sq_user_by_name(meta *m, const char *name, meta_user *out, orc_err *e);
int sq_user_by_id(meta *m, int64_t id, meta_user *out, orc_err *e);
int sq_user_list(meta *m, meta_user **out, size_t *n, orc_err *e);
int sq_user_remove(meta *m, const char *name, orc_err *e);
int sq_user_set_secret(meta *m, const char *name, const uint8_t *sealed, size_t sealed_len,
                       orc_err *e);
/* sqlite_bucket.c */
int sq_bucket_create(meta *m, const char *name, int64_t owner, const char *region, orc_err *e);
int sq_bucket_get(meta *m, const char *name, meta_bucket *out, orc_err *e);
int sq_bucket_delete(meta *m, const char *name, orc_err *e);
int sq_bucket_set_class(meta *m, const char *name, const char *storage_class, orc_err *e);
int sq_bucket_list(meta *m, int64_t owner, meta_bucket **out, size_t *n, orc_err *e);
/* sqlite_stats.c */
int sq_provider_id(meta *m, const char *name, uint32_t *id, orc_err *e);
int sq_stats_get(meta *m, meta_stats *out, orc_err *e);
int sq_provider_usage(meta *m, uint32_t provider_id, uint64_t *chunks, uint64_t *bytes, orc_err *e);
int sq_under_replicated(meta *m, int legacy_width, uint64_t *n, orc_err *e);
int sq_redundancy_list(meta *m, int legacy_width, meta_redundancy **out, size_t *n, orc_err *e);
/* sqlite_chunk.c */
int sq_chunk_claim(meta *m, const uint8_t hash[32], uint32_t plain_len, uint32_t sealed_len,
                   uint8_t format, uint32_t key_version, const meta_layout *lay, meta_chunk *out,
                   bool *is_new, orc_err *e);
int sq_chunk_commit(meta *m, int64_t chunk_id, const uint32_t *providers, const int16_t *frags,
                    int n, orc_err *e);
int sq_chunk_abandon(meta *m, int64_t chunk_id, orc_err *e);
int sq_chunk_copies_pending(meta *m, int64_t chunk_id, const uint32_t *providers,
                            const int16_t *frags, const char *const *names, int n, orc_err *e);
int sq_gc_forget(meta *m, int64_t chunk_id, orc_err *e);
int sq_gc_mark(meta *m, int64_t cutoff_ms, size_t limit, meta_chunk **out, size_t *n, orc_err *e);
int sq_repair_list(meta *m, int legacy_width, int64_t after_id, size_t limit, meta_chunk **out,
                   size_t *n, orc_err *e);
int sq_chunk_copy_suspect(meta *m, int64_t chunk_id, uint32_t provider, int16_t frag, orc_err *e);
int sq_chunk_pending_list(meta *m, int64_t chunk_id, uint32_t *providers, int16_t *frags, int *n,
                          orc_err *e);
int sq_chunk_copy_forget(meta *m, int64_t chunk_id, uint32_t provider, orc_err *e);
/* sqlite_chunk.c: queuing a chunk for repair inside the caller's write
 * transaction (a report: gen + 1), and, at a commit, if its width is above
 * n pieces (META_REPAIR_SHORT). */
int sq_repair_queue(struct conn *c, int64_t chunk_id, int reason, orc_err *e);
int sq_repair_queue_short(struct conn *c, int64_t chunk_id, int n, orc_err *e);
/* sqlite_fsck.c: recorded pieces per provider, orphan candidates and fences;
 * provider usage by month */
int sq_usage_add(meta *m, uint32_t provider, const char *month, const meta_month_usage *add,
                 orc_err *e);
int sq_usage_get(meta *m, uint32_t provider, const char *month, meta_month_usage *out, orc_err *e);
int sq_provider_pieces(meta *m, uint32_t provider, int64_t after_id, size_t limit, meta_piece **out,
                       size_t *n, orc_err *e);
int sq_orphans_update(meta *m, uint32_t provider, const meta_orphan *found, size_t n,
                      int64_t now_ms, orc_err *e);
int sq_orphans_due(meta *m, uint32_t provider, int64_t cutoff_ms, meta_orphan **out, size_t *n,
                   orc_err *e);
int sq_orphans_fence(meta *m, uint32_t provider, const char *const *names, size_t n, bool fence,
                     orc_err *e);
/* sqlite_drain.c: provider states, drains, moving a piece */
int sq_provider_list(meta *m, meta_provider **out, size_t *n, orc_err *e);
int sq_provider_set_state(meta *m, uint32_t id, int state, orc_err *e);
int sq_provider_held(meta *m, uint32_t id, uint64_t *pieces, uint64_t *bytes, orc_err *e);
int sq_drain_list(meta *m, uint32_t provider, int64_t after_id, size_t limit, meta_drain_item **out,
                  size_t *n, orc_err *e);
int sq_chunk_move_piece(meta *m, int64_t chunk_id, uint32_t from, uint32_t to, int16_t frag,
                        orc_err *e);
int sq_chunk_get(meta *m, int64_t chunk_id, meta_chunk *out, orc_err *e);
/* sqlite_repair.c: the repair queue, the scrub's listing, settings. */
int sq_repair_enqueue(meta *m, int64_t chunk_id, int reason, orc_err *e);
int sq_repair_take(meta *m, int64_t now_ms, int64_t lease_ms, size_t limit, meta_repair_item **out,
                   size_t *n, orc_err *e);
int sq_repair_scan(meta *m, int legacy_width, uint64_t *queued, orc_err *e);
int sq_repair_done(meta *m, int64_t chunk_id, int64_t gen, orc_err *e);
int sq_repair_retry(meta *m, int64_t chunk_id, int64_t not_before_ms, const char *why, orc_err *e);
int sq_repair_stats_get(meta *m, int64_t now_ms, meta_repair_stats *out, orc_err *e);
int sq_chunk_list(meta *m, int64_t after_id, size_t limit, meta_chunk **out, size_t *n, orc_err *e);
int sq_setting_get(meta *m, const char *key, char *buf, size_t cap, orc_err *e);
int sq_setting_set(meta *m, const char *key, const char *value, orc_err *e);
int sq_chunk_add_copies(meta *m, int64_t chunk_id, const uint32_t *providers, const int16_t *frags,
                        int n, orc_err *e);
/* sqlite_object.c */
int sq_object_put(meta *m, int64_t bucket_id, const meta_object_new *o, int64_t *id, orc_err *e);
int sq_object_get(meta *m, int64_t bucket_id, const char *key, bool want_extents, uint64_t from,
                  uint64_t to, meta_object *out, meta_extent **ext, size_t *next, orc_err *e);
int sq_object_extents(meta *m, const meta_object *v, uint64_t from, uint64_t to, meta_extent **ext,
                      size_t *next, orc_err *e);
int sq_object_delete(meta *m, int64_t bucket_id, const char *key, orc_err *e);
int sq_object_list(meta *m, int64_t bucket_id, const char *prefix, const char *from,
                   bool from_inclusive, size_t limit, meta_object **out, size_t *n, orc_err *e);
int sq_object_copy(meta *m, const meta_object_copy_args *a, meta_object *out, orc_err *e);
/* sqlite_multipart.c */
int sq_upload_create(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                     int64_t initiator, const char *content_type, const char *headers,
                     const char *storage_class, int64_t created_ms, orc_err *e);
int sq_upload_get(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                  meta_upload *out, orc_err *e);
int sq_part_put(meta *m, int64_t bucket_id, const meta_part_new *p, orc_err *e);
int sq_part_list(meta *m, int64_t bucket_id, const char *key, const char *upload_id, int after,
                 size_t limit, meta_part **out, size_t *n, orc_err *e);
int sq_upload_complete(meta *m, int64_t bucket_id, meta_complete *mc, orc_err *e);
int sq_upload_abort(meta *m, int64_t bucket_id, const char *key, const char *upload_id, orc_err *e);
int sq_upload_list(meta *m, int64_t bucket_id, const char *prefix, const char *from_key,
                   const char *from_upload, size_t limit, meta_upload **out, size_t *n, orc_err *e);
int sq_upload_expire(meta *m, int64_t cutoff_ms, size_t limit, size_t *n, orc_err *e);
int sq_object_part(meta *m, int64_t bucket_id, const char *key, int number, int64_t *object_id,
                   int *nparts, uint64_t *start, uint64_t *size, orc_err *e);
int sq_part_set_checksum(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                         int number, const char *etag, int64_t mtime_ms, const char *checksum,
                         orc_err *e);
/* sqlite_completed.c */
int sq_upload_completed(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                        int64_t now_ms, meta_completed *out, orc_err *e);
/* sqlite_header.c */
int sq_object_set_header(meta *m, int64_t bucket_id, const char *key, const char *name,
                         const char *value, orc_err *e);

#endif
