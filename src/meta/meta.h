/* The metadata store: users, buckets, objects, their chunk manifests, chunks,
 * and where each chunk's copies live.
 *
 * This is the door callers use; backends implement meta_impl.h (SQLite now,
 * PostgreSQL later). All functions are safe to call from many threads at once
 * on one handle. Every state change that must be atomic is one call here, so
 * one transaction: an object version switch, a chunk becoming live with its
 * copies, a garbage-collection mark.
 *
 * Chunk life cycle (what makes dedup safe against the collector):
 *   claim (no row) -> PENDING, copies being written, invisible to dedup
 *   chunk_commit   -> LIVE with its copies; dedup may reuse it
 *   refcount counts manifest references; it may be 0 while an upload that
 *   claimed it has not committed its object yet, so "touched" records the last
 *   claim, and the collector only takes chunks at refcount 0 untouched for the
 *   grace period:
 *   gc_mark        -> DELETING (never reused; a claim of it answers ORC_EBUSY)
 *   gc_forget      -> gone
 * object_put re-checks in its transaction that every chunk it references is
 * still LIVE, so an upload slower than the grace period fails cleanly
 * (ORC_ECONFLICT) instead of committing a manifest over deleted chunks. */
#ifndef ORC_META_META_H
#define ORC_META_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define META_MAX_COPIES 16
#define META_KEY_MAX 1024 /* S3 key limit, bytes */
#define META_BUCKET_MAX 63

typedef struct meta meta;

enum meta_chunk_state { META_CHUNK_PENDING = 0, META_CHUNK_LIVE = 1, META_CHUNK_DELETING = 2 };

typedef struct meta_user {
    int64_t id;
    char name[64];
    char access_key[128];
    uint8_t secret_sealed[256]; /* the S3 secret, sealed with seal_secret() */
    size_t secret_sealed_len;
    int64_t created_ms;
} meta_user;

typedef struct meta_bucket {
    int64_t id;
    char name[META_BUCKET_MAX + 1];
    int64_t owner; /* user id */
    char region[32];
    int64_t created_ms;
} meta_bucket;

typedef struct meta_chunk {
    int64_t id;
    uint8_t hash[32];
    uint32_t plain_len, sealed_len;
    uint8_t format;       /* SEAL_FORMAT_* it was sealed with */
    uint32_t key_version; /* master secret version */
    int state;            /* enum meta_chunk_state */
    int ncopies;
    uint32_t copies[META_MAX_COPIES]; /* provider ids holding a copy */
} meta_chunk;

/* One chunk in an object's manifest, in order. */
typedef struct meta_extent {
    uint64_t offset; /* of this chunk's first byte in the object */
    meta_chunk chunk;
} meta_extent;

typedef struct meta_object {
    int64_t id;
    int64_t bucket_id;
    char *key; /* owned */
    uint64_t size;
    char etag[64];      /* without quotes: hex MD5, or "hex-N" for multipart */
    char *content_type; /* owned; may be NULL */
    char *headers;      /* owned; stored headers as "name: value\n" lines (x-amz-meta-*,
                           Content-Encoding, ...); may be NULL */
    int64_t mtime_ms;
} meta_object;

/* What object_put records; chunk ids in object order (a chunk may repeat). */
typedef struct meta_object_new {
    const char *key;
    uint64_t size;
    const char *etag;
    const char *content_type; /* may be NULL */
    const char *headers;      /* may be NULL */
    int64_t mtime_ms;
    const int64_t *chunk_ids;
    const uint64_t *offsets;
    size_t nchunks;
} meta_object_new;

/* Opens (creating and migrating the schema as needed) the SQLite store at
 * path, in WAL mode with synchronous=FULL: a returned commit is durable. */
int meta_open_sqlite(const char *path, meta **out, orc_err *e);
void meta_close(meta *m);

/* ---- providers: stable small ids for names in the config ---- */
/* Returns the id for name, creating it on first use. */
int meta_provider_id(meta *m, const char *name, uint32_t *id, orc_err *e);

/* ---- users ---- */
int meta_user_add(meta *m, const char *name, const char *access_key, const uint8_t *sealed,
                  size_t sealed_len, int64_t *id, orc_err *e); /* ORC_EEXISTS: name or key */
int meta_user_by_key(meta *m, const char *access_key, meta_user *out, orc_err *e);
int meta_user_by_name(meta *m, const char *name, meta_user *out, orc_err *e);
int meta_user_by_id(meta *m, int64_t id, meta_user *out, orc_err *e);
/* *out is malloc'ed (free()), ordered by name. */
int meta_user_list(meta *m, meta_user **out, size_t *n, orc_err *e);
/* ORC_ENOTFOUND, or ORC_ECONFLICT while the user owns buckets. */
int meta_user_remove(meta *m, const char *name, orc_err *e);
/* Replaces a user's sealed secret. ORC_ENOTFOUND. */
int meta_user_set_secret(meta *m, const char *name, const uint8_t *sealed, size_t sealed_len,
                         orc_err *e);

