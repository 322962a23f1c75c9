/* Object operations: PutObject (streamed into the write pipeline, with
 * If-None-Match / If-Match conditions), GetObject and HeadObject (ranged or
 * one part with ?partNumber, streamed, conditional, with response-*
 * overrides), DeleteObject. */
#include "s3/object_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "s3/conditional.h"
#include "s3/range.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/parse.h"

#define PART_NUMBER_MSG "Part number must be an integer between 1 and 10000, inclusive"

/* ---- PutObject ---- */

void s3_put_object_begin(s3_req *r)
{
    meta_bucket b;
    uint8_t md5[16];
    const char *cmd5 = http_header(r->rq, "Content-MD5");
    orc_buf stored;
    meta_put_cond cond = {0};

    if (http_header(r->rq, "x-amz-copy-source")) return s3_copy_object(r);
    if (s3_bucket_for_owner(r, &b)) return;
    if (!r->has_length) { /* decoded length for aws-chunked (body.c) */
        if (http_header(r->rq, "Content-Length"))
            return s3_error(r, S3E_INVALID_ARGUMENT, "Content-Length is not a number.");
        return s3_error(r, S3E_MISSING_CONTENT_LENGTH, NULL);
    }
    if (r->content_length > OBJECT_MAX_SIZE) return s3_error(r, S3E_ENTITY_TOO_LARGE, NULL);
    if (cmd5 && s3_parse_content_md5(cmd5, md5)) return s3_error(r, S3E_INVALID_DIGEST, NULL);
    if (s3_put_condition(r, b.id, &cond)) return;
    const char *cls;
    if (s3_storage_class(r, &b, &cls)) return;
    if (s3_stored_headers(r, &stored)) return;
    object_put_args a = {
        .bucket_id = b.id,
        .key = r->key,
        .content_length = r->content_length,
        .content_type = http_header(r->rq, "Content-Type"),
        .headers = stored.len ? (const char *)stored.ptr : NULL,
        .want_md5 = cmd5 ? md5 : NULL,
        .want_sha256 = r->auth.payload_sha256[0] ? r->auth.payload_sha256 : NULL,
        .cond = cond,
        .storage_class = cls,
        .wake = s3_wake,
        .wake_arg = r->rq,
        .commit = s3_commit_of(r),
    };
    r->put = object_put_begin(r->svc->st, &a);
    orc_buf_dispose(&stored);
}

static void put_failed(s3_req *r, int rc, const orc_err *e)
{
    /* IncompleteBody, BadDigest, XAmzContentSHA256Mismatch and
     * PreconditionFailed come as details of the code (s3_error_for). */
    s3_error_from(r, rc, e, S3E_NO_SUCH_BUCKET);
}

void s3_put_object_end(s3_req *r)
{
    object_put_result res;
    orc_err e = {0};
    if (!r->put) return s3_error(r, S3E_INTERNAL_ERROR, NULL);
    if (r->body_rc) return put_failed(r, r->body_rc, &r->body_err);
    const char *ckv, *ckn = s3_body_checksum(r, &ckv); /* verified by s3_body_end */
    char line[128];
    if (ckn && snprintf(line, sizeof(line), "%s: %s\n", ckn, ckv) < (int)sizeof(line))
        object_put_add_headers(r->put, line);
    int rc = object_put_finish(r->put, &res, &e);
    if (rc) return put_failed(r, rc, &e);
    char etag[72];
    snprintf(etag, sizeof(etag), "\"%s\"", res.etag);
    s3_reply_empty(r, 200);
    http_add_header(r->rq, "ETag", etag);
    if (ckn) http_add_header(r->rq, ckn, ckv);
}

struct get_stream {
    object_reader *rd;
    char request_id[sizeof(((http_req *)0)->request_id)]; /* for the log line */
    char path[128];
};

static long get_read(void *ctx, uint64_t pos, uint8_t *buf, size_t max)
{
    struct get_stream *g = ctx;
    orc_err e = {0};
    long n = object_read(g->rd, buf, max, &e);
    if (n == ORC_EAGAIN) return HTTP_READ_AGAIN; /* the reader wakes the connection */
    if (n < 0) { /* cut the connection: never send unverified bytes */
        LOG_ERROR("request %s GET %s: body cut at byte %llu: %s", g->request_id, g->path,
                  (unsigned long long)pos, e.msg);
        return HTTP_READ_ERROR;
    }
    return n;
}

static void get_free(void *ctx)
{
    struct get_stream *g = ctx;
    object_reader_free(g->rd);
    free(g);
}

