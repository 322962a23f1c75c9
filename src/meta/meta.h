/* The metadata store: users, buckets, objects, their chunk manifests, chunks,
 * and where each chunk's copies live.
 *
 * This is the door callers use: meta_open picks an implementation by type
 * name from the registry in meta.c, and every meta_* call goes through the
 * wrappers there to the implementation's ops table (meta_impl.h; SQLite now in
 * sqlite*.c, PostgreSQL later). All functions are safe to call from many
 * threads at once on one handle. Every state change that must be atomic is one call here, so
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

/* Longest S3 storage class name kept (object/ checks requests against it). */
#define META_CLASS_MAX 32

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
    char storage_class[META_CLASS_MAX + 1]; /* default for new objects; "": the server's */
} meta_bucket;

/* How a chunk is stored (schema 6). ec_k == 0: whole copies of the sealed
 * chunk; else ec_k data + ec_m parity fragments of it, any ec_k of which
 * rebuild it. width: the pieces it should have (N copies, or ec_k + ec_m);
 * 0 for a chunk written before schema 6: replicated, to as many copies as
 * the caller's default (meta_repair_list's legacy_width). */
typedef struct meta_layout {
    uint8_t ec_k, ec_m, width;
} meta_layout;

/* A piece's fragment index: META_WHOLE for a whole copy, else 0..k+m-1. */
#define META_WHOLE (-1)

typedef struct meta_chunk {
    int64_t id;
    uint8_t hash[32];
    uint32_t plain_len, sealed_len;
    uint8_t format;       /* SEAL_FORMAT_* it was sealed with */
    uint32_t key_version; /* master secret version */
    int state;            /* enum meta_chunk_state */
    meta_layout layout;
    int ncopies;                      /* pieces: whole copies and fragments */
    uint32_t copies[META_MAX_COPIES]; /* provider ids holding a piece */
    int16_t frags[META_MAX_COPIES];   /* copies[i]'s fragment index, or META_WHOLE */
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
    char storage_class[META_CLASS_MAX + 1]; /* "": the server's default class */
} meta_object;

/* A conditional write (S3's If-None-Match and If-Match on PUT), checked in
 * the transaction that switches the version, so two racing writers cannot
 * both pass. A failed condition is ORC_ECONFLICT with detail ORC_D_PRECONDITION
 * (util/err.h); test the detail, never the message. */
enum meta_put_cond_kind {
    META_PUT_ALWAYS = 0,
    META_PUT_IF_ABSENT,     /* If-None-Match: * */
    META_PUT_IF_MATCH,      /* If-Match: "etag" */
    META_PUT_IF_EXISTS,     /* If-Match: * (any current version) */
    META_PUT_IF_NONE_MATCH, /* If-None-Match: "etag" (absent, or another ETag) */
};
typedef struct meta_put_cond {
    int kind;      /* enum meta_put_cond_kind; zero: unconditional */
    char etag[64]; /* IF_MATCH, IF_NONE_MATCH: the ETag, unquoted */
} meta_put_cond;

/* What object_put records; chunk ids in object order (a chunk may repeat). */
typedef struct meta_object_new {
    const char *key;
    uint64_t size;
    const char *etag;
    const char *content_type;  /* may be NULL */
    const char *storage_class; /* may be NULL: the default class */
    const char *headers;       /* may be NULL */
    int64_t mtime_ms;
    const int64_t *chunk_ids;
    const uint64_t *offsets;
    size_t nchunks;
    meta_put_cond cond; /* zero: unconditional */
    /* When the request that writes it started (wall clock ms; 0: now). A
     * current version whose request started later is kept: S3's "latest
     * timestamp wins", so a write that was slow to commit never replaces one
     * acknowledged after it began. */
    int64_t start_ms;
} meta_object_new;

/* One "key = value" pair of the store's configuration. */
typedef struct meta_kv {
    const char *key, *value;
} meta_kv;

/* Opens a store of the given type with its config pairs. Types:
 *  - "sqlite": key "path", the database file, created and its schema migrated
 *    as needed; WAL mode with synchronous=FULL, so a returned commit is durable.
 * ORC_EINVAL: an unknown type (the message lists the known ones), or a missing
 * or unknown key. */
