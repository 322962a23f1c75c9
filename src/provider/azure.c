/* The Azure Blob Storage provider: one block blob per chunk, named
 * <container>/<prefix><name>, spoken to through the REST API (Put Blob, Get
 * Blob, Get Blob Properties, Delete Blob, List Blobs) with Shared Key
 * signatures or a SAS token. A chunk is at most a few MiB, far below Put
 * Blob's single-request limit, so no block lists are needed.
 *
 * Bytes are not checksummed on the wire (no Content-MD5): the layer above
 * verifies every chunk it reads with its GCM tag, and MD5 would cost a core. */
#include "provider/azure_list.h"
#include "provider/azure_sign.h"
#include "provider/http_client.h"
#include "provider/provider_impl.h"

#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"
#include "util/uri.h"

/* Pinned so that replies never change shape under us. */
#define AZ_VERSION "2021-08-06"
#define AZ_NAME_MAX AZURE_NAME_MAX
#define AZ_PREFIX_MAX 512            /* blob names are at most 1024 chars */
#define AZ_PAGE_MAX 5000             /* List Blobs' maxresults ceiling */
#define AZ_LIST_BODY_MAX (32u << 20) /* one listing page; 5000 blobs are ~5 MiB */

typedef struct az_provider {
    provider base; /* first: provider.c casts */
    pclient *http;
    char *base_url;   /* endpoint + "/" + container */
    char *base_path;  /* the URL path of base_url, for the canonicalized resource */
    char *prefix;     /* as configured, may be "" */
    char *prefix_enc; /* percent-encoded, '/' kept */
    char account[32];
    uint8_t key[AZURE_KEY_MAX];
    size_t keylen; /* 0 when a SAS is used instead */
    char *sas;     /* query string without '?', or NULL */
    unsigned page_size;
} az_provider;

/* ---- requests ------------------------------------------------------------ */

typedef struct az_call {
    const char *method;
    const char *blob; /* chunk name, or NULL for a container request */
    const azure_param *params;
    size_t nparams;
    const char *const *extra; /* more headers, NULL-terminated; may be NULL */
    const uint8_t *body;
    size_t body_len;
    orc_buf *out;
} az_call;

static int append_query(orc_buf *url, const azure_param *params, size_t n, const char *sas,
                        orc_err *e)
{
    int rc = ORC_OK;
    for (size_t i = 0; !rc && i < n; i++) {
        rc = orc_buf_printf(url, e, "%c%s=", i ? '&' : '?', params[i].name);
        if (!rc) rc = uri_encode(url, params[i].value, strlen(params[i].value), false, e);
    }
    if (!rc && sas) rc = orc_buf_printf(url, e, "%c%s", n ? '&' : '?', sas);
    return rc;
}

/* Builds URL and headers, signs unless a SAS is used, and performs the call.
 * Returns pclient_do's result: 0 when any response arrived. */
static int az_do(az_provider *a, const az_call *c, pclient_resp *resp, orc_err *e)
{
    orc_buf url, path, sts;
    orc_buf_init(&url, 0);
    orc_buf_init(&path, 0);
    orc_buf_init(&sts, 0);
    char date[48], auth[160];
    char now[32];
    orc_time_http(orc_now_ms(), now);
    snprintf(date, sizeof(date), "x-ms-date: %s", now);

    const char *hdrs[AZURE_HEADERS_MAX + 4];
    size_t nh = 0;
    hdrs[nh++] = date;
    hdrs[nh++] = "x-ms-version: " AZ_VERSION;
    for (size_t i = 0; c->extra && c->extra[i] && nh < AZURE_HEADERS_MAX; i++)
        hdrs[nh++] = c->extra[i];
    hdrs[nh] = NULL;

    int rc = orc_buf_puts(&path, a->base_path, e);
    if (!rc && c->blob) rc = orc_buf_printf(&path, e, "/%s%s", a->prefix_enc, c->blob);
    if (!rc)
        rc = orc_buf_printf(&url, e, "%s%s", a->base_url,
                            (const char *)path.ptr + strlen(a->base_path));
    if (!rc) rc = append_query(&url, c->params, c->nparams, a->sas, e);
    if (rc) goto done;
    if (a->keylen) {
        char sig[AZURE_SIG_LEN + 1];
        rc = azure_string_to_sign(c->method, hdrs, c->body_len, a->account, (const char *)path.ptr,
                                  c->params, c->nparams, &sts, e);
        if (!rc) rc = azure_sign(a->key, a->keylen, (const char *)sts.ptr, sts.len, sig, e);
        if (rc) goto done;
        snprintf(auth, sizeof(auth), "Authorization: SharedKey %s:%s", a->account, sig);
        hdrs[nh++] = auth;
        hdrs[nh] = NULL;
    }
    pclient_req rq = {
        .method = c->method,
        .url = (const char *)url.ptr,
        .headers = hdrs,
        .body = c->body,
        .body_len = c->body_len,
        .out = c->out,
        .deadline_us = provider_call_deadline_us(),
        .cancel = provider_cancel_flag(),
    };
    rc = pclient_do(a->http, &rq, resp, e);
done:
    OPENSSL_cleanse(auth, sizeof(auth));
    orc_buf_dispose(&url);
    orc_buf_dispose(&path);
    orc_buf_dispose(&sts);
    return rc;
}

