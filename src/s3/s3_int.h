/* Shared between the S3 front's files; not for other layers. */
#ifndef ORC_S3_S3_INT_H
#define ORC_S3_S3_INT_H

#include "s3/errors.h"
#include "s3/s3.h"
#include "s3/sigv4.h"
#include "util/buf.h"

#define S3_MAX_XML_BODY (1u << 20) /* request bodies parsed as XML */

/* What a request is, by S3's operation names (the operation label of
 * /metrics, metrics.c): the route's, refined by the front (front.c) where
 * one route serves two (CopyObject, UploadPartCopy, ListObjectsV2).
 * Besides S3's: UNKNOWN (no operation: a bad target, method or
 * subresource), PREFLIGHT (OPTIONS), ADMIN (/_orchard/providers) and METRICS
 * (/metrics, /_orchard/metrics). */
/* (id, name) of every operation; the enum and metrics.c's names come from it. */
#define S3_OPS(X)                                                                                  \
    X(UNKNOWN, "Unknown")                                                                          \
    X(LIST_BUCKETS, "ListBuckets")                                                                 \
    X(CREATE_BUCKET, "CreateBucket")                                                               \
    X(HEAD_BUCKET, "HeadBucket")                                                                   \
    X(DELETE_BUCKET, "DeleteBucket")                                                               \
    X(GET_BUCKET_LOCATION, "GetBucketLocation")                                                    \
    X(GET_BUCKET_VERSIONING, "GetBucketVersioning")                                                \
    X(GET_BUCKET_ACL, "GetBucketAcl")                                                              \
    X(PUT_BUCKET_ACL, "PutBucketAcl")                                                              \
    X(LIST_OBJECTS, "ListObjects")                                                                 \
    X(LIST_OBJECTS_V2, "ListObjectsV2")                                                            \
    X(LIST_MULTIPART_UPLOADS, "ListMultipartUploads")                                              \
    X(DELETE_OBJECTS, "DeleteObjects")                                                             \
    X(PUT_OBJECT, "PutObject")                                                                     \
    X(COPY_OBJECT, "CopyObject")                                                                   \
    X(GET_OBJECT, "GetObject")                                                                     \
    X(HEAD_OBJECT, "HeadObject")                                                                   \
    X(DELETE_OBJECT, "DeleteObject")                                                               \
    X(GET_OBJECT_TAGGING, "GetObjectTagging")                                                      \
    X(PUT_OBJECT_TAGGING, "PutObjectTagging")                                                      \
    X(DELETE_OBJECT_TAGGING, "DeleteObjectTagging")                                                \
    X(GET_OBJECT_ACL, "GetObjectAcl")                                                              \
    X(PUT_OBJECT_ACL, "PutObjectAcl")                                                              \
    X(CREATE_MULTIPART_UPLOAD, "CreateMultipartUpload")                                            \
    X(UPLOAD_PART, "UploadPart")                                                                   \
    X(UPLOAD_PART_COPY, "UploadPartCopy")                                                          \
    X(COMPLETE_MULTIPART_UPLOAD, "CompleteMultipartUpload")                                        \
    X(ABORT_MULTIPART_UPLOAD, "AbortMultipartUpload")                                              \
    X(LIST_PARTS, "ListParts")                                                                     \
    X(PREFLIGHT, "PreflightRequest")                                                               \
    X(ADMIN, "OrchardAdmin")                                                                       \
    X(METRICS, "OrchardMetrics")

enum s3_op {
#define S3_OP_ID(id, name) S3_OP_##id,
    S3_OPS(S3_OP_ID)
#undef S3_OP_ID
        S3_OP_N
};

/* Per-request state. */
typedef struct s3_req {
    s3_service *svc;
    http_req *rq;
    const struct s3_route *route;
    enum s3_op op; /* what it is counted as */
    char *bucket;  /* decoded; NULL for the service */
    char *key;     /* decoded; NULL for a bucket */
    meta_user user;
    sigv4_result auth;
    orc_buf body;    /* small bodies (XML) */
    object_put *put; /* PutObject in progress */
    int body_rc;     /* first failure while receiving */
    orc_err body_err;
    /* The body as the operation sees it (body.c): aws-chunked decoded, so the
     * length is x-amz-decoded-content-length then; use these, not rq's. */
    bool has_length;
    uint64_t content_length;
    struct s3_body *decode;   /* aws-chunked decoder and checksum, or NULL */
    enum s3_error body_s3err; /* set (with body_err) when those reject the body */
    bool pause;               /* the PUT pipeline is full: pause the body */
    int64_t start_ms;         /* when the headers arrived (http_req.start_ms); orders writes */
} s3_req;