int meta_open(const char *type, const meta_kv *kv, size_t nkv, meta **out, orc_err *e);
/* meta_open("sqlite") of the database at path. */
int meta_open_sqlite(const char *path, meta **out, orc_err *e);
/* "sqlite", ...: the type m was opened with. */
const char *meta_type(const meta *m);
/* Accepts NULL. Every call on m must have returned. */
void meta_close(meta *m);

/* ---- providers: stable small ids for names in the config ---- */
/* Returns the id for name, creating it on first use. */
int meta_provider_id(meta *m, const char *name, uint32_t *id, orc_err *e);

/* ---- providers: state and drains (schema 8) ---- */
enum meta_provider_state {
    META_PROVIDER_ACTIVE = 0,   /* read and written */
    META_PROVIDER_DRAINING = 1, /* read, never written; its pieces move to the others */
    META_PROVIDER_REMOVED = 2,  /* holds nothing; neither read nor written */
};
typedef struct meta_provider {
    uint32_t id;
    char name[64];
    int state;                /* enum meta_provider_state */
    int64_t drain_started_ms; /* DRAINING: when; else 0 */
    uint64_t drain_pieces;    /* DRAINING: the pieces (LIVE or PENDING) it held then */
    uint64_t drain_bytes;     /* and their bytes */
} meta_provider;
/* Every provider ever named, by id. *out is malloc'ed. */
int meta_provider_list(meta *m, meta_provider **out, size_t *n, orc_err *e);
/* Sets a provider's state, in one transaction: DRAINING records the time
 * and what it holds now (kept if it already drains); ACTIVE clears them;
 * REMOVED only when it holds nothing, LIVE or PENDING (ORC_ECONFLICT, with
 * the count, otherwise). ORC_ENOTFOUND: no such id. */
int meta_provider_set_state(meta *m, uint32_t id, int state, orc_err *e);
/* Pieces a provider holds, LIVE or PENDING (what a drain must still move or
 * delete), and their bytes. */
int meta_provider_held(meta *m, uint32_t id, uint64_t *pieces, uint64_t *bytes, orc_err *e);
/* One chunk with a piece on the provider a drain empties. */
typedef struct meta_drain_item {
    meta_chunk chunk; /* LIVE, with its LIVE pieces (the drained one among them if LIVE) */
    int16_t frag;     /* the provider's piece: its fragment index or META_WHOLE */
    bool live;        /* that piece is LIVE (else PENDING: only to delete) */
} meta_drain_item;
/* Up to limit LIVE chunks with id > after_id that have a piece (LIVE or
 * PENDING) on provider, by id. *out is malloc'ed. */
int meta_drain_list(meta *m, uint32_t provider, int64_t after_id, size_t limit,
                    meta_drain_item **out, size_t *n, orc_err *e);
/* Moves a piece in one transaction: the PENDING piece (to, frag) of a LIVE
 * chunk becomes LIVE and the LIVE piece (from, frag) PENDING (the caller
 * then deletes it from its provider and forgets it). ORC_ECONFLICT if the
 * chunk or either piece is not in that state: nothing changes. The chunk
 * never has fewer LIVE pieces than before. */
int meta_chunk_move_piece(meta *m, int64_t chunk_id, uint32_t from, uint32_t to, int16_t frag,
                          orc_err *e);
/* The chunk with this id, with its LIVE pieces (a read whose pieces were
 * all gone asks again: they may have moved). ORC_ENOTFOUND. */
int meta_chunk_get(meta *m, int64_t chunk_id, meta_chunk *out, orc_err *e);

/* ---- fsck: what a provider should hold, and orphans (schema 9) ---- */
/* One recorded piece on a provider. */
typedef struct meta_piece {
    meta_chunk chunk; /* without copies; any state */
    int16_t frag;     /* META_WHOLE or the fragment index */
    bool live;        /* the piece is LIVE (else PENDING) */
} meta_piece;
/* Up to limit pieces recorded on provider (LIVE or PENDING, of chunks in any
 * state) with chunk id > after_id, by chunk id. *out is malloc'ed. */