/* Maps the status to a code and, for refused credentials, says which setting
 * to look at (never its value). */
static int az_status(az_provider *a, const pclient_resp *r, const char *method, const char *what,
                     orc_err *e)
{
    int rc = pclient_status(a->http, r, method, what, e);
    if (rc == ORC_EAUTH && e) {
        size_t n = strlen(e->msg);
        snprintf(e->msg + n, sizeof(e->msg) - n, ": %s",
                 a->sas ? "check the SAS token (permissions, expiry)" : "check the account key");
    }
    return rc;
}

static int check_name(const az_provider *a, const char *name, orc_err *e)
{
    if (azure_name_ok(name)) return ORC_OK;
    return orc_fail(e, ORC_EINVAL, "provider %s: bad chunk name '%.40s' (want 1..%d of [0-9a-z])",
                    a->base.name, name, AZ_NAME_MAX);
}

static void chunk_what(const char *name, char what[32])
{
    snprintf(what, 32, "chunk %.16s%s", name, strlen(name) > 16 ? "..." : "");
}

/* ---- operations ---------------------------------------------------------- */

static int az_put(provider *p, const char *name, const uint8_t *data, size_t len, orc_err *e)
{
    az_provider *a = (az_provider *)p;
    int rc = check_name(a, name, e);
    if (rc) return rc;
    static const char *const extra[] = {"x-ms-blob-type: BlockBlob",
                                        "Content-Type: application/octet-stream", NULL};
    az_call c = {.method = "PUT", .blob = name, .extra = extra, .body = data, .body_len = len};
    pclient_resp r = {0};
    char what[32];
    chunk_what(name, what);
    rc = az_do(a, &c, &r, e);
    return rc ? rc : az_status(a, &r, "PUT", what, e);
}

static int az_head(provider *p, const char *name, uint64_t *size, orc_err *e)
{
    az_provider *a = (az_provider *)p;
    int rc = check_name(a, name, e);
    if (rc) return rc;
    az_call c = {.method = "HEAD", .blob = name};
    pclient_resp r = {0};
    char what[32];
    chunk_what(name, what);
    rc = az_do(a, &c, &r, e);
    if (!rc) rc = az_status(a, &r, "HEAD", what, e);
    if (!rc) *size = r.content_length;
    return rc;
}

/* A server that ignores x-ms-range answers 200 with the whole blob: keep only
 * [off, off+len) of what was appended after before. */
static void clip_range(orc_buf *out, size_t before, uint64_t off, uint64_t len)
{
    size_t got = out->len - before;
    size_t start = off < got ? (size_t)off : got;
    size_t n = got - start;
    if (len < n) n = (size_t)len;
    if (start) memmove(out->ptr + before, out->ptr + before + start, n);
    out->len = before + n;
    if (out->ptr) out->ptr[out->len] = 0;
}

