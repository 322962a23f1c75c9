/* Request bodies between the socket and the operation: aws-chunked decoding
 * (chunked.c) and S3's additional checksums (checksum.c) sit in front of
 * whatever consumes the body (PutObject, UploadPart, XML bodies), so every
 * operation sees decoded bytes and their length, and a body that fails a
 * chunk signature or its checksum is refused before anything is committed. */
#include "s3/s3_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "s3/checksum.h"
#include "s3/chunked.h"
#include "util/time.h"
#include "util/parse.h"
#include "util/alloc.h"

struct s3_body {
    s3_chunked *chunked; /* NULL when the body is not aws-chunked */
    enum s3_checksum_alg alg;
    bool from_trailer;               /* the value comes after the body */
    uint8_t want[S3_CHECKSUM_MAX];   /* the value from the header */
    s3_checksum ck;                  /* over the decoded body */
    char value[S3_CHECKSUM_B64_MAX]; /* computed and verified, after end */
    bool verified;
};

static int refuse(s3_req *r, enum s3_error code, const char *msg)
{
    s3_error(r, code, msg);
    return -1;
}

/* ---- which checksum ---- */

struct scan {
    int count;
    enum s3_checksum_alg alg;
    const char *value;
};

static int scan_header(void *ctx, const char *name, const char *value)
{
    struct scan *s = ctx;
    enum s3_checksum_alg alg = s3_checksum_by_header(name);
    if (alg != S3_CK_NONE) {
        s->count++;
        s->alg = alg;
        s->value = value;
    }
    return 0;
}

/* The algorithm and, for a header, the value a body must match: from one
 * x-amz-checksum-* header or from x-amz-trailer, as S3 allows. */
static int choose_checksum(s3_req *r, struct s3_body *b)
{
    struct scan s = {0};
    char msg[160];
    const char *trailer = http_header(r->rq, "x-amz-trailer");
    const char *sdk = http_header(r->rq, "x-amz-sdk-checksum-algorithm");
    http_headers_each(r->rq, scan_header, &s);
    if (trailer) {
        while (*trailer == ' ' || *trailer == '\t')
            trailer++;
        enum s3_checksum_alg alg = s3_checksum_by_header(trailer);
        if (alg == S3_CK_NONE)
            return refuse(r, S3E_INVALID_REQUEST,
                          "The value specified in the x-amz-trailer header is not supported");
        s.count++;
        s.alg = alg;
        b->from_trailer = true;
    }
    if (s.count > 1)
        return refuse(r, S3E_INVALID_REQUEST,
                      "Expecting a single x-amz-checksum- header. Multiple checksum Types are "
                      "not allowed.");
    if (sdk) {
        enum s3_checksum_alg alg = s3_checksum_by_name(sdk);
        if (alg == S3_CK_NONE)
            return refuse(r, S3E_INVALID_REQUEST,
                          "Value for x-amz-sdk-checksum-algorithm header is invalid.");
        if (s.count == 0)
            return refuse(r, S3E_INVALID_REQUEST,
                          "x-amz-sdk-checksum-algorithm specified, but no corresponding "
                          "x-amz-checksum-* or x-amz-trailer headers were found.");
        if (alg != s.alg)
            return refuse(r, S3E_INVALID_REQUEST,
                          "Value for x-amz-sdk-checksum-algorithm header is invalid.");
    }
    b->alg = s.count ? s.alg : S3_CK_NONE;
    if (b->alg && !b->from_trailer && s3_checksum_decode(b->alg, s.value, b->want)) {
        snprintf(msg, sizeof(msg), "Value for %s header is invalid.", s3_checksum_header(b->alg));
        return refuse(r, S3E_INVALID_REQUEST, msg);
    }
    return 0;
}

/* ---- the consumer ---- */

/* Here, not in front.c, so that the decoder's sink and the front's plain
 * body path call down into one place (front.c -> body.c, never back). */
int s3_body_consume(s3_req *r, const uint8_t *data, size_t len)
{
    if (r->put) {
        int rc = object_put_write(r->put, data, len, &r->body_err);
        if (rc == ORC_EAGAIN) { /* taken; the pipeline wakes the connection */
            r->pause = true;
            rc = ORC_OK;
        }
        r->body_rc = rc;
    } else if (r->route->body == S3_BODY_XML) {
        r->body_rc = orc_buf_append(&r->body, data, len, &r->body_err);
    }
    return r->body_rc;
}

/* ---- aws-chunked ---- */

static int decoded(void *ctx, const uint8_t *data, size_t len, orc_err *e)
{
    s3_req *r = ctx;
    if (r->decode->alg) s3_checksum_update(&r->decode->ck, data, len);
    int rc = s3_body_consume(r, data, len);
    if (rc && e) *e = r->body_err;
    return rc;
}

