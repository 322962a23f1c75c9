/* AWS Signature Version 4 verification, as S3 does it.
 *
 * Header auth (Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
 * Signature=...) and query auth (presigned URLs: X-Amz-Algorithm, X-Amz-Credential,
 * X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature).
 * The canonical request is rebuilt from what was received: the path decoded and
 * re-encoded per S3's rules (slashes kept, no double encoding), the query decoded,
 * re-encoded and sorted, the signed headers lowercased, trimmed and folded. */
#ifndef ORC_S3_SIGV4_H
#define ORC_S3_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "s3/errors.h"
#include "util/buf.h"
#include "util/err.h"

#define SIGV4_MAX_SKEW 900       /* seconds: x-amz-date within 15 minutes */
#define SIGV4_MAX_EXPIRES 604800 /* presigned URLs live at most 7 days */

typedef struct s3_header {
    const char *name; /* as received, any case */
    const char *value;
} s3_header;

typedef struct sigv4_request {
    const char *method;
    const char *raw_path;  /* as on the request line: percent-encoded, no query */
    const char *raw_query; /* what followed '?', as sent; "" if none */
    const s3_header *headers;
    size_t nheaders;
    time_t now; /* server clock, seconds */
} sigv4_request;

/* Looks up the secret for an access key: 0 and a NUL-terminated secret, or
 * ORC_ENOTFOUND. Called at most once per verification. */
typedef int (*sigv4_secret_fn)(void *ctx, const char *access_key, char *secret, size_t cap);

typedef struct sigv4_result {
    bool anonymous;          /* no Authorization header and no X-Amz-Signature */
    char access_key[128];    /* who signed */
    char region[64];         /* from the credential scope */
    bool payload_unsigned;   /* UNSIGNED-PAYLOAD (or presigned) */
    bool payload_streaming;  /* STREAMING-* (aws-chunked body) */
    char payload_sha256[65]; /* lowercase hex the body must hash to, when signed */
    /* For streaming payloads (issue 5): the seed signature and signing key. */
    char seed_signature[65];
    unsigned char signing_key[32];
    char scope[160];
    char amz_date[17];
} sigv4_result;

/* Verifies rq. Returns S3E_NONE with *out filled (anonymous requests return
 * S3E_NONE with out->anonymous set: the caller decides, and S3 answers
 * AccessDenied), or the S3 error to send: S3E_ACCESS_DENIED,
 * S3E_AUTHORIZATION_HEADER_MALFORMED, S3E_INVALID_ACCESS_KEY_ID,
 * S3E_SIGNATURE_DOES_NOT_MATCH, S3E_REQUEST_TIME_TOO_SKEWED, S3E_INVALID_ARGUMENT,
 * S3E_INVALID_REQUEST. e->msg gets a human reason (never the secret). */
enum s3_error sigv4_verify(const sigv4_request *rq, sigv4_secret_fn fn, void *ctx,
                           sigv4_result *out, orc_err *e);

/* Pieces, exposed for the unit tests and for presigning. */
int sigv4_canonical_request(const sigv4_request *rq, const char *signed_headers,
                            const char *payload_hash, bool query_auth, orc_buf *out, orc_err *e);
void sigv4_signing_key(const char *secret, const char *date8, const char *region,
                       const char *service, unsigned char key[32]);

#endif
