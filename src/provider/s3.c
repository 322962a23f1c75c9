/* The S3 and GCS providers: one object per chunk in a bucket, over the S3 REST
 * API signed with SigV4 (libcurl signs; GCS's XML API accepts SigV4 with HMAC
 * keys, so "gcs" is the same code with other defaults).
 *
 * Config keys (one provider section):
 *   bucket        required; 3..222 of [a-z0-9._-]
 *   access_key    required, or access_key_env = VAR naming an environment variable
 *   secret_key    required, or secret_key_env = VAR (both resolved at open)
 *   endpoint      default https://s3.REGION.amazonaws.com (s3), https://storage.googleapis.com
 *                 (gcs); e.g. http://127.0.0.1:9000 for an emulator
 *   region        default us-east-1 (s3), auto (gcs)
 *   prefix        prepended to every chunk name, e.g. "orchard/"; default none
 *   path_style    true|false: https://host/bucket/key instead of https://bucket.host/key;
 *                 default false for *.amazonaws.com, true for any other endpoint
 */
#include "provider/provider_impl.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider/http_client.h"
#include "util/xml.h"
#include "util/parse.h"
#include "util/alloc.h"
#include "util/hex.h"
#include "util/uri.h"

#define S3_NAME_MAX 128
#define S3_PREFIX_MAX 512
/* A ListObjectsV2 page of 1000 keys is about 300 KiB; anything far larger is not S3. */
#define S3_LIST_BODY_MAX (8u << 20)
#define S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct s3_provider {
    provider base; /* first: provider.c casts */
    pclient *http;
    char *base_url; /* scheme://host[:port][/path]/bucket or scheme://bucket.host[:port][/path] */
    bool path_style;
    char *prefix;
    char *sigv4;   /* "aws:amz:REGION:s3" */
    char *userpwd; /* "ACCESS:SECRET": never printed */
} s3_provider;

/* Names are 1..128 of [0-9a-z], as the fs provider requires: chunk names
 * only, which also keeps strays under the prefix out of listings. */
static bool name_ok(const char *name, size_t n)
{
    if (n == 0 || n > S3_NAME_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'))) return false;
    }
    return true;
}

static int check_name(const s3_provider *s, const char *name, orc_err *e)
{
    if (name_ok(name, strlen(name))) return ORC_OK;
    return orc_fail(e, ORC_EINVAL, "provider %s: bad chunk name '%.40s' (want 1..%d of [0-9a-z])",
                    s->base.name, name, S3_NAME_MAX);
}

/* Appends base_url/ENC(prefix+name) to u. */
static int object_url(const s3_provider *s, const char *name, orc_buf *u, orc_err *e)
{
    int rc = orc_buf_puts(u, s->base_url, e);
    if (!rc) rc = orc_buf_puts(u, "/", e);
    if (!rc) rc = uri_encode(u, s->prefix, strlen(s->prefix), true, e);
    if (!rc) rc = uri_encode(u, name, strlen(name), true, e);
    return rc;
}

/* Runs one request against the object name and maps the final status. A 403
 * gets a hint, since wrong keys are its usual cause. */
static int s3_call(s3_provider *s, pclient_req *rq, const char *name, pclient_resp *resp,
                   orc_err *e)
{
    rq->aws_sigv4 = s->sigv4;
    rq->userpwd = s->userpwd;
    rq->deadline_us = provider_call_deadline_us();
    rq->cancel = provider_cancel_flag();
    int rc = pclient_do(s->http, rq, resp, e);
    if (rc) return rc;
    rc = pclient_status(s->http, resp, rq->method, name, e);
    if (rc == ORC_EAUTH && e) {
        size_t n = strlen(e->msg);
        snprintf(e->msg + n, sizeof(e->msg) - n, ": check access_key and secret_key");
    }
    return rc;
}

