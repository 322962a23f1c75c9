/* Buckets and objects: the data path between S3 and the stores below.
 *
 * PUT is a pipeline with bounded queues, so memory per request stays a few
 * chunk buffers whatever the object size and a slow provider pushes back on
 * the client:
 *   event loop:        receive, MD5 (never blocks: pauses) (object_put_write)
 *   sealer thread:     body SHA-256, FastCDC cut, chunk SHA-256, dedup claim,
 *                      AES-256-GCM seal
 *   writer thread:     N copies in parallel (place_write), chunk -> LIVE
 * and the object becomes visible in one metadata transaction after every
 * chunk is durable (object_put_finish). Small bodies skip the threads.
 *
 * GET reads only the chunks overlapping the range, fetching and decrypting
 * ahead of the sender on a reader thread. */
#ifndef ORC_OBJECT_OBJECT_H
#define ORC_OBJECT_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunk/cdc.h"
#include "chunk/seal.h"
#include "meta/meta.h"
#include "place/place.h"
#include "util/err.h"

#define OBJECT_MAX_SIZE (5ull << 30) /* single PUT limit, as S3 */

/* A store: made by object_store_new (object/access.h), passed to every
 * object_* function; its fields are the object layer's (object/object_int.h). */
typedef struct store store;

/* ---- buckets (bucket.c) ---- */
/* S3 bucket naming rules: 3-63 chars of [a-z0-9.-], starts and ends with a
 * letter or digit, no "..", not an IP address, no xn-- prefix or -s3alias suffix. */
bool bucket_name_valid(const char *name);

/* How a write commits (PUT, UploadPart, CompleteMultipartUpload, copy):
 * start_ms is when its request's headers arrived (wall clock; 0: at the
 * commit), which orders it against other writes of the key as S3 does
 * ("latest timestamp wins": meta_object_new.start_ms). alive (may be NULL) is
 * asked right before the commit; false means the client went away, and the
 * write then makes nothing visible (ORC_ECANCELED): its chunks are left
 * unreferenced for the collector. */
typedef struct object_commit {
    int64_t start_ms;
    bool (*alive)(void *ctx);
    void *alive_ctx;
} object_commit;

/* ---- storage classes (store.c) ---- */
#define OBJECT_MAX_CLASSES 16
#define OBJECT_CLASS_NAME_MAX 32
/* The class an object gets: requested[0, len) when given (len > 0), else
 * bucket_default (NULL or "": none), else the store's default. Returns the
 * store's own copy of the name (lives as long as the store). NULL and
 * ORC_EINVAL with detail ORC_D_STORAGE_CLASS when the requested name is not
 * a configured class (S3's InvalidStorageClass); an unknown bucket default
 * (a class since removed from the configuration) falls back to the
 * store's default. */
const char *object_class_resolve(const store *s, const char *requested, size_t len,
                                 const char *bucket_default, orc_err *e);
/* The store's default class name. */
const char *object_class_default(const store *s);
/* The class an object or upload reports: the one it recorded, or the
 * default for a record without one (written before classes existed). */
const char *object_class_name(const store *s, const char *recorded);

/* ---- PUT (put.c) ---- */
typedef struct object_put object_put;

typedef struct object_put_args {
    int64_t bucket_id;
    const char *key;
    uint64_t content_length;
    const char *content_type; /* may be NULL */
    const char *headers;      /* stored "name: value\n" lines; may be NULL */
    const uint8_t *want_md5;  /* 16 bytes from Content-MD5, or NULL */
    const char *want_sha256;  /* hex the body must hash to, or NULL */
    meta_put_cond cond;       /* If-None-Match: * / If-Match; zero: none */
    /* The storage class (object_class_resolve's answer; NULL: the default):
     * where new chunks go, and what the object records. */
    const char *storage_class;
    /* UploadPart: when upload_id is set, the body is committed as part
     * part_number of that multipart upload of key, not as the object
     * (object_put_finish then answers ORC_ENOTFOUND for an unknown upload). */
    const char *upload_id;
    int part_number;
    /* When set, object_put_write never blocks (for an event loop): with the
     * pipeline full it keeps the bytes, answers ORC_EAGAIN, and calls
     * wake(wake_arg) once it can take more. Called from a pipeline thread,
     * possibly until object_put_free returns. */
    void (*wake)(void *wake_arg);
    void *wake_arg;
    object_commit commit; /* request start and liveness; zero: now, always alive */
} object_put_args;