/* If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since against
 * the version being served. Non-zero: answered (304 or 412). */
static int get_conditions(s3_req *r, const meta_object *o)
{
    s3_cond c = {http_header(r->rq, "If-Match"), http_header(r->rq, "If-None-Match"),
                 http_header(r->rq, "If-Modified-Since"),
                 http_header(r->rq, "If-Unmodified-Since")};
    switch (s3_cond_eval(&c, o->etag, o->mtime_ms, (int64_t)time(NULL))) {
    case S3_COND_PASS:
        return 0;
    case S3_COND_NOT_MODIFIED:
        /* No body, and the validators the client can cache by. */
        s3_reply_empty(r, (unsigned)s3_error_get(S3E_NOT_MODIFIED)->status);
        s3_validator_headers(r, o);
        return 1;
    default:
        s3_error(r, S3E_PRECONDITION_FAILED, NULL);
        return 1;
    }
}

/* What a GET serves of the version: the status, and [first, last] with its
 * length (0: an empty body). */
/* What a GET serves of the version: the status, and [first, last] with its
 * length (0: an empty body); with ?partNumber, the part and the object's
 * part count (0: not multipart). */
struct get_span {
    unsigned status;
    uint64_t first, last, len;
    int part, nparts;
};

/* Resolves the Range header against o's size. Non-zero: answered (416). */
static int get_span_of(s3_req *r, const meta_object *o, struct get_span *sp)
{
    s3_range range = {0, 0};
    enum s3_range_result rr = s3_range_parse(http_header(r->rq, "Range"), o->size, &range);
    sp->status = 200;
    sp->first = 0;
    sp->last = o->size ? o->size - 1 : 0;
    sp->len = o->size;
    if (rr == S3_RANGE_UNSATISFIABLE) {
        char cr[48];
        snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)o->size);
        s3_error(r, S3E_INVALID_RANGE, NULL);
        http_add_header(r->rq, "Content-Range", cr);
        return -1;
    }
    if (rr == S3_RANGE_OK) {
        sp->status = 206;
        sp->first = range.first;
        sp->last = range.last;
        sp->len = range.last - range.first + 1;
    }
    return 0;
}

/* ?partNumber: the part's span in the version rd reads. As S3, a part is a
 * range of the object: 206 with its Content-Range (200 for an empty one).
 * Returns 0, ORC_ECONFLICT (the version changed: open again), or -1 when
 * answered. */
static int part_span_of(s3_req *r, object_reader *rd, struct get_span *sp)
{
    orc_err e = {0};
    uint64_t first = 0, len = 0;
    int rc = object_get_part(rd, sp->part, &sp->nparts, &first, &len, &e);
    if (rc == ORC_ECONFLICT) return rc;
    if (rc == ORC_EINVAL && e.detail == ORC_D_INVALID_RANGE) {
        s3_error(r, S3E_INVALID_PART, "The requested partnumber is not satisfiable");
        return -1;
    }
    if (rc) {
        s3_error_from(r, rc, &e, S3E_NO_SUCH_KEY);
        return -1;
    }
    sp->status = len ? 206 : 200;
    sp->first = first;
    sp->last = len ? first + len - 1 : first;
    sp->len = len;
    return 0;
}

/* Answers a failure to read the first chunk of the range. */
static void get_range_error(s3_req *r, int rc, orc_err *e)
{
    /* Copies on providers that are down, too slow or bad: worth a retry
     * (503). Every copy missing is lost data (500). */
    if (rc == ORC_ECORRUPT || rc == ORC_ETRANSIENT)
        s3_error_why(r, S3E_SERVICE_UNAVAILABLE,
                     "No verified copy of the object's data was reachable: the providers "
                     "holding it are down, too slow or returned bad copies. Retry later.",
                     e);
    else
        s3_error_from(r, rc == ORC_ENOTFOUND ? ORC_ECORRUPT : rc, e, S3E_NO_SUCH_KEY);
}

/* Opens the current version, evaluates the conditions and the Range (or the
 * part) against it, then reads the manifest rows of that span and its first
 * chunk. The size must be known before the span's rows are asked for, so
 * these are several reads: a version switch between them (ORC_ECONFLICT)
 * starts over on the new version, so the client gets one version or the
 * other, never a mix; a key rewritten faster than three tries gets 503
 * SlowDown. Non-zero: answered. */
