/* Object operations: PutObject (streamed into the write pipeline),
 * GetObject (ranged, streamed), HeadObject, DeleteObject. */
#include "s3/s3_int.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "s3/range.h"
#include "util/alloc.h"
#include "util/time.h"

#define S3_MAX_STORED_HEADERS (8u * 1024) /* x-amz-meta-* and friends, as S3's 8 KB */

/* Headers S3 stores with an object and returns on GET and HEAD. */
static const char *const kept_headers[] = {
    "Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires",
};

struct keep_ctx {
    orc_buf *out;
    int rc;
};

static int keep_header(void *arg, const char *name, const char *value)
{
    struct keep_ctx *k = arg;
    bool keep = strncasecmp(name, "x-amz-meta-", 11) == 0;
    for (size_t i = 0; !keep && i < sizeof(kept_headers) / sizeof(kept_headers[0]); i++)
        keep = strcasecmp(name, kept_headers[i]) == 0;
    if (!keep || strpbrk(value, "\r\n")) return 0;
    orc_err e;
    for (const char *c = name; *c && !k->rc; c++) {
        char lc = (*c >= 'A' && *c <= 'Z') ? (char)(*c - 'A' + 'a') : *c;
        k->rc = orc_buf_append(k->out, &lc, 1, &e);
    }
    if (!k->rc) k->rc = orc_buf_printf(k->out, &e, ": %s\n", value);
    return k->rc;
}

/* Emits stored "name: value\n" lines as response headers. */
static void emit_stored(http_req *rq, const char *lines)
{
    while (lines && *lines) {
        const char *nl = strchr(lines, '\n'), *colon = strstr(lines, ": ");
        if (!nl || !colon || colon > nl) break;
        char *name = orc_strndup(lines, (size_t)(colon - lines));
        char *value = orc_strndup(colon + 2, (size_t)(nl - colon - 2));
        http_add_header(rq, name, value);
        free(name);
        free(value);
        lines = nl + 1;
    }
}

static void object_headers(s3_req *r, const meta_object *o)
{
    char etag[72], when[32];
    snprintf(etag, sizeof(etag), "\"%s\"", o->etag);
    orc_time_http(o->mtime_ms, when);
    http_add_header(r->rq, "ETag", etag);
    http_add_header(r->rq, "Last-Modified", when);
    http_add_header(r->rq, "Accept-Ranges", "bytes");
    http_add_header(r->rq, "Content-Type",
                    o->content_type && *o->content_type ? o->content_type : "binary/octet-stream");
    emit_stored(r->rq, o->headers);
}

/* Content-MD5: base64 of 16 bytes. */
static int parse_content_md5(const char *v, uint8_t md5[16])
{
    uint8_t raw[24];
    if (strlen(v) != 24 || strcmp(v + 22, "==") != 0) return -1;
    if (EVP_DecodeBlock(raw, (const unsigned char *)v, 24) != 18) return -1;
    memcpy(md5, raw, 16);
    return 0;
}

void s3_put_object_begin(s3_req *r)
{
    meta_bucket b;
    uint8_t md5[16];
    const char *cmd5 = http_header(r->rq, "Content-MD5");
    orc_buf stored;

    if (s3_bucket_for_owner(r, &b)) return;
    if (http_header(r->rq, "x-amz-copy-source"))
        return s3_error(r, S3E_NOT_IMPLEMENTED, "CopyObject is not implemented yet.");
    if (!r->rq->has_length) {
        if (http_header(r->rq, "Content-Length"))
            return s3_error(r, S3E_INVALID_ARGUMENT, "Content-Length is not a number.");
        return s3_error(r, S3E_MISSING_CONTENT_LENGTH, NULL);
    }
    if (r->rq->content_length > OBJECT_MAX_SIZE) return s3_error(r, S3E_ENTITY_TOO_LARGE, NULL);
    if (cmd5 && parse_content_md5(cmd5, md5)) return s3_error(r, S3E_INVALID_DIGEST, NULL);

    orc_buf_init(&stored, S3_MAX_STORED_HEADERS);
    struct keep_ctx k = {&stored, 0};
    http_headers_each(r->rq, keep_header, &k);
    if (k.rc) {
        orc_buf_dispose(&stored);
        return s3_error(r, S3E_INVALID_ARGUMENT /* S3: MetadataTooLarge */,
                        "Your metadata headers exceed the maximum allowed metadata size.");
    }
    object_put_args a = {
        .bucket_id = b.id,
        .key = r->key,
        .content_length = r->rq->content_length,
        .content_type = http_header(r->rq, "Content-Type"),
        .headers = stored.len ? (const char *)stored.ptr : NULL,
        .want_md5 = cmd5 ? md5 : NULL,
        .want_sha256 = r->auth.payload_sha256[0] ? r->auth.payload_sha256 : NULL,
    };
    r->put = object_put_begin(r->svc->st, &a);
    orc_buf_dispose(&stored);
}