static int s3_put(provider *p, const char *name, const uint8_t *data, size_t len, orc_err *e)
{
    s3_provider *s = (s3_provider *)p;
    int rc = check_name(s, name, e);
    if (rc) return rc;
    /* S3 checks the body against the hash that was signed: the real one, so a
     * bit flipped on the way is refused rather than stored. */
    uint8_t md[32];
    unsigned mdlen = 0;
    if (!EVP_Digest(data ? (const void *)data : "", len, md, &mdlen, EVP_sha256(), NULL) ||
        mdlen != sizeof(md))
        return orc_fail(e, ORC_EINTERNAL, "provider %s: SHA-256 failed", p->name);
    char hdr[64 + 32] = "x-amz-content-sha256: ";
    hex_encode(md, sizeof(md), hdr + strlen(hdr));
    const char *hdrs[] = {hdr, "Content-Type: application/octet-stream", NULL};

    orc_buf url;
    orc_buf_init(&url, 0);
    rc = object_url(s, name, &url, e);
    if (rc) goto done;
    pclient_req rq = {.method = "PUT",
                      .url = (char *)url.ptr,
                      .headers = hdrs,
                      .body = data ? data : (const uint8_t *)"",
                      .body_len = len};
    pclient_resp resp;
    rc = s3_call(s, &rq, name, &resp, e);
done:
    orc_buf_dispose(&url);
    return rc;
}

/* A server that ignores Range answers 200 with the whole object; one that
 * overshoots answers more than asked. Keep exactly [off, off+len) of what
 * came, starting at base in out. */
static void trim_range(orc_buf *out, size_t base, uint64_t off, uint64_t len, bool whole)
{
    size_t got = out->len - base;
    size_t skip = 0;
    if (whole) skip = off >= got ? got : (size_t)off;
    size_t keep = got - skip;
    if (len < keep) keep = (size_t)len;
    if (skip) memmove(out->ptr + base, out->ptr + base + skip, keep);
    out->len = base + keep;
    if (out->ptr) out->ptr[out->len] = 0;
}

/* A request without a body on the object name: GET (into out, with an
 * optional "Range: ..." header), HEAD or DELETE. */
static int object_request(s3_provider *s, const char *method, const char *name, const char *range,
                          orc_buf *out, pclient_resp *resp, orc_err *e)
{
    const char *hdrs[] = {"x-amz-content-sha256: " S3_EMPTY_SHA256, range, NULL};
    orc_buf url;
    orc_buf_init(&url, 0);
    int rc = object_url(s, name, &url, e);
    if (!rc) {
        pclient_req rq = {.method = method, .url = (char *)url.ptr, .headers = hdrs, .out = out};
        rc = s3_call(s, &rq, name, resp, e);
    }
    orc_buf_dispose(&url);
    return rc;
}

static int s3_head(provider *p, const char *name, uint64_t *size, orc_err *e)
{
    s3_provider *s = (s3_provider *)p;
    int rc = check_name(s, name, e);
    if (rc) return rc;
    pclient_resp resp;
    rc = object_request(s, "HEAD", name, NULL, NULL, &resp, e);
    if (!rc) *size = resp.content_length;
    return rc;
}

static int s3_get(provider *p, const char *name, uint64_t off, uint64_t len, orc_buf *out,
                  orc_err *e)
{
    s3_provider *s = (s3_provider *)p;
    int rc = check_name(s, name, e);
    if (rc) return rc;
    if (len == 0) {
        uint64_t size;
        return s3_head(p, name, &size, e);
    }
    char range[80] = "";
    bool ranged = off != 0 || len != UINT64_MAX;
    if (ranged) {
        if (len == UINT64_MAX || off > UINT64_MAX - len)
            snprintf(range, sizeof(range), "Range: bytes=%llu-", (unsigned long long)off);
        else
            snprintf(range, sizeof(range), "Range: bytes=%llu-%llu", (unsigned long long)off,
                     (unsigned long long)(off + len - 1));
    }
    size_t base = out->len;
    pclient_resp resp;
    rc = object_request(s, "GET", name, range[0] ? range : NULL, out, &resp, e);
    if (rc || resp.status == 416 || resp.status < 200 || resp.status >= 300)
        trim_range(out, base, 0, 0, false); /* 416: off is past the end */
    else if (ranged)
        trim_range(out, base, off, len, resp.status != 206);
    return rc;
}

