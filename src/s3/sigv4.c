/* AWS Signature Version 4 verification for S3 requests.
 *
 * Parses the Authorization header or the presigned-URL query, rebuilds the
 * canonical request from the bytes received, recomputes the signature and compares
 * it in constant time. Error codes and messages follow what S3 answers, with one
 * substitution: S3's AuthorizationQueryParametersError (malformed presigned-URL
 * parameters) is sent as InvalidArgument, which has the same status (400). */
#include "s3/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"
#include "util/hex.h"
#include "util/time.h"
#include "util/uri.h"

/* Ceilings on what the network controls; real S3 requests stay far below them. */
#define MAX_HEADERS 256
#define MAX_HEADER_NAME 256
#define MAX_HEADER_VALUE 16384
#define MAX_SIGNED_HEADERS 64
#define MAX_SIGNED_LIST 2048 /* SignedHeaders= / X-Amz-SignedHeaders */
#define MAX_AUTH_HEADER 4096
#define MAX_METHOD 32
#define MAX_PATH 8192 /* raw path; keys are at most 1024 bytes, 3x when encoded */
#define MAX_QUERY 16384
#define MAX_QUERY_PARAMS 128
#define MAX_CANONICAL (256 * 1024)
#define MAX_SECRET 256

#define ALGORITHM "AWS4-HMAC-SHA256"
#define SERVICE "s3"
#define TERMINATOR "aws4_request"
#define UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

#define MSG_CREDENTIAL                                                                             \
    "the Credential is mal-formed; expecting "                                                     \
    "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"."
#define MSG_BAD_DATE "AWS authentication requires a valid Date or x-amz-date header"
#define MSG_QUERY_REQUIRED                                                                         \
    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "       \
    "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."

/* A decoded query parameter. */
typedef struct qparam {
    orc_buf name, value;
} qparam;

typedef struct qlist {
    qparam *v;
    size_t n;
} qlist;

/* SignedHeaders, split; the views point into the caller's string. */
typedef struct signed_list {
    orc_str names[MAX_SIGNED_HEADERS];
    size_t n;
} signed_list;

/* Everything either auth style carries, once parsed and validated. */
typedef struct auth_fields {
    bool query;
    enum s3_error malformed; /* what a syntax error is answered with */
    char access_key[128];
    char date8[9];
    char region[64];
    char signed_headers[MAX_SIGNED_LIST + 1];
    char signature[65];
    char amz_date[17];
    time_t t;
    long expires;
} auth_fields;

static enum s3_error reject(orc_err *e, enum s3_error s3e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum s3_error reject(orc_err *e, enum s3_error s3e, const char *fmt, ...)
{
    char msg[sizeof(e->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    int code = ORC_EINVAL;
    if (s3e == S3E_ACCESS_DENIED || s3e == S3E_INVALID_ACCESS_KEY_ID ||
        s3e == S3E_SIGNATURE_DOES_NOT_MATCH || s3e == S3E_REQUEST_TIME_TOO_SKEWED)
        code = ORC_EAUTH;
    else if (s3e == S3E_INTERNAL_ERROR)
        code = ORC_EINTERNAL;
    orc_fail(e, code, "%s", msg);
    return s3e;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* ASCII case-insensitive: s[0..n) equals the NUL-terminated name. */
static bool name_eq(const char *s, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (name[i] == 0 || lower(s[i]) != lower(name[i])) return false;
    return name[n] == 0;
}

static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Whitespace as the SDKs' Trimall sees it (Python's str.split() on ASCII). */
static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' ||
           (c >= 0x1c && c <= 0x1f);
}

static bool is_hex64(const char *s, size_t n)
{
    if (n != 64) return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdefABCDEF", s[i]) || !s[i]) return false;
    return true;
}

static bool is_printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) return false;
    return true;
}

/* Copies s[0..n) as a C string; false if it does not fit or holds a NUL. */
static bool copy_str(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap || memchr(s, 0, n)) return false;
    memcpy(dst, s, n);
    dst[n] = 0;
    return true;
}

/* ---- request shape -------------------------------------------------------------- */