int meta_provider_pieces(meta *m, uint32_t provider, int64_t after_id, size_t limit,
                         meta_piece **out, size_t *n, orc_err *e);
/* A name on a provider that no record references. */
typedef struct meta_orphan {
    char name[96];
    uint64_t size;
    int64_t first_seen_ms; /* when an fsck first found it unreferenced */
} meta_orphan;
/* Replaces provider's orphan candidates with found[0..n), in one
 * transaction: a name already a candidate keeps its first_seen_ms, a new
 * one gets now_ms, one no longer found is dropped (unless fenced). */
int meta_orphans_update(meta *m, uint32_t provider, const meta_orphan *found, size_t n,
                        int64_t now_ms, orc_err *e);
/* provider's candidates first seen at or before cutoff_ms. *out is malloc'ed. */
int meta_orphans_due(meta *m, uint32_t provider, int64_t cutoff_ms, meta_orphan **out, size_t *n,
                     orc_err *e);
/* Fences (or, fence false, forgets) provider's candidates names[0..n), in
 * one transaction. While a name is fenced, no write can record a piece
 * under it (meta_chunk_copies_pending_named answers ORC_EBUSY). */
int meta_orphans_fence(meta *m, uint32_t provider, const char *const *names, size_t n, bool fence,
                       orc_err *e);

/* ---- provider usage by month (schema 10): what a cloud bills ---- */
typedef struct meta_month_usage {
    uint64_t puts, gets, egress_bytes;
} meta_month_usage;
/* Adds to provider's counts of month ("YYYY-MM", UTC). */
int meta_usage_add(meta *m, uint32_t provider, const char *month, const meta_month_usage *add,
                   orc_err *e);
/* provider's counts of month (zeros if none). */
int meta_usage_get(meta *m, uint32_t provider, const char *month, meta_month_usage *out,
                   orc_err *e);

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
/* Sets the bucket's default storage class (NULL or "": none).
 * ORC_ENOTFOUND: no such bucket. */
int meta_bucket_set_class(meta *m, const char *name, const char *storage_class, orc_err *e);
/* Buckets owned by owner, by name. *out is malloc'ed. */
int meta_bucket_list(meta *m, int64_t owner, meta_bucket **out, size_t *n, orc_err *e);

/* ---- chunks ---- */
/* Claims the chunk with this hash for an upload, in one transaction:
 *  - LIVE row: touched = now; *out filled (with copies and its own layout,
 *    which may differ from lay: dedup reuses a chunk however it is stored);
 *    *is_new = false.
 *  - no row: a PENDING row is inserted with the given lengths, format, key
 *    version and layout (NULL: whole copies, width 0); *out filled (no
 *    copies); *is_new = true. The caller writes the pieces, then calls
 *    meta_chunk_commit, or meta_chunk_abandon on failure.
 *  - PENDING given up by its writer (meta_chunk_abandon): taken over, as a
 *    new row with layout lay (*is_new = true; its recorded pieces stay
 *    PENDING and are in out's copies: what the writer may have left on
 *    providers, which the new writer clears before it writes).
 *  - PENDING (another upload is writing it) or DELETING: ORC_EBUSY; retry soon. */
int meta_chunk_claim(meta *m, const uint8_t hash[32], uint32_t plain_len, uint32_t sealed_len,
                     uint8_t format, uint32_t key_version, const meta_layout *lay, meta_chunk *out,
                     bool *is_new, orc_err *e);
/* Pieces are given as parallel arrays: providers[i] holds the piece with
 * fragment index frags[i] (frags NULL: all whole copies). A provider holds at
 * most one piece of a chunk. */
/* PENDING -> LIVE, recording the pieces providers durably hold. */
int meta_chunk_commit(meta *m, int64_t chunk_id, const uint32_t *providers, const int16_t *frags,
                      int n, orc_err *e);
