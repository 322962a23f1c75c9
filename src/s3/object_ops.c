/* Object operations: PutObject (streamed into the write pipeline, with
 * If-None-Match / If-Match conditions), GetObject (ranged, streamed,
 * conditional, with response-* overrides), HeadObject, DeleteObject. */
#include "s3/s3_int.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "s3/conditional.h"
#include "s3/range.h"
#include "s3/tagging.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"

#define S3_MAX_STORED_HEADERS (8u * 1024) /* x-amz-meta-* and friends, as S3's 8 KB */
/* Tags do not count toward S3's 8 KB: 10 tags of 128 + 256 characters of up
 * to 4 bytes, each byte percent-encoded at worst. */
#define S3_MAX_STORED_TAGS (S3_TAGS_MAX * (S3_TAG_KEY_MAX + S3_TAG_VALUE_MAX) * 4 * 3 + 64)

/* Headers S3 stores with an object and returns on GET and HEAD. */
static const char *const kept_headers[] = {
    "Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires",
};

struct keep_ctx {
    orc_buf *out;
    int rc;
};

/* Content-Encoding without the aws-chunked token, which only framed the
 * upload and is not stored (as S3); NULL when nothing is left. Caller frees. */
static char *content_encoding_kept(const char *v)
{
    orc_buf b;
    orc_buf_init(&b, 0);
    while (*v) {
        const char *end = v + strcspn(v, ","), *t = v, *te = end;
        while (t < te && (*t == ' ' || *t == '\t'))
            t++;
        while (te > t && (te[-1] == ' ' || te[-1] == '\t'))
            te--;
        if (te > t && !(te - t == 11 && strncasecmp(t, "aws-chunked", 11) == 0)) {
            if (b.len) orc_buf_append(&b, ",", 1, NULL);
            orc_buf_append(&b, t, (size_t)(te - t), NULL);
        }
        v = *end ? end + 1 : end;
    }
    if (b.len) return (char *)orc_buf_take(&b, NULL);
    orc_buf_dispose(&b);
    return NULL;
}

static int keep_header(void *arg, const char *name, const char *value)
{
    struct keep_ctx *k = arg;
    char *enc = NULL;
    bool keep = strncasecmp(name, "x-amz-meta-", 11) == 0;
    for (size_t i = 0; !keep && i < sizeof(kept_headers) / sizeof(kept_headers[0]); i++)
        keep = strcasecmp(name, kept_headers[i]) == 0;
    if (!keep || strpbrk(value, "\r\n")) return 0;
    if (strcasecmp(name, "Content-Encoding") == 0 && !(value = enc = content_encoding_kept(value)))
        return 0;
    orc_err e;
    for (const char *c = name; *c && !k->rc; c++) {
        char lc = (*c >= 'A' && *c <= 'Z') ? (char)(*c - 'A' + 'a') : *c;
        k->rc = orc_buf_append(k->out, &lc, 1, &e);
    }
    if (!k->rc) k->rc = orc_buf_printf(k->out, &e, ": %s\n", value);
    free(enc);
    return k->rc;
}

int s3_stored_headers(s3_req *r, orc_buf *out)
{
    orc_buf_init(out, S3_MAX_STORED_HEADERS);
    struct keep_ctx k = {out, 0};
    http_headers_each(r->rq, keep_header, &k);
    if (k.rc) {
        orc_buf_dispose(out);
        orc_buf_init(out, S3_MAX_STORED_HEADERS);
        s3_error(r, S3E_INVALID_ARGUMENT /* S3: MetadataTooLarge */,
                 "Your metadata headers exceed the maximum allowed metadata size.");
        return -1;
    }
    out->max += S3_MAX_STORED_TAGS;
    if (!s3_request_tags(r, out)) return 0;
    orc_buf_dispose(out); /* answered */
    orc_buf_init(out, S3_MAX_STORED_HEADERS);
    return -1;
}

/* GET and HEAD query parameters that replace a response header (S3 honours
 * them on signed requests only; Orchard serves no anonymous requests). */
#define N_OVERRIDES 6
static const char *const override_params[N_OVERRIDES][2] = {
    {"response-content-type", "Content-Type"},
    {"response-content-language", "Content-Language"},
    {"response-expires", "Expires"},
    {"response-cache-control", "Cache-Control"},
    {"response-content-disposition", "Content-Disposition"},
    {"response-content-encoding", "Content-Encoding"},
};

static bool overridden(char *const ov[N_OVERRIDES], const char *name, size_t len)
{
    for (int i = 0; i < N_OVERRIDES; i++)
        if (ov[i] && strlen(override_params[i][1]) == len &&
            strncasecmp(override_params[i][1], name, len) == 0)
            return true;
    return false;
}

/* Emits stored "name: value\n" lines as response headers, except those the
 * request overrides (ov may be NULL) and the tag set, which is only counted. */