static int check_headers(const sigv4_request *rq, orc_err *e)
{
    if (rq->nheaders > MAX_HEADERS)
        return orc_fail(e, ORC_ENOSPC, "more than %d request headers", MAX_HEADERS);
    for (size_t i = 0; i < rq->nheaders; i++) {
        const char *name = rq->headers[i].name;
        size_t n = strnlen(name, MAX_HEADER_NAME + 1);
        if (n == 0 || n > MAX_HEADER_NAME)
            return orc_fail(e, ORC_ENOSPC, "header name empty or longer than %d bytes",
                            MAX_HEADER_NAME);
        for (size_t j = 0; j < n; j++)
            if (!is_tchar((unsigned char)name[j]))
                return orc_fail(e, ORC_EINVAL, "header name is not an HTTP token");
        if (strnlen(rq->headers[i].value, MAX_HEADER_VALUE + 1) > MAX_HEADER_VALUE)
            return orc_fail(e, ORC_ENOSPC, "header %s longer than %d bytes", name,
                            MAX_HEADER_VALUE);
    }
    return ORC_OK;
}

/* The value of the header called name (NULL if absent); *count says how many there were. */
static const char *header_get(const sigv4_request *rq, const char *name, int *count)
{
    const char *v = NULL;
    *count = 0;
    for (size_t i = 0; i < rq->nheaders; i++) {
        if (!name_eq(rq->headers[i].name, strlen(rq->headers[i].name), name)) continue;
        if (!v) v = rq->headers[i].value;
        (*count)++;
    }
    return v;
}

/* ---- canonical request ---------------------------------------------------------- */

static void qlist_dispose(qlist *q)
{
    for (size_t i = 0; i < q->n; i++) {
        orc_buf_dispose(&q->v[i].name);
        orc_buf_dispose(&q->v[i].value);
    }
    free(q->v);
    q->v = NULL;
    q->n = 0;
}

/* Splits raw on '&' and each part on its first '=', decoding both sides. Empty
 * parts ("a=1&&b") are skipped; a part without '=' has an empty value. */
static int query_parse(const char *raw, qlist *q, orc_err *e)
{
    q->v = NULL;
    q->n = 0;
    size_t len = strnlen(raw, MAX_QUERY + 1);
    if (len > MAX_QUERY)
        return orc_fail(e, ORC_ENOSPC, "query string longer than %d bytes", MAX_QUERY);
    size_t parts = 1;
    for (size_t i = 0; i < len; i++)
        parts += raw[i] == '&';
    if (parts > MAX_QUERY_PARAMS)
        return orc_fail(e, ORC_ENOSPC, "more than %d query parameters", MAX_QUERY_PARAMS);
    q->v = orc_calloc(parts, sizeof(*q->v));
    const char *p = raw, *end = raw + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        if (!amp) amp = end;
        if (amp > p) {
            const char *eq = memchr(p, '=', (size_t)(amp - p));
            qparam *qp = &q->v[q->n++];
            orc_buf_init(&qp->name, 0);
            orc_buf_init(&qp->value, 0);
            int rc = uri_decode(&qp->name, p, (size_t)((eq ? eq : amp) - p), e);
            if (!rc)
                rc = uri_decode(&qp->value, eq ? eq + 1 : amp, eq ? (size_t)(amp - eq - 1) : 0, e);
            if (rc) {
                qlist_dispose(q);
                return orc_fail(e, rc, "query string has a bad percent-escape");
            }
        }
        p = amp + 1;
    }
    return ORC_OK;
}

static int bytes_cmp(const orc_buf *a, const orc_buf *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->ptr, b->ptr, n) : 0;
    if (c) return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

static int enc_cmp(const void *pa, const void *pb)
{
    const qparam *a = pa, *b = pb;
    int c = bytes_cmp(&a->name, &b->name);
    return c ? c : bytes_cmp(&a->value, &b->value);
}

static bool buf_eq(const orc_buf *b, const char *s)
{
    return b->len == strlen(s) && memcmp(b->ptr, s, b->len) == 0;
}

static bool is_param(const qparam *qp, const char *name)
{
    return buf_eq(&qp->name, name);
}

/* Encodes every parameter (but X-Amz-Signature under query auth), sorts by encoded
 * name then value and joins them, as botocore and S3 do. */
static int canonical_query(const qlist *q, bool query_auth, orc_buf *out, orc_err *e)
{
    qlist enc = {orc_calloc(q->n ? q->n : 1, sizeof(qparam)), 0};
    int rc = ORC_OK;
    for (size_t i = 0; i < q->n && !rc; i++) {
        if (query_auth && is_param(&q->v[i], "X-Amz-Signature")) continue;
        qparam *d = &enc.v[enc.n++];
        orc_buf_init(&d->name, MAX_QUERY * 3);
        orc_buf_init(&d->value, MAX_QUERY * 3);
        rc = uri_encode(&d->name, (const char *)q->v[i].name.ptr, q->v[i].name.len, false, e);
        if (!rc)
            rc =
                uri_encode(&d->value, (const char *)q->v[i].value.ptr, q->v[i].value.len, false, e);
    }
    if (!rc && enc.n > 1) qsort(enc.v, enc.n, sizeof(qparam), enc_cmp);
    for (size_t i = 0; i < enc.n && !rc; i++) {
        if (i) rc = orc_buf_append(out, "&", 1, e);
        if (!rc) rc = orc_buf_append(out, enc.v[i].name.ptr, enc.v[i].name.len, e);
        if (!rc) rc = orc_buf_append(out, "=", 1, e);
        if (!rc) rc = orc_buf_append(out, enc.v[i].value.ptr, enc.v[i].value.len, e);
    }
    qlist_dispose(&enc);
    return rc;
}

