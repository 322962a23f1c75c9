/* Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
 * GetBucketLocation, ListObjects (v1) and ListObjectsV2. */
#include "s3/s3_int.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3/xml.h"
#include "util/alloc.h"
#include "util/hex.h"
#include "util/time.h"
#include "util/uri.h"

#define S3_NS "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""
#define LIST_MAX_KEYS 1000
#define LIST_MAX_BUCKETS 10000

void s3_owner_id(const meta_user *u, char out[65])
{
    uint8_t h[32];
    unsigned n = 0;
    char in[96];
    int len = snprintf(in, sizeof(in), "orchard-user:%lld", (long long)u->id);
    EVP_Digest(in, (size_t)len, h, &n, EVP_sha256(), NULL);
    hex_encode(h, 32, out);
}

static void owner_xml(orc_buf *b, const meta_user *u)
{
    char id[65];
    s3_owner_id(u, id);
    xml_open(b, "Owner", NULL, NULL);
    xml_elem(b, "ID", id, NULL);
    xml_elem(b, "DisplayName", u->name, NULL);
    xml_close(b, "Owner", NULL);
}

static char *token_encode(const char *key, bool inclusive);
static char *token_decode(const char *tok, bool *inclusive);

/* max-buckets: 1 to 10000 (S3's range); absent: every bucket. */
static int parse_max_buckets(const char *s, size_t *out)
{
    size_t v = 0;
    if (!s) return 0;
    if (!*s) return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        if ((v = v * 10 + (size_t)(*s - '0')) > LIST_MAX_BUCKETS) return -1;
    }
    if (v == 0) return -1;
    *out = v;
    return 0;
}

/* Whether bucket b is on this page: after the token's name, with the
 * prefix, in the region asked for. */
static bool bucket_listed(const meta_bucket *b, const char *after, bool inclusive,
                          const char *prefix, const char *region)
{
    if (after && (inclusive ? strcmp(b->name, after) < 0 : strcmp(b->name, after) <= 0))
        return false;
    if (prefix && strncmp(b->name, prefix, strlen(prefix)) != 0) return false;
    return !region || !*region || strcmp(b->region, region) == 0;
}

/* ListBuckets, with the newer pagination (max-buckets, continuation-token),
 * prefix and bucket-region filters. */
void s3_list_buckets(s3_req *r)
{
    meta_bucket *bs = NULL;
    size_t n = 0, max = LIST_MAX_BUCKETS, shown = 0;
    orc_err e;
    orc_buf b;
    char *max_s = s3_query_get(r, "max-buckets"), *tok = s3_query_get(r, "continuation-token");
    char *prefix = s3_query_get(r, "prefix"), *region = s3_query_get(r, "bucket-region");
    char *after = NULL, *next = NULL;
    const char *last = NULL;
    bool inclusive = false;
    orc_buf_init(&b, 0);

    if (parse_max_buckets(max_s, &max)) {
        s3_error(r, S3E_INVALID_ARGUMENT,
                 "Argument max-buckets must be an integer between 1 and 10000.");
        goto done;
    }
    /* An empty token is no token, as S3 treats it (SDK paginators send one). */
    if (tok && *tok && !(after = token_decode(tok, &inclusive))) {
        s3_error(r, S3E_INVALID_ARGUMENT, "The continuation token provided is incorrect");
        goto done;
    }
    int rc = object_bucket_list(r->svc->st, r->user.id, &bs, &n, &e);
    if (rc) {
        s3_error_from(r, rc, &e, S3E_NO_SUCH_BUCKET);
        goto done;
    }
    xml_decl(&b, NULL);
    xml_open(&b, "ListAllMyBucketsResult", S3_NS, NULL);
    owner_xml(&b, &r->user);
    xml_open(&b, "Buckets", NULL, NULL);
    for (size_t i = 0; i < n; i++) { /* meta_bucket_list orders by name */
        if (!bucket_listed(&bs[i], after, inclusive, prefix, region)) continue;
        if (shown == max) { /* one more exists: the page is truncated */
            next = token_encode(last, false);
            break;
        }
        char when[32];
        orc_time_iso8601(bs[i].created_ms, when);
        xml_open(&b, "Bucket", NULL, NULL);
        xml_elem(&b, "Name", bs[i].name, NULL);
        xml_elem(&b, "CreationDate", when, NULL);
        xml_elem(&b, "BucketRegion", bs[i].region, NULL);
        xml_close(&b, "Bucket", NULL);
        last = bs[i].name;
        shown++;
    }
    xml_close(&b, "Buckets", NULL);
    if (next) xml_elem(&b, "ContinuationToken", next, NULL);
    if (prefix) xml_elem(&b, "Prefix", prefix, NULL);
    xml_close(&b, "ListAllMyBucketsResult", NULL);
    s3_reply_xml(r, 200, &b);
done:
    orc_buf_dispose(&b);
    free(bs);
    free(max_s), free(tok), free(prefix), free(region), free(after), free(next);
}

