/* Buckets and objects: the data path between S3 and the stores below.
 *
 * PUT is a pipeline with bounded queues, so memory per request stays a few
 * chunk buffers whatever the object size and a slow provider pushes back on
 * the client:
 *   connection thread: receive, MD5                       (object_put_write)
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

typedef struct store {
    meta *m;
    place *pl;
    const seal_keys *keys;
    cdc_params cdc;
    int64_t gc_grace_ms;
} store;

/* ---- buckets (bucket.c) ---- */
/* S3 bucket naming rules: 3-63 chars of [a-z0-9.-], starts and ends with a
 * letter or digit, no "..", not an IP address, no xn-- prefix or -s3alias suffix. */
bool bucket_name_valid(const char *name);

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
} object_put_args;

typedef struct object_put_result {
    char etag[64]; /* hex MD5, unquoted */
    int64_t mtime_ms;
} object_put_result;

/* Starts a PUT. Strings in args are copied. */
object_put *object_put_begin(store *s, const object_put_args *args);
/* Feeds body bytes; blocks while the pipeline is full. Fails (and keeps
 * failing) once a stage failed or more bytes than content_length arrive. */
int object_put_write(object_put *w, const uint8_t *data, size_t len, orc_err *e);
/* Ends the body: waits for every chunk to be durable, checks length, MD5 and
 * SHA-256, then commits the version. Errors: ORC_EINVAL (length: msg starts
 * with "IncompleteBody"), ORC_ECORRUPT with msg "BadDigest" or
 * "XAmzContentSHA256Mismatch", ORC_ENOTFOUND (bucket gone), others. */
int object_put_finish(object_put *w, object_put_result *res, orc_err *e);
/* Frees w; an unfinished PUT is abandoned (its chunks are collected later). */
void object_put_free(object_put *w);

/* ---- GET (get.c) ---- */
typedef struct object_reader object_reader;

/* Looks up (bucket, key) and prepares to read [first, last] (inclusive; pass
 * first = 0, last = UINT64_MAX for the whole object). The first chunk is read
 * and verified before this returns, so a failure there is still an error
 * response. *obj is filled (dispose with meta_object_dispose). When head_only
 * no chunk is read. */
int object_get_open(store *s, int64_t bucket_id, const char *key, bool head_only, meta_object *obj,
                    object_reader **out, orc_err *e);
/* Sets the range to read (call once, before the first object_read). */
int object_get_range(object_reader *r, uint64_t first, uint64_t last, orc_err *e);
/* Copies up to max bytes of the range into buf; returns the count, 0 at the
 * end, or a negative code when no good copy of a chunk exists. */
long object_read(object_reader *r, uint8_t *buf, size_t max, orc_err *e);
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

#endif