/* S3 does not normalize paths: decode, then re-encode every byte but '/'. */
static int canonical_uri(const char *raw_path, orc_buf *out, orc_err *e)
{
    size_t len = strnlen(raw_path, MAX_PATH + 1);
    if (len > MAX_PATH) return orc_fail(e, ORC_ENOSPC, "path longer than %d bytes", MAX_PATH);
    if (len == 0) return orc_buf_append(out, "/", 1, e);
    orc_buf dec;
    orc_buf_init(&dec, 0);
    int rc = uri_decode(&dec, raw_path, len, e);
    if (rc)
        rc = orc_fail(e, rc, "path has a bad percent-escape");
    else
        rc = uri_encode(out, (const char *)dec.ptr, dec.len, true, e);
    orc_buf_dispose(&dec);
    return rc;
}

static int signed_parse(const char *s, signed_list *l, orc_err *e)
{
    size_t len = strnlen(s, MAX_SIGNED_LIST + 1);
    l->n = 0;
    if (len == 0) return orc_fail(e, ORC_EINVAL, "SignedHeaders is empty");
    if (len > MAX_SIGNED_LIST)
        return orc_fail(e, ORC_ENOSPC, "SignedHeaders longer than %d bytes", MAX_SIGNED_LIST);
    const char *p = s, *end = s + len;
    for (;;) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        size_t n = (size_t)((semi ? semi : end) - p);
        if (n == 0 || n > MAX_HEADER_NAME)
            return orc_fail(e, ORC_EINVAL, "SignedHeaders has an empty or oversized name");
        for (size_t i = 0; i < n; i++)
            if (!is_tchar((unsigned char)p[i]))
                return orc_fail(e, ORC_EINVAL, "SignedHeaders has a name that is not a token");
        if (l->n == MAX_SIGNED_HEADERS)
            return orc_fail(e, ORC_ENOSPC, "more than %d signed headers", MAX_SIGNED_HEADERS);
        for (size_t i = 0; i < l->n; i++)
            if (l->names[i].len == n && strncasecmp(l->names[i].ptr, p, n) == 0)
                return orc_fail(e, ORC_EINVAL, "SignedHeaders names %.*s twice", (int)n, p);
        l->names[l->n++] = (orc_str){p, n};
        if (!semi) return ORC_OK;
        p = semi + 1;
    }
}

static bool signed_has(const signed_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (name_eq(l->names[i].ptr, l->names[i].len, name)) return true;
    return false;
}

/* Trimall: strip leading and trailing whitespace, fold inner runs to one space. */
static int append_trimmed(orc_buf *out, const char *v, orc_err *e)
{
    int rc = ORC_OK;
    bool pending_space = false, any = false;
    for (const char *p = v; *p && !rc; p++) {
        if (is_ws(*p)) {
            pending_space = any;
            continue;
        }
        if (pending_space) rc = orc_buf_append(out, " ", 1, e);
        if (!rc) rc = orc_buf_append(out, p, 1, e);
        pending_space = false;
        any = true;
    }
    return rc;
}

static int canonical_headers(const sigv4_request *rq, const signed_list *l, orc_buf *out,
                             orc_err *e)
{
    int rc = ORC_OK;
    for (size_t i = 0; i < l->n && !rc; i++) {
        rc = orc_buf_append(out, l->names[i].ptr, l->names[i].len, e);
        if (!rc) rc = orc_buf_append(out, ":", 1, e);
        size_t found = 0;
        for (size_t h = 0; h < rq->nheaders && !rc; h++) {
            const char *name = rq->headers[h].name;
            if (strlen(name) != l->names[i].len ||
                strncasecmp(name, l->names[i].ptr, l->names[i].len) != 0)
                continue;
            if (found++) rc = orc_buf_append(out, ",", 1, e);
            if (!rc) rc = append_trimmed(out, rq->headers[h].value, e);
        }
        if (!rc && !found)
            return orc_fail(e, ORC_ENOTFOUND, "signed header %.*s is not in the request",
                            (int)l->names[i].len, l->names[i].ptr);
        if (!rc) rc = orc_buf_append(out, "\n", 1, e);
    }
    return rc;
}