static void emit_stored(http_req *rq, const char *lines, char *const *ov, bool whole)
{
    /* x-amz-checksum-* only when asked for, and only for the whole object: a
     * client would check a range against the full object's value (as S3). */
    const char *mode = http_header(rq, "x-amz-checksum-mode");
    bool checksums = whole && mode && strcasecmp(mode, "ENABLED") == 0;
    size_t tlen = 0;
    const char *tags = s3_tags_stored(lines, &tlen);
    if (tags && tlen) {
        char count[24];
        snprintf(count, sizeof(count), "%zu", s3_tags_count(tags, tlen));
        http_add_header(rq, "x-amz-tagging-count", count);
    }
    while (lines && *lines) {
        const char *nl = strchr(lines, '\n'), *colon = strstr(lines, ": ");
        if (!nl || !colon || colon > nl) break;
        bool ck = strncmp(lines, "x-amz-checksum-", 15) == 0;
        bool tag = strncmp(lines, S3_TAGGING_HEADER ": ", sizeof(S3_TAGGING_HEADER ": ") - 1) == 0;
        /* A multipart object's composite checksum ends in "-N" (parts). */
        bool composite = ck && memchr(colon, '-', (size_t)(nl - colon)) != NULL;
        if (ck && checksums)
            http_add_header(rq, "x-amz-checksum-type", composite ? "COMPOSITE" : "FULL_OBJECT");
        if (!tag && (!ck || checksums) && !(ov && overridden(ov, lines, (size_t)(colon - lines)))) {
            char *name = orc_strndup(lines, (size_t)(colon - lines));
            char *value = orc_strndup(colon + 2, (size_t)(nl - colon - 2));
            http_add_header(rq, name, value);
            free(name);
            free(value);
        }
        lines = nl + 1;
    }
}

static void validator_headers(s3_req *r, const meta_object *o)
{
    char etag[72], when[32];
    snprintf(etag, sizeof(etag), "\"%s\"", o->etag);
    orc_time_http(o->mtime_ms, when);
    http_add_header(r->rq, "ETag", etag);
    http_add_header(r->rq, "Last-Modified", when);
}

void s3_object_headers(s3_req *r, const meta_object *o, char *const *ov, bool whole)
{
    validator_headers(r, o);
    http_add_header(r->rq, "Accept-Ranges", "bytes");
    const char *ct = o->content_type && *o->content_type ? o->content_type : "binary/octet-stream";
    http_add_header(r->rq, "Content-Type", ov && ov[0] ? ov[0] : ct);
    emit_stored(r->rq, o->headers, ov, whole);
    for (int i = 1; ov && i < N_OVERRIDES; i++)
        if (ov[i]) http_add_header(r->rq, override_params[i][1], ov[i]);
}

/* Reads the response-* parameters into ov (NULL where absent). A value with a
 * control character would split the response header: InvalidArgument. */
static int read_overrides(s3_req *r, char *ov[N_OVERRIDES])
{
    int bad = 0;
    for (int i = 0; i < N_OVERRIDES; i++) {
        ov[i] = s3_query_get(r, override_params[i][0]);
        for (const char *c = ov[i]; c && *c && !bad; c++)
            bad = (unsigned char)*c < 0x20 || *c == 0x7f;
    }
    if (bad) s3_error(r, S3E_INVALID_ARGUMENT, "A response-* parameter holds a control character.");
    return bad;
}

/* ---- PutObject ---- */

/* Strips W/ and the quotes of one entity tag; false if it cannot be one of ours. */
static bool etag_unquote(const char *v, char out[64])
{
    size_t n;
    v += strspn(v, " \t");
    if (v[0] == 'W' && v[1] == '/') v += 2;
    n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') v++, n -= 2;
    if (n == 0 || n >= 64 || memchr(v, '"', n) || memchr(v, ',', n)) return false;
    memcpy(out, v, n);
    out[n] = 0;
    return true;
}

/* A condition header's value is "*" (surrounding blanks allowed). */
static bool is_star(const char *v)
{
    v += strspn(v, " \t");
    return *v == '*' && v[1 + strspn(v + 1, " \t")] == 0;
}

/* Whether the current version (rc 0: o; ORC_ENOTFOUND: none) fails c. */
static bool cond_fails(const meta_put_cond *c, int rc, const meta_object *o)
{
    switch (c->kind) {
    case META_PUT_IF_ABSENT:
        return rc == 0;
    case META_PUT_IF_EXISTS:
        return rc != 0;
    case META_PUT_IF_MATCH:
        return rc != 0 || strcmp(o->etag, c->etag) != 0;
    case META_PUT_IF_NONE_MATCH:
        return rc == 0 && strcmp(o->etag, c->etag) == 0;
    }
    return false;
}

/* The write's If-None-Match and If-Match, "*" or one ETag each (RFC 9110
 * 13.1.1, 13.1.2: If-Match: * holds for any current version, If-None-Match:
 * "x" for any but x), on PutObject and CopyObject. Non-zero: answered. The
 * condition is checked here to spare sending the body for nothing, and again
 * in the commit's transaction, which is what makes racing writers safe. */
