/* The S3 front: one routing table, request life cycle, SigV4 authentication
 * and the bucket/key split for path-style and virtual-hosted-style URLs. */
#include "s3/s3_int.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/alloc.h"
#include "util/log.h"
#include "util/uri.h"
#include "util/utf8.h"

/* Most specific first: a route with a subresource wins over one without. */
static const struct s3_route routes[] = {
    {"GET", S3_T_SERVICE, NULL, s3_list_buckets, NULL, S3_BODY_NONE, S3_OP_LIST_BUCKETS},
    {"GET", S3_T_BUCKET, "location", s3_get_bucket_location, NULL, S3_BODY_NONE,
     S3_OP_GET_BUCKET_LOCATION},
    {"GET", S3_T_BUCKET, "uploads", s3_list_multipart_uploads, NULL, S3_BODY_NONE,
     S3_OP_LIST_MULTIPART_UPLOADS},
    {"GET", S3_T_BUCKET, "versioning", s3_get_bucket_versioning, NULL, S3_BODY_NONE,
     S3_OP_GET_BUCKET_VERSIONING},
    {"GET", S3_T_BUCKET, "acl", s3_get_bucket_acl, NULL, S3_BODY_NONE, S3_OP_GET_BUCKET_ACL},
    {"PUT", S3_T_BUCKET, "acl", NULL, s3_put_bucket_acl, S3_BODY_XML, S3_OP_PUT_BUCKET_ACL},
    {"GET", S3_T_BUCKET, NULL, s3_list_objects, NULL, S3_BODY_NONE, S3_OP_LIST_OBJECTS},
    {"PUT", S3_T_BUCKET, NULL, NULL, s3_create_bucket, S3_BODY_XML, S3_OP_CREATE_BUCKET},
    {"HEAD", S3_T_BUCKET, NULL, s3_head_bucket, NULL, S3_BODY_NONE, S3_OP_HEAD_BUCKET},
    {"DELETE", S3_T_BUCKET, NULL, s3_delete_bucket, NULL, S3_BODY_NONE, S3_OP_DELETE_BUCKET},
    {"POST", S3_T_BUCKET, "delete", NULL, s3_delete_objects, S3_BODY_XML, S3_OP_DELETE_OBJECTS},
    {"GET", S3_T_OBJECT, "tagging", s3_get_object_tagging, NULL, S3_BODY_NONE,
     S3_OP_GET_OBJECT_TAGGING},
    {"PUT", S3_T_OBJECT, "tagging", NULL, s3_put_object_tagging, S3_BODY_XML,
     S3_OP_PUT_OBJECT_TAGGING},
    {"DELETE", S3_T_OBJECT, "tagging", s3_delete_object_tagging, NULL, S3_BODY_NONE,
     S3_OP_DELETE_OBJECT_TAGGING},
    {"GET", S3_T_OBJECT, "acl", s3_get_object_acl, NULL, S3_BODY_NONE, S3_OP_GET_OBJECT_ACL},
    {"PUT", S3_T_OBJECT, "acl", NULL, s3_put_object_acl, S3_BODY_XML, S3_OP_PUT_OBJECT_ACL},
    {"POST", S3_T_OBJECT, "uploads", s3_create_multipart_upload, NULL, S3_BODY_NONE,
     S3_OP_CREATE_MULTIPART_UPLOAD},
    {"POST", S3_T_OBJECT, "uploadId", s3_complete_multipart_begin, s3_complete_multipart_upload,
     S3_BODY_XML, S3_OP_COMPLETE_MULTIPART_UPLOAD},
    {"PUT", S3_T_OBJECT, "uploadId", s3_upload_part_begin, s3_upload_part_end, S3_BODY_STREAM,
     S3_OP_UPLOAD_PART},
    {"GET", S3_T_OBJECT, "uploadId", s3_list_parts, NULL, S3_BODY_NONE, S3_OP_LIST_PARTS},
    {"DELETE", S3_T_OBJECT, "uploadId", s3_abort_multipart_upload, NULL, S3_BODY_NONE,
     S3_OP_ABORT_MULTIPART_UPLOAD},
    {"GET", S3_T_OBJECT, "partNumber", s3_get_object_part, NULL, S3_BODY_NONE, S3_OP_GET_OBJECT},
    {"HEAD", S3_T_OBJECT, "partNumber", s3_head_object_part, NULL, S3_BODY_NONE, S3_OP_HEAD_OBJECT},
    {"PUT", S3_T_OBJECT, NULL, s3_put_object_begin, s3_put_object_end, S3_BODY_STREAM,
     S3_OP_PUT_OBJECT},
    {"GET", S3_T_OBJECT, NULL, s3_get_object, NULL, S3_BODY_NONE, S3_OP_GET_OBJECT},
    {"HEAD", S3_T_OBJECT, NULL, s3_head_object, NULL, S3_BODY_NONE, S3_OP_HEAD_OBJECT},
    {"DELETE", S3_T_OBJECT, NULL, s3_delete_object, NULL, S3_BODY_NONE, S3_OP_DELETE_OBJECT},
};