static int az_get(provider *p, const char *name, uint64_t off, uint64_t len, orc_buf *out,
                  orc_err *e)
{
    az_provider *a = (az_provider *)p;
    int rc = check_name(a, name, e);
    if (rc) return rc;
    if (len == 0) { /* no byte range is empty: just say whether it exists */
        uint64_t size;
        return az_head(p, name, &size, e);
    }
    char range[80];
    const char *extra[2] = {NULL, NULL};
    bool ranged = off > 0 || len != UINT64_MAX;
    if (ranged) {
        if (len > UINT64_MAX - off) /* to the end */
            snprintf(range, sizeof(range), "x-ms-range: bytes=%llu-", (unsigned long long)off);
        else
            snprintf(range, sizeof(range), "x-ms-range: bytes=%llu-%llu", (unsigned long long)off,
                     (unsigned long long)(off + len - 1));
        extra[0] = range;
    }
    size_t before = out->len;
    az_call c = {.method = "GET", .blob = name, .extra = extra, .out = out};
    pclient_resp r = {0};
    char what[32];
    chunk_what(name, what);
    rc = az_do(a, &c, &r, e);
    /* 416 (range starts past the end) maps to 0 with nothing appended. */
    if (!rc) rc = az_status(a, &r, "GET", what, e);
    if (!rc && ranged && (r.status == 200 || out->len - before > len))
        clip_range(out, before, r.status == 200 ? off : 0, len);
    return rc;
}

static int az_del(provider *p, const char *name, orc_err *e)
{
    az_provider *a = (az_provider *)p;
    int rc = check_name(a, name, e);
    if (rc) return rc;
    az_call c = {.method = "DELETE", .blob = name};
    pclient_resp r = {0};
    char what[32];
    chunk_what(name, what);
    rc = az_do(a, &c, &r, e);
    return rc ? rc : az_status(a, &r, "DELETE", what, e);
}

/* ---- List Blobs ---------------------------------------------------------- */

static int az_list(provider *p, provider_list_fn fn, void *ctx, orc_err *e)
{
    az_provider *a = (az_provider *)p;
    azure_list_page *pg = orc_calloc(1, sizeof(*pg));
    pg->provider = p->name;
    pg->prefix = a->prefix;
    pg->fn = fn;
    pg->ctx = ctx;
    char page[16], *marker = NULL;
    snprintf(page, sizeof(page), "%u", a->page_size);
    orc_buf body;
    orc_buf_init(&body, AZ_LIST_BODY_MAX);
    int rc;
    for (;;) {
        azure_param q[5] = {{"restype", "container"}, {"comp", "list"}, {"maxresults", page}};
        size_t nq = 3;
        if (a->prefix[0]) q[nq++] = (azure_param){"prefix", a->prefix};
        if (marker) q[nq++] = (azure_param){"marker", marker};
        orc_buf_reset(&body);
        az_call c = {.method = "GET", .params = q, .nparams = nq, .out = &body};
        pclient_resp r = {0};
        rc = az_do(a, &c, &r, e);
        if (!rc) rc = az_status(a, &r, "GET", "List Blobs", e);
        if (!rc) rc = azure_list_parse(pg, (const char *)body.ptr, body.len, e);
        if (rc || !pg->marker[0]) break;
        if (marker && strcmp(marker, pg->marker) == 0) {
            rc = orc_fail(e, ORC_EIO, "provider %s: List Blobs repeated its marker", p->name);
            break;
        }
        free(marker);
        marker = orc_strdup(pg->marker);
    }
    free(marker);
    orc_buf_dispose(&body);
    free(pg);
    return rc;
}

static void az_free(provider *p)
{
    az_provider *a = (az_provider *)p;
    pclient_free(a->http);
    free(a->base_url);
    free(a->base_path);
    free(a->prefix);
    free(a->prefix_enc);
    if (a->sas) {
        OPENSSL_cleanse(a->sas, strlen(a->sas));
        free(a->sas);
    }
    OPENSSL_cleanse(a->key, sizeof(a->key));
    free(a);
}

static const struct provider_ops azure_ops = {
    .kind = "azure",
    .caps = PROVIDER_CAP_RANGE,
    .put = az_put,
    .get = az_get,
    .del = az_del,
    .head = az_head,
    .list = az_list,
    .free = az_free,
};

/* ---- open ---------------------------------------------------------------- */

static bool all_of(const char *s, const char *set)
{
    return s[strspn(s, set)] == 0;
}

