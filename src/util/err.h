/* Error codes and caller-owned error detail.
 *
 * Every fallible function returns ORC_OK (0) or a negative orc_code and takes
 * an `orc_err *` last, which it fills on failure. Messages name what a user can
 * fix and never contain a secret. */
#ifndef ORC_UTIL_ERR_H
#define ORC_UTIL_ERR_H

enum orc_code {
    ORC_OK = 0,
    ORC_ENOTFOUND = -1,  /* the thing asked for does not exist */
    ORC_EEXISTS = -2,    /* create of something that exists */
    ORC_EINVAL = -3,     /* bad input from a caller or the network */
    ORC_EAUTH = -4,      /* credentials refused */
    ORC_ETRANSIENT = -5, /* worth retrying: timeout, 5xx, busy */
    ORC_ECORRUPT = -6,   /* bytes failed verification */
    ORC_ENOSPC = -7,     /* out of space or over a size limit */
    ORC_EIO = -8,        /* local I/O failure */
    ORC_EINTERNAL = -9,  /* a bug or an unexpected library failure */
    ORC_ECONFLICT = -10, /* state forbids it: bucket not empty, chunk being collected */
    ORC_EBUSY = -11,     /* try again shortly: another actor holds the thing */
    ORC_EAGAIN = -12,    /* would block: the caller's wake function runs when it can go on */
    ORC_ECANCELED = -13, /* the client went away before the commit: nothing was made visible */
};

/* Sub-errors a caller above must tell apart from others of the same code: the
 * S3 front maps (code, detail) to its error through one table (s3/reply.c).
 * Each names the code it comes with and the layer that sets it. The message
 * stays human text; nothing ever parses it back. */
enum orc_detail {
    ORC_D_NONE = 0,
    ORC_D_INCOMPLETE_BODY, /* EINVAL: body not as long as its Content-Length (object/) */
    ORC_D_BAD_DIGEST,      /* ECORRUPT: body does not match its Content-MD5 (object/) */
    ORC_D_SHA256_MISMATCH, /* ECORRUPT: body does not match x-amz-content-sha256 (object/) */
    ORC_D_PRECONDITION,    /* ECONFLICT: a conditional write's condition failed (meta/) */
    ORC_D_SOURCE_CHANGED,  /* ECONFLICT: a copy's source is no longer the version read (meta/) */
    ORC_D_NO_SUCH_UPLOAD,  /* ENOTFOUND: the multipart upload, not the key (object/) */
    ORC_D_INVALID_RANGE,   /* EINVAL: a well-formed range past the source's end (object/) */
    ORC_D_TOO_LARGE,       /* EINVAL: over the object size limit (object/) */
    ORC_D_BUCKET_OWNED,    /* EEXISTS: the bucket to create is the requester's already (object/) */
    ORC_D_STORAGE_CLASS,   /* EINVAL: a storage class the configuration does not define (object/) */
};

typedef struct orc_err {
    int code;
    char msg[256];
    int detail; /* enum orc_detail; ORC_D_NONE unless set by orc_fail_detail */
} orc_err;

/* Fills e (which may be NULL) with no detail and returns code. */
int orc_fail(orc_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* As orc_fail, with a sub-error the caller above tells apart. */
int orc_fail_detail(orc_err *e, int code, int detail, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Passes a failure recorded in src on into dst (which may be NULL) as code,
 * its message and detail kept; returns code. */
int orc_fail_copy(orc_err *dst, int code, const orc_err *src);

/* Short stable name of a code, e.g. "ENOTFOUND". */
const char *orc_code_name(int code);

#endif