typedef struct object_put_result {
    char etag[64]; /* hex MD5, unquoted */
    int64_t mtime_ms;
    bool superseded; /* a version whose request started later is current: the
                        write succeeded but is not visible (S3's latest start wins) */
} object_put_result;

/* Starts a PUT. Strings in args are copied. */
object_put *object_put_begin(store *s, const object_put_args *args);
/* Feeds body bytes; blocks while the pipeline is full, or, with a wake
 * function, takes them all and answers ORC_EAGAIN: write no more until woken
 * (what is held then is bounded by one call's bytes). Fails (and keeps
 * failing) once a stage failed or more bytes than content_length arrive. */
int object_put_write(object_put *w, const uint8_t *data, size_t len, orc_err *e);
/* Ends the body: waits for every chunk to be durable, checks length, MD5 and
 * SHA-256, then commits the version. Errors (details: util/err.h): ORC_EINVAL
 * with ORC_D_INCOMPLETE_BODY (length; object_put_write too), ORC_ECORRUPT with
 * ORC_D_BAD_DIGEST or ORC_D_SHA256_MISMATCH, ORC_ENOTFOUND (bucket gone),
 * ORC_ECONFLICT with ORC_D_PRECONDITION (args->cond failed), ORC_ECANCELED
 * (the client is gone: nothing committed), others. res->superseded: see
 * object_put_result. */
int object_put_finish(object_put *w, object_put_result *res, orc_err *e);
/* Frees w; an unfinished PUT is abandoned (its chunks are collected later). */
void object_put_free(object_put *w);
/* Appends "name: value\n" lines to the headers stored with the object, for
 * values known only once the body is in (a trailing checksum). Call before
 * object_put_finish. */
void object_put_add_headers(object_put *w, const char *lines);

/* ---- GET (get.c) ---- */
typedef struct object_reader object_reader;

/* Looks up the current version of (bucket, key): *obj is filled (dispose
 * with meta_object_dispose) and *out reads it. Only the object row is read,
 * so that the caller can resolve a Range against its size first. */
int object_get_open(store *s, int64_t bucket_id, const char *key, meta_object *obj,
                    object_reader **out, orc_err *e);
/* Sets the range to read, [first, last] inclusive (call once, before the
 * first object_read; not at all for a HEAD or an empty body). Reads the
 * manifest rows overlapping it, of the version object_get_open found, then
 * the first chunk, verified, so that a failure there is still an error
 * response. ORC_ECONFLICT: that version was replaced or deleted meanwhile
 * (nothing was read; open again); others as object_read. */
int object_get_range(object_reader *r, uint64_t first, uint64_t last, orc_err *e);
/* Copies up to max bytes of the range into buf; returns the count, 0 at the
 * end, or a negative code when no good copy of a chunk exists. Blocks for the
 * next chunk unless a wake function is set: then ORC_EAGAIN means call again
 * after wake(arg) has run (from an I/O thread, possibly until
 * object_reader_free returns). */
long object_read(object_reader *r, uint8_t *buf, size_t max, orc_err *e);
void object_reader_set_wake(object_reader *r, void (*wake)(void *arg), void *arg);
void object_reader_free(object_reader *r);

/* ---- listing (list.c) ---- */
typedef struct object_list_args {
    const char *prefix;    /* "" for all */
    const char *delimiter; /* NULL or "" for none */
    const char *start;     /* list keys from here; NULL: from the start */
    bool start_inclusive;  /* start itself may be listed */
    size_t max_keys;       /* 0..1000 */
} object_list_args;

typedef struct object_list_entry {
    meta_object obj; /* when !is_prefix */
    char *prefix;    /* common prefix, when is_prefix (owned) */
    bool is_prefix;
} object_list_entry;

typedef struct object_list_result {
    object_list_entry *entries; /* keys and common prefixes, in order */
    size_t n;
    bool truncated;
    char *next; /* where the next page starts when truncated (owned) */
    bool next_inclusive;
} object_list_result;