static int s3_del(provider *p, const char *name, orc_err *e)
{
    s3_provider *s = (s3_provider *)p;
    int rc = check_name(s, name, e);
    if (rc) return rc;
    pclient_resp resp;
    /* S3 answers 204 for a missing key too; GCS answers 404 (ENOTFOUND). */
    return object_request(s, "DELETE", name, NULL, NULL, &resp, e);
}

/* Calls fn for each <Contents> of one ListObjectsV2 page; sets *next to the
 * continuation token (owned by the caller) when the listing is truncated. */
static int list_page(s3_provider *s, const orc_buf *body, provider_list_fn fn, void *ctx,
                     char **next, orc_err *e)
{
    xml_node *root = NULL;
    orc_err xe = {0};
    int rc = xml_parse((const char *)body->ptr, body->len, 0, &root, &xe);
    if (rc)
        return orc_fail(e, ORC_EIO, "provider %s: bad ListObjectsV2 reply: %s", s->base.name,
                        xe.msg);
    size_t plen = strlen(s->prefix);
    for (xml_node *c = xml_child(root, "Contents"); c; c = xml_next_named(c, "Contents")) {
        xml_node *k = xml_child(c, "Key"), *z = xml_child(c, "Size");
        uint64_t size;
        if (!k || !z || parse_u64(z->text, &size)) {
            rc = orc_fail(e, ORC_EIO, "provider %s: ListObjectsV2 entry without Key or Size",
                          s->base.name);
            goto done;
        }
        if (k->text_len < plen || memcmp(k->text, s->prefix, plen) != 0) continue;
        const char *name = k->text + plen;
        if (!name_ok(name, k->text_len - plen)) continue; /* not a chunk of ours */
        rc = fn(ctx, name, size);
        if (rc) goto done;
    }
    xml_node *t = xml_child(root, "IsTruncated");
    if (t && strcmp(t->text, "true") == 0) {
        xml_node *tok = xml_child(root, "NextContinuationToken");
        if (!tok || !tok->text_len) {
            rc = orc_fail(e, ORC_EIO, "provider %s: truncated listing without a continuation token",
                          s->base.name);
            goto done;
        }
        *next = orc_strndup(tok->text, tok->text_len);
    }
done:
    xml_free(root);
    return rc;
}

/* base?[continuation-token=T&]list-type=2[&prefix=P]: sorted and encoded,
 * since curl signs the query exactly as given. */
static int list_url(const s3_provider *s, const char *token, orc_buf *u, orc_err *e)
{
    int rc = orc_buf_printf(u, e, "%s%s?", s->base_url, s->path_style ? "" : "/");
    if (!rc && token) {
        rc = orc_buf_puts(u, "continuation-token=", e);
        if (!rc) rc = uri_encode(u, token, strlen(token), false, e);
        if (!rc) rc = orc_buf_puts(u, "&", e);
    }
    if (!rc) rc = orc_buf_puts(u, "list-type=2", e);
    if (!rc && s->prefix[0]) {
        rc = orc_buf_puts(u, "&prefix=", e);
        if (!rc) rc = uri_encode(u, s->prefix, strlen(s->prefix), false, e);
    }
    return rc;
}

static int s3_list(provider *p, provider_list_fn fn, void *ctx, orc_err *e)
{
    s3_provider *s = (s3_provider *)p;
    const char *hdrs[] = {"x-amz-content-sha256: " S3_EMPTY_SHA256, NULL};
    char *token = NULL;
    orc_buf url, body;
    orc_buf_init(&url, 0);
    orc_buf_init(&body, S3_LIST_BODY_MAX);
    int rc;
    do {
        orc_buf_reset(&url);
        orc_buf_reset(&body);
        rc = list_url(s, token, &url, e);
        if (rc) break;
        pclient_req rq = {.method = "GET", .url = (char *)url.ptr, .headers = hdrs, .out = &body};
        pclient_resp resp;
        rc = s3_call(s, &rq, "bucket listing", &resp, e);
        if (rc) break;
        char *next = NULL;
        rc = list_page(s, &body, fn, ctx, &next, e);
        /* A server repeating its token would loop forever. */
        if (!rc && next && token && strcmp(next, token) == 0)
            rc = orc_fail(e, ORC_EIO, "provider %s: listing repeated its continuation token",
                          p->name);
        free(token);
        token = next;
    } while (!rc && token);
    free(token);
    orc_buf_dispose(&url);
    orc_buf_dispose(&body);
    return rc;
}