/* The LocationConstraint of a CreateBucketConfiguration body, or the
 * server's region when there is no body. */
static int location_from_body(s3_req *r, char *out, size_t cap)
{
    snprintf(out, cap, "%s", r->svc->region);
    if (r->body.len == 0) return 0;
    xml_node *root;
    orc_err e;
    if (xml_parse((const char *)r->body.ptr, r->body.len, 100, &root, &e)) return -1;
    int rc = -1;
    if (strcmp(root->name, "CreateBucketConfiguration") == 0) {
        xml_node *lc = xml_child(root, "LocationConstraint");
        if (lc && lc->text_len < cap && lc->text_len) snprintf(out, cap, "%s", lc->text);
        rc = 0;
    }
    xml_free(root);
    return rc;
}

static void created(s3_req *r)
{
    char loc[80];
    snprintf(loc, sizeof(loc), "/%s", r->bucket);
    s3_reply_empty(r, 200);
    http_add_header(r->rq, "Location", loc);
}

void s3_create_bucket(s3_req *r)
{
    char region[32];
    orc_err e;
    if (r->auth.payload_sha256[0]) {
        uint8_t h[32];
        char hex[65];
        unsigned n = 0;
        EVP_Digest(r->body.ptr ? r->body.ptr : (uint8_t *)"", r->body.len, h, &n, EVP_sha256(),
                   NULL);
        hex_encode(h, 32, hex);
        if (strcmp(hex, r->auth.payload_sha256) != 0)
            return s3_error(r, S3E_XAMZ_CONTENT_SHA256_MISMATCH, NULL);
    }
    if (!bucket_name_valid(r->bucket)) return s3_error(r, S3E_INVALID_BUCKET_NAME, NULL);
    if (location_from_body(r, region, sizeof(region))) return s3_error(r, S3E_MALFORMED_XML, NULL);
    /* A bucket the requester owns in us-east-1 is "created" again (S3's
     * legacy rule, object_bucket_create); elsewhere taken is taken. */
    int rc = object_bucket_create(r->svc->st, r->bucket, r->user.id, region, &e);
    if (rc == ORC_EEXISTS)
        return s3_error(r,
                        e.detail == ORC_D_BUCKET_OWNED ? S3E_BUCKET_ALREADY_OWNED_BY_YOU
                                                       : S3E_BUCKET_ALREADY_EXISTS,
                        NULL);
    if (rc) return s3_error_from(r, rc, &e, S3E_NO_SUCH_BUCKET);
    created(r);
}

void s3_head_bucket(s3_req *r)
{
    meta_bucket b;
    if (s3_bucket_for_owner(r, &b)) return;
    s3_reply_empty(r, 200);
    http_add_header(r->rq, "x-amz-bucket-region", b.region);
}

void s3_delete_bucket(s3_req *r)
{
    orc_err e;
    /* ORC_EAUTH (someone else's bucket) is AccessDenied, as for any request. */
    int rc = object_bucket_delete(r->svc->st, r->bucket, r->user.id, &e);
    if (rc == ORC_ECONFLICT) return s3_error(r, S3E_BUCKET_NOT_EMPTY, NULL);
    if (rc) return s3_error_from(r, rc, &e, S3E_NO_SUCH_BUCKET);
    s3_reply_empty(r, 204);
}