int object_list(store *s, int64_t bucket_id, const object_list_args *a, object_list_result *out,
                orc_err *e);
void object_list_result_dispose(object_list_result *r);

/* ---- garbage collection (gc.c) ---- */
/* One pass: deletes the copies of chunks unreferenced for gc_grace_ms and
 * forgets them. Returns the number of chunks collected, or a negative code. */
long object_gc_pass(store *s, orc_err *e);

/* ---- repair (repair.c) ----
 * Repair works the metadata's durable queue (meta.h, "the repair queue"):
 * chunks below full redundancy, queued by a failed verification, a short
 * write, a scrub or a scan. */
/* Queues every chunk below full redundancy that is not queued yet (the
 * backstop for chunks that went short without a report). Returns how
 * many, or a negative code. */
long object_repair_scan(store *s, orc_err *e);
/* Takes up to limit due items and repairs each: the pieces its chunk lacks
 * are rebuilt from pieces that verify, written to up providers that hold no
 * piece of it, read back and compared, and only then recorded LIVE. An item
 * leaves the queue once its chunk has its full width; otherwise it is tried
 * again later, each delay twice the one before (1 s .. 15 min). *bytes (may
 * be NULL) gets the bytes read and written. Returns the items finished, or
 * a negative code. */
long object_repair_work(store *s, size_t limit, uint64_t *bytes, orc_err *e);
/* A scan, then work until nothing is due. Returns the items finished, or a
 * negative code. */
long object_repair_pass(store *s, orc_err *e);
typedef struct object_repair_view {
    uint64_t items, due, failing; /* the queue now (meta_repair_stats) */
    int64_t oldest_ms;            /* when its oldest item was queued; 0: empty */
    uint64_t repaired, failed;    /* items finished and failed tries since the start */
    uint64_t bytes;               /* read and written by repair since the start */
} object_repair_view;
int object_repair_view_get(store *s, object_repair_view *out, orc_err *e);

/* ---- providers: drain and removal (drain.c) ----
 * A draining provider is read but never written to, and its pieces move to
 * the others (respecting each chunk's placement: a copy to a provider with
 * no piece of the chunk, a fragment keeping its index): copy, read back and
 * verify, switch the record (one transaction), then delete. The state is
 * in the metadata: a drain goes on after a restart. */
/* Tells placement which providers take no writes, from the metadata (at
 * start). */
int object_providers_load_states(store *s, orc_err *e);
/* Sets provider name's state (enum meta_provider_state): DRAINING or
 * REMOVED only if every storage class still has providers for all its
 * pieces without it (ORC_ECONFLICT names the class); REMOVED only when it
 * holds nothing (ORC_ECONFLICT with the count); ACTIVE ends a drain.
 * ORC_ENOTFOUND: no such provider in the config. */
int object_provider_set(store *s, const char *name, int state, orc_err *e);
typedef struct object_drain_view {
    char name[64];
    int state;                          /* enum meta_provider_state */
    int64_t started_ms;                 /* of the drain; 0: not draining */
    uint64_t total_pieces, total_bytes; /* what it held when the drain began */
    uint64_t left_pieces, left_bytes;   /* what it holds now (LIVE and PENDING) */
} object_drain_view;
int object_drain_view_get(store *s, const char *name, object_drain_view *out, orc_err *e);
/* Moves up to limit pieces off each draining provider. *bytes (may be NULL)
 * gets the bytes read and written. Returns the pieces moved or deleted, or
 * a negative code. */
long object_drain_step(store *s, size_t limit, uint64_t *bytes, orc_err *e);

/* ---- capacity and cost (cost.c) ----
 * Each provider's capacity and prices, from its config section: placement
 * writes to the cheapest providers with room first and never past a
 * capacity; reads weigh egress prices against latency; and what each
 * provider did this month (puts, gets, egress) is kept in the metadata so
 * that its bill can be estimated. */
typedef struct object_costs {
    uint64_t capacity; /* bytes; 0: no limit */
    double price_gb_month, price_put_1k, price_get_1k, price_egress_gb;
} object_costs;
/* Sets provider name's capacity and prices; egress_weight_ms: how many ms
 * of read latency one unit of price_egress_gb is worth. ORC_ENOTFOUND. */
