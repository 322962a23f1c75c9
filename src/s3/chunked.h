/* aws-chunked request bodies (SigV4 streaming uploads), decoded as they arrive.
 *
 *   SIZE-HEX[;chunk-signature=SIG]\r\n DATA\r\n ... 0[;chunk-signature=SIG]\r\n
 *   [name:value\r\n ...] [x-amz-trailer-signature:SIG\r\n] \r\n
 *
 * Feed the raw HTTP body in slices of any size; decoded bytes go to a sink as
 * soon as they are framed, so memory stays bounded: only a chunk header line
 * and the trailer lines are buffered, never a chunk. Chunk signatures chain
 * from the request's seed signature and are checked as each chunk ends (the
 * data is hashed as it streams): a consumer must not commit anything before
 * s3_chunked_finish succeeds. Not thread-safe; one decoder per request. */
#ifndef ORC_S3_CHUNKED_H
#define ORC_S3_CHUNKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "s3/errors.h"
#include "util/err.h"

#define S3_CHUNKED_MAX_LINE 256 /* a chunk header or trailer line, CRLF excluded */

enum s3_chunked_trailers {
    S3_CHUNKED_NO_TRAILER,     /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD */
    S3_CHUNKED_TRAILER,        /* STREAMING-UNSIGNED-PAYLOAD-TRAILER */
    S3_CHUNKED_SIGNED_TRAILER, /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER */
};

/* Receives decoded bytes; non-zero stops decoding and is returned by feed. */
typedef int (*s3_chunked_sink)(void *ctx, const uint8_t *data, size_t len, orc_err *e);

typedef struct s3_chunked_opts {
    bool signed_chunks; /* every chunk carries ;chunk-signature= */
    enum s3_chunked_trailers trailers;
    const char *trailer_name; /* the one trailer allowed (x-amz-trailer), or NULL */
    /* When signed_chunks: the key material sigv4_verify left in sigv4_result. */
    const unsigned char *signing_key; /* 32 bytes */
    const char *seed_signature;       /* 64 lowercase hex */
    const char *amz_date, *scope;
    uint64_t decoded_length; /* x-amz-decoded-content-length: the chunks must add up to it */
    s3_chunked_sink sink;
    void *sink_ctx;
} s3_chunked_opts;

typedef struct s3_chunked s3_chunked;

/* Everything in o is copied. */
s3_chunked *s3_chunked_new(const s3_chunked_opts *o);
/* Decodes a slice of the body. Returns 0, the sink's code, ORC_EAUTH (a chunk
 * or trailer signature does not match) or ORC_EINVAL (framing, length or
 * trailers); after a failure every call fails the same way. */
int s3_chunked_feed(s3_chunked *c, const uint8_t *data, size_t len, orc_err *e);
/* The body is complete: fails with ORC_EINVAL unless the final chunk (and the
 * trailers, signature checked) were received. */
int s3_chunked_finish(s3_chunked *c, orc_err *e);
/* The S3 error for the decoder's own failure (S3E_SIGNATURE_DOES_NOT_MATCH,
 * S3E_INCOMPLETE_BODY, S3E_INVALID_REQUEST, S3E_MALFORMED_TRAILER), or
 * S3E_NONE when nothing failed or the sink did. */
enum s3_error s3_chunked_error(const s3_chunked *c);
/* The value of the trailer named in opts (whitespace trimmed), or NULL if it
 * was not sent. Valid after a successful finish, until free. */
const char *s3_chunked_trailer(const s3_chunked *c);
/* Decoded bytes handed to the sink so far. */
uint64_t s3_chunked_decoded(const s3_chunked *c);
void s3_chunked_free(s3_chunked *c);

#endif
