/* What the object, copy, tagging and multipart operations share: the
 * stored headers of a write, the response headers of a version, the
 * conditions of a write, Content-MD5, the commit of a request, and the check
 * of an XML body. A leaf of s3/'s operation files: it calls none of them, so
 * they need not call each other. */
#include "s3/object_common.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "s3/tagging.h"
#include "util/alloc.h"
#include "util/hex.h"
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
static const char *const override_params[S3_N_OVERRIDES][2] = {
    {"response-content-type", "Content-Type"},
    {"response-content-language", "Content-Language"},
    {"response-expires", "Expires"},
    {"response-cache-control", "Cache-Control"},
    {"response-content-disposition", "Content-Disposition"},
    {"response-content-encoding", "Content-Encoding"},
};

static bool overridden(char *const ov[S3_N_OVERRIDES], const char *name, size_t len)
{
    for (int i = 0; i < S3_N_OVERRIDES; i++)
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

void s3_validator_headers(s3_req *r, const meta_object *o)
{
    char etag[72], when[32];
    snprintf(etag, sizeof(etag), "\"%s\"", o->etag);
    orc_time_http(o->mtime_ms, when);
    http_add_header(r->rq, "ETag", etag);
    http_add_header(r->rq, "Last-Modified", when);
}

void s3_object_headers(s3_req *r, const meta_object *o, char *const *ov, bool whole)
{
    s3_validator_headers(r, o);
    http_add_header(r->rq, "Accept-Ranges", "bytes");
    s3_storage_class_header(r, o);
    const char *ct = o->content_type && *o->content_type ? o->content_type : "binary/octet-stream";
    http_add_header(r->rq, "Content-Type", ov && ov[0] ? ov[0] : ct);
    emit_stored(r->rq, o->headers, ov, whole);
    for (int i = 1; ov && i < S3_N_OVERRIDES; i++)
        if (ov[i]) http_add_header(r->rq, override_params[i][1], ov[i]);
}

int s3_storage_class(s3_req *r, const meta_bucket *b, const char **out)
{
    const char *v = http_header(r->rq, "x-amz-storage-class");
    orc_err e = {0};
    *out = object_class_resolve(r->svc->st, v, v ? strlen(v) : 0, b->storage_class, &e);
    if (*out) return 0;
    s3_error_from(r, ORC_EINVAL, &e, S3E_INVALID_STORAGE_CLASS);
    return -1;
}

void s3_storage_class_header(s3_req *r, const meta_object *o)
{
    const char *c = object_class_name(r->svc->st, o->storage_class);
    if (strcmp(c, "STANDARD") != 0) http_add_header(r->rq, "x-amz-storage-class", c);
}

int s3_read_overrides(s3_req *r, char *ov[S3_N_OVERRIDES])
{
    int bad = 0;
    for (int i = 0; i < S3_N_OVERRIDES; i++) {
        ov[i] = s3_query_get(r, override_params[i][0]);
        for (const char *c = ov[i]; c && *c && !bad; c++)
            bad = (unsigned char)*c < 0x20 || *c == 0x7f;
    }
    if (bad) s3_error(r, S3E_INVALID_ARGUMENT, "A response-* parameter holds a control character.");
    return bad;
}

/* ---- conditions, digests and commits of writes ---- */

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
int s3_put_condition_parse(s3_req *r, meta_put_cond *c)
{
    const char *inm = http_header(r->rq, "If-None-Match"), *im = http_header(r->rq, "If-Match");
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
    return 0;
}

/* The condition is checked here to spare sending the body for nothing, and
 * again in the commit's transaction, which is what makes racing writers safe. */
int s3_put_condition(s3_req *r, int64_t bucket_id, meta_put_cond *c)
{
    orc_err e = {0};
    if (s3_put_condition_parse(r, c)) return -1;
    int rc = object_put_cond_check(r->svc->st, bucket_id, r->key, c, &e);
    if (rc) s3_error_from(r, rc, &e, S3E_NO_SUCH_KEY); /* 412: a detail of the code */
    return rc ? -1 : 0;
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

/* ---- XML request bodies ---- */

/* Decodes base64 of exactly want bytes; -1 otherwise. */
static int b64_exact(const char *v, uint8_t *out, size_t want)
{
    uint8_t raw[24];
    size_t n = strlen(v), enc = 4 * ((want + 2) / 3);
    if (n != enc || n > 24) return -1;
    int got = EVP_DecodeBlock(raw, (const unsigned char *)v, (int)n);
    if (got != (int)(3 * (n / 4))) return -1;
    memcpy(out, raw, want);
    return 0;
}

/* S3 requires Content-MD5 or an x-amz-checksum-* header on DeleteObjects;
 * Orchard accepts neither (older clients send none) but verifies what is
 * sent: Content-MD5 and the signed payload hash here, x-amz-checksum-* in the
 * body layer (body.c) before this runs. Non-zero: answered. */
int s3_check_xml_body(s3_req *r)
{
    const uint8_t *p = r->body.ptr ? r->body.ptr : (const uint8_t *)"";
    uint8_t h[32], want[16];
    unsigned n = 0;
    char hex[65];
    if (r->auth.payload_sha256[0]) {
        EVP_Digest(p, r->body.len, h, &n, EVP_sha256(), NULL);
        hex_encode(h, 32, hex);
        if (strcmp(hex, r->auth.payload_sha256) != 0) {
            s3_error(r, S3E_XAMZ_CONTENT_SHA256_MISMATCH, NULL);
            return -1;
        }
    }
    const char *md5 = http_header(r->rq, "Content-MD5");
    if (md5) {
        if (b64_exact(md5, want, 16)) {
            s3_error(r, S3E_INVALID_DIGEST, NULL);
            return -1;
        }
        EVP_Digest(p, r->body.len, h, &n, EVP_md5(), NULL);
        if (memcmp(h, want, 16) != 0) {
            s3_error(r, S3E_BAD_DIGEST, NULL);
            return -1;
        }
    }
    return 0;
}