/* Subresources S3 has that this server does not implement (yet, or for some
 * methods and targets): a request naming one is answered NotImplemented
 * unless a route above takes that subresource for its method and target
 * (object tagging, ACL reads, GetBucketVersioning), rather than being
 * mistaken for the plain operation (a GET ?tagging of a bucket is no
 * listing, a PUT ?versioning no CreateBucket). */
static const char *const unimplemented[] = {
    "acl",
    "cors",
    "encryption",
    "lifecycle",
    "logging",
    "notification",
    "object-lock",
    "policy",
    "replication",
    "requestPayment",
    "tagging",
    "versioning",
    "versions",
    "website",
    "accelerate",
    "analytics",
    "inventory",
    "metrics",
    "ownershipControls",
    "publicAccessBlock",
    "intelligent-tiering",
    "retention",
    "legal-hold",
    "torrent",
    "restore",
    "select",
    "attributes",
};

/* ---- query ---- */

/* ---- target ---- */

/* A bucket or key, decoded; NULL when it does not decode, holds a NUL
 * (which would cut it short and name another object) or is not UTF-8. */
static char *decode(const char *s, size_t n)
{
    orc_buf b;
    orc_buf_init(&b, 0);
    orc_buf_append(&b, "", 0, NULL);
    if (uri_decode_text(&b, s, n, NULL) || !utf8_valid((const char *)b.ptr, b.len)) {
        orc_buf_dispose(&b);
        return NULL;
    }
    return (char *)orc_buf_take(&b, NULL);
}

/* Splits the request into bucket and key. Virtual-hosted-style when the Host
 * is BUCKET.<domain>, path-style otherwise. */
static enum s3_error parse_target(s3_req *r)
{
    const char *path = r->rq->path, *host = http_header(r->rq, "Host");
    const char *dom = r->svc->domain;
    if (*path != '/') return S3E_INVALID_REQUEST;
    if (!s3_query_valid(r->rq->query)) return S3E_INVALID_URI;
    path++;
    if (dom && *dom && host) {
        size_t hl = strcspn(host, ":"), dl = strlen(dom);
        if (hl > dl + 1 && host[hl - dl - 1] == '.' && strncasecmp(host + hl - dl, dom, dl) == 0) {
            r->bucket = orc_strndup(host, hl - dl - 1);
            for (char *c = r->bucket; *c; c++)
                if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
            if (*path && !(r->key = decode(path, strlen(path)))) return S3E_INVALID_URI;
            return S3E_NONE;
        }
    }
    if (!*path) return S3E_NONE;
    const char *slash = strchr(path, '/');
    size_t bl = slash ? (size_t)(slash - path) : strlen(path);
    if (!(r->bucket = decode(path, bl))) return S3E_INVALID_URI;
    if (slash && slash[1] && !(r->key = decode(slash + 1, strlen(slash + 1))))
        return S3E_INVALID_URI;
    return S3E_NONE;
}

static const struct s3_route *route_find(s3_req *r, bool *known_method)
{
    int target = r->key ? S3_T_OBJECT : r->bucket ? S3_T_BUCKET : S3_T_SERVICE;
    *known_method = false;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct s3_route *rt = &routes[i];
        if (rt->target != target || strcmp(rt->method, r->rq->method) != 0) continue;
        *known_method = true;
        if (rt->subresource && !s3_query_has(r, rt->subresource)) continue;
        return rt;
    }
    return NULL;
}

static const char *unimplemented_subresource(s3_req *r)
{
    for (size_t i = 0; i < sizeof(unimplemented) / sizeof(unimplemented[0]); i++)
        if (s3_query_has(r, unimplemented[i])) return unimplemented[i];
    return NULL;
}