int s3_put_condition(s3_req *r, int64_t bucket_id, meta_put_cond *c)
{
    const char *inm = http_header(r->rq, "If-None-Match"), *im = http_header(r->rq, "If-Match");
    meta_object o;
    orc_err e;
    if (!inm && !im) return 0;
    if (inm && im) {
        s3_error(r, S3E_NOT_IMPLEMENTED, "If-None-Match and If-Match cannot be combined.");
        return -1;
    }
    const char *v = inm ? inm : im;
    if (is_star(v)) {
        c->kind = inm ? META_PUT_IF_ABSENT : META_PUT_IF_EXISTS;
    } else if (etag_unquote(v, c->etag)) {
        c->kind = inm ? META_PUT_IF_NONE_MATCH : META_PUT_IF_MATCH;
    } else if (inm) {
        s3_error(r, S3E_NOT_IMPLEMENTED, "If-None-Match on PUT accepts '*' or one ETag.");
        return -1;
    } else {
        s3_error(r, S3E_PRECONDITION_FAILED, NULL); /* matches no ETag we could have */
        return -1;
    }
    int rc = meta_object_get(r->svc->st->m, bucket_id, r->key, false, 0, 0, &o, NULL, NULL, &e);
    if (rc && rc != ORC_ENOTFOUND) {
        s3_error_from(r, rc, &e, S3E_NO_SUCH_KEY);
        return -1;
    }
    bool fails = cond_fails(c, rc, &o);
    if (!rc) meta_object_dispose(&o);
    if (fails) s3_error(r, S3E_PRECONDITION_FAILED, NULL);
    return fails ? -1 : 0;
}

int s3_parse_content_md5(const char *v, uint8_t md5[16])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t raw[24];
    if (strlen(v) != 24 || strcmp(v + 22, "==") != 0) return -1;
    /* EVP_DecodeBlock reads an inner '=' as 'A' (and skips blanks at the
     * ends): only the 22 base64 characters themselves are an MD5. */
    if (strspn(v, b64) != 22) return -1;
    if (EVP_DecodeBlock(raw, (const unsigned char *)v, 24) != 18) return -1;
    memcpy(md5, raw, 16);
    return 0;
}

static bool client_alive(void *ctx)
{
    return http_client_alive(((s3_req *)ctx)->rq);
}

object_commit s3_commit_of(s3_req *r)
{
    return (object_commit){r->start_ms ? r->start_ms : orc_now_ms(), client_alive, r};
}

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
        validator_headers(r, o);
        return 1;
    default:
        s3_error(r, S3E_PRECONDITION_FAILED, NULL);
        return 1;
    }
}

/* What a GET serves of the version: the status, and [first, last] with its
 * length (0: an empty body). */
struct get_span {
    unsigned status;
    uint64_t first, last, len;
};

/* Resolves the Range header against o's size. Non-zero: answered (416). */
static int get_span_of(s3_req *r, const meta_object *o, struct get_span *sp)
{
    s3_range range = {0, 0};
    enum s3_range_result rr = s3_range_parse(http_header(r->rq, "Range"), o->size, &range);
    *sp = (struct get_span){200, 0, o->size ? o->size - 1 : 0, o->size};
    if (rr == S3_RANGE_UNSATISFIABLE) {
        char cr[48];
        snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)o->size);
        s3_error(r, S3E_INVALID_RANGE, NULL);
        http_add_header(r->rq, "Content-Range", cr);
        return -1;
    }
    if (rr == S3_RANGE_OK)
        *sp = (struct get_span){206, range.first, range.last, range.last - range.first + 1};
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

/* Opens the current version, evaluates the conditions and the Range against
 * it, then reads the manifest rows of that range and its first chunk. The
 * size must be known before the range's rows are asked for, so these are two
 * reads: a version switch between them (ORC_ECONFLICT) starts over on the new
 * version, so the client gets one version or the other, never a mix; a key
 * rewritten faster than three tries gets 503 SlowDown. Non-zero: answered. */
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
        if (get_conditions(r, o) || get_span_of(r, o, sp)) return -1;
        if (head || !sp->len) return 0;
        if (!(rc = object_get_range(*rd, sp->first, sp->last, &e))) return 0;
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

static void get_or_head(s3_req *r, bool head)
{
    meta_bucket b;
    meta_object o = {0};
    object_reader *rd = NULL;
    struct get_span sp;
    char *ov[N_OVERRIDES] = {0};

    if (s3_bucket_for_owner(r, &b) || read_overrides(r, ov)) goto done;
    if (get_open(r, b.id, head, &o, &rd, &sp)) goto done;
    struct get_stream *g = orc_calloc(1, sizeof(*g));
    g->rd = rd;
    rd = NULL;
    snprintf(g->request_id, sizeof(g->request_id), "%s", r->rq->request_id);
    snprintf(g->path, sizeof(g->path), "%s", r->rq->path);
    object_reader_set_wake(g->rd, s3_wake, r->rq);
    http_respond_stream(r->rq, sp.status, sp.len, get_read, g, get_free);
    s3_object_headers(r, &o, ov, sp.status == 200);
    if (sp.status == 206) {
        char cr[80];
        snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)sp.first,
                 (unsigned long long)sp.last, (unsigned long long)o.size);
        http_add_header(r->rq, "Content-Range", cr);
    }
done:
    for (int i = 0; i < N_OVERRIDES; i++)
        free(ov[i]);
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
