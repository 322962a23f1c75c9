/* The metadata store's door: the registry of implementations by type and the
 * wrappers every meta_* call goes through to the ops table (meta_impl.h). The
 * wrappers are the one choke point where counters, tracing or a fault
 * decorator can live for every implementation at once, as in provider.c; for
 * now they only dispatch. */
#include "meta/meta_impl.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"

static const struct {
    const char *type;
    meta_open_fn *open;
} types[] = {
    {"sqlite", meta_sqlite_open},
};

const char *meta_kv_get(const meta_kv *kv, size_t nkv, const char *key)
{
    for (size_t i = 0; i < nkv; i++)
        if (strcmp(kv[i].key, key) == 0) return kv[i].value;
    return NULL;
}

int meta_open(const char *type, const meta_kv *kv, size_t nkv, meta **out, orc_err *e)
{
    *out = NULL;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(types[i].type, type) == 0) return types[i].open(kv, nkv, out, e);
    return orc_fail(e, ORC_EINVAL, "metadata store: unknown type '%.32s' (known: sqlite)", type);
}

int meta_open_sqlite(const char *path, meta **out, orc_err *e)
{
    const meta_kv kv[] = {{"path", path}};
    return meta_open("sqlite", kv, 1, out, e);
}

const char *meta_type(const meta *m)
{
    return m->ops->type;
}

void meta_close(meta *m)
{
    if (m) m->ops->close(m);
}

/* ---- owned memory of the value types: the same for every implementation ---- */

void meta_object_dispose(meta_object *o)
{
    if (!o) return;
    free(o->key);
    free(o->content_type);
    free(o->headers);
    o->key = o->content_type = o->headers = NULL;
}

void meta_upload_dispose(meta_upload *u)
{
    if (!u) return;
    free(u->key);
    free(u->content_type);
    free(u->headers);
    u->key = u->content_type = u->headers = NULL;
}

/* ---- the wrappers, in meta.h's order ---- */

int meta_provider_id(meta *m, const char *name, uint32_t *id, orc_err *e)
{
    return m->ops->provider_id(m, name, id, e);
}

int meta_user_add(meta *m, const char *name, const char *access_key, const uint8_t *sealed,
                  size_t sealed_len, int64_t *id, orc_err *e)
{
    return m->ops->user_add(m, name, access_key, sealed, sealed_len, id, e);
}

int meta_user_by_key(meta *m, const char *access_key, meta_user *out, orc_err *e)
{
    return m->ops->user_by_key(m, access_key, out, e);
}

int meta_user_by_name(meta *m, const char *name, meta_user *out, orc_err *e)
{
    return m->ops->user_by_name(m, name, out, e);
}

int meta_user_by_id(meta *m, int64_t id, meta_user *out, orc_err *e)
{
    return m->ops->user_by_id(m, id, out, e);
}

int meta_user_list(meta *m, meta_user **out, size_t *n, orc_err *e)
{
    return m->ops->user_list(m, out, n, e);
}

int meta_user_remove(meta *m, const char *name, orc_err *e)
{
    return m->ops->user_remove(m, name, e);
}

int meta_user_set_secret(meta *m, const char *name, const uint8_t *sealed, size_t sealed_len,
                         orc_err *e)
{
    return m->ops->user_set_secret(m, name, sealed, sealed_len, e);
}

int meta_bucket_create(meta *m, const char *name, int64_t owner, const char *region, orc_err *e)
{
    return m->ops->bucket_create(m, name, owner, region, e);
}

int meta_bucket_get(meta *m, const char *name, meta_bucket *out, orc_err *e)
{
    return m->ops->bucket_get(m, name, out, e);
}

int meta_bucket_delete(meta *m, const char *name, orc_err *e)
{
    return m->ops->bucket_delete(m, name, e);
}

int meta_bucket_set_class(meta *m, const char *name, const char *storage_class, orc_err *e)
{
    if (storage_class && strlen(storage_class) > META_CLASS_MAX)
        return orc_fail(e, ORC_EINVAL, "storage class names are at most %d bytes", META_CLASS_MAX);
    return m->ops->bucket_set_class(m, name, storage_class, e);
}