#define LOWER_DIGITS "abcdefghijklmnopqrstuvwxyz0123456789"

/* 3-63 of [a-z0-9-], starting and ending with a letter or digit, no "--". */
static bool container_ok(const char *c)
{
    size_t n = strlen(c);
    return n >= 3 && n <= 63 && all_of(c, LOWER_DIGITS "-") && c[0] != '-' && c[n - 1] != '-' &&
           !strstr(c, "--");
}

static int parse_bool(const char *name, const char *key, const char *v, bool *out, orc_err *e)
{
    if (!v) return ORC_OK;
    if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
        *out = v[0] == 't';
        return ORC_OK;
    }
    return orc_fail(e, ORC_EINVAL, "provider %s: %s = '%.32s': want true or false", name, key, v);
}

static int parse_page_size(const char *name, const char *v, unsigned *out, orc_err *e)
{
    if (!v) return ORC_OK;
    unsigned n = 0;
    size_t i = 0;
    for (; v[i] >= '0' && v[i] <= '9' && n <= AZ_PAGE_MAX; i++)
        n = n * 10 + (unsigned)(v[i] - '0');
    if (i == 0 || v[i] || n < 1 || n > AZ_PAGE_MAX)
        return orc_fail(e, ORC_EINVAL, "provider %s: list_page_size = '%.32s': want 1..%d", name, v,
                        AZ_PAGE_MAX);
    *out = n;
    return ORC_OK;
}

/* Reads `key` or `key_env` (the name of an environment variable holding it);
 * giving both is an error. *out stays NULL when neither is set. */
static int secret_value(const char *name, const provider_kv *kv, size_t nkv, const char *key,
                        const char **out, orc_err *e)
{
    char env_key[32];
    snprintf(env_key, sizeof(env_key), "%s_env", key);
    const char *direct = provider_kv_get(kv, nkv, key);
    const char *var = provider_kv_get(kv, nkv, env_key);
    *out = direct;
    if (!var) return ORC_OK;
    if (direct)
        return orc_fail(e, ORC_EINVAL, "provider %s: give %s or %s, not both", name, key, env_key);
    const char *v = getenv(var);
    if (!v || !*v)
        return orc_fail(e, ORC_EINVAL,
                        "provider %s: %s = %.64s: that environment variable is not set", name,
                        env_key, var);
    *out = v;
    return ORC_OK;
}

/* Splits endpoint into the URL without trailing '/' and its path part. */
static int set_endpoint(az_provider *a, const char *name, const char *endpoint,
                        const char *container, orc_err *e)
{
    char *ep = endpoint ? orc_strdup(endpoint) : NULL;
    if (!ep) {
        size_t n = strlen(a->account) + 40;
        ep = orc_malloc(n);
        snprintf(ep, n, "https://%s.blob.core.windows.net", a->account);
    }
    size_t n = strlen(ep);
    while (n && ep[n - 1] == '/')
        ep[--n] = 0;
    const char *rest = strncmp(ep, "http://", 7) == 0    ? ep + 7
                       : strncmp(ep, "https://", 8) == 0 ? ep + 8
                                                         : NULL;
    if (!rest || !*rest || rest[0] == '/' || strpbrk(ep, "?# \t")) {
        int rc = orc_fail(e, ORC_EINVAL,
                          "provider %s: endpoint = '%.80s': want http(s)://HOST[:PORT][/PATH]",
                          name, ep);
        free(ep);
        return rc;
    }
    const char *path = strchr(rest, '/');
    size_t un = strlen(ep) + strlen(container) + 2;
    a->base_url = orc_malloc(un);
    snprintf(a->base_url, un, "%s/%s", ep, container);
    size_t pn = (path ? strlen(path) : 0) + strlen(container) + 2;
    a->base_path = orc_malloc(pn);
    snprintf(a->base_path, pn, "%s/%s", path ? path : "", container);
    free(ep);
    return ORC_OK;
}