static void s3_free(provider *p)
{
    s3_provider *s = (s3_provider *)p;
    pclient_free(s->http);
    free(s->base_url);
    free(s->prefix);
    free(s->sigv4);
    if (s->userpwd) {
        explicit_bzero(s->userpwd, strlen(s->userpwd));
        free(s->userpwd);
    }
    free(s);
}

static const struct provider_ops s3_ops = {
    .kind = "s3",
    .caps = PROVIDER_CAP_RANGE,
    .put = s3_put,
    .get = s3_get,
    .del = s3_del,
    .head = s3_head,
    .list = s3_list,
    .free = s3_free,
};

static const struct provider_ops gcs_ops = {
    .kind = "gcs",
    .caps = PROVIDER_CAP_RANGE,
    .put = s3_put,
    .get = s3_get,
    .del = s3_del,
    .head = s3_head,
    .list = s3_list,
    .free = s3_free,
};

/* ---- open ---- */

static bool charset_ok(const char *s, const char *extra)
{
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr(extra, c))) return false;
    }
    return true;
}

/* Finds key or key_env. A value is never put in a message. */
static int credential(const char *name, const provider_kv *kv, size_t nkv, const char *key,
                      const char **out, orc_err *e)
{
    char envkey[32];
    snprintf(envkey, sizeof(envkey), "%s_env", key);
    const char *v = provider_kv_get(kv, nkv, key), *var = provider_kv_get(kv, nkv, envkey);
    if (v && var)
        return orc_fail(e, ORC_EINVAL, "provider %s: give either '%s' or '%s', not both", name, key,
                        envkey);
    if (var) {
        v = getenv(var);
        if (!v || !*v)
            return orc_fail(e, ORC_EINVAL,
                            "provider %s: '%s' names environment variable %.64s, which is not set",
                            name, envkey, var);
    }
    if (!v || !*v)
        return orc_fail(e, ORC_EINVAL, "provider %s: missing '%s' (or '%s')", name, key, envkey);
    *out = v;
    return ORC_OK;
}