int meta_bucket_list(meta *m, int64_t owner, meta_bucket **out, size_t *n, orc_err *e)
{
    return m->ops->bucket_list(m, owner, out, n, e);
}

int meta_chunk_claim(meta *m, const uint8_t hash[32], uint32_t plain_len, uint32_t sealed_len,
                     uint8_t format, uint32_t key_version, const meta_layout *lay, meta_chunk *out,
                     bool *is_new, orc_err *e)
{
    return m->ops->chunk_claim(m, hash, plain_len, sealed_len, format, key_version, lay, out,
                               is_new, e);
}

int meta_chunk_commit(meta *m, int64_t chunk_id, const uint32_t *providers, const int16_t *frags,
                      int n, orc_err *e)
{
    return m->ops->chunk_commit(m, chunk_id, providers, frags, n, e);
}

int meta_chunk_copies_pending(meta *m, int64_t chunk_id, const uint32_t *providers,
                              const int16_t *frags, int n, orc_err *e)
{
    return m->ops->chunk_copies_pending(m, chunk_id, providers, frags, NULL, n, e);
}

int meta_chunk_abandon(meta *m, int64_t chunk_id, orc_err *e)
{
    return m->ops->chunk_abandon(m, chunk_id, e);
}

int meta_object_put(meta *m, int64_t bucket_id, const meta_object_new *o, int64_t *id, orc_err *e)
{
    return m->ops->object_put(m, bucket_id, o, id, e);
}

int meta_object_get(meta *m, int64_t bucket_id, const char *key, bool want_extents, uint64_t from,
                    uint64_t to, meta_object *out, meta_extent **ext, size_t *next, orc_err *e)
{
    return m->ops->object_get(m, bucket_id, key, want_extents, from, to, out, ext, next, e);
}

int meta_object_extents(meta *m, const meta_object *v, uint64_t from, uint64_t to,
                        meta_extent **ext, size_t *next, orc_err *e)
{
    return m->ops->object_extents(m, v, from, to, ext, next, e);
}

int meta_object_delete(meta *m, int64_t bucket_id, const char *key, orc_err *e)
{
    return m->ops->object_delete(m, bucket_id, key, e);
}

int meta_object_list(meta *m, int64_t bucket_id, const char *prefix, const char *from,
                     bool from_inclusive, size_t limit, meta_object **out, size_t *n, orc_err *e)
{
    return m->ops->object_list(m, bucket_id, prefix, from, from_inclusive, limit, out, n, e);
}

int meta_gc_mark(meta *m, int64_t cutoff_ms, size_t limit, meta_chunk **out, size_t *n, orc_err *e)
{
    return m->ops->gc_mark(m, cutoff_ms, limit, out, n, e);
}

int meta_gc_forget(meta *m, int64_t chunk_id, orc_err *e)
{
    return m->ops->gc_forget(m, chunk_id, e);
}

int meta_stats_get(meta *m, meta_stats *out, orc_err *e)
{
    return m->ops->stats_get(m, out, e);
}

int meta_provider_usage(meta *m, uint32_t provider_id, uint64_t *chunks, uint64_t *bytes,
                        orc_err *e)
{
    return m->ops->provider_usage(m, provider_id, chunks, bytes, e);
}

int meta_under_replicated(meta *m, int legacy_width, uint64_t *n, orc_err *e)
{
    return m->ops->under_replicated(m, legacy_width, n, e);
}

int meta_redundancy_list(meta *m, int legacy_width, meta_redundancy **out, size_t *n, orc_err *e)
{
    return m->ops->redundancy_list(m, legacy_width, out, n, e);
}

int meta_repair_list(meta *m, int legacy_width, int64_t after_id, size_t limit, meta_chunk **out,
                     size_t *n, orc_err *e)
{
    return m->ops->repair_list(m, legacy_width, after_id, limit, out, n, e);
}

int meta_chunk_add_copies(meta *m, int64_t chunk_id, const uint32_t *providers,
                          const int16_t *frags, int n, orc_err *e)
{
    return m->ops->chunk_add_copies(m, chunk_id, providers, frags, n, e);
}