static int start_chunked(s3_req *r, struct s3_body *b)
{
    const char *mode = http_header(r->rq, "x-amz-content-sha256");
    s3_chunked_opts o = {
        .signed_chunks = !r->auth.payload_unsigned,
        .trailers = S3_CHUNKED_NO_TRAILER,
        .trailer_name = b->from_trailer ? s3_checksum_header(b->alg) : NULL,
        .signing_key = r->auth.signing_key,
        .seed_signature = r->auth.seed_signature,
        .amz_date = r->auth.amz_date,
        .scope = r->auth.scope,
        .decoded_length = r->content_length,
        .sink = decoded,
        .sink_ctx = r,
    };
    /* An XML body's trailer is framing only: its checksum headers describe
     * the object (CompleteMultipartUpload), not the body, so none is checked. */
    if (r->route->body != S3_BODY_STREAM) o.trailer_name = http_header(r->rq, "x-amz-trailer");
    if (mode && strcmp(mode, "STREAMING-UNSIGNED-PAYLOAD-TRAILER") == 0)
        o.trailers = S3_CHUNKED_TRAILER;
    else if (mode && strcmp(mode, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER") == 0)
        o.trailers = S3_CHUNKED_SIGNED_TRAILER;
    if (b->from_trailer && o.trailers == S3_CHUNKED_NO_TRAILER)
        return refuse(r, S3E_INVALID_REQUEST,
                      "x-amz-trailer needs x-amz-content-sha256 STREAMING-UNSIGNED-PAYLOAD-"
                      "TRAILER or STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER.");
    b->chunked = s3_chunked_new(&o);
    return 0;
}

int s3_body_begin(s3_req *r)
{
    const char *dcl = http_header(r->rq, "x-amz-decoded-content-length");
    uint64_t dlen = 0;
    bool has_dlen = dcl && parse_u64(dcl, &dlen) == 0;
    if (dcl && !has_dlen)
        return refuse(r, S3E_INVALID_ARGUMENT, "x-amz-decoded-content-length is not a number.");
    r->has_length = r->rq->has_length;
    r->content_length = r->rq->content_length;
    if (r->auth.payload_streaming) {
        if (!has_dlen)
            return refuse(r, S3E_MISSING_CONTENT_LENGTH,
                          "aws-chunked uploads need x-amz-decoded-content-length.");
        r->has_length = true;
        r->content_length = dlen;
    } else if (!r->rq->has_length && has_dlen && !http_header(r->rq, "Content-Length")) {
        /* Transfer-Encoding: chunked with the size announced separately */
        r->has_length = true;
        r->content_length = dlen;
    }

    struct s3_body *b = orc_calloc(1, sizeof(*b));
    r->decode = b;
    if (r->route->body == S3_BODY_STREAM && choose_checksum(r, b)) return -1;
    if (b->from_trailer && !r->auth.payload_streaming)
        return refuse(r, S3E_INVALID_REQUEST,
                      "x-amz-trailer needs an aws-chunked body (x-amz-content-sha256 "
                      "STREAMING-*-TRAILER).");
    if (b->alg) s3_checksum_init(&b->ck, b->alg);
    if (r->auth.payload_streaming && start_chunked(r, b)) return -1;
    if (!b->chunked && !b->alg) { /* a plain body: nothing between socket and consumer */
        s3_body_free(b);
        r->decode = NULL;
    }
    return 0;
}

int s3_body_write(s3_req *r, const uint8_t *data, size_t len)
{
    struct s3_body *b = r->decode;
    orc_err e = {0};
    if (!b->chunked) {
        if (b->alg) s3_checksum_update(&b->ck, data, len);
        return s3_body_consume(r, data, len);
    }
    int rc = s3_chunked_feed(b->chunked, data, len, &e);
    if (rc && !r->body_rc) { /* the decoder's own failure (the consumer's is recorded) */
        r->body_rc = rc;
        r->body_err = e;
        r->body_s3err = s3_chunked_error(b->chunked);
    }
    return rc;
}

static int reject_body(s3_req *r, int rc, enum s3_error se, const char *msg)
{
    r->body_rc = rc;
    r->body_s3err = se;
    orc_fail(&r->body_err, rc, "%s", msg);
    return -1;
}

int s3_body_end(s3_req *r)
{
    struct s3_body *b = r->decode;
    uint8_t got[S3_CHECKSUM_MAX], trailer_raw[S3_CHECKSUM_MAX];
    char msg[160];
    if (!b) return 0;
    if (r->body_rc) return r->body_s3err ? -1 : 0; /* a consumer's failure: its end answers */
    if (b->chunked) {
        orc_err e = {0};
        int rc = s3_chunked_finish(b->chunked, &e);
        if (rc) return reject_body(r, rc, s3_chunked_error(b->chunked), e.msg);
    }
    if (!b->alg) return 0;
    const uint8_t *want = b->want;
    if (b->from_trailer) {
        const char *v = s3_chunked_trailer(b->chunked);
        if (!v) {
            snprintf(msg, sizeof(msg), "The trailer %s named in x-amz-trailer was not sent.",
                     s3_checksum_header(b->alg));
            return reject_body(r, ORC_EINVAL, S3E_MALFORMED_TRAILER, msg);
        }
        if (s3_checksum_decode(b->alg, v, trailer_raw)) {
            snprintf(msg, sizeof(msg), "Value for %s trailing header is invalid.",
                     s3_checksum_header(b->alg));
            return reject_body(r, ORC_EINVAL, S3E_INVALID_REQUEST, msg);
        }
        want = trailer_raw;
    }
    size_t n = s3_checksum_final(&b->ck, got, b->value);
    if (memcmp(got, want, n) != 0) {
        snprintf(msg, sizeof(msg), "The %s you specified did not match the calculated checksum.",
                 s3_checksum_name(b->alg));
        return reject_body(r, ORC_ECORRUPT, S3E_BAD_DIGEST, msg);
    }
    b->verified = true;
    return 0;
}

const char *s3_body_checksum_header(const s3_req *r)
{
    const struct s3_body *b = r->decode;
    return b && b->alg ? s3_checksum_header(b->alg) : NULL;
}

const char *s3_body_checksum(const s3_req *r, const char **value)
{
    const struct s3_body *b = r->decode;
    if (!b || !b->verified || !b->alg) return NULL;
    *value = b->value;
    return s3_checksum_header(b->alg);
}

void s3_body_free(struct s3_body *b)
{
    if (!b) return;
    s3_chunked_free(b->chunked);
    s3_checksum_dispose(&b->ck);
    free(b);
}