static int set_credentials(az_provider *a, const char *name, const provider_kv *kv, size_t nkv,
                           orc_err *e)
{
    const char *key, *sas;
    int rc = secret_value(name, kv, nkv, "key", &key, e);
    if (!rc) rc = secret_value(name, kv, nkv, "sas", &sas, e);
    if (rc) return rc;
    if (!key == !sas)
        return orc_fail(e, ORC_EINVAL,
                        "provider %s: give exactly one of 'key'/'key_env' (the account key) or "
                        "'sas'/'sas_env' (a SAS token)",
                        name);
    if (key) {
        int n = azure_key_decode(key, a->key, sizeof(a->key));
        if (n <= 0)
            return orc_fail(e, ORC_EINVAL, "provider %s: the account key is not valid base64",
                            name);
        a->keylen = (size_t)n;
        return ORC_OK;
    }
    if (sas[0] == '?') sas++;
    /* The token goes into URLs verbatim: it must already be query-encoded. */
    if (!*sas || strpbrk(sas, "?# \t\r\n"))
        return orc_fail(e, ORC_EINVAL, "provider %s: the SAS token is empty or not a query string",
                        name);
    a->sas = orc_strdup(sas);
    return ORC_OK;
}

static int create_container(az_provider *a, const char *name, orc_err *e)
{
    static const azure_param q[] = {{"restype", "container"}};
    az_call c = {.method = "PUT", .params = q, .nparams = 1};
    pclient_resp r = {0};
    int rc = az_do(a, &c, &r, e);
    if (rc) return rc;
    if (r.status == 409 && strcmp(r.error_code, "ContainerAlreadyExists") == 0) return ORC_OK;
    rc = az_status(a, &r, "PUT", "Create Container", e);
    if (!rc) LOG_INFO("provider %s: created container", name);
    return rc;
}

static int open_config(az_provider *a, const char *name, const provider_kv *kv, size_t nkv,
                       bool *create, orc_err *e)
{
    const char *account = provider_kv_get(kv, nkv, "account");
    const char *container = provider_kv_get(kv, nkv, "container");
    const char *prefix = provider_kv_get(kv, nkv, "prefix");
    if (!account || strlen(account) < 3 || strlen(account) > 24 || !all_of(account, LOWER_DIGITS))
        return orc_fail(e, ORC_EINVAL, "provider %s: missing or bad 'account' (3-24 of [a-z0-9])",
                        name);
    snprintf(a->account, sizeof(a->account), "%s", account);
    if (!container || !container_ok(container))
        return orc_fail(e, ORC_EINVAL,
                        "provider %s: missing or bad 'container' (3-63 of [a-z0-9-], no leading, "
                        "trailing or double '-')",
                        name);
    if (!prefix) prefix = "";
    if (strlen(prefix) > AZ_PREFIX_MAX || prefix[0] == '/' ||
        !all_of(prefix, LOWER_DIGITS "ABCDEFGHIJKLMNOPQRSTUVWXYZ-._~/"))
        return orc_fail(e, ORC_EINVAL,
                        "provider %s: bad 'prefix' (at most %d of [A-Za-z0-9-._~/], not starting "
                        "with '/')",
                        name, AZ_PREFIX_MAX);
    a->prefix = orc_strdup(prefix);
    a->prefix_enc = orc_strdup(prefix); /* only unreserved chars and '/' */
    a->page_size = AZ_PAGE_MAX;
    int rc = parse_page_size(name, provider_kv_get(kv, nkv, "list_page_size"), &a->page_size, e);
    if (!rc)
        rc = parse_bool(name, "create_container", provider_kv_get(kv, nkv, "create_container"),
                        create, e);
    if (!rc) rc = set_credentials(a, name, kv, nkv, e);
    if (!rc) rc = set_endpoint(a, name, provider_kv_get(kv, nkv, "endpoint"), container, e);
    return rc;
}

int provider_azure_open(const char *name, const provider_kv *kv, size_t nkv, provider **out,
                        orc_err *e)
{
    az_provider *a = orc_calloc(1, sizeof(*a));
    a->base.ops = &azure_ops;
    bool create = false;
    int rc = open_config(a, name, kv, nkv, &create, e);
    if (!rc) rc = pclient_new(name, NULL, &a->http, e);
    if (!rc && create) rc = create_container(a, name, e);
    if (rc) {
        az_free(&a->base);
        return rc;
    }
    a->base.retries_itself = true; /* http_client.c retries each request */
    *out = &a->base;
    return ORC_OK;
}