static int get_open(s3_req *r, int64_t bucket_id, bool head, meta_object *o, object_reader **rd,
                    struct get_span *sp)
{
    orc_err e = {0};
    for (int attempt = 0; attempt < 3; attempt++) {
        int rc = object_get_open(r->svc->st, bucket_id, r->key, o, rd, &e);
        if (rc) {
            s3_error_from(r, rc, &e, S3E_NO_SUCH_KEY);
            return -1;
        }
        if (get_conditions(r, o)) return -1;
        rc = sp->part ? part_span_of(r, *rd, sp) : get_span_of(r, o, sp);
        if (rc == -1) return -1;
        if (!rc && (head || !sp->len)) return 0;
        if (!rc && !(rc = object_get_range(*rd, sp->first, sp->last, &e))) return 0;
        if (rc != ORC_ECONFLICT) {
            get_range_error(r, rc, &e);
            return -1;
        }
        object_reader_free(*rd);
        *rd = NULL;
        meta_object_dispose(o);
    }
    s3_error(r, S3E_SLOW_DOWN, "The object changed while it was read; retry.");
    return -1;
}

/* The response of a GET or HEAD whose body is ready to stream from rd. */
static void get_respond(s3_req *r, const meta_object *o, object_reader *rd,
                        const struct get_span *sp, char *const *ov)
{
    struct get_stream *g = orc_calloc(1, sizeof(*g));
    g->rd = rd;
    snprintf(g->request_id, sizeof(g->request_id), "%s", r->rq->request_id);
    snprintf(g->path, sizeof(g->path), "%s", r->rq->path);
    object_reader_set_wake(g->rd, s3_wake, r->rq);
    http_respond_stream(r->rq, sp->status, sp->len, get_read, g, get_free);
    /* Full-object checksums describe neither a range nor a part. */
    s3_object_headers(r, o, ov, sp->status == 200 && !sp->part);
    if (sp->nparts > 0) {
        char count[16];
        snprintf(count, sizeof(count), "%d", sp->nparts);
        http_add_header(r->rq, "x-amz-mp-parts-count", count);
    }
    if (sp->status == 206) {
        char cr[80];
        snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)sp->first,
                 (unsigned long long)sp->last, (unsigned long long)o->size);
        http_add_header(r->rq, "Content-Range", cr);
    }
}

/* ?partNumber=N: 1..10000, and no Range with it. Non-zero: answered. */
static int part_number_of(s3_req *r, int *part)
{
    char *pn = s3_query_get(r, "partNumber");
    uint64_t v = 0;
    int bad = parse_uint_max(pn, META_PART_MAX, &v) || v < 1;
    free(pn);
    if (bad) {
        s3_error(r, S3E_INVALID_ARGUMENT, PART_NUMBER_MSG);
        return -1;
    }
    if (http_header(r->rq, "Range")) {
        s3_error(r, S3E_INVALID_REQUEST,
                 "Cannot specify both Range header and partNumber query parameter");
        return -1;
    }
    *part = (int)v;
    return 0;
}

/* GET and HEAD, of the whole object, a Range, or with by_part a part. */
static void get_or_head(s3_req *r, bool head, bool by_part)
{
    meta_bucket b;
    meta_object o = {0};
    object_reader *rd = NULL;
    struct get_span sp = {0};
    char *ov[S3_N_OVERRIDES] = {0};

    if (s3_bucket_for_owner(r, &b)) goto done;
    if (by_part && part_number_of(r, &sp.part)) goto done;
    if (s3_read_overrides(r, ov) || get_open(r, b.id, head, &o, &rd, &sp)) goto done;
    get_respond(r, &o, rd, &sp, ov);
    rd = NULL; /* the stream owns it */
done:
    for (int i = 0; i < S3_N_OVERRIDES; i++)
        free(ov[i]);
    object_reader_free(rd);
    meta_object_dispose(&o);
}

void s3_get_object(s3_req *r)
{
    get_or_head(r, false, false);
}

void s3_head_object(s3_req *r)
{
    get_or_head(r, true, false);
}

void s3_get_object_part(s3_req *r)
{
    get_or_head(r, false, true);
}

void s3_head_object_part(s3_req *r)
{
    get_or_head(r, true, true);
}

void s3_delete_object(s3_req *r)
{
    meta_bucket b;
    orc_err e = {0};
    if (s3_bucket_for_owner(r, &b)) return;
    int rc = object_delete(r->svc->st, b.id, r->key, &e);
    if (rc) return s3_error_from(r, rc, &e, S3E_NO_SUCH_KEY);
    s3_reply_empty(r, 204);
}