int object_provider_costs(store *s, const char *name, const object_costs *c, long egress_weight_ms,
                          orc_err *e);
/* Tells placement what the metadata records on each provider (for the
 * capacities), and adds each provider's calls since the last flush to this
 * month's counts. */
int object_usage_refresh(store *s, orc_err *e);

/* ---- fsck (fsck.c) ----
 * Each provider's listing against the pieces recorded on it: a LIVE piece
 * it lacks or holds at the wrong size is marked suspect (queued for
 * repair); a name no record references is an orphan candidate, deleted by
 * a pass that finds it still unreferenced grace_ms after it was first
 * found, never while an upload records a piece under that name (the name
 * is fenced, the records read again, then it is deleted). */
#define OBJECT_FSCK_MAX_PROVIDERS PLACE_MAX_PROVIDERS
typedef struct object_fsck_provider {
    char name[64];
    uint64_t listed, recorded;    /* names it holds; pieces recorded on it */
    uint64_t missing, wrong_size; /* LIVE pieces it lacks or holds wrongly: queued */
    uint64_t orphans;             /* names no record references (candidates) */
    uint64_t orphans_deleted, orphan_bytes_deleted; /* of them, past the grace period */
    bool failed; /* the listing or the metadata failed: nothing known */
    char error[256];
} object_fsck_provider;
typedef struct object_fsck_view {
    bool running;
    int64_t started_ms, finished_ms; /* finished 0: none yet, or under way */
    uint64_t missing, wrong_size, orphans, orphans_deleted;
    uint64_t lost; /* chunks left with too few good pieces to rebuild (loss repair cannot mend) */
    uint64_t failed_providers;
    uint64_t fenced; /* names fenced now (a sweep deleting them); 0 once it ends */
    size_t nproviders;
    object_fsck_provider providers[OBJECT_FSCK_MAX_PROVIDERS];
} object_fsck_view;
/* One pass over every provider, now, in the calling thread. */
int object_fsck_run(store *s, int64_t grace_ms, object_fsck_view *out, orc_err *e);
/* Asks for a pass (run by the background thread that calls
 * object_fsck_run_requested); ORC_EBUSY while one is asked for or under way. */
int object_fsck_request(store *s, int64_t grace_ms, orc_err *e);
/* Runs the pass asked for, if any; true if it ran one. */
bool object_fsck_run_requested(store *s);
/* The pass under way (running) or the last one. */
void object_fsck_view_get(store *s, object_fsck_view *out);

/* ---- scrub (scrub.c) ----
 * A scrub pass reads back every piece of every live, referenced chunk, by
 * chunk id, and compares it with what it must hold (the chunk is read
 * verified first, then each copy or fragment alone). A piece that is
 * missing or wrong is marked for repair (meta_chunk_copy_suspect: it stops
 * being read and counted, and its chunk is queued in the same transaction).
 * The pass's position and counts are kept in the metadata, so a pass goes on
 * after a restart where it was. */
typedef struct object_scrub_view {
    bool running;          /* a pass is under way */
    int64_t started_ms;    /* of the current pass, else of the last one; 0: never */
    int64_t finished_ms;   /* of the last finished pass; 0: none */
    int64_t cursor;        /* the last chunk id checked in the current pass */
    uint64_t chunks;       /* of the current (or last) pass: chunks checked */
    uint64_t pieces;       /* pieces read back */
    uint64_t bytes;        /* bytes read */
    uint64_t bad;          /* pieces that differed from the chunk: queued for repair */
    uint64_t missing;      /* pieces their provider lacks: queued for repair */
    uint64_t lost;         /* chunks with no good copy left (nothing to repair from) */
    uint64_t unreachable;  /* pieces not checked: their provider did not answer */
    uint64_t total_chunks; /* live chunks in the store now, for progress */
} object_scrub_view;
/* Starts a pass now, unless one is under way (then nothing changes). */
int object_scrub_start(store *s, orc_err *e);
/* Checks up to max_chunks more chunks of the pass under way; *bytes (may be
 * NULL) gets the bytes read. Returns the chunks checked (0: no pass under
 * way, or it just ended), or a negative code. */