static void put_failed(s3_req *r, int rc, const orc_err *e)
{
    if (rc == ORC_EINVAL && strncmp(e->msg, "IncompleteBody", 14) == 0)
        return s3_error(r, S3E_INCOMPLETE_BODY, NULL);
    if (rc == ORC_ECORRUPT && strcmp(e->msg, "BadDigest") == 0)
        return s3_error(r, S3E_BAD_DIGEST, NULL);
    if (rc == ORC_ECORRUPT && strcmp(e->msg, "XAmzContentSHA256Mismatch") == 0)
        return s3_error(r, S3E_XAMZ_CONTENT_SHA256_MISMATCH, NULL);
    s3_error_from(r, rc, e, S3E_NO_SUCH_BUCKET);
}

void s3_put_object_end(s3_req *r)
{
    object_put_result res;
    orc_err e = {0};
    if (!r->put) return s3_error(r, S3E_INTERNAL_ERROR, NULL);
    if (r->body_rc) return put_failed(r, r->body_rc, &r->body_err);
    int rc = object_put_finish(r->put, &res, &e);
    if (rc) return put_failed(r, rc, &e);
    char etag[72];
    snprintf(etag, sizeof(etag), "\"%s\"", res.etag);
    s3_reply_empty(r, 200);
    http_add_header(r->rq, "ETag", etag);
}

struct get_stream {
    object_reader *rd;
    char key[64]; /* for the log line */
};

static long get_read(void *ctx, uint64_t pos, uint8_t *buf, size_t max)
{
    struct get_stream *g = ctx;
    orc_err e = {0};
    long n = object_read(g->rd, buf, max, &e);
    if (n < 0) return -1; /* cut the connection: never send unverified bytes */
    return n;
}

static void get_free(void *ctx)
{
    struct get_stream *g = ctx;
    object_reader_free(g->rd);
    free(g);
}

static void get_or_head(s3_req *r, bool head)
{
    meta_bucket b;
    meta_object o = {0};
    object_reader *rd = NULL;
    orc_err e = {0};
    s3_range range = {0, 0};

    if (s3_bucket_for_owner(r, &b)) return;
    int rc = object_get_open(r->svc->st, b.id, r->key, head, &o, &rd, &e);
    if (rc) return s3_error_from(r, rc, &e, S3E_NO_SUCH_KEY);

    enum s3_range_result rr = s3_range_parse(http_header(r->rq, "Range"), o.size, &range);
    unsigned status = 200;
    uint64_t first = 0, last = o.size ? o.size - 1 : 0, len = o.size;
    if (rr == S3_RANGE_UNSATISFIABLE) {
        char cr[48];
        snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)o.size);
        s3_error(r, S3E_INVALID_RANGE, NULL);
        http_add_header(r->rq, "Content-Range", cr);
        goto done;
    }
    if (rr == S3_RANGE_OK) {
        status = 206;
        first = range.first;
        last = range.last;
        len = last - first + 1;
    }
    if (!head && len && (rc = object_get_range(rd, first, last, &e))) {
        s3_error_from(r, rc == ORC_ENOTFOUND ? ORC_ECORRUPT : rc, &e, S3E_NO_SUCH_KEY);
        goto done;
    }
    struct get_stream *g = orc_calloc(1, sizeof(*g));
    g->rd = rd;
    rd = NULL;
    http_respond_stream(r->rq, status, len, get_read, g, get_free);
    object_headers(r, &o);
    if (status == 206) {
        char cr[80];
        snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)first,
                 (unsigned long long)last, (unsigned long long)o.size);
        http_add_header(r->rq, "Content-Range", cr);
    }
done:
    object_reader_free(rd);
    meta_object_dispose(&o);
}

void s3_get_object(s3_req *r)
{
    get_or_head(r, false);
}

void s3_head_object(s3_req *r)
{
    get_or_head(r, true);
}

void s3_delete_object(s3_req *r)
{
    meta_bucket b;
    orc_err e;
    if (s3_bucket_for_owner(r, &b)) return;
    int rc = meta_object_delete(r->svc->st->m, b.id, r->key, &e);
    if (rc && rc != ORC_ENOTFOUND) return s3_error_from(r, rc, &e, S3E_NO_SUCH_KEY);
    s3_reply_empty(r, 204);
}