static int build_canonical(const sigv4_request *rq, const signed_list *sl,
                           const char *signed_headers, const char *payload_hash, bool query_auth,
                           const qlist *q, orc_buf *out, orc_err *e)
{
    size_t mlen = strnlen(rq->method, MAX_METHOD + 1);
    if (mlen == 0 || mlen > MAX_METHOD) return orc_fail(e, ORC_EINVAL, "bad request method");
    int rc = orc_buf_append(out, rq->method, mlen, e);
    if (!rc) rc = orc_buf_append(out, "\n", 1, e);
    if (!rc) rc = canonical_uri(rq->raw_path, out, e);
    if (!rc) rc = orc_buf_append(out, "\n", 1, e);
    if (!rc) rc = canonical_query(q, query_auth, out, e);
    if (!rc) rc = orc_buf_append(out, "\n", 1, e);
    if (!rc) rc = canonical_headers(rq, sl, out, e);
    if (!rc) rc = orc_buf_append(out, "\n", 1, e);
    if (!rc) rc = orc_buf_puts(out, signed_headers, e);
    if (!rc) rc = orc_buf_append(out, "\n", 1, e);
    if (!rc) rc = orc_buf_puts(out, payload_hash, e);
    return rc;
}

int sigv4_canonical_request(const sigv4_request *rq, const char *signed_headers,
                            const char *payload_hash, bool query_auth, orc_buf *out, orc_err *e)
{
    signed_list sl;
    qlist q = {NULL, 0};
    int rc = check_headers(rq, e);
    if (!rc) rc = signed_parse(signed_headers, &sl, e);
    if (!rc) rc = query_parse(rq->raw_query, &q, e);
    if (!rc) rc = build_canonical(rq, &sl, signed_headers, payload_hash, query_auth, &q, out, e);
    qlist_dispose(&q);
    return rc;
}

/* ---- keys and signatures -------------------------------------------------------- */

static void hmac256(const void *key, size_t klen, const void *msg, size_t mlen,
                    unsigned char out[32])
{
    unsigned int olen = 32;
    if (!HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &olen)) abort();
}

void sigv4_signing_key(const char *secret, const char *date8, const char *region,
                       const char *service, unsigned char key[32])
{
    size_t slen = strlen(secret);
    char *seed = orc_malloc(slen + 5);
    memcpy(seed, "AWS4", 4);
    memcpy(seed + 4, secret, slen + 1);
    unsigned char k[32];
    hmac256(seed, slen + 4, date8, strlen(date8), k);
    hmac256(k, 32, region, strlen(region), k);
    hmac256(k, 32, service, strlen(service), k);
    hmac256(k, 32, TERMINATOR, strlen(TERMINATOR), key);
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(seed, slen + 5);
    free(seed);
}

static void compute_signature(const unsigned char key[32], const char *amz_date, const char *scope,
                              const orc_buf *canon, char sig[65])
{
    unsigned char h[32];
    char hh[65], sts[256];
    SHA256(canon->ptr, canon->len, h);
    hex_encode(h, 32, hh);
    int n = snprintf(sts, sizeof(sts), ALGORITHM "\n%s\n%s\n%s", amz_date, scope, hh);
    hmac256(key, 32, sts, (size_t)n, h);
    hex_encode(h, 32, sig);
}

/* ---- parsing the two auth styles ------------------------------------------------ */

