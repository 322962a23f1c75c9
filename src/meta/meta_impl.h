/* What metadata store implementations see. Callers include meta.h only and
 * go through its meta_* wrappers (meta.c), never through the ops table.
 *
 * An implementation (sqlite*.c now, PostgreSQL later) embeds struct meta
 * first in its own handle, fills ops with its table, and adds one line to the
 * registry in meta.c. Each op has the contract of the meta.h function of the
 * same name (meta_<op>): the same arguments, codes and atomicity, and the same
 * thread safety (many threads at once on one handle). Every op is required:
 * the contract suite (tests/unit/support/meta_contract.h) runs against each
 * implementation. */
#ifndef ORC_META_META_IMPL_H
#define ORC_META_META_IMPL_H

#include "meta/meta.h"

typedef struct meta_ops {
    const char *type; /* "sqlite": what [meta] type names */
    void (*close)(meta *m);
    int (*provider_id)(meta *m, const char *name, uint32_t *id, orc_err *e);
    /* users */
    int (*user_add)(meta *m, const char *name, const char *access_key, const uint8_t *sealed,
                    size_t sealed_len, int64_t *id, orc_err *e);
    int (*user_by_key)(meta *m, const char *access_key, meta_user *out, orc_err *e);
    int (*user_by_name)(meta *m, const char *name, meta_user *out, orc_err *e);
    int (*user_by_id)(meta *m, int64_t id, meta_user *out, orc_err *e);
    int (*user_list)(meta *m, meta_user **out, size_t *n, orc_err *e);
    int (*user_remove)(meta *m, const char *name, orc_err *e);
    int (*user_set_secret)(meta *m, const char *name, const uint8_t *sealed, size_t sealed_len,
                           orc_err *e);
    /* buckets */
    int (*bucket_create)(meta *m, const char *name, int64_t owner, const char *region, orc_err *e);
    int (*bucket_get)(meta *m, const char *name, meta_bucket *out, orc_err *e);
    int (*bucket_delete)(meta *m, const char *name, orc_err *e);
    int (*bucket_set_class)(meta *m, const char *name, const char *storage_class, orc_err *e);
    int (*bucket_list)(meta *m, int64_t owner, meta_bucket **out, size_t *n, orc_err *e);
    /* chunks */
    int (*chunk_claim)(meta *m, const uint8_t hash[32], uint32_t plain_len, uint32_t sealed_len,
                       uint8_t format, uint32_t key_version, const meta_layout *lay,
                       meta_chunk *out, bool *is_new, orc_err *e);
    int (*chunk_commit)(meta *m, int64_t chunk_id, const uint32_t *providers, const int16_t *frags,
                        int n, orc_err *e);
    int (*chunk_copies_pending)(meta *m, int64_t chunk_id, const uint32_t *providers,
                                const int16_t *frags, const char *const *names, int n, orc_err *e);
    int (*provider_pieces)(meta *m, uint32_t provider, int64_t after_id, size_t limit,
                           meta_piece **out, size_t *n, orc_err *e);
    int (*orphans_update)(meta *m, uint32_t provider, const meta_orphan *found, size_t n,
                          int64_t now_ms, orc_err *e);
    int (*orphans_due)(meta *m, uint32_t provider, int64_t cutoff_ms, meta_orphan **out, size_t *n,
                       orc_err *e);
    int (*orphans_fence)(meta *m, uint32_t provider, const char *const *names, size_t n, bool fence,
                         orc_err *e);
    int (*chunk_abandon)(meta *m, int64_t chunk_id, orc_err *e);
    /* objects */
    int (*object_put)(meta *m, int64_t bucket_id, const meta_object_new *o, int64_t *id,
                      orc_err *e);
    int (*object_get)(meta *m, int64_t bucket_id, const char *key, bool want_extents, uint64_t from,
                      uint64_t to, meta_object *out, meta_extent **ext, size_t *next, orc_err *e);
    int (*object_extents)(meta *m, const meta_object *v, uint64_t from, uint64_t to,
                          meta_extent **ext, size_t *next, orc_err *e);
    int (*object_delete)(meta *m, int64_t bucket_id, const char *key, orc_err *e);
    int (*object_list)(meta *m, int64_t bucket_id, const char *prefix, const char *from,
                       bool from_inclusive, size_t limit, meta_object **out, size_t *n, orc_err *e);
    int (*object_copy)(meta *m, const meta_object_copy_args *a, meta_object *out, orc_err *e);
    int (*object_set_header)(meta *m, int64_t bucket_id, const char *key, const char *name,
                             const char *value, orc_err *e);
    /* garbage collection, counts, repair */
    int (*gc_mark)(meta *m, int64_t cutoff_ms, size_t limit, meta_chunk **out, size_t *n,
                   orc_err *e);
    int (*gc_forget)(meta *m, int64_t chunk_id, orc_err *e);
    int (*stats_get)(meta *m, meta_stats *out, orc_err *e);
    int (*provider_usage)(meta *m, uint32_t provider_id, uint64_t *chunks, uint64_t *bytes,
                          orc_err *e);
    int (*under_replicated)(meta *m, int legacy_width, uint64_t *n, orc_err *e);
    int (*redundancy_list)(meta *m, int legacy_width, meta_redundancy **out, size_t *n, orc_err *e);
    int (*repair_list)(meta *m, int legacy_width, int64_t after_id, size_t limit, meta_chunk **out,
                       size_t *n, orc_err *e);
    int (*chunk_add_copies)(meta *m, int64_t chunk_id, const uint32_t *providers,
                            const int16_t *frags, int n, orc_err *e);
    int (*chunk_copy_suspect)(meta *m, int64_t chunk_id, uint32_t provider, int16_t frag,
                              orc_err *e);
    int (*chunk_pending_list)(meta *m, int64_t chunk_id, uint32_t *providers, int16_t *frags,
                              int *n, orc_err *e);
    int (*chunk_copy_forget)(meta *m, int64_t chunk_id, uint32_t provider, orc_err *e);
    int (*usage_add)(meta *m, uint32_t provider, const char *month, const meta_month_usage *add,
                     orc_err *e);
    int (*usage_get)(meta *m, uint32_t provider, const char *month, meta_month_usage *out,
                     orc_err *e);
    /* provider states, drains */
    int (*provider_list)(meta *m, meta_provider **out, size_t *n, orc_err *e);
    int (*provider_set_state)(meta *m, uint32_t id, int state, orc_err *e);
    int (*provider_held)(meta *m, uint32_t id, uint64_t *pieces, uint64_t *bytes, orc_err *e);
    int (*drain_list)(meta *m, uint32_t provider, int64_t after_id, size_t limit,
                      meta_drain_item **out, size_t *n, orc_err *e);
    int (*chunk_move_piece)(meta *m, int64_t chunk_id, uint32_t from, uint32_t to, int16_t frag,
                            orc_err *e);
    int (*chunk_get)(meta *m, int64_t chunk_id, meta_chunk *out, orc_err *e);
    /* the repair queue, scrub, settings */
    int (*repair_enqueue)(meta *m, int64_t chunk_id, int reason, orc_err *e);
    int (*repair_take)(meta *m, int64_t now_ms, int64_t lease_ms, size_t limit,
                       meta_repair_item **out, size_t *n, orc_err *e);
    int (*repair_scan)(meta *m, int legacy_width, uint64_t *queued, orc_err *e);
    int (*repair_done)(meta *m, int64_t chunk_id, int64_t gen, orc_err *e);
    int (*repair_retry)(meta *m, int64_t chunk_id, int64_t not_before_ms, const char *why,
                        orc_err *e);
    int (*repair_stats_get)(meta *m, int64_t now_ms, meta_repair_stats *out, orc_err *e);
    int (*chunk_list)(meta *m, int64_t after_id, size_t limit, meta_chunk **out, size_t *n,
                      orc_err *e);
    int (*setting_get)(meta *m, const char *key, char *buf, size_t cap, orc_err *e);
    int (*setting_set)(meta *m, const char *key, const char *value, orc_err *e);
    /* multipart uploads */
    int (*upload_create)(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                         int64_t initiator, const char *content_type, const char *headers,
                         const char *storage_class, int64_t created_ms, orc_err *e);
    int (*upload_get)(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                      meta_upload *out, orc_err *e);
    int (*part_put)(meta *m, int64_t bucket_id, const meta_part_new *p, orc_err *e);
    int (*part_list)(meta *m, int64_t bucket_id, const char *key, const char *upload_id, int after,
                     size_t limit, meta_part **out, size_t *n, orc_err *e);
    int (*upload_complete)(meta *m, int64_t bucket_id, meta_complete *c, orc_err *e);
    int (*upload_completed)(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                            int64_t now_ms, meta_completed *out, orc_err *e);
    int (*upload_abort)(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                        orc_err *e);
    int (*upload_list)(meta *m, int64_t bucket_id, const char *prefix, const char *from_key,
                       const char *from_upload, size_t limit, meta_upload **out, size_t *n,
                       orc_err *e);
    int (*upload_expire)(meta *m, int64_t cutoff_ms, size_t limit, size_t *n, orc_err *e);
    int (*object_part)(meta *m, int64_t bucket_id, const char *key, int number, int64_t *object_id,
                       int *nparts, uint64_t *start, uint64_t *size, orc_err *e);
    int (*part_set_checksum)(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                             int number, const char *etag, int64_t mtime_ms, const char *checksum,
                             orc_err *e);
} meta_ops;

/* First member of every implementation's handle. */
struct meta {
    const meta_ops *ops;
};

/* Opens a store of one type from its config pairs (meta_open has checked
 * type; the implementation checks the keys: ORC_EINVAL names a missing or
 * unknown one). */
typedef int meta_open_fn(const meta_kv *kv, size_t nkv, meta **out, orc_err *e);

/* Finds a config value, or NULL. */
const char *meta_kv_get(const meta_kv *kv, size_t nkv, const char *key);

meta_open_fn meta_sqlite_open; /* sqlite.c: key "path" (the database file) */

#endif
