/* The current version of a key as S3 requests see it: its record, the
 * conditions a write puts on it, delete, its tag set, a part of it, and a
 * copy of it. The front (s3/) parses the request and picks the S3 error; the
 * checks and the metadata rows involved are here. Included by object.h. */
#ifndef ORC_OBJECT_VERSION_H
#define ORC_OBJECT_VERSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "object/object.h"

/* The stored header line that holds a version's tag set, in canonical
 * URL-encoded form ("k=v&k2=v2"); same name as S3's request header. */
#define OBJECT_TAG_LINE "x-amz-tagging"

/* The current version of (bucket, key) without its manifest; dispose with
 * meta_object_dispose. ORC_ENOTFOUND: none. */
int object_head(store *s, int64_t bucket_id, const char *key, meta_object *out, orc_err *e);

/* Whether write condition c (zero kind: none) holds for the current version
 * of (bucket, key) now: ORC_OK, or ORC_ECONFLICT with ORC_D_PRECONDITION;
 * others when the version cannot be read. A write checks early with this to
 * spare sending a body for nothing; its commit checks again atomically. */
int object_put_cond_check(store *s, int64_t bucket_id, const char *key, const meta_put_cond *c,
                          orc_err *e);

/* Removes the current version of (bucket, key) (its chunks are collected
 * later). Deleting an absent key succeeds, as in S3. */
int object_delete(store *s, int64_t bucket_id, const char *key, orc_err *e);

/* The tag set in stored headers ("name: value\n" lines): the value of the
 * OBJECT_TAG_LINE line and *len its length, or NULL (*len 0) for none. */
const char *object_tags_of(const char *headers, size_t *len);
/* Replaces the tag set of the current version of (bucket, key) with tags
 * (canonical text, no newline; NULL or "" removes it), in one transaction
 * that leaves manifest, size, ETag and time alone. ORC_ENOTFOUND: no version. */
int object_tags_set(store *s, int64_t bucket_id, const char *key, const char *tags, orc_err *e);

/* GET/HEAD ?partNumber: part `number` (>= 1) of the version r was opened on
 * (object_get_open), as the span [*first, *first + *len) of the object, and
 * *nparts (0: not a multipart object, whose part 1 is the whole object).
 * Call before object_get_range. ORC_EINVAL with ORC_D_INVALID_RANGE: no such
 * part; ORC_ECONFLICT: the key holds another version now (open again): the
 * version is compared by id, size, ETag and time, since ids are reused. */
int object_get_part(object_reader *r, int number, int *nparts, uint64_t *first, uint64_t *len,
                    orc_err *e);

/* CopyObject. The source's conditions (x-amz-copy-source-if-*) are the
 * caller's: object_copy hands it the source version it read; non-zero from
 * it refuses the copy with that code (e filled). */
typedef int object_source_check(void *ctx, const meta_object *src, orc_err *e);

typedef struct object_copy_args {
    int64_t src_bucket;
    const char *src_key;
    int64_t dst_bucket;
    const char *dst_key;
    /* Metadata (Content-Type and stored headers but the tag line) from the
     * source, or with meta_replace from content_type and headers. */
    bool meta_replace;
    const char *content_type, *headers; /* may be NULL */
    /* The tag set from the source, or with tags_replace the tag line of
     * tag_headers (stored-header lines; NULL or no tag line: no tags). */
    bool tags_replace;
    const char *tag_headers;
    /* The destination's class (object_class_resolve's answer; NULL: the
     * default). The copy shares the source's chunks, which keep the layout
     * they were written with. */
    const char *storage_class;
    meta_put_cond cond;                /* on the destination; zero: none */
    object_source_check *source_check; /* NULL: no source conditions */
    void *source_ctx;
    object_commit commit; /* as for a PUT */
} object_copy_args;

/* Copies the source's current version onto the destination: a new manifest
 * over the same chunks, in one metadata transaction. A copy whose headers are
 * composed from the source (one directive COPY, the other REPLACE) is pinned
 * to the version read, and retried on a newer one if the source changes
 * meanwhile; so is a copy with a source_check, but that one is not retried.
 * *out: the new version (out->id 0: superseded). Errors: ORC_ENOTFOUND
 * (source or destination bucket), ORC_EINVAL with ORC_D_TOO_LARGE (source over
 * OBJECT_MAX_SIZE), ORC_ECONFLICT with ORC_D_PRECONDITION or
 * ORC_D_SOURCE_CHANGED (a condition failed), ORC_EBUSY (the source kept
 * changing), ORC_ECANCELED (client gone), what source_check returned, others. */
int object_copy(store *s, const object_copy_args *a, meta_object *out, orc_err *e);

#endif