/* Records, durably, that pieces of a chunk are about to be written to these
 * providers (PENDING pieces), before any is sent: whatever the outcome of a
 * write (a timeout, a late success, a crash) the collector knows where bytes
 * may be. meta_chunk_commit and meta_chunk_add_copies make them LIVE; only
 * LIVE pieces are read, counted and reported. ORC_ENOTFOUND: no such chunk. */
int meta_chunk_copies_pending(meta *m, int64_t chunk_id, const uint32_t *providers,
                              const int16_t *frags, int n, orc_err *e);
/* The same, with each piece's name on its provider (names[i], not NULL):
 * ORC_EBUSY, recording nothing, if fsck has fenced one of them to delete
 * it as an orphan (meta_orphans_fence); the write retries shortly. */
int meta_chunk_copies_pending_named(meta *m, int64_t chunk_id, const uint32_t *providers,
                                    const int16_t *frags, const char *const *names, int n,
                                    orc_err *e);
/* Gives up a PENDING chunk whose copies could not be written: forgotten if no
 * copy was recorded, else kept PENDING as given up: the collector deletes it
 * and its pending copies at its next pass, whatever gc_grace, and a claim of
 * the same content meanwhile takes it over (*is_new, as for a new chunk). */
int meta_chunk_abandon(meta *m, int64_t chunk_id, orc_err *e);

/* ---- objects ---- */
/* Makes o the current version of (bucket, key), in one transaction: checks the
 * bucket exists (ORC_ENOTFOUND) and every chunk is LIVE (ORC_ECONFLICT), adds
 * the manifest and its references, and releases the previous version's
 * references (chunks reaching 0 get touched = now). *id gets the new object id,
 * or 0 when the current version's request started after o->start_ms: nothing
 * changes, the write is superseded (success, as in S3).
 * o->cond is checked first (ORC_ECONFLICT, detail ORC_D_PRECONDITION). */
int meta_object_put(meta *m, int64_t bucket_id, const meta_object_new *o, int64_t *id, orc_err *e);
/* The current version, and in the same read transaction the extents that
 * overlap [from, to) (to = UINT64_MAX for all; pass want_extents = false for
 * none). *ext is malloc'ed; the object's owned strings are freed with
 * meta_object_dispose. ORC_ENOTFOUND if absent. */
int meta_object_get(meta *m, int64_t bucket_id, const char *key, bool want_extents, uint64_t from,
                    uint64_t to, meta_object *out, meta_extent **ext, size_t *next, orc_err *e);
/* The extents of version v (as meta_object_get returned it) that overlap
 * [from, to), in one read transaction that first checks the row v->id is
 * still that version (same bucket, key, size, ETag and time: ids are reused).
 * ORC_ECONFLICT if it was replaced or deleted since: the caller reads the
 * object again. Lets a GET learn the size, resolve its Range, then read only
 * the manifest rows it needs. *ext is malloc'ed. */
int meta_object_extents(meta *m, const meta_object *v, uint64_t from, uint64_t to,
                        meta_extent **ext, size_t *next, orc_err *e);
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
 * malloc'ed. Their copies are every recorded one, PENDING included; a chunk
 * with none recorded may be on any provider. */
int meta_gc_mark(meta *m, int64_t cutoff_ms, size_t limit, meta_chunk **out, size_t *n, orc_err *e);
/* Removes a DELETING chunk's row once its copies are gone. */
int meta_gc_forget(meta *m, int64_t chunk_id, orc_err *e);

/* Counts for tests, `orchard` admin output and /metrics: objects and the
 * sum of their sizes (bytes_logical), chunks and their references, the bytes
 * of every recorded piece (bytes_stored), and the plaintext bytes of the
 * distinct chunks objects reference (bytes_unique: what dedup leaves of
 * bytes_logical). Scans the tables: not for a hot path. */
typedef struct meta_stats {
    uint64_t objects, chunks, chunk_refs, bytes_logical, bytes_stored, bytes_unique;
} meta_stats;
int meta_stats_get(meta *m, meta_stats *out, orc_err *e);