/* "AKID/YYYYMMDD/region/s3/aws4_request" */
static enum s3_error parse_credential(const char *s, size_t n, auth_fields *a, orc_err *e)
{
    const char *pre = a->query ? "Error parsing the X-Amz-Credential parameter; "
                               : "The authorization header is malformed; ";
    size_t slashes = 0;
    for (size_t i = 0; i < n; i++)
        slashes += s[i] == '/';
    if (slashes != 4) return reject(e, a->malformed, "%s" MSG_CREDENTIAL, pre);
    orc_str part[5];
    const char *p = s, *end = s + n;
    for (int i = 0; i < 5; i++) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        part[i] = (orc_str){p, (size_t)((slash ? slash : end) - p)};
        p = slash ? slash + 1 : end;
    }
    for (int i = 0; i < 5; i++)
        if (part[i].len == 0 || !is_printable(part[i].ptr, part[i].len))
            return reject(e, a->malformed, "%s" MSG_CREDENTIAL, pre);
    if (!copy_str(a->access_key, sizeof(a->access_key), part[0].ptr, part[0].len))
        return reject(e, S3E_INVALID_ACCESS_KEY_ID,
                      "The AWS access key Id you provided does not exist in our records.");
    if (part[1].len != 8 || strspn(part[1].ptr, "0123456789") < 8)
        return reject(e, a->malformed, "%sinvalid date \"%.*s\" in the Credential.", pre,
                      part[1].len > 16 ? 16 : (int)part[1].len, part[1].ptr);
    memcpy(a->date8, part[1].ptr, 8);
    a->date8[8] = 0;
    if (!copy_str(a->region, sizeof(a->region), part[2].ptr, part[2].len))
        return reject(e, a->malformed, "%sthe region in the Credential is too long.", pre);
    if (part[3].len != strlen(SERVICE) || memcmp(part[3].ptr, SERVICE, part[3].len))
        return reject(e, a->malformed,
                      "%sincorrect service \"%.*s\". This endpoint belongs to \"" SERVICE "\".",
                      pre, part[3].len > 32 ? 32 : (int)part[3].len, part[3].ptr);
    if (part[4].len != strlen(TERMINATOR) || memcmp(part[4].ptr, TERMINATOR, part[4].len))
        return reject(e, a->malformed,
                      "%sincorrect terminal \"%.*s\". This endpoint uses \"" TERMINATOR "\".", pre,
                      part[4].len > 32 ? 32 : (int)part[4].len, part[4].ptr);
    return S3E_NONE;
}

/* "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." */
static enum s3_error parse_auth_header(const char *h, auth_fields *a, orc_err *e)
{
    size_t len = strnlen(h, MAX_AUTH_HEADER + 1);
    if (len > MAX_AUTH_HEADER)
        return reject(e, a->malformed, "The authorization header is longer than %d bytes.",
                      MAX_AUTH_HEADER);
    const char *end = h + len;
    const char *sp = memchr(h, ' ', len);
    size_t alen = (size_t)((sp ? sp : end) - h);
    if (alen != strlen(ALGORITHM) || memcmp(h, ALGORITHM, alen) != 0)
        return reject(e, S3E_INVALID_ARGUMENT,
                      "Unsupported Authorization Type; only " ALGORITHM " is accepted.");
    orc_str cred = {NULL, 0}, sh = {NULL, 0}, sig = {NULL, 0};
    const char *p = h + alen;
    while (p < end) {
        while (p < end && *p == ' ')
            p++;
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *cend = comma ? comma : end;
        const char *eq = memchr(p, '=', (size_t)(cend - p));
        if (!eq) break;
        orc_str key = {p, (size_t)(eq - p)}, val = {eq + 1, (size_t)(cend - eq - 1)};
        while (val.len && val.ptr[val.len - 1] == ' ')
            val.len--;
        orc_str *slot = NULL;
        if (key.len == 10 && memcmp(key.ptr, "Credential", 10) == 0) slot = &cred;
        if (key.len == 13 && memcmp(key.ptr, "SignedHeaders", 13) == 0) slot = &sh;
        if (key.len == 9 && memcmp(key.ptr, "Signature", 9) == 0) slot = &sig;
        if (!slot || slot->ptr)
            return reject(e, a->malformed,
                          "The authorization header is malformed; "
                          "unexpected or repeated component.");
        *slot = val;
        p = comma ? comma + 1 : end;
    }
    if (p < end || !cred.ptr || !sh.ptr || !sig.ptr)
        return reject(e, a->malformed,
                      "The authorization header is malformed; the authorization header "
                      "requires three components: Credential, SignedHeaders, and Signature.");
    enum s3_error r = parse_credential(cred.ptr, cred.len, a, e);
    if (r) return r;
    if (!copy_str(a->signed_headers, sizeof(a->signed_headers), sh.ptr, sh.len))
        return reject(e, a->malformed,
                      "The authorization header is malformed; "
                      "SignedHeaders is too long.");
    if (!is_hex64(sig.ptr, sig.len))
        return reject(e, a->malformed,
                      "The authorization header is malformed; the "
                      "Signature must be 64 hexadecimal digits.");
    copy_str(a->signature, sizeof(a->signature), sig.ptr, sig.len);
    return S3E_NONE;
}

/* "Wed, 25 Nov 2026 15:01:30 GMT" (also "-0000"/"+0000", as Python's formatdate
 * writes) into x-amz-date form, which orc_time_parse_amz then validates. */