long object_scrub_step(store *s, size_t max_chunks, uint64_t *bytes, orc_err *e);
/* The pass; total_chunks (a count over the chunk table) only with
 * count_chunks, else 0: the scrub thread asks every second. */
int object_scrub_view_get(store *s, object_scrub_view *out, bool count_chunks, orc_err *e);

/* ---- multipart uploads (multipart.c) ----
 * UploadPart streams through the PUT pipeline (object_put_args.upload_id);
 * the other operations are here. A part is a manifest holding chunk
 * references; completing stitches the parts' manifests into the object in
 * one metadata transaction, so no data is copied and the switch to the new
 * version is atomic as for a PUT. */
#define OBJECT_MP_MIN_PART (5ull << 20) /* every part but the last, as S3 */

/* Starts an upload of key; upload_id gets its new id (lowercase hex, ordered
 * by creation time). Strings are copied. ORC_ENOTFOUND: no bucket. */
int object_mp_create(store *s, int64_t bucket_id, const char *key, int64_t initiator,
                     const char *content_type, const char *headers, const char *storage_class,
                     char upload_id[META_UPLOAD_ID_MAX + 1], orc_err *e);

typedef struct object_mp_copy_args {
    int64_t bucket_id;
    const char *key;
    const char *upload_id;
    int part_number;
    int64_t src_bucket_id;
    const char *src_key;
    bool has_range;
    uint64_t first, last; /* inclusive, when has_range */
} object_mp_copy_args;

/* Completes an upload from the parts the client lists (ETags unquoted, hex
 * MD5). res->etag gets hex(MD5(binary part MD5s)) + "-N". headers are the
 * object's stored headers (NULL: those given at create). cm: as for a PUT
 * (may be NULL). ORC_EINVAL with *fault (enum meta_complete_fault) and
 * *fault_part set when the list is refused; ORC_ENOTFOUND: no such upload;
 * ORC_ECANCELED: the client is gone, the upload is left as it was; others. */
int object_mp_complete(store *s, int64_t bucket_id, const char *key, const char *upload_id,
                       const meta_part_ref *parts, size_t n, const char *headers,
                       const object_commit *cm, object_put_result *res, int *fault, int *fault_part,
                       orc_err *e);

/* A CompleteMultipartUpload repeated after it succeeded: fills res (ETag,
 * completion time) when upload_id of (bucket, key) completed lately with
 * the same part list; ORC_ENOTFOUND otherwise (then it is NoSuchUpload). */
int object_mp_completed(store *s, int64_t bucket_id, const char *key, const char *upload_id,
                        const meta_part_ref *parts, size_t n, object_put_result *res, orc_err *e);

/* Aborts the uploads older than max_age_ms (releasing their chunks for the
 * collector). Returns how many, or a negative code. */
long object_mp_expire(store *s, int64_t max_age_ms, orc_err *e);

/* ListMultipartUploads: ordered by key then upload id, with prefix and
 * delimiter as object_list. */
typedef struct object_mp_list_args {
    const char *prefix;           /* "" for all */
    const char *delimiter;        /* NULL or "" for none */
    const char *key_marker;       /* NULL or "": from the start */
    const char *upload_id_marker; /* with key_marker: that key's uploads after it */
    size_t max_uploads;           /* 0..1000 */
} object_mp_list_args;

typedef struct object_mp_list_entry {
    meta_upload up; /* when !is_prefix */
    char *prefix;   /* common prefix, when is_prefix (owned) */
    bool is_prefix;
} object_mp_list_entry;

typedef struct object_mp_list_result {
    object_mp_list_entry *entries;
    size_t n;
    bool truncated;
    char *next_key;       /* NextKeyMarker when truncated (owned) */
    char *next_upload_id; /* NextUploadIdMarker when truncated (owned; NULL after a prefix) */
} object_mp_list_result;

int object_mp_list(store *s, int64_t bucket_id, const object_mp_list_args *a,
                   object_mp_list_result *out, orc_err *e);
void object_mp_list_result_dispose(object_mp_list_result *r);

#include "object/upload.h" /* the uploads the front names (upload.c) */

#include "object/access.h"
#include "object/version.h" /* current versions: conditions, delete, tags, parts, copy */

#endif