/* ---- provider usage (admin view) ---- */
/* Copies a provider holds and their sealed bytes. */
int meta_provider_usage(meta *m, uint32_t provider_id, uint64_t *chunks, uint64_t *bytes,
                        orc_err *e);
/* LIVE, referenced chunks with fewer LIVE pieces than their width (width 0:
 * legacy_width): what repair will repair (meta_repair_list). */
int meta_under_replicated(meta *m, int legacy_width, uint64_t *n, orc_err *e);
/* Redundancy by layout, for the admin view: for each layout in use (width 0
 * reported as legacy_width), its LIVE referenced chunks and how many of
 * them are below full redundancy. *out is malloc'ed. */
typedef struct meta_redundancy {
    meta_layout layout;
    uint64_t chunks, below;
} meta_redundancy;
int meta_redundancy_list(meta *m, int legacy_width, meta_redundancy **out, size_t *n, orc_err *e);
/* Up to limit LIVE, referenced chunks with id > after_id and fewer LIVE
 * pieces than their width (0: legacy_width), by id, with their pieces. *out
 * is malloc'ed. Unreferenced chunks are left out: they are garbage waiting
 * for the collector, and a repair racing its collection could delete a
 * re-upload's fresh copy. */
int meta_repair_list(meta *m, int legacy_width, int64_t after_id, size_t limit, meta_chunk **out,
                     size_t *n, orc_err *e);
/* Records new LIVE pieces of a LIVE chunk (repair, or a write's straggler
 * that landed after the chunk was committed), replacing a PENDING record of
 * the same provider. A chunk collected meanwhile is an error (ORC_ENOTFOUND
 * or ORC_ECONFLICT): the caller deletes the pieces it wrote. */
int meta_chunk_add_copies(meta *m, int64_t chunk_id, const uint32_t *providers,
                          const int16_t *frags, int n, orc_err *e);

/* A piece that failed verification on read (provider, fragment index or
 * META_WHOLE): back to PENDING, so it is no longer read or counted and the
 * chunk is below full redundancy until repair replaces it. A piece not
 * recorded LIVE is left as it is. */
int meta_chunk_copy_suspect(meta *m, int64_t chunk_id, uint32_t provider, int16_t frag, orc_err *e);
/* The PENDING pieces of a LIVE chunk (a write's failed attempts, suspects):
 * up to META_MAX_COPIES into providers/frags. Repair deletes them from
 * their providers and then forgets them (meta_chunk_copy_forget), which
 * frees the provider for another piece. */
int meta_chunk_pending_list(meta *m, int64_t chunk_id, uint32_t *providers, int16_t *frags, int *n,
                            orc_err *e);
/* Forgets provider's PENDING piece of the chunk (a LIVE one is kept). */
int meta_chunk_copy_forget(meta *m, int64_t chunk_id, uint32_t provider, orc_err *e);

/* ---- the repair queue (schema 7) ----
 * Repair's work, durable: a chunk is queued when a piece of it fails
 * verification (meta_chunk_copy_suspect queues it in the same transaction),
 * when a write commits it below full redundancy (meta_chunk_commit), and when
 * a scan, a scrub or fsck finds it short (meta_repair_enqueue). One item per
 * chunk. A worker takes due items with a lease: until the lease ends no other
 * worker gets them, and after a crash they come back by themselves. An item
 * leaves the queue only by meta_repair_done, which the worker calls after the
 * chunk's new pieces were written and read back verified; a failure puts it
 * back (meta_repair_retry) with a later due time. */
enum meta_repair_reason {
    META_REPAIR_SHORT = 1,   /* fewer pieces than its width (a scan, a short write) */
    META_REPAIR_CORRUPT = 2, /* a piece failed verification (a read, a scrub) */
    META_REPAIR_MISSING = 3, /* a provider lacks a recorded piece (a scrub, fsck) */
    META_REPAIR_SIZE = 4,    /* a provider holds a piece of the wrong size (fsck) */
};
/* A chunk a write committed short is due for repair this long after: the
 * providers that failed it just now would most likely fail repair too, and
 * a repair's calls to them (deleting the failed attempts) would count as
 * answers for their health. */