static int http_date_to_amz(const char *s, char amz[17])
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    static const char days[] = "MonTueWedThuFriSatSun";
    size_t n = strnlen(s, 32);
    if (n < 29 || n > 31 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
        s[16] != ' ' || s[19] != ':' || s[22] != ':' || s[25] != ' ')
        return -1;
    bool day_ok = false;
    for (int i = 0; i < 7; i++)
        day_ok |= memcmp(s, days + 3 * i, 3) == 0;
    int mon = -1;
    for (int i = 0; i < 12; i++)
        if (memcmp(s + 8, months + 3 * i, 3) == 0) mon = i + 1;
    const char *zone = s + 26;
    if (!day_ok || mon < 0 ||
        (strcmp(zone, "GMT") && strcmp(zone, "UTC") && strcmp(zone, "+0000") &&
         strcmp(zone, "-0000")))
        return -1;
    memcpy(amz, s + 12, 4);
    amz[4] = (char)('0' + mon / 10);
    amz[5] = (char)('0' + mon % 10);
    memcpy(amz + 6, s + 5, 2);
    amz[8] = 'T';
    memcpy(amz + 9, s + 17, 2);
    memcpy(amz + 11, s + 20, 2);
    memcpy(amz + 13, s + 23, 2);
    amz[15] = 'Z';
    amz[16] = 0;
    return 0;
}

/* The request time for header auth: x-amz-date, else Date. */
static enum s3_error header_date(const sigv4_request *rq, auth_fields *a, orc_err *e)
{
    int count;
    const char *v = header_get(rq, "x-amz-date", &count);
    if (count > 1) return reject(e, S3E_INVALID_ARGUMENT, "x-amz-date appears more than once");
    if (v) {
        if (strnlen(v, 17) != 16 || orc_time_parse_amz(v, &a->t))
            return reject(e, S3E_ACCESS_DENIED, MSG_BAD_DATE);
        memcpy(a->amz_date, v, 17);
        return S3E_NONE;
    }
    v = header_get(rq, "date", &count);
    if (count > 1) return reject(e, S3E_INVALID_ARGUMENT, "Date appears more than once");
    if (!v || http_date_to_amz(v, a->amz_date) || orc_time_parse_amz(a->amz_date, &a->t))
        return reject(e, S3E_ACCESS_DENIED, MSG_BAD_DATE);
    return S3E_NONE;
}

static const qparam *query_get(const qlist *q, const char *name, int *count)
{
    const qparam *found = NULL;
    *count = 0;
    for (size_t i = 0; i < q->n; i++)
        if (is_param(&q->v[i], name)) {
            if (!found) found = &q->v[i];
            (*count)++;
        }
    return found;
}

static enum s3_error parse_query_auth(const qlist *q, auth_fields *a, orc_err *e)
{
    static const char *const names[6] = {"X-Amz-Algorithm",     "X-Amz-Credential",
                                         "X-Amz-Date",          "X-Amz-Expires",
                                         "X-Amz-SignedHeaders", "X-Amz-Signature"};
    const qparam *v[6];
    for (int i = 0; i < 6; i++) {
        int count;
        v[i] = query_get(q, names[i], &count);
        if (!v[i]) return reject(e, a->malformed, MSG_QUERY_REQUIRED);
        if (count > 1) return reject(e, a->malformed, "%s appears more than once.", names[i]);
    }
    if (!buf_eq(&v[0]->value, ALGORITHM))
        return reject(e, a->malformed, "X-Amz-Algorithm only supports \"" ALGORITHM "\"");
    enum s3_error r = parse_credential((const char *)v[1]->value.ptr, v[1]->value.len, a, e);
    if (r) return r;
    if (v[2]->value.len != 16 ||
        !copy_str(a->amz_date, sizeof(a->amz_date), (const char *)v[2]->value.ptr, 16) ||
        orc_time_parse_amz(a->amz_date, &a->t))
        return reject(e, a->malformed,
                      "X-Amz-Date must be in the ISO8601 Long Format "
                      "\"yyyyMMdd'T'HHmmss'Z'\"");
    const orc_buf *ex = &v[3]->value;
    a->expires = 0;
    for (size_t i = 0; i < ex->len && a->expires <= SIGV4_MAX_EXPIRES; i++) {
        if (ex->ptr[i] < '0' || ex->ptr[i] > '9') {
            a->expires = -1;
            break;
        }
        a->expires = a->expires * 10 + (ex->ptr[i] - '0');
    }
    if (a->expires < 1 || a->expires > SIGV4_MAX_EXPIRES)
        return reject(e, a->malformed,
                      "X-Amz-Expires must be a whole number of seconds from 1 to %d (a week).",
                      SIGV4_MAX_EXPIRES);
    if (!copy_str(a->signed_headers, sizeof(a->signed_headers), (const char *)v[4]->value.ptr,
                  v[4]->value.len))
        return reject(e, a->malformed, "X-Amz-SignedHeaders is too long.");
    if (!is_hex64((const char *)v[5]->value.ptr, v[5]->value.len))
        return reject(e, a->malformed, "X-Amz-Signature must be 64 hexadecimal digits.");
    copy_str(a->signature, sizeof(a->signature), (const char *)v[5]->value.ptr, 64);
    return S3E_NONE;
}