/* GET /metrics with no query (path-style): the metrics, not ListObjects of a
 * bucket named "metrics", which any other request to it still reaches
 * (ListObjectsV2's list-type=2, a v1 listing with any parameter). */
static bool metrics_target(const s3_req *r)
{
    return r->bucket && !r->key && !strcmp(r->bucket, "metrics") &&
           !strcmp(r->rq->path, "/metrics") && !*r->rq->query && !strcmp(r->rq->method, "GET");
}

/* The operation a request is counted as: its route's, where one route serves
 * two, the one its headers or query say. */
static enum s3_op op_of(s3_req *r, const struct s3_route *rt, const char *sub)
{
    if (r->bucket && !strcmp(r->bucket, S3_ADMIN_BUCKET))
        return r->key && !strcmp(r->key, "metrics") ? S3_OP_METRICS : S3_OP_ADMIN;
    if (metrics_target(r)) return S3_OP_METRICS;
    if (!rt || (sub && !rt->subresource)) return S3_OP_UNKNOWN; /* refused below */
    bool copy = http_header(r->rq, "x-amz-copy-source") != NULL;
    if (rt->op == S3_OP_PUT_OBJECT && copy) return S3_OP_COPY_OBJECT;
    if (rt->op == S3_OP_UPLOAD_PART && copy) return S3_OP_UPLOAD_PART_COPY;
    if (rt->op == S3_OP_LIST_OBJECTS) {
        char *lt = s3_query_get(r, "list-type");
        bool v2 = lt && !strcmp(lt, "2");
        free(lt);
        if (v2) return S3_OP_LIST_OBJECTS_V2;
    }
    return rt->op;
}

/* ---- auth ---- */

static int secret_lookup(void *ctx, const char *access_key, char *secret, size_t cap)
{
    s3_req *r = ctx;
    orc_err e;
    int rc = object_user_secret(r->svc->st, access_key, &r->user, secret, cap, &e);
    /* A secret that does not open is the operator's problem (the master
     * secret); the client is told only that the key is unknown. */
    if (rc && rc != ORC_ENOTFOUND) LOG_ERROR("%s", e.msg);
    return rc ? ORC_ENOTFOUND : ORC_OK;
}

struct hdrs {
    s3_header *v;
    size_t n, cap;
};

static int collect_header(void *ctx, const char *name, const char *value)
{
    struct hdrs *h = ctx;
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 32;
        h->v = orc_realloc(h->v, h->cap * sizeof(*h->v));
    }
    h->v[h->n++] = (s3_header){name, value};
    return 0;
}

static enum s3_error authenticate(s3_req *r, orc_err *e)
{
    struct hdrs h = {0};
    http_headers_each(r->rq, collect_header, &h);
    sigv4_request sr = {r->rq->method, r->rq->path, r->rq->query, h.v, h.n, time(NULL)};
    enum s3_error err = sigv4_verify(&sr, secret_lookup, r, &r->auth, e);
    free(h.v);
    if (err == S3E_NONE && r->auth.anonymous) {
        meta_bucket b;
        /* S3 tells anyone that a bucket does not exist (it reveals nothing
         * a DNS lookup of a virtual host would not); what exists is denied. */
        if (r->bucket && strcmp(r->bucket, S3_ADMIN_BUCKET) != 0 && r->op != S3_OP_METRICS &&
            object_bucket_get(r->svc->st, r->bucket, &b, e) == ORC_ENOTFOUND) {
            orc_fail(e, ORC_ENOTFOUND, "The specified bucket does not exist");
            return S3E_NO_SUCH_BUCKET;
        }
        orc_fail(e, ORC_EAUTH, "Access Denied");
        return S3E_ACCESS_DENIED;
    }
    return err;
}

/* A CORS preflight (OPTIONS) is never signed, so it is answered before
 * authentication. No bucket has a CORS configuration (not implemented), so a
 * complete preflight is refused as S3 refuses one for such a bucket, and an
 * incomplete one is a 400, as S3 answers it. */
static void options(s3_req *r)
{
    if (!http_header(r->rq, "Origin"))
        return s3_error(r, S3E_INVALID_REQUEST,
                        "Insufficient information. Origin request header needed.");
    if (!http_header(r->rq, "Access-Control-Request-Method"))
        return s3_error(r, S3E_INVALID_REQUEST, "Invalid Access-Control-Request-Method: null");
    s3_error(r, S3E_ACCESS_FORBIDDEN, NULL);
}