#define META_REPAIR_SHORT_DELAY_MS 10000
typedef struct meta_repair_item {
    int64_t chunk_id;
    int reason;        /* enum meta_repair_reason, of the first report */
    int64_t gen;       /* reports so far: meta_repair_done of an older gen keeps the item */
    uint32_t attempts; /* failed tries so far */
    int64_t queued_ms;
    meta_chunk chunk; /* LIVE, referenced, with its LIVE pieces */
} meta_repair_item;
/* Queues chunk_id (a report on an item already there counts as a new one:
 * gen + 1; its due time stays). */
int meta_repair_enqueue(meta *m, int64_t chunk_id, int reason, orc_err *e);
/* Takes up to limit items due at now_ms (not backing off, no running
 * lease), leased until now_ms + lease_ms, with their chunks, oldest due
 * first. Items whose chunk is gone, not LIVE or unreferenced (garbage:
 * the collector takes it) leave the queue here. *out is malloc'ed. */
int meta_repair_take(meta *m, int64_t now_ms, int64_t lease_ms, size_t limit,
                     meta_repair_item **out, size_t *n, orc_err *e);
/* Queues every chunk meta_repair_list would list (LIVE, referenced, fewer
 * LIVE pieces than its width; width 0: legacy_width) that is not queued yet,
 * in one transaction; *queued gets how many. The backstop for chunks that
 * went short without a report (a crash before a lazy commit was durable,
 * data from before the queue). */
int meta_repair_scan(meta *m, int legacy_width, uint64_t *queued, orc_err *e);
/* The item of chunk_id is done, unless it was queued again since gen. */
int meta_repair_done(meta *m, int64_t chunk_id, int64_t gen, orc_err *e);
/* A try failed: attempts + 1, due again at not_before_ms, lease ended; why
 * (may be NULL) is kept for the admin view. */
int meta_repair_retry(meta *m, int64_t chunk_id, int64_t not_before_ms, const char *why,
                      orc_err *e);
typedef struct meta_repair_stats {
    uint64_t items;    /* in the queue */
    uint64_t due;      /* of them, due at now_ms and not leased */
    uint64_t failing;  /* of them, with one failed try or more */
    int64_t oldest_ms; /* queued_ms of the oldest item; 0 when empty */
} meta_repair_stats;
int meta_repair_stats_get(meta *m, int64_t now_ms, meta_repair_stats *out, orc_err *e);

/* ---- scrub ---- */
/* Up to limit LIVE, referenced chunks with id > after_id, by id, with their
 * LIVE pieces (what a scrub reads back). *out is malloc'ed. */
int meta_chunk_list(meta *m, int64_t after_id, size_t limit, meta_chunk **out, size_t *n,
                    orc_err *e);

/* ---- settings: small durable values of background work ---- */
/* Copies the value of key into buf (cap bytes, NUL-terminated).
 * ORC_ENOTFOUND if unset. */
int meta_setting_get(meta *m, const char *key, char *buf, size_t cap, orc_err *e);
/* Sets key to value (NULL: removes it), durably. */
int meta_setting_set(meta *m, const char *key, const char *value, orc_err *e);

/* ---- copy (CopyObject) ---- */
/* A copy is a new manifest over the same chunks: no data moves. */
typedef struct meta_object_copy_args {
    int64_t src_bucket;
    const char *src_key;
    const char *src_etag; /* the source must still have this ETag (else
                             ECONFLICT, ORC_D_SOURCE_CHANGED); NULL: any */
    int64_t dst_bucket;
    const char *dst_key;
    bool replace_meta;         /* false: Content-Type and headers of the source */
    const char *content_type;  /* when replace_meta; may be NULL */
    const char *headers;       /* when replace_meta; may be NULL */
    const char *storage_class; /* the destination's; NULL: the default class */
    int64_t mtime_ms;
    meta_put_cond cond; /* on the destination, as for meta_object_put */
    int64_t start_ms;   /* as meta_object_new.start_ms */
} meta_object_copy_args;
/* In one transaction: reads the source's current version, releases the
 * destination's current version (if any) and writes the destination with the
 * source's manifest, size and ETag, taking one more reference on each chunk.
 * Copying an object onto itself updates its metadata in place. *out gets the
 * new version (dispose with meta_object_dispose); out->id is 0 when the copy
 * was superseded (see meta_object_new.start_ms) and nothing changed. ORC_ENOTFOUND: source object
 * or destination bucket absent (msg says which); ORC_ECONFLICT with
 * detail ORC_D_PRECONDITION: a condition on the destination failed;
 * ORC_D_SOURCE_CHANGED: the source no longer has src_etag. */
