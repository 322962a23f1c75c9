/* The one table from S3 error codes to their HTTP status and default message.
 * Every S3 error Orchard sends is one of these. */
#ifndef ORC_S3_ERRORS_H
#define ORC_S3_ERRORS_H

enum s3_error {
    S3E_NONE = 0,
    S3E_ACCESS_DENIED,
    S3E_AUTHORIZATION_HEADER_MALFORMED,
    S3E_BAD_DIGEST,
    S3E_BUCKET_ALREADY_EXISTS,
    S3E_BUCKET_ALREADY_OWNED_BY_YOU,
    S3E_BUCKET_NOT_EMPTY,
    S3E_ENTITY_TOO_LARGE,
    S3E_INCOMPLETE_BODY,
    S3E_INTERNAL_ERROR,
    S3E_INVALID_ACCESS_KEY_ID,
    S3E_INVALID_ARGUMENT,
    S3E_INVALID_BUCKET_NAME,
    S3E_INVALID_DIGEST,
    S3E_INVALID_RANGE,
    S3E_INVALID_STORAGE_CLASS,
    S3E_INVALID_REQUEST,
    S3E_KEY_TOO_LONG,
    S3E_MALFORMED_XML,
    S3E_METHOD_NOT_ALLOWED,
    S3E_MISSING_CONTENT_LENGTH,
    S3E_NO_SUCH_BUCKET,
    S3E_NO_SUCH_KEY,
    S3E_NOT_IMPLEMENTED,
    S3E_REQUEST_TIME_TOO_SKEWED,
    S3E_SERVICE_UNAVAILABLE,
    S3E_SIGNATURE_DOES_NOT_MATCH,
    S3E_SLOW_DOWN,
    S3E_XAMZ_CONTENT_SHA256_MISMATCH,
    S3E_PRECONDITION_FAILED,
    S3E_NOT_MODIFIED,      /* 304: sent without a body */
    S3E_MALFORMED_TRAILER, /* aws-chunked trailers (chunked.c, body.c) */
    S3E_NO_SUCH_UPLOAD,    /* multipart (multipart_ops.c) */
    S3E_INVALID_PART,
    S3E_INVALID_PART_ORDER,
    S3E_ENTITY_TOO_SMALL,
    S3E_INVALID_TAG,      /* tagging (tagging.c) */
    S3E_MALFORMED_ACL,    /* acl_ops.c */
    S3E_INVALID_URI,      /* a key or query value that is not UTF-8 or holds NUL (front.c) */
    S3E_ACCESS_FORBIDDEN, /* CORS preflight (OPTIONS) refused (front.c) */

    /* ORC_ECONFLICT or ORC_EEXISTS with no detail (s3_error_for) */
    S3E_OPERATION_ABORTED,
    S3E_COUNT
};

struct s3_error_info {
    const char *code;    /* "NoSuchKey" */
    int status;          /* 404 */
    const char *message; /* default human text */
};

const struct s3_error_info *s3_error_get(enum s3_error e);

/* The S3 error for a failure from a lower layer: its orc code and detail
 * (enum orc_detail, util/err.h). notfound is the answer to a bare
 * ORC_ENOTFOUND (NoSuchKey, NoSuchBucket, NoSuchUpload: the caller knows
 * which thing was looked up). A detail only counts with the code it comes
 * with. Codes that are the server's fault (EIO, EINTERNAL, ECORRUPT without a
 * detail, EAGAIN, unknown) are InternalError. */
enum s3_error s3_error_for(int code, int detail, enum s3_error notfound);

#endif