/* ---- life cycle ---- */

static void begin(void *ctx, http_req *rq)
{
    s3_req *r = orc_calloc(1, sizeof(*r));
    orc_err e = {0};
    bool known;
    r->svc = ctx;
    r->rq = rq;
    r->start_ms = rq->start_ms; /* orders this request's commit against other writes */
    rq->app = r;
    orc_buf_init(&r->body, S3_MAX_XML_BODY);

    enum s3_error err = parse_target(r);
    if (err == S3E_INVALID_URI) return s3_error(r, err, NULL);
    if (err) return s3_error(r, err, "The request target is not a valid path.");
    if (!strcmp(rq->method, "OPTIONS")) {
        r->op = S3_OP_PREFLIGHT;
        return options(r);
    }
    /* The operation is known before authentication, so a refused request
     * is counted as what it asked for. */
    const struct s3_route *route = route_find(r, &known);
    const char *sub = unimplemented_subresource(r);
    r->op = op_of(r, route, sub);
    if ((err = authenticate(r, &e))) return s3_error(r, err, e.msg[0] ? e.msg : NULL);
    if (r->op == S3_OP_METRICS) return s3_metrics(r);
    if (r->bucket && !strcmp(r->bucket, S3_ADMIN_BUCKET)) return s3_admin(r);
    if (r->key && strlen(r->key) > META_KEY_MAX) return s3_error(r, S3E_KEY_TOO_LONG, NULL);
    r->route = route;
    if (sub && (!r->route || !r->route->subresource)) {
        char msg[128];
        snprintf(msg, sizeof(msg), "The '%s' subresource is not implemented.", sub);
        return s3_error(r, S3E_NOT_IMPLEMENTED, msg);
    }
    if (!r->route) return s3_error(r, S3E_METHOD_NOT_ALLOWED, NULL);
    if (r->route->body != S3_BODY_NONE && s3_body_begin(r)) return; /* aws-chunked, checksums */
    if (r->route->begin) r->route->begin(r);
}

void s3_wake(void *rq)
{
    http_resume(rq);
}

static int body(void *ctx, http_req *rq, const uint8_t *data, size_t len)
{
    s3_req *r = rq->app;
    if (!r->route || r->body_rc) return HTTP_BODY_STOP;
    r->pause = false;
    /* aws-chunked: decodes, then s3_body_consume */
    int rc = r->decode ? s3_body_write(r, data, len) : s3_body_consume(r, data, len);
    if (rc) return HTTP_BODY_STOP;
    return r->pause ? HTTP_BODY_PAUSE : HTTP_BODY_OK;
}

/* A request the HTTP layer refuses before begin: the S3 error for its
 * status, with the reason. */
static void reject(void *ctx, http_req *rq, unsigned status, const char *msg)
{
    s3_req r = {.svc = ctx, .rq = rq};
    s3_error(&r, status >= 500 ? S3E_SERVICE_UNAVAILABLE : S3E_INVALID_REQUEST, msg);
}

static void end(void *ctx, http_req *rq)
{
    s3_req *r = rq->app;
    if (s3_body_end(r)) return s3_error(r, r->body_s3err, r->body_err.msg); /* commit nothing */
    if (r->body_rc == ORC_ENOSPC && !r->put)
        return s3_error(r, S3E_MALFORMED_XML, "The request body is too large.");
    if (r->route && r->route->end) return r->route->end(r);
    if (!rq->resp) s3_error(r, S3E_INTERNAL_ERROR, NULL);
}

static void done(void *ctx, http_req *rq)
{
    s3_req *r = rq->app;
    s3_metrics_count(r ? r->op : S3_OP_UNKNOWN, rq); /* no r: refused before begin */
    if (!r) return;
    object_put_free(r->put);
    s3_body_free(r->decode);
    orc_buf_dispose(&r->body);
    free(r->bucket);
    free(r->key);
    OPENSSL_cleanse(&r->auth, sizeof(r->auth));
    free(r);
    rq->app = NULL;
}

void s3_http_app(s3_service *svc, http_app *app)
{
    app->ctx = svc;
    app->begin = begin;
    app->body = body;
    app->end = end;
    app->done = done;
    app->reject = reject;
}