static int parse_bool(const char *name, const char *key, const char *v, bool *out, orc_err *e)
{
    if (strcmp(v, "true") == 0) {
        *out = true;
    } else if (strcmp(v, "false") == 0) {
        *out = false;
    } else {
        return orc_fail(e, ORC_EINVAL, "provider %s: %s = '%.32s': want true or false", name, key,
                        v);
    }
    return ORC_OK;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* Builds base_url from the endpoint ("http[s]://host[:port][/path]", no query),
 * the bucket and the addressing style. */
static int make_base(const char *name, const char *endpoint, bool explicit_ep, bool gcs,
                     const char *style, const char *bucket, s3_provider *s, orc_err *e)
{
    size_t schemelen = strncmp(endpoint, "https://", 8) == 0  ? 8
                       : strncmp(endpoint, "http://", 7) == 0 ? 7
                                                              : 0;
    const char *host = endpoint + schemelen;
    size_t hostlen = strcspn(host, "/");
    if (!schemelen || !hostlen || strpbrk(endpoint, "?# \t\r\n@"))
        return orc_fail(e, ORC_EINVAL,
                        "provider %s: endpoint '%.80s': want http[s]://host[:port] with no query",
                        name, endpoint);
    size_t eplen = strlen(endpoint);
    while (eplen > schemelen + hostlen && endpoint[eplen - 1] == '/')
        eplen--;
    const char *path = host + hostlen;
    size_t pathlen = endpoint + eplen - path;

    /* AWS wants virtual-hosted style; emulators and most S3-compatible stores
     * (and GCS, whose dotted bucket names break TLS wildcards) take path style. */
    if (explicit_ep)
        s->path_style = !ends_with(host, hostlen, ".amazonaws.com");
    else
        s->path_style = gcs;
    if (style) {
        int rc = parse_bool(name, "path_style", style, &s->path_style, e);
        if (rc) return rc;
    }
    orc_buf b;
    orc_buf_init(&b, 0);
    if (s->path_style)
        orc_buf_printf(&b, NULL, "%.*s/%s", (int)eplen, endpoint, bucket);
    else
        orc_buf_printf(&b, NULL, "%.*s%s.%.*s%.*s", (int)schemelen, endpoint, bucket, (int)hostlen,
                       host, (int)pathlen, path);
    s->base_url = (char *)orc_buf_take(&b, NULL);
    return ORC_OK;
}

static int s3_config(const char *name, const provider_kv *kv, size_t nkv, s3_provider *s, bool gcs,
                     orc_err *e)
{
    const char *bucket = provider_kv_get(kv, nkv, "bucket");
    if (!bucket || !*bucket) return orc_fail(e, ORC_EINVAL, "provider %s: missing 'bucket'", name);
    size_t blen = strlen(bucket);
    if (blen < 3 || blen > 222 || !charset_ok(bucket, ".-_"))
        return orc_fail(e, ORC_EINVAL, "provider %s: bucket '%.64s': want 3..222 of [a-z0-9._-]",
                        name, bucket);
    const char *region = provider_kv_get(kv, nkv, "region");
    if (!region) region = gcs ? "auto" : "us-east-1";
    if (!*region || strlen(region) > 32 || !charset_ok(region, "-"))
        return orc_fail(e, ORC_EINVAL, "provider %s: region '%.40s': want [a-z0-9-]", name, region);
    const char *prefix = provider_kv_get(kv, nkv, "prefix");
    if (!prefix) prefix = "";
    if (strlen(prefix) > S3_PREFIX_MAX || strpbrk(prefix, "\r\n"))
        return orc_fail(e, ORC_EINVAL, "provider %s: prefix: at most %d characters, one line", name,
                        S3_PREFIX_MAX);
    const char *ak, *sk;
    int rc = credential(name, kv, nkv, "access_key", &ak, e);
    if (!rc) rc = credential(name, kv, nkv, "secret_key", &sk, e);
    if (rc) return rc;
    if (strchr(ak, ':'))
        return orc_fail(e, ORC_EINVAL, "provider %s: access_key must not contain ':'", name);

    const char *endpoint = provider_kv_get(kv, nkv, "endpoint");
    char dflt[96];
    if (!endpoint) {
        snprintf(dflt, sizeof(dflt),
                 gcs ? "https://storage.googleapis.com" : "https://s3.%s.amazonaws.com", region);
    }
    rc = make_base(name, endpoint ? endpoint : dflt, endpoint != NULL, gcs,
                   provider_kv_get(kv, nkv, "path_style"), bucket, s, e);
    if (rc) return rc;

    s->prefix = orc_strdup(prefix);
    size_t n = strlen(region) + 16;
    s->sigv4 = orc_malloc(n);
    snprintf(s->sigv4, n, "aws:amz:%s:s3", region);
    n = strlen(ak) + strlen(sk) + 2;
    s->userpwd = orc_malloc(n);
    snprintf(s->userpwd, n, "%s:%s", ak, sk);
    return ORC_OK;
}

static int open_common(const char *name, const provider_kv *kv, size_t nkv, provider **out,
                       const struct provider_ops *ops, orc_err *e)
{
    s3_provider *s = orc_calloc(1, sizeof(*s));
    s->base.ops = ops;
    int rc = s3_config(name, kv, nkv, s, ops == &gcs_ops, e);
    if (!rc) rc = pclient_new(name, NULL, &s->http, e);
    if (rc) {
        s3_free(&s->base);
        return rc;
    }
    s->base.retries_itself = true; /* http_client.c retries each request */
    *out = &s->base;
    return ORC_OK;
}

int provider_s3_open(const char *name, const provider_kv *kv, size_t nkv, provider **out,
                     orc_err *e)
{
    return open_common(name, kv, nkv, out, &s3_ops, e);
}

int provider_gcs_open(const char *name, const provider_kv *kv, size_t nkv, provider **out,
                      orc_err *e)
{
    return open_common(name, kv, nkv, out, &gcs_ops, e);
}