int meta_chunk_copy_suspect(meta *m, int64_t chunk_id, uint32_t provider, int16_t frag, orc_err *e)
{
    return m->ops->chunk_copy_suspect(m, chunk_id, provider, frag, e);
}

int meta_chunk_pending_list(meta *m, int64_t chunk_id, uint32_t *providers, int16_t *frags, int *n,
                            orc_err *e)
{
    *n = 0;
    return m->ops->chunk_pending_list(m, chunk_id, providers, frags, n, e);
}

int meta_chunk_copy_forget(meta *m, int64_t chunk_id, uint32_t provider, orc_err *e)
{
    return m->ops->chunk_copy_forget(m, chunk_id, provider, e);
}

int meta_chunk_copies_pending_named(meta *m, int64_t chunk_id, const uint32_t *providers,
                                    const int16_t *frags, const char *const *names, int n,
                                    orc_err *e)
{
    return m->ops->chunk_copies_pending(m, chunk_id, providers, frags, names, n, e);
}

int meta_usage_add(meta *m, uint32_t provider, const char *month, const meta_month_usage *add,
                   orc_err *e)
{
    return m->ops->usage_add(m, provider, month, add, e);
}

int meta_usage_get(meta *m, uint32_t provider, const char *month, meta_month_usage *out, orc_err *e)
{
    return m->ops->usage_get(m, provider, month, out, e);
}

int meta_provider_pieces(meta *m, uint32_t provider, int64_t after_id, size_t limit,
                         meta_piece **out, size_t *n, orc_err *e)
{
    return m->ops->provider_pieces(m, provider, after_id, limit, out, n, e);
}

int meta_orphans_update(meta *m, uint32_t provider, const meta_orphan *found, size_t n,
                        int64_t now_ms, orc_err *e)
{
    return m->ops->orphans_update(m, provider, found, n, now_ms, e);
}

int meta_orphans_due(meta *m, uint32_t provider, int64_t cutoff_ms, meta_orphan **out, size_t *n,
                     orc_err *e)
{
    return m->ops->orphans_due(m, provider, cutoff_ms, out, n, e);
}

int meta_orphans_fence(meta *m, uint32_t provider, const char *const *names, size_t n, bool fence,
                       orc_err *e)
{
    return m->ops->orphans_fence(m, provider, names, n, fence, e);
}

int meta_provider_list(meta *m, meta_provider **out, size_t *n, orc_err *e)
{
    return m->ops->provider_list(m, out, n, e);
}

int meta_provider_set_state(meta *m, uint32_t id, int state, orc_err *e)
{
    return m->ops->provider_set_state(m, id, state, e);
}

int meta_provider_held(meta *m, uint32_t id, uint64_t *pieces, uint64_t *bytes, orc_err *e)
{
    return m->ops->provider_held(m, id, pieces, bytes, e);
}

int meta_drain_list(meta *m, uint32_t provider, int64_t after_id, size_t limit,
                    meta_drain_item **out, size_t *n, orc_err *e)
{
    return m->ops->drain_list(m, provider, after_id, limit, out, n, e);
}

int meta_chunk_move_piece(meta *m, int64_t chunk_id, uint32_t from, uint32_t to, int16_t frag,
                          orc_err *e)
{
    return m->ops->chunk_move_piece(m, chunk_id, from, to, frag, e);
}

int meta_chunk_get(meta *m, int64_t chunk_id, meta_chunk *out, orc_err *e)
{
    return m->ops->chunk_get(m, chunk_id, out, e);
}

int meta_repair_enqueue(meta *m, int64_t chunk_id, int reason, orc_err *e)
{
    return m->ops->repair_enqueue(m, chunk_id, reason, e);
}

int meta_repair_take(meta *m, int64_t now_ms, int64_t lease_ms, size_t limit,
                     meta_repair_item **out, size_t *n, orc_err *e)
{
    return m->ops->repair_take(m, now_ms, lease_ms, limit, out, n, e);
}

int meta_repair_scan(meta *m, int legacy_width, uint64_t *queued, orc_err *e)
{
    return m->ops->repair_scan(m, legacy_width, queued, e);
}