typedef void s3_handler(s3_req *r);

struct s3_route {
    const char *method;
    int target;              /* S3_T_SERVICE, S3_T_BUCKET, S3_T_OBJECT */
    const char *subresource; /* query parameter that selects it, or NULL */
    s3_handler *begin;       /* runs when headers are in (may answer) */
    s3_handler *end;         /* runs when the body is in */
    int body;                /* S3_BODY_NONE, S3_BODY_XML, S3_BODY_STREAM */
    enum s3_op op;
};

enum { S3_T_SERVICE, S3_T_BUCKET, S3_T_OBJECT };
enum { S3_BODY_NONE, S3_BODY_XML, S3_BODY_STREAM };

/* ---- replies (reply.c) ---- */
/* Sends the S3 error XML; msg NULL uses the table's message. A 5xx is
 * logged, once, with the request id. */
void s3_error(s3_req *r, enum s3_error code, const char *msg);
/* As s3_error; why (may be NULL), a lower layer's failure, is added to the
 * log line of a 5xx and never sent to the client. */
void s3_error_why(s3_req *r, enum s3_error code, const char *msg, const orc_err *why);
/* Maps a lower layer's failure, its code and detail, to the S3 error
 * (s3_error_for, errors.c) and sends it; notfound says which NoSuch* a bare
 * ORC_ENOTFOUND means. */
void s3_error_from(s3_req *r, int code, const orc_err *e, enum s3_error notfound);
/* Sends an XML body built in b (taken over). */
void s3_reply_xml(s3_req *r, unsigned status, orc_buf *b);
void s3_reply_empty(s3_req *r, unsigned status);
/* <name>v</name>, with v URL-encoded (slashes kept) when url: listings'
 * encoding-type=url. */
void s3_text_elem(orc_buf *b, const char *name, const char *v, bool url);

/* ---- request bodies (body.c) ---- */
/* Reads the headers that shape a body (x-amz-content-sha256 STREAMING-*,
 * x-amz-decoded-content-length, x-amz-trailer, x-amz-checksum-*), sets
 * has_length/content_length and, when needed, r->decode. Checksums are
 * checked for S3_BODY_STREAM routes only (an XML body's x-amz-checksum-*
 * describes the object). Answers a bad request itself and returns non-zero. */
int s3_body_begin(s3_req *r);
/* A raw piece of the body: decoded bytes go on to s3_body_consume. */
int s3_body_write(s3_req *r, const uint8_t *data, size_t len);
/* The raw body is in: checks the framing, signatures and checksum. Non-zero:
 * r->body_s3err and r->body_err say why; nothing may be committed. */
int s3_body_end(s3_req *r);
/* After s3_body_end: the verified checksum's header name and base64 value, or
 * NULL when the request carried none. */
const char *s3_body_checksum(const s3_req *r, const char **value);
/* After s3_body_begin: the header name of the checksum the body will be
 * checked against (from a header or x-amz-trailer), or NULL for none. */
const char *s3_body_checksum_header(const s3_req *r);
void s3_body_free(struct s3_body *b);
/* front.c: the wake function handed to the object layer (arg: r->rq). */
void s3_wake(void *rq);
/* Hands (decoded) body bytes to the operation's consumer (body.c). */
int s3_body_consume(s3_req *r, const uint8_t *data, size_t len);

/* ---- query arguments (query.c) ---- */
/* Whether every name and value of query string q decodes to text without
 * NUL (parse_target refuses the request otherwise: InvalidURI). */
bool s3_query_valid(const char *q);
/* Decoded value of a query parameter (owned by the caller: free()), or NULL.
 * A parameter without '=' has the value "". */
char *s3_query_get(const s3_req *r, const char *name);
bool s3_query_has(const s3_req *r, const char *name);

/* Looks up the request's bucket; answers NoSuchBucket / AccessDenied itself
 * and returns non-zero when it did. */
int s3_bucket_for_owner(s3_req *r, meta_bucket *b);
/* The same for another bucket the request names (a copy source). */
int s3_bucket_owned(s3_req *r, const char *name, meta_bucket *b);

