/* Multipart uploads seen from the front: the upload a request names, its
 * parts, the rows a CompleteMultipartUpload's list matches, abort, and the
 * checksum kept with a part. Included at the end of object/object.h; the
 * create, copy, complete and list operations are declared there. Every
 * function answers ORC_ENOTFOUND with detail ORC_D_NO_SUCH_UPLOAD when the
 * upload does not exist (a NULL or empty upload id names none). */
#ifndef ORC_OBJECT_UPLOAD_H
#define ORC_OBJECT_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The record types and store come from object.h, which includes this file
 * at its end (including it back would make a cycle). */
#ifndef ORC_OBJECT_OBJECT_H
#error "include object/object.h, not object/upload.h"
#endif

/* The upload upload_id of (bucket, key) into *up (meta_upload_dispose). */
int object_upload_get(store *s, int64_t bucket_id, const char *key, const char *upload_id,
                      meta_upload *up, orc_err *e);

/* AbortMultipartUpload: forgets the upload and its parts (their chunks are
 * left to the collector). */
int object_upload_abort(store *s, int64_t bucket_id, const char *key, const char *upload_id,
                        orc_err *e);

/* ListParts: the upload and its parts numbered after `after`, at most max of
 * them in ascending number; truncated when more follow. */
typedef struct object_upload_parts_result {
    meta_upload up;
    meta_part *parts; /* owned */
    size_t n;
    bool truncated;
} object_upload_parts_result;

int object_upload_parts(store *s, int64_t bucket_id, const char *key, const char *upload_id,
                        int after, size_t max, object_upload_parts_result *out, orc_err *e);
void object_upload_parts_result_dispose(object_upload_parts_result *r);

/* The stored parts a CompleteMultipartUpload lists: match[i] is the part
 * with parts[i]'s number and ETag, NULL when there is none (the complete
 * itself then refuses the list). */
typedef struct object_upload_match {
    const meta_part **match; /* n entries, into rows (owned) */
    meta_part *rows;         /* owned */
    size_t n, nrows;
} object_upload_match;

/* Fills *out for the listed parts. A listed number that no part can have
 * (outside 1..META_PART_MAX) is refused as the complete refuses a list:
 * ORC_EINVAL with *fault META_COMPLETE_NO_PART and *fault_part that number. */
int object_upload_match_parts(store *s, int64_t bucket_id, const char *key, const char *upload_id,
                              const meta_part_ref *parts, size_t n, object_upload_match *out,
                              int *fault, int *fault_part, orc_err *e);
void object_upload_match_dispose(object_upload_match *m);

/* Keeps checksum ("NAME:base64") with part `number` of the upload, the one
 * that UploadPart committed with etag at mtime_ms. ORC_OK too when that
 * part was meanwhile replaced by a newer upload of the number (which keeps
 * its own checksum) or the upload ended. */
int object_upload_part_checksum(store *s, int64_t bucket_id, const char *key, const char *upload_id,
                                int number, const char *etag, int64_t mtime_ms,
                                const char *checksum, orc_err *e);

/* The user who initiated an upload (for <Initiator>/<Owner>): ORC_ENOTFOUND
 * once the user is gone. */
int object_upload_user(store *s, int64_t user_id, meta_user *out, orc_err *e);

/* UploadPartCopy: makes part_number of the upload from a range of the source
 * object's current version (object_mp_copy_args). Chunks wholly inside the
 * range are referenced; the partial chunks at its edges are read, verified,
 * and stored again as new chunks. The part's ETag identifies its content
 * (MD5 over its chunks' SHA-256s): an MD5 of the bytes would need every byte
 * read. *src_size (may be NULL) gets the source's size once it was found, for
 * the message of a range past its end. Errors: ORC_ENOTFOUND (detail
 * ORC_D_NO_SUCH_UPLOAD for the upload, else the source is missing),
 * ORC_EINVAL with ORC_D_INVALID_RANGE (range beyond the source) or
 * ORC_D_TOO_LARGE, ORC_ECORRUPT (no good copy of an edge chunk), others. */
int object_upload_copy_part(store *s, const object_mp_copy_args *a, object_put_result *res,
                            uint64_t *src_size, orc_err *e);

#endif