/* ---- buckets ---- */
/* ORC_EEXISTS if the name is taken (by anyone; meta_bucket_get tells whom). */
int meta_bucket_create(meta *m, const char *name, int64_t owner, const char *region, orc_err *e);
int meta_bucket_get(meta *m, const char *name, meta_bucket *out, orc_err *e);
/* ORC_ENOTFOUND, or ORC_ECONFLICT if it holds objects. */
int meta_bucket_delete(meta *m, const char *name, orc_err *e);
/* Buckets owned by owner, by name. *out is malloc'ed. */
int meta_bucket_list(meta *m, int64_t owner, meta_bucket **out, size_t *n, orc_err *e);

/* ---- chunks ---- */
/* Claims the chunk with this hash for an upload, in one transaction:
 *  - LIVE row: touched = now; *out filled (with copies); *is_new = false.
 *  - no row: a PENDING row is inserted with the given lengths, format and key
 *    version; *out filled (no copies); *is_new = true. The caller writes the
 *    copies, then calls meta_chunk_commit, or meta_chunk_abandon on failure.
 *  - PENDING (another upload is writing it) or DELETING: ORC_EBUSY; retry soon. */
int meta_chunk_claim(meta *m, const uint8_t hash[32], uint32_t plain_len, uint32_t sealed_len,
                     uint8_t format, uint32_t key_version, meta_chunk *out, bool *is_new,
                     orc_err *e);
/* PENDING -> LIVE, recording the providers that durably hold a copy. */
int meta_chunk_commit(meta *m, int64_t chunk_id, const uint32_t *providers, int n, orc_err *e);
/* Drops a PENDING row whose copies could not be written. */
int meta_chunk_abandon(meta *m, int64_t chunk_id, orc_err *e);

/* ---- objects ---- */
/* Makes o the current version of (bucket, key), in one transaction: checks the
 * bucket exists (ORC_ENOTFOUND) and every chunk is LIVE (ORC_ECONFLICT), adds
 * the manifest and its references, and releases the previous version's
 * references (chunks reaching 0 get touched = now). *id gets the new object id. */
int meta_object_put(meta *m, int64_t bucket_id, const meta_object_new *o, int64_t *id, orc_err *e);
/* The current version, and in the same read transaction the extents that
 * overlap [from, to) (to = UINT64_MAX for all; pass want_extents = false for
 * none). *ext is malloc'ed; the object's owned strings are freed with
 * meta_object_dispose. ORC_ENOTFOUND if absent. */
int meta_object_get(meta *m, int64_t bucket_id, const char *key, bool want_extents, uint64_t from,
                    uint64_t to, meta_object *out, meta_extent **ext, size_t *next, orc_err *e);
void meta_object_dispose(meta_object *o);
/* Removes the current version and releases its references. ORC_ENOTFOUND if absent. */
int meta_object_delete(meta *m, int64_t bucket_id, const char *key, orc_err *e);
/* Up to limit objects with the prefix, in byte order of key, starting at
 * `from` (inclusive if from_inclusive, else strictly after; NULL: from the
 * start). Extents are not loaded. *out is malloc'ed; dispose each, free the array. */
int meta_object_list(meta *m, int64_t bucket_id, const char *prefix, const char *from,
                     bool from_inclusive, size_t limit, meta_object **out, size_t *n, orc_err *e);

/* ---- garbage collection ---- */
/* Moves up to limit chunks with refcount 0 whose touched time is before
 * cutoff_ms (LIVE or PENDING) to DELETING, and returns them together with any
 * chunk already DELETING (a collection interrupted by a crash). *out is
 * malloc'ed. A PENDING chunk has no recorded copies: the collector deletes its
 * name on every provider. */
int meta_gc_mark(meta *m, int64_t cutoff_ms, size_t limit, meta_chunk **out, size_t *n, orc_err *e);
/* Removes a DELETING chunk's row once its copies are gone. */
int meta_gc_forget(meta *m, int64_t chunk_id, orc_err *e);

/* Counts for tests and `orchard` admin output. */
typedef struct meta_stats {
    uint64_t objects, chunks, chunk_refs, bytes_logical, bytes_stored;
} meta_stats;
int meta_stats_get(meta *m, meta_stats *out, orc_err *e);

#endif