/* ---- checks that need the parsed pieces ----------------------------------------- */

static enum s3_error check_time(const sigv4_request *rq, const auth_fields *a, orc_err *e)
{
    if (memcmp(a->amz_date, a->date8, 8) != 0)
        return reject(e, a->malformed,
                      "Invalid credential date \"%s\". Date is not the same "
                      "as X-Amz-Date: \"%.8s\".",
                      a->date8, a->amz_date);
    int64_t now = (int64_t)rq->now, t = (int64_t)a->t;
    if (t - now > SIGV4_MAX_SKEW || (!a->query && now - t > SIGV4_MAX_SKEW))
        return reject(e, S3E_REQUEST_TIME_TOO_SKEWED,
                      "The difference between the request time (%s) and the server's time is "
                      "larger than %d seconds.",
                      a->amz_date, SIGV4_MAX_SKEW);
    if (a->query && now > t + a->expires)
        return reject(e, S3E_ACCESS_DENIED, "Request has expired");
    return S3E_NONE;
}

/* S3 refuses a request carrying host or x-amz-* headers that the signature does not cover. */
static enum s3_error check_all_signed(const sigv4_request *rq, const signed_list *sl, orc_err *e)
{
    if (!signed_has(sl, "host"))
        return reject(e, S3E_ACCESS_DENIED,
                      "There were headers present in the request which "
                      "were not signed: host");
    for (size_t i = 0; i < rq->nheaders; i++) {
        const char *name = rq->headers[i].name;
        if (strncasecmp(name, "x-amz-", 6) == 0 && !signed_has(sl, name))
            return reject(e, S3E_ACCESS_DENIED,
                          "There were headers present in the request "
                          "which were not signed: %s",
                          name);
    }
    return S3E_NONE;
}

/* Classifies x-amz-content-sha256 (or UNSIGNED-PAYLOAD for a presigned URL without it). */
static enum s3_error payload_kind(const sigv4_request *rq, const auth_fields *a, const char **hash,
                                  sigv4_result *out, orc_err *e)
{
    static const char *const streaming[] = {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                                            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                                            "STREAMING-UNSIGNED-PAYLOAD-TRAILER"};
    int count;
    const char *v = header_get(rq, "x-amz-content-sha256", &count);
    if (count > 1)
        return reject(e, S3E_INVALID_ARGUMENT, "x-amz-content-sha256 appears more than once");
    if (!v && !a->query)
        return reject(e, S3E_INVALID_REQUEST,
                      "Missing required header for this request: x-amz-content-sha256");
    *hash = v ? v : UNSIGNED_PAYLOAD;
    if (is_hex64(*hash, strlen(*hash))) {
        for (int i = 0; i < 64; i++)
            out->payload_sha256[i] = lower((*hash)[i]);
        out->payload_sha256[64] = 0;
        return S3E_NONE;
    }
    if (strcmp(*hash, UNSIGNED_PAYLOAD) == 0) {
        out->payload_unsigned = true;
        return S3E_NONE;
    }
    for (size_t i = 0; i < sizeof(streaming) / sizeof(streaming[0]); i++)
        if (strcmp(*hash, streaming[i]) == 0) {
            out->payload_streaming = true;
            /* chunks of this one carry no signatures */
            out->payload_unsigned = i == 2;
            return S3E_NONE;
        }
    return reject(e, S3E_INVALID_ARGUMENT,
                  "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-"
                  "TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-"
                  "PAYLOAD-TRAILER, or a valid sha256 value.");
}

static enum s3_error from_orc(int rc, const orc_err *e)
{
    if (rc == ORC_ENOTFOUND) return S3E_SIGNATURE_DOES_NOT_MATCH;
    if (rc == ORC_ENOSPC) return S3E_INVALID_REQUEST;
    return S3E_INVALID_ARGUMENT;
}

/* ---- the verifier --------------------------------------------------------------- */

/* Secret lookup, canonical request, signature comparison; fills the key material
 * of *out for streaming payloads. */