int meta_object_copy(meta *m, const meta_object_copy_args *a, meta_object *out, orc_err *e);

/* ---- multipart uploads ----
 * An upload is a row keyed by its client-visible id; each part holds chunk
 * references through its own manifest, exactly like an object, so the
 * collector never takes a chunk a part uses. Re-putting a part number
 * replaces the part and releases the old one's references; completing makes
 * the object from the listed parts' manifests (offsets shifted, no data
 * copied) and releases every part in the same transaction; aborting releases
 * them all. */
#define META_UPLOAD_ID_MAX 64
#define META_PART_MAX 10000 /* part numbers are 1..META_PART_MAX */

typedef struct meta_upload {
    int64_t id; /* row id */
    char upload_id[META_UPLOAD_ID_MAX + 1];
    int64_t bucket_id;
    char *key;                              /* owned */
    int64_t initiator;                      /* user id */
    char *content_type;                     /* owned; may be NULL */
    char storage_class[META_CLASS_MAX + 1]; /* what the object will have; "": default */
    char *headers;                          /* owned; may be NULL */
    int64_t created_ms;
} meta_upload;

typedef struct meta_part {
    int number;
    uint64_t size;
    char etag[64]; /* hex, unquoted */
    int64_t mtime_ms;
    char checksum[64]; /* additional checksum as the S3 layer wrote it
                          (meta_part_set_checksum), or "" */
} meta_part;

/* What a part commit records; chunk ids in part order, offsets from 0. */
typedef struct meta_part_new {
    const char *upload_id;
    const char *key; /* must be the upload's key */
    int number;
    uint64_t size;
    const char *etag;
    int64_t mtime_ms;
    const int64_t *chunk_ids;
    const uint64_t *offsets;
    size_t nchunks;
} meta_part_new;

/* One entry of a CompleteMultipartUpload request. */
typedef struct meta_part_ref {
    int number;
    const char *etag; /* hex, unquoted */
} meta_part_ref;

/* Why a complete was refused (ORC_EINVAL). */
enum meta_complete_fault {
    META_COMPLETE_OK = 0,
    META_COMPLETE_BAD_ORDER, /* part numbers not strictly ascending, or out of range */
    META_COMPLETE_NO_PART,   /* a listed part is missing or has another ETag */
    META_COMPLETE_TOO_SMALL, /* a part before the last is under min_part_size */
};

typedef struct meta_complete {
    const char *upload_id;
    const char *key;
    const meta_part_ref *parts; /* at least one */
    size_t nparts;
    uint64_t min_part_size;
    const char *etag; /* the object's ETag */
    int64_t mtime_ms;
    const char *headers; /* the object's stored headers; NULL: the upload's */
    int64_t start_ms;    /* as meta_object_new.start_ms */
    /* out */
    int fault;         /* enum meta_complete_fault */
    int fault_part;    /* the part number at fault */
    uint64_t size;     /* the object's size */
    int64_t object_id; /* 0: superseded (the upload is gone, the object unchanged) */
} meta_complete;

void meta_upload_dispose(meta_upload *u);
/* Records a new upload of (bucket, key). ORC_ENOTFOUND (bucket), ORC_EEXISTS (id taken). */
int meta_upload_create(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                       int64_t initiator, const char *content_type, const char *headers,
                       const char *storage_class, int64_t created_ms, orc_err *e);