/* ---- operations ---- */
s3_handler s3_list_buckets, s3_create_bucket, s3_head_bucket, s3_delete_bucket,
    s3_get_bucket_location, s3_list_objects;
s3_handler s3_put_object_begin, s3_put_object_end, s3_get_object, s3_head_object, s3_delete_object;

/* GET /_orchard/providers (admin.c). */
s3_handler s3_admin;
#define S3_ADMIN_BUCKET "_orchard"

/* GET /metrics and /_orchard/metrics: the Prometheus exposition, to the admin
 * only (metrics.c). */
s3_handler s3_metrics;
/* Counts a request that is over under its operation: its status (none: the
 * client went away before an answer), duration and body bytes. Lock-free;
 * from the front's done callback. */
void s3_metrics_count(enum s3_op op, const http_req *rq);

/* CopyObject (PUT with x-amz-copy-source) and DeleteObjects (copy_ops.c). */
s3_handler s3_copy_object, s3_delete_objects;
/* Initializes out with the request's x-amz-meta-* and stored Content-*
 * headers as "name: value\n" lines (object_ops.c; the caller disposes out).
 * Non-zero when they exceed S3's 8 KB: the error is sent, out is empty. */
int s3_stored_headers(s3_req *r, orc_buf *out);
/* The storage class a write uses: x-amz-storage-class if present (one the
 * configuration defines, else InvalidStorageClass is answered and non-zero
 * returned), else the bucket's default, else the server's. */
int s3_storage_class(s3_req *r, const meta_bucket *b, const char **out);
/* x-amz-storage-class of a GET or HEAD: S3 leaves it out for STANDARD. */
void s3_storage_class_header(s3_req *r, const meta_object *o);
/* How the request's write commits (object.h): its start time and a liveness
 * check on its connection (object_ops.c). */
object_commit s3_commit_of(s3_req *r);
/* Reads If-None-Match / If-Match ("*" or one ETag) of a write into *c, checks it
 * once against the current version (object_ops.c); the commit checks again
 * atomically. Non-zero: answered (412 or NotImplemented). */
int s3_put_condition(s3_req *r, int64_t bucket_id, meta_put_cond *c);

/* Multipart uploads (multipart_ops.c). */
s3_handler s3_create_multipart_upload, s3_upload_part_begin, s3_upload_part_end,
    s3_complete_multipart_upload, s3_abort_multipart_upload, s3_list_parts,
    s3_list_multipart_uploads, s3_get_object_part, s3_head_object_part;
/* Raises the body cap of CompleteMultipartUpload to S3_COMPLETE_MAX_BODY. */
s3_handler s3_complete_multipart_begin;

/* An S3 canonical user ID for a user (64 hex chars + NUL). */
void s3_owner_id(const meta_user *u, char out[65]);

/* ---- helpers shared by the object, copy and multipart operations ---- */
/* x-amz-copy-source: "[/]bucket/key[?versionId=...]", the key URL-encoded;
 * *bucket and *key are malloc'ed. -1 if it is not that (copy_ops.c). */
int s3_parse_copy_source(const char *v, char **bucket, char **key);
/* Content-MD5: base64 of 16 bytes; -1 if not (object_ops.c). */
int s3_parse_content_md5(const char *v, uint8_t md5[16]);
/* An XML request body against the signed x-amz-content-sha256 and a
 * Content-MD5 if sent (copy_ops.c). Non-zero: answered. */
int s3_check_xml_body(s3_req *r);
/* The response headers of a version for GET and HEAD: validators, type,
 * stored headers (x-amz-checksum-* only when whole and asked for), tag
 * count, and the response-* overrides ov (NULL: none) (object_ops.c). */
void s3_object_headers(s3_req *r, const meta_object *o, char *const *ov, bool whole);

/* Object tagging (tagging.c). */
s3_handler s3_get_object_tagging, s3_put_object_tagging, s3_delete_object_tagging;
/* Appends the stored "x-amz-tagging: ..." line for the request's
 * x-amz-tagging header (nothing when absent or empty). Non-zero: answered
 * (InvalidTag, InvalidArgument). */
int s3_request_tags(s3_req *r, orc_buf *out);

/* Versioning and ACL reads, and the no-op canned-private ACL writes (acl_ops.c). */
s3_handler s3_get_bucket_versioning, s3_get_bucket_acl, s3_get_object_acl, s3_put_bucket_acl,
    s3_put_object_acl;

#endif