static enum s3_error check_signature(const sigv4_request *rq, const auth_fields *a,
                                     const signed_list *sl, const qlist *q, const char *hash,
                                     sigv4_secret_fn fn, void *ctx, sigv4_result *out, orc_err *e)
{
    char secret[MAX_SECRET], sig[65];
    unsigned char key[32];
    orc_buf canon;
    orc_buf_init(&canon, MAX_CANONICAL);
    enum s3_error r = S3E_NONE;
    memset(secret, 0, sizeof(secret));
    int rc = fn(ctx, a->access_key, secret, sizeof(secret));
    if (rc == ORC_ENOTFOUND) {
        r = reject(e, S3E_INVALID_ACCESS_KEY_ID,
                   "The AWS access key Id you provided does not exist in our records.");
        goto done;
    }
    if (rc || !memchr(secret, 0, sizeof(secret))) {
        r = reject(e, S3E_INTERNAL_ERROR, "could not look up the access key's secret");
        goto done;
    }
    rc = build_canonical(rq, sl, a->signed_headers, hash, a->query, q, &canon, e);
    if (rc) {
        r = from_orc(rc, e);
        goto done;
    }
    sigv4_signing_key(secret, a->date8, a->region, SERVICE, key);
    compute_signature(key, a->amz_date, out->scope, &canon, sig);
    if (CRYPTO_memcmp(sig, a->signature, 64) != 0) {
        r = reject(e, S3E_SIGNATURE_DOES_NOT_MATCH,
                   "The request signature we calculated does not match the signature you "
                   "provided. Check your key and signing method.");
        goto done;
    }
    if (out->payload_streaming) {
        memcpy(out->seed_signature, sig, 65);
        memcpy(out->signing_key, key, 32);
    }
done:
    OPENSSL_cleanse(secret, sizeof(secret));
    OPENSSL_cleanse(key, sizeof(key));
    orc_buf_dispose(&canon);
    return r;
}

enum s3_error sigv4_verify(const sigv4_request *rq, sigv4_secret_fn fn, void *ctx,
                           sigv4_result *out, orc_err *e)
{
    auth_fields a;
    signed_list sl;
    qlist q = {NULL, 0};
    const char *hash = NULL;
    enum s3_error r;
    memset(out, 0, sizeof(*out));
    memset(&a, 0, sizeof(a));
    int rc = check_headers(rq, e);
    if (!rc) rc = query_parse(rq->raw_query, &q, e);
    if (rc) return from_orc(rc, e);

    int nauth, nalg, nsig;
    const char *authz = header_get(rq, "authorization", &nauth);
    query_get(&q, "X-Amz-Algorithm", &nalg);
    query_get(&q, "X-Amz-Signature", &nsig);
    a.query = nalg || nsig;
    a.malformed = a.query ? S3E_INVALID_ARGUMENT : S3E_AUTHORIZATION_HEADER_MALFORMED;
    if (authz && a.query) {
        r = reject(e, S3E_INVALID_ARGUMENT,
                   "Only one auth mechanism allowed; only the "
                   "X-Amz-Algorithm query parameter or the "
                   "Authorization header should be specified");
        goto done;
    }
    if (!authz && !a.query) {
        out->anonymous = true;
        r = S3E_NONE;
        goto done;
    }
    if (nauth > 1) {
        r = reject(e, S3E_INVALID_ARGUMENT, "Authorization appears more than once");
        goto done;
    }
    r = a.query ? parse_query_auth(&q, &a, e) : parse_auth_header(authz, &a, e);
    if (!r && !a.query) r = header_date(rq, &a, e);
    if (r) goto done;
    rc = signed_parse(a.signed_headers, &sl, e);
    if (rc) {
        r = reject(e, a.malformed, "%s is malformed: %s",
                   a.query ? "X-Amz-SignedHeaders" : "SignedHeaders", e ? e->msg : "");
        goto done;
    }
    if ((r = check_time(rq, &a, e)) || (r = check_all_signed(rq, &sl, e)) ||
        (r = payload_kind(rq, &a, &hash, out, e)))
        goto done;

    snprintf(out->access_key, sizeof(out->access_key), "%s", a.access_key);
    snprintf(out->region, sizeof(out->region), "%s", a.region);
    snprintf(out->scope, sizeof(out->scope), "%s/%s/" SERVICE "/" TERMINATOR, a.date8, a.region);
    memcpy(out->amz_date, a.amz_date, sizeof(out->amz_date));
    r = check_signature(rq, &a, &sl, &q, hash, fn, ctx, out, e);
done:
    qlist_dispose(&q);
    if (r) {
        bool anonymous = out->anonymous;
        memset(out, 0, sizeof(*out));
        out->anonymous = anonymous;
    }
    return r;
}