int meta_repair_done(meta *m, int64_t chunk_id, int64_t gen, orc_err *e)
{
    return m->ops->repair_done(m, chunk_id, gen, e);
}

int meta_repair_retry(meta *m, int64_t chunk_id, int64_t not_before_ms, const char *why, orc_err *e)
{
    return m->ops->repair_retry(m, chunk_id, not_before_ms, why, e);
}

int meta_repair_stats_get(meta *m, int64_t now_ms, meta_repair_stats *out, orc_err *e)
{
    return m->ops->repair_stats_get(m, now_ms, out, e);
}

int meta_chunk_list(meta *m, int64_t after_id, size_t limit, meta_chunk **out, size_t *n,
                    orc_err *e)
{
    return m->ops->chunk_list(m, after_id, limit, out, n, e);
}

int meta_setting_get(meta *m, const char *key, char *buf, size_t cap, orc_err *e)
{
    return m->ops->setting_get(m, key, buf, cap, e);
}

int meta_setting_set(meta *m, const char *key, const char *value, orc_err *e)
{
    return m->ops->setting_set(m, key, value, e);
}

int meta_object_copy(meta *m, const meta_object_copy_args *a, meta_object *out, orc_err *e)
{
    return m->ops->object_copy(m, a, out, e);
}

int meta_upload_create(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                       int64_t initiator, const char *content_type, const char *headers,
                       const char *storage_class, int64_t created_ms, orc_err *e)
{
    return m->ops->upload_create(m, bucket_id, key, upload_id, initiator, content_type, headers,
                                 storage_class, created_ms, e);
}

int meta_upload_get(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                    meta_upload *out, orc_err *e)
{
    return m->ops->upload_get(m, bucket_id, key, upload_id, out, e);
}

int meta_part_put(meta *m, int64_t bucket_id, const meta_part_new *p, orc_err *e)
{
    return m->ops->part_put(m, bucket_id, p, e);
}

int meta_part_list(meta *m, int64_t bucket_id, const char *key, const char *upload_id, int after,
                   size_t limit, meta_part **out, size_t *n, orc_err *e)
{
    return m->ops->part_list(m, bucket_id, key, upload_id, after, limit, out, n, e);
}

int meta_upload_complete(meta *m, int64_t bucket_id, meta_complete *c, orc_err *e)
{
    return m->ops->upload_complete(m, bucket_id, c, e);
}

int meta_upload_completed(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                          int64_t now_ms, meta_completed *out, orc_err *e)
{
    return m->ops->upload_completed(m, bucket_id, key, upload_id, now_ms, out, e);
}

int meta_upload_abort(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                      orc_err *e)
{
    return m->ops->upload_abort(m, bucket_id, key, upload_id, e);
}

int meta_upload_list(meta *m, int64_t bucket_id, const char *prefix, const char *from_key,
                     const char *from_upload, size_t limit, meta_upload **out, size_t *n,
                     orc_err *e)
{
    return m->ops->upload_list(m, bucket_id, prefix, from_key, from_upload, limit, out, n, e);
}

int meta_upload_expire(meta *m, int64_t cutoff_ms, size_t limit, size_t *n, orc_err *e)
{
    return m->ops->upload_expire(m, cutoff_ms, limit, n, e);
}

int meta_object_part(meta *m, int64_t bucket_id, const char *key, int number, int64_t *object_id,
                     int *nparts, uint64_t *start, uint64_t *size, orc_err *e)
{
    return m->ops->object_part(m, bucket_id, key, number, object_id, nparts, start, size, e);
}

int meta_object_set_header(meta *m, int64_t bucket_id, const char *key, const char *name,
                           const char *value, orc_err *e)
{
    return m->ops->object_set_header(m, bucket_id, key, name, value, e);
}

int meta_part_set_checksum(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                           int number, const char *etag, int64_t mtime_ms, const char *checksum,
                           orc_err *e)
{
    return m->ops->part_set_checksum(m, bucket_id, key, upload_id, number, etag, mtime_ms, checksum,
                                     e);
}