/* The upload with this id, which must belong to (bucket, key); ORC_ENOTFOUND. */
int meta_upload_get(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                    meta_upload *out, orc_err *e);
/* Makes p the part p->number of its upload, in one transaction: checks the
 * upload (ORC_ENOTFOUND) and that every chunk is LIVE (ORC_ECONFLICT) and
 * tiles [0, size) (ORC_EINVAL), takes the references and releases those of a
 * part it replaces. */
int meta_part_put(meta *m, int64_t bucket_id, const meta_part_new *p, orc_err *e);
/* Up to limit parts numbered above after, ascending. *out is malloc'ed.
 * ORC_ENOTFOUND if there is no such upload. */
int meta_part_list(meta *m, int64_t bucket_id, const char *key, const char *upload_id, int after,
                   size_t limit, meta_part **out, size_t *n, orc_err *e);
/* Completes an upload in one transaction: validates c->parts (ORC_EINVAL with
 * c->fault set), stitches their manifests into the new current version of
 * (bucket, key) as meta_object_put does (so chunks are re-checked LIVE:
 * ORC_ECONFLICT), records the part boundaries, releases every part and
 * forgets the upload. ORC_ENOTFOUND: no such upload. */
int meta_upload_complete(meta *m, int64_t bucket_id, meta_complete *c, orc_err *e);
/* A completed upload is remembered this long (S3 too answers a repeated
 * complete for a while), so that a retried CompleteMultipartUpload succeeds. */
#define META_COMPLETED_KEEP_MS (24LL * 3600 * 1000)
typedef struct meta_completed {
    char etag[64]; /* the object's ETag as that complete made it */
    int64_t completed_ms;
} meta_completed;
/* The upload upload_id of (bucket, key) if it completed within
 * META_COMPLETED_KEEP_MS of now_ms; ORC_ENOTFOUND otherwise. */
int meta_upload_completed(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                          int64_t now_ms, meta_completed *out, orc_err *e);
/* Releases every part and forgets the upload. ORC_ENOTFOUND. */
int meta_upload_abort(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                      orc_err *e);
/* Up to limit uploads of the bucket with the prefix, ordered by (key,
 * upload id), starting after (from_key, from_upload): from_upload NULL skips
 * every upload of from_key; from_key NULL starts at the beginning. *out is
 * malloc'ed; dispose each and free the array. */
int meta_upload_list(meta *m, int64_t bucket_id, const char *prefix, const char *from_key,
                     const char *from_upload, size_t limit, meta_upload **out, size_t *n,
                     orc_err *e);
/* Aborts up to limit uploads created before cutoff_ms; *n gets the count. */
int meta_upload_expire(meta *m, int64_t cutoff_ms, size_t limit, size_t *n, orc_err *e);
/* Part `number` of the current version of (bucket, key): *object_id, *nparts
 * (0 if it was not a multipart upload) and, when 1 <= number <= *nparts, its
 * *start and *size. ORC_ENOTFOUND if there is no such object. */
int meta_object_part(meta *m, int64_t bucket_id, const char *key, int number, int64_t *object_id,
                     int *nparts, uint64_t *start, uint64_t *size, orc_err *e);

/* ---- one stored header of the current version (object tagging) ---- */
/* Sets the "name: value" line of the current version's stored headers to
 * value (replacing the line, or adding it), or removes it when value is NULL,
 * in one transaction; manifest, size, ETag and time are untouched. name is
 * matched exactly (stored names are lowercase); value must hold no newline.
 * ORC_ENOTFOUND if (bucket, key) has no current version. */
int meta_object_set_header(meta *m, int64_t bucket_id, const char *key, const char *name,
                           const char *value, orc_err *e);

/* ---- a part's additional checksum (multipart checksums) ---- */
/* Records checksum (text meta does not interpret; NULL clears it) on part
 * `number` of the upload, provided the part is still the one committed with
 * this etag and mtime_ms: a re-upload that replaced it meanwhile keeps its
 * own. ORC_ENOTFOUND if there is no such upload or part. */
int meta_part_set_checksum(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                           int number, const char *etag, int64_t mtime_ms, const char *checksum,
                           orc_err *e);

#endif