void s3_get_bucket_location(s3_req *r)
{
    meta_bucket b;
    if (s3_bucket_for_owner(r, &b)) return;
    orc_buf x;
    orc_buf_init(&x, 0);
    xml_decl(&x, NULL);
    xml_open(&x, "LocationConstraint", S3_NS, NULL);
    /* S3 answers an empty constraint for us-east-1. */
    if (strcmp(b.region, "us-east-1") != 0) xml_text(&x, b.region, strlen(b.region), NULL);
    xml_close(&x, "LocationConstraint", NULL);
    s3_reply_xml(r, 200, &x);
}

/* ---- listing ---- */

/* Continuation tokens are opaque to clients: base64 of a flag byte ('i' for
 * inclusive, 'x' for exclusive) and the key to continue from. */
static char *token_encode(const char *key, bool inclusive)
{
    size_t n = strlen(key) + 1;
    char *raw = orc_malloc(n + 1);
    raw[0] = inclusive ? 'i' : 'x';
    memcpy(raw + 1, key, n - 1);
    char *out = orc_malloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, (unsigned char *)raw, (int)n);
    free(raw);
    return out;
}

static char *token_decode(const char *tok, bool *inclusive)
{
    size_t n = strlen(tok);
    if (n == 0 || n % 4 || n > 4 * (META_KEY_MAX + 3)) return NULL;
    unsigned char *raw = orc_malloc(n);
    int m = EVP_DecodeBlock(raw, (const unsigned char *)tok, (int)n);
    if (m < 1) {
        free(raw);
        return NULL;
    }
    while (m > 0 && n && tok[--n] == '=')
        m--; /* EVP_DecodeBlock counts padding */
    if (m < 1 || (raw[0] != 'i' && raw[0] != 'x') || memchr(raw + 1, 0, (size_t)m - 1)) {
        free(raw);
        return NULL;
    }
    *inclusive = raw[0] == 'i';
    char *key = orc_strndup((char *)raw + 1, (size_t)m - 1);
    free(raw);
    return key;
}

static int parse_max_keys(const char *s, size_t *out)
{
    size_t v = 0;
    if (!s) return 0;
    if (!*s) return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        if (v < 100000) v = v * 10 + (size_t)(*s - '0');
    }
    *out = v > LIST_MAX_KEYS ? LIST_MAX_KEYS : v;
    return 0;
}

struct list_q {
    char *prefix, *delimiter, *start_after, *token, *marker, *max_keys, *encoding, *list_type;
};

static void list_q_free(struct list_q *q)
{
    free(q->prefix), free(q->delimiter), free(q->start_after), free(q->token);
    free(q->marker), free(q->max_keys), free(q->encoding), free(q->list_type);
}

/* owner: the bucket's owner (objects in a bucket all belong to it), or NULL
 * to leave Owner out (ListObjectsV2 without fetch-owner=true). */
static void contents_xml(orc_buf *b, const meta_object *o, const char *cls, bool url,
                         const meta_user *owner)
{
    char when[32], etag[72];
    orc_time_iso8601(o->mtime_ms, when);
    snprintf(etag, sizeof(etag), "\"%s\"", o->etag);
    xml_open(b, "Contents", NULL, NULL);
    s3_text_elem(b, "Key", o->key, url);
    xml_elem(b, "LastModified", when, NULL);
    xml_elem(b, "ETag", etag, NULL);
    xml_elemf(b, NULL, "Size", "%llu", (unsigned long long)o->size);
    xml_elem(b, "StorageClass", cls, NULL);
    if (owner) owner_xml(b, owner);
    xml_close(b, "Contents", NULL);
}

void s3_list_objects(s3_req *r)
{
    meta_bucket bk;
    struct list_q q = {
        s3_query_get(r, "prefix"),        s3_query_get(r, "delimiter"),
        s3_query_get(r, "start-after"),   s3_query_get(r, "continuation-token"),
        s3_query_get(r, "marker"),        s3_query_get(r, "max-keys"),
        s3_query_get(r, "encoding-type"), s3_query_get(r, "list-type"),
    };
    bool v2 = q.list_type && strcmp(q.list_type, "2") == 0, url = false;
    char *fo = s3_query_get(r, "fetch-owner");
    bool fetch_owner = fo && !strcmp(fo, "true");
    free(fo);
    object_list_args a = {q.prefix ? q.prefix : "", q.delimiter, NULL, false, LIST_MAX_KEYS};
    object_list_result res = {0};
    char *from = NULL;
    orc_err e;
    orc_buf b;
    orc_buf_init(&b, 0);

    if (s3_bucket_for_owner(r, &bk)) goto done;
    if (q.list_type && !v2) {
        s3_error(r, S3E_INVALID_ARGUMENT, "Invalid list-type.");
        goto done;
    }
    if (parse_max_keys(q.max_keys, &a.max_keys)) {
        s3_error(r, S3E_INVALID_ARGUMENT,
                 "Provided max-keys not an integer or within integer range");
        goto done;
    }
    if (q.encoding) {
        if (strcmp(q.encoding, "url") != 0) {
            s3_error(r, S3E_INVALID_ARGUMENT, "Invalid Encoding Method specified in Request");
            goto done;
        }
        url = true;
    }
    if (v2 && q.token && *q.token) { /* an empty token is treated as absent, as by S3 */
        if (!(from = token_decode(q.token, &a.start_inclusive))) {
            s3_error(r, S3E_INVALID_ARGUMENT, "The continuation token provided is incorrect");
            goto done;
        }
        a.start = from;
    } else if (v2 && q.start_after && *q.start_after) {
        a.start = q.start_after;
    } else if (!v2 && q.marker && *q.marker) {
        a.start = q.marker;
    }
    int rc = object_list(r->svc->st, bk.id, &a, &res, &e);
    if (rc) {
        s3_error_from(r, rc, &e, S3E_NO_SUCH_BUCKET);
        goto done;
    }

    xml_decl(&b, NULL);
    xml_open(&b, "ListBucketResult", S3_NS, NULL);
    xml_elem(&b, "Name", r->bucket, NULL);
    s3_text_elem(&b, "Prefix", a.prefix, url);
    if (v2) {
        if (q.start_after) s3_text_elem(&b, "StartAfter", q.start_after, url);
        if (q.token) xml_elem(&b, "ContinuationToken", q.token, NULL);
        xml_elemf(&b, NULL, "KeyCount", "%zu", res.n);
    } else {
        s3_text_elem(&b, "Marker", q.marker ? q.marker : "", url);
    }
    xml_elemf(&b, NULL, "MaxKeys", "%zu", a.max_keys);
    if (q.delimiter && *q.delimiter) s3_text_elem(&b, "Delimiter", q.delimiter, url);
    if (url) xml_elem(&b, "EncodingType", "url", NULL);
    xml_elem(&b, "IsTruncated", res.truncated ? "true" : "false", NULL);
    if (res.truncated && v2) {
        char *tok = token_encode(res.next, res.next_inclusive);
        xml_elem(&b, "NextContinuationToken", tok, NULL);
        free(tok);
    } else if (res.truncated && q.delimiter && *q.delimiter && res.n) {
        /* v1 gives NextMarker only with a delimiter: the last key or prefix. */
        object_list_entry *last = &res.entries[res.n - 1];
        s3_text_elem(&b, "NextMarker", last->is_prefix ? last->prefix : last->obj.key, url);
    }
    for (size_t i = 0; i < res.n; i++)
        if (!res.entries[i].is_prefix)
            contents_xml(&b, &res.entries[i].obj,
                         object_class_name(r->svc->st, res.entries[i].obj.storage_class), url,
                         !v2 || fetch_owner ? &r->user : NULL);
    for (size_t i = 0; i < res.n; i++) {
        if (!res.entries[i].is_prefix) continue;
        xml_open(&b, "CommonPrefixes", NULL, NULL);
        s3_text_elem(&b, "Prefix", res.entries[i].prefix, url);
        xml_close(&b, "CommonPrefixes", NULL);
    }
    xml_close(&b, "ListBucketResult", NULL);
    s3_reply_xml(r, 200, &b);
done:
    orc_buf_dispose(&b);
    object_list_result_dispose(&res);
    free(from);
    list_q_free(&q);
}
