/* Multipart upload operations: CreateMultipartUpload, UploadPart (streamed
 * into the PUT pipeline as a part), UploadPartCopy, CompleteMultipartUpload,
 * AbortMultipartUpload, ListParts, ListMultipartUploads, and GET/HEAD of one
 * part of a completed object (?partNumber). */
#include "s3/s3_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "s3/checksum.h"
#include "s3/complete_xml.h"
#include "s3/xml.h"
#include "util/parse.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"
#include "util/uri.h"

#define S3_NS "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""
#define MP_LIST_MAX 1000
#define PART_NUMBER_MSG "Part number must be an integer between 1 and 10000, inclusive"

/* ---- small parsers of query values and headers (untrusted) ---- */

static int parse_part_number(const char *s, int *out)
{
    uint64_t v;
    if (parse_uint_max(s, META_PART_MAX, &v) || v < 1) return -1;
    *out = (int)v;
    return 0;
}

/* A max-* query value: absent keeps *out; over MP_LIST_MAX is capped. */
static int parse_max(const char *s, size_t *out)
{
    uint64_t v;
    if (!s) return 0;
    if (parse_uint_max(s, UINT32_MAX, &v)) return -1;
    *out = v > MP_LIST_MAX ? MP_LIST_MAX : (size_t)v;
    return 0;
}

/* x-amz-copy-source-range: "bytes=first-last", both given, first <= last. */
static int parse_copy_range(const char *v, uint64_t *first, uint64_t *last)
{
    char a[24], b[24];
    if (strncmp(v, "bytes=", 6) != 0) return -1;
    v += 6;
    const char *dash = strchr(v, '-');
    if (!dash || (size_t)(dash - v) >= sizeof(a) || strlen(dash + 1) >= sizeof(b)) return -1;
    memcpy(a, v, (size_t)(dash - v));
    a[dash - v] = 0;
    snprintf(b, sizeof(b), "%s", dash + 1);
    if (parse_uint_max(a, UINT64_MAX, first) || parse_uint_max(b, UINT64_MAX, last)) return -1;
    return *first <= *last ? 0 : -1;
}

/* ---- XML helpers ---- */

/* <Owner> or <Initiator> for user id `id` (the requester when it is them). */
static void user_xml(s3_req *r, orc_buf *b, const char *tag, int64_t id)
{
    meta_user u;
    char oid[65];
    const meta_user *who = &r->user;
    if (id != r->user.id && meta_user_by_id(r->svc->st->m, id, &u, NULL) == 0) who = &u;
    s3_owner_id(who, oid);
    xml_open(b, tag, NULL, NULL);
    xml_elem(b, "ID", oid, NULL);
    xml_elem(b, "DisplayName", who->name, NULL);
    xml_close(b, tag, NULL);
}

/* The upload named by ?uploadId; answers NoSuchUpload itself (non-zero). */
static int upload_of(s3_req *r, const meta_bucket *b, const char *uid, meta_upload *up)
{
    orc_err e;
    int rc =
        uid && *uid ? meta_upload_get(r->svc->st->m, b->id, r->key, uid, up, &e) : ORC_ENOTFOUND;
    if (rc) s3_error_from(r, rc, &e, S3E_NO_SUCH_UPLOAD);
    return rc;
}

/* ---- additional checksums of parts ----
 * An upload created with x-amz-checksum-algorithm keeps it as a line of its
 * stored headers (not of the object's); each part's verified checksum is
 * kept with the part as "NAME:base64" (meta_part_set_checksum); completing
 * stores S3's composite checksum, the checksum of the parts' raw checksums
 * followed by "-N", as the object's x-amz-checksum-* header. */
#define MP_ALG_LINE "x-amz-checksum-algorithm: "

/* The algorithm an upload was created with, or S3_CK_NONE. */
static enum s3_checksum_alg upload_alg(const meta_upload *up)
{
    for (const char *l = up->headers; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) : strlen(l), pl = sizeof(MP_ALG_LINE) - 1;
        if (n > pl && n - pl < 16 && memcmp(l, MP_ALG_LINE, pl) == 0) {
            char name[16];
            memcpy(name, l + pl, n - pl);
            name[n - pl] = 0;
            return s3_checksum_by_name(name);
        }
        l += nl ? n + 1 : n;
    }
    return S3_CK_NONE;
}

/* x-amz-checksum-algorithm and x-amz-checksum-type of CreateMultipartUpload.
 * Only composite checksums are kept (S3's full-object CRCs of multipart
 * uploads would need the parts' CRCs combined). Non-zero: answered. */
static int create_checksum(s3_req *r, enum s3_checksum_alg *alg)
{
    const char *v = http_header(r->rq, "x-amz-checksum-algorithm");
    const char *type = http_header(r->rq, "x-amz-checksum-type");
    *alg = v ? s3_checksum_by_name(v) : S3_CK_NONE;
    if (v && *alg == S3_CK_NONE) {
        s3_error(r, S3E_INVALID_REQUEST,
                 "Checksum algorithm provided is unsupported. Please try again with any of the "
                 "valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]");
        return -1;
    }
    if (type && !v) {
        s3_error(r, S3E_INVALID_REQUEST,
                 "The x-amz-checksum-type header can only be used with the "
                 "x-amz-checksum-algorithm header.");
        return -1;
    }
    if ((type && strcasecmp(type, "COMPOSITE") != 0) || *alg == S3_CK_CRC64NVME) {
        s3_error(r, S3E_NOT_IMPLEMENTED,
                 "Only COMPOSITE checksums (CRC32, CRC32C, SHA1, SHA256) of multipart uploads "
                 "are supported.");
        return -1;
    }
    return 0;
}

/* A part's stored checksum "NAME:base64" into its algorithm and raw value;
 * S3_CK_NONE if it has none. */
static enum s3_checksum_alg part_checksum(const char *stored, uint8_t raw[S3_CHECKSUM_MAX])
{
    const char *colon = strchr(stored, ':');
    char name[16];
    if (!colon || (size_t)(colon - stored) >= sizeof(name)) return S3_CK_NONE;
    memcpy(name, stored, (size_t)(colon - stored));
    name[colon - stored] = 0;
    enum s3_checksum_alg alg = s3_checksum_by_name(name);
    if (alg == S3_CK_NONE || s3_checksum_decode(alg, colon + 1, raw)) return S3_CK_NONE;
    return alg;
}

/* ---- CreateMultipartUpload ---- */

void s3_create_multipart_upload(s3_req *r)
{
    meta_bucket b;
    orc_buf stored, x;
    orc_err e;
    char uid[META_UPLOAD_ID_MAX + 1];
    enum s3_checksum_alg alg;
    if (s3_bucket_for_owner(r, &b) || create_checksum(r, &alg) || s3_stored_headers(r, &stored))
        return;
    if (alg) {
        stored.max += 64;
        orc_buf_printf(&stored, NULL, MP_ALG_LINE "%s\n", s3_checksum_name(alg));
    }
    int rc =
        object_mp_create(r->svc->st, b.id, r->key, r->user.id, http_header(r->rq, "Content-Type"),
                         stored.len ? (const char *)stored.ptr : NULL, uid, &e);
    orc_buf_dispose(&stored);
    if (rc) return s3_error_from(r, rc, &e, S3E_NO_SUCH_BUCKET);
    orc_buf_init(&x, 0);
    xml_decl(&x, NULL);
    xml_open(&x, "InitiateMultipartUploadResult", S3_NS, NULL);
    xml_elem(&x, "Bucket", r->bucket, NULL);
    xml_elem(&x, "Key", r->key, NULL);
    xml_elem(&x, "UploadId", uid, NULL);
    xml_close(&x, "InitiateMultipartUploadResult", NULL);
    s3_reply_xml(r, 200, &x);
    if (alg) {
        http_add_header(r->rq, "x-amz-checksum-algorithm", s3_checksum_name(alg));
        http_add_header(r->rq, "x-amz-checksum-type", "COMPOSITE");
    }
}

/* ---- UploadPart and UploadPartCopy ---- */

static void copy_failed(s3_req *r, int rc, const orc_err *e, uint64_t src_size)
{
    char msg[128];
    if (rc == ORC_EINVAL && e->detail == ORC_D_INVALID_RANGE) {
        /* A well-formed range past the source's end: 416, as S3 answers it
         * (a malformed one is InvalidArgument, before the copy starts). */
        snprintf(msg, sizeof(msg), "Range specified is not valid for source object of size: %llu",
                 (unsigned long long)src_size);
        return s3_error(r, S3E_INVALID_RANGE, msg);
    }
    /* An edge chunk with no good copy: 500, as before the copy's own
     * ECORRUPT details (there are none here). NoSuchUpload and EntityTooLarge
     * are details of the code (s3_error_for). */
    if (rc == ORC_ECORRUPT) return s3_error_from(r, ORC_EINTERNAL, e, S3E_NO_SUCH_KEY);
    s3_error_from(r, rc, e, S3E_NO_SUCH_KEY);
}

static void copy_part(s3_req *r, const meta_bucket *b, const char *uid, int number)
{
    char *sbucket = NULL, *skey = NULL;
    const char *range = http_header(r->rq, "x-amz-copy-source-range");
    meta_bucket sb;
    meta_object so = {0};
    object_put_result res;
    orc_err e = {0};
    object_mp_copy_args a = {b->id, r->key, uid, number, 0, NULL, false, 0, 0};

    if (s3_parse_copy_source(http_header(r->rq, "x-amz-copy-source"), &sbucket, &skey)) {
        s3_error(r, S3E_INVALID_ARGUMENT,
                 "Copy Source must mention the source bucket and key: sourcebucket/sourcekey");
        goto done;
    }
    if (range && parse_copy_range(range, &a.first, &a.last)) {
        s3_error(r, S3E_INVALID_ARGUMENT,
                 "The x-amz-copy-source-range value must be of the form bytes=first-last where "
                 "first and last are the zero-based offsets of the first and last bytes to copy");
        goto done;
    }
    if (s3_bucket_owned(r, sbucket, &sb)) goto done;
    int rc;
    a.src_bucket_id = sb.id;
    a.src_key = skey;
    a.has_range = range != NULL;
    rc = object_mp_copy_part(r->svc->st, &a, &res, &e);
    if (rc) {
        /* The source's size, for the message S3 gives on a bad range. */
        if (rc == ORC_EINVAL)
            meta_object_get(r->svc->st->m, sb.id, skey, false, 0, 0, &so, NULL, NULL, NULL);
        copy_failed(r, rc, &e, so.size);
        goto done;
    }
    char etag[72], when[32];
    orc_buf x;
    snprintf(etag, sizeof(etag), "\"%s\"", res.etag);
    orc_time_iso8601(res.mtime_ms, when);
    orc_buf_init(&x, 0);
    xml_decl(&x, NULL);
    xml_open(&x, "CopyPartResult", S3_NS, NULL);
    xml_elem(&x, "ETag", etag, NULL);
    xml_elem(&x, "LastModified", when, NULL);
    xml_close(&x, "CopyPartResult", NULL);
    s3_reply_xml(r, 200, &x);
done:
    meta_object_dispose(&so);
    free(sbucket);
    free(skey);
}

void s3_upload_part_begin(s3_req *r)
{
    meta_bucket b;
    meta_upload up = {0};
    uint8_t md5[16];
    int number = 0;
    const char *cmd5 = http_header(r->rq, "Content-MD5");
    char *uid = s3_query_get(r, "uploadId"), *pn = s3_query_get(r, "partNumber");

    if (s3_bucket_for_owner(r, &b)) goto done;
    if (parse_part_number(pn, &number)) {
        s3_error(r, S3E_INVALID_ARGUMENT, PART_NUMBER_MSG);
        goto done;
    }
    /* Before the body: an unknown upload is refused without reading it. */
    if (upload_of(r, &b, uid, &up)) goto done;
    enum s3_checksum_alg want = upload_alg(&up);
    const char *ckh = s3_body_checksum_header(r);
    if (want && ckh && s3_checksum_by_header(ckh) != want) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum "
                 "Type: %s",
                 s3_checksum_header(want) + 15, ckh + 15);
        s3_error(r, S3E_INVALID_REQUEST, msg);
        goto done;
    }
    if (http_header(r->rq, "x-amz-copy-source")) {
        copy_part(r, &b, uid, number);
        goto done;
    }
    if (!r->has_length) {
        if (http_header(r->rq, "Content-Length"))
            s3_error(r, S3E_INVALID_ARGUMENT, "Content-Length is not a number.");
        else
            s3_error(r, S3E_MISSING_CONTENT_LENGTH, NULL);
        goto done;
    }
    if (r->content_length > OBJECT_MAX_SIZE) {
        s3_error(r, S3E_ENTITY_TOO_LARGE, NULL);
        goto done;
    }
    if (cmd5 && s3_parse_content_md5(cmd5, md5)) {
        s3_error(r, S3E_INVALID_DIGEST, NULL);
        goto done;
    }
    object_put_args a = {
        .bucket_id = b.id,
        .key = r->key,
        .content_length = r->content_length,
        .want_md5 = cmd5 ? md5 : NULL,
        .want_sha256 = r->auth.payload_sha256[0] ? r->auth.payload_sha256 : NULL,
        .upload_id = uid,
        .part_number = number,
        .wake = s3_wake,
        .wake_arg = r->rq,
        .commit = s3_commit_of(r),
    };
    r->put = object_put_begin(r->svc->st, &a);
done:
    meta_upload_dispose(&up);
    free(uid);
    free(pn);
}

static void part_failed(s3_req *r, int rc, const orc_err *e)
{
    /* IncompleteBody, BadDigest and XAmzContentSHA256Mismatch are details;
     * a bare ENOTFOUND: the upload was aborted while the body came in. */
    s3_error_from(r, rc, e, S3E_NO_SUCH_UPLOAD);
}

/* Records the part's verified checksum with it. Non-zero: answered. */
static int keep_part_checksum(s3_req *r, const object_put_result *res, const char *ckn,
                              const char *ckv)
{
    meta_bucket b;
    orc_err e = {0};
    char stored[64], *uid = s3_query_get(r, "uploadId"), *pn = s3_query_get(r, "partNumber");
    int number = 0, rc = s3_bucket_for_owner(r, &b);
    if (!rc && parse_part_number(pn, &number) == 0) {
        snprintf(stored, sizeof(stored), "%s:%s", s3_checksum_name(s3_checksum_by_header(ckn)),
                 ckv);
        rc = meta_part_set_checksum(r->svc->st->m, b.id, r->key, uid, number, res->etag,
                                    res->mtime_ms, stored, &e);
        /* Replaced by a newer upload of the part number meanwhile: that one
         * keeps its own checksum; this response still describes this body. */
        if (rc == ORC_ENOTFOUND) rc = 0;
        if (rc) s3_error_from(r, rc, &e, S3E_NO_SUCH_UPLOAD);
    }
    free(uid);
    free(pn);
    return rc;
}

void s3_upload_part_end(s3_req *r)
{
    object_put_result res;
    orc_err e = {0};
    if (!r->put) return s3_error(r, S3E_INTERNAL_ERROR, NULL);
    if (r->body_rc) return part_failed(r, r->body_rc, &r->body_err);
    int rc = object_put_finish(r->put, &res, &e);
    if (rc) return part_failed(r, rc, &e);
    const char *ckv, *ckn = s3_body_checksum(r, &ckv); /* verified by s3_body_end */
    if (ckn && keep_part_checksum(r, &res, ckn, ckv)) return;
    char etag[72];
    snprintf(etag, sizeof(etag), "\"%s\"", res.etag);
    s3_reply_empty(r, 200);
    http_add_header(r->rq, "ETag", etag);
    if (ckn) http_add_header(r->rq, ckn, ckv);
}

/* ---- CompleteMultipartUpload ---- */

/* What the body lists (complete_xml.c), and the references the complete
 * takes, pointing into it. */
struct listed {
    s3_complete_list body;
    meta_part_ref *parts;
    size_t n;
};

static void listed_free(struct listed *l)
{
    s3_complete_list_free(&l->body);
    free(l->parts);
    memset(l, 0, sizeof(*l));
}

/* Routes' begin for CompleteMultipartUpload: its body may list 10,000 parts,
 * more than the XML bodies' usual cap. */
void s3_complete_multipart_begin(s3_req *r)
{
    r->body.max = S3_COMPLETE_MAX_BODY;
}

/* The <Part> list of the body. Non-zero: answered. */
static int complete_parts(s3_req *r, struct listed *l)
{
    memset(l, 0, sizeof(*l));
    enum s3_error bad = s3_complete_parse((const char *)r->body.ptr, r->body.len, &l->body);
    if (bad) {
        s3_error(r, bad, NULL);
        listed_free(l);
        return -1;
    }
    l->n = l->body.n;
    l->parts = orc_calloc(l->n, sizeof(*l->parts));
    for (size_t i = 0; i < l->n; i++)
        l->parts[i] = (meta_part_ref){l->body.v[i].number, l->body.v[i].etag};
    return 0;
}

static const meta_part *stored_part(const meta_part *ps, size_t n, int number)
{
    size_t lo = 0, hi = n;
    while (lo < hi) { /* ps ascends by number */
        size_t mid = lo + (hi - lo) / 2;
        if (ps[mid].number == number) return &ps[mid];
        if (ps[mid].number < number)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Checks the checksums the body lists against the parts' and, when every
 * listed part has one of one composite-capable algorithm (the upload's, if
 * it named one), appends the object's composite "x-amz-checksum-*: v-N"
 * line to line and sets *alg. A part missing or with another ETag is left to
 * the complete itself to report. Non-zero: answered. */
static int complete_checksum(s3_req *r, int64_t bucket_id, const char *uid,
                             enum s3_checksum_alg want, const struct listed *l, orc_buf *line,
                             enum s3_checksum_alg *alg)
{
    meta_part *ps = NULL;
    size_t np = 0;
    orc_err e = {0};
    s3_checksum ck = {0};
    bool all = true;
    *alg = S3_CK_NONE;
    int rc = meta_part_list(r->svc->st->m, bucket_id, r->key, uid, 0, META_PART_MAX, &ps, &np, &e);
    if (rc) {
        s3_error_from(r, rc, &e, S3E_NO_SUCH_UPLOAD);
        return -1;
    }
    for (size_t i = 0; i < l->n; i++) {
        const meta_part *p = stored_part(ps, np, l->parts[i].number);
        uint8_t raw[S3_CHECKSUM_MAX];
        const s3_complete_part *lp = &l->body.v[i];
        if (!p || strcmp(p->etag, lp->etag) != 0) {
            all = false;
            continue;
        }
        if (lp->checksum[0] && strcmp(lp->checksum, p->checksum) != 0) {
            char msg[96];
            snprintf(msg, sizeof(msg), "The checksum of part %d does not match the part's.",
                     p->number);
            if (*alg) s3_checksum_dispose(&ck);
            free(ps);
            s3_error(r, S3E_INVALID_PART, msg);
            return -1;
        }
        enum s3_checksum_alg a = part_checksum(p->checksum, raw);
        if (!all || a == S3_CK_NONE || a == S3_CK_CRC64NVME || (*alg && a != *alg) ||
            (want && a != want)) {
            all = false;
            continue;
        }
        if (!*alg) s3_checksum_init(&ck, *alg = a);
        s3_checksum_update(&ck, raw, s3_checksum_size(a));
    }
    free(ps);
    if (!*alg) return 0;
    uint8_t sum[S3_CHECKSUM_MAX];
    char b64[S3_CHECKSUM_B64_MAX];
    s3_checksum_final(&ck, sum, b64);
    if (!all) {
        *alg = S3_CK_NONE;
        return 0;
    }
    orc_buf_printf(line, NULL, "%s: %s-%zu\n", s3_checksum_header(*alg), b64, l->n);
    return 0;
}

/* The completed object's stored headers: the upload's, without its
 * algorithm line, and the composite checksum line. NULL if none. */
static char *complete_headers(const meta_upload *up, const orc_buf *line)
{
    orc_buf b;
    orc_buf_init(&b, 0);
    for (const char *l = up->headers; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) + 1 : strlen(l);
        if (strncmp(l, MP_ALG_LINE, sizeof(MP_ALG_LINE) - 1) != 0) orc_buf_append(&b, l, n, NULL);
        l += n;
    }
    if (line->len) orc_buf_append(&b, line->ptr, line->len, NULL);
    /* "" rather than NULL when the upload had lines: NULL keeps the upload's. */
    if (b.len || (up->headers && *up->headers)) {
        orc_buf_append(&b, "", 0, NULL);
        return (char *)orc_buf_take(&b, NULL);
    }
    orc_buf_dispose(&b);
    return NULL;
}

static void complete_failed(s3_req *r, int rc, const orc_err *e, int fault, int part)
{
    char msg[96];
    switch (fault) {
    case META_COMPLETE_BAD_ORDER:
        return s3_error(r, S3E_INVALID_PART_ORDER, NULL);
    case META_COMPLETE_NO_PART:
        return s3_error(r, S3E_INVALID_PART, NULL);
    case META_COMPLETE_TOO_SMALL:
        snprintf(msg, sizeof(msg),
                 "Your proposed upload is smaller than the minimum allowed size (part %d).", part);
        return s3_error(r, S3E_ENTITY_TOO_SMALL, msg);
    }
    s3_error_from(r, rc, e, S3E_NO_SUCH_UPLOAD);
}

static void complete_result(s3_req *r, const object_put_result *res, const orc_buf *ckline,
                            enum s3_checksum_alg alg)
{
    const char *host = http_header(r->rq, "Host");
    char etag[72];
    orc_buf x, loc;
    snprintf(etag, sizeof(etag), "\"%s\"", res->etag);
    orc_buf_init(&loc, 0);
    orc_buf_printf(&loc, NULL, "http://%s/%s/", host ? host : "localhost", r->bucket);
    uri_encode(&loc, r->key, strlen(r->key), true, NULL);
    orc_buf_init(&x, 0);
    xml_decl(&x, NULL);
    xml_open(&x, "CompleteMultipartUploadResult", S3_NS, NULL);
    xml_elem(&x, "Location", (const char *)loc.ptr, NULL);
    xml_elem(&x, "Bucket", r->bucket, NULL);
    xml_elem(&x, "Key", r->key, NULL);
    xml_elem(&x, "ETag", etag, NULL);
    if (alg) { /* ckline is "x-amz-checksum-NAME: VALUE\n" */
        const char *v = strstr((const char *)ckline->ptr, ": ") + 2;
        char el[32];
        snprintf(el, sizeof(el), "Checksum%s", s3_checksum_name(alg));
        xml_elemf(&x, NULL, el, "%.*s", (int)strcspn(v, "\n"), v);
        xml_elem(&x, "ChecksumType", "COMPOSITE", NULL);
    }
    xml_close(&x, "CompleteMultipartUploadResult", NULL);
    orc_buf_dispose(&loc);
    s3_reply_xml(r, 200, &x);
}

/* The upload is gone: if it completed lately with this very part list, the
 * request is a retry (its first answer lost) and gets that answer again, as
 * S3 gives it; anything else is NoSuchUpload. The composite checksum is not
 * repeated: the parts it came from are gone. */
static void complete_again(s3_req *r, const meta_bucket *b, const char *uid)
{
    struct listed l;
    object_put_result res;
    orc_buf none;
    orc_err e = {0};
    if (!uid || !*uid) return s3_error(r, S3E_NO_SUCH_UPLOAD, NULL);
    if (complete_parts(r, &l)) return;
    int rc = object_mp_completed(r->svc->st, b->id, r->key, uid, l.parts, l.n, &res, &e);
    listed_free(&l);
    if (rc) return s3_error_from(r, rc, &e, S3E_NO_SUCH_UPLOAD);
    orc_buf_init(&none, 0);
    complete_result(r, &res, &none, S3_CK_NONE);
}

void s3_complete_multipart_upload(s3_req *r)
{
    meta_bucket b;
    meta_upload up = {0};
    struct listed l = {0};
    int fault = 0, fault_part = 0;
    object_put_result res;
    orc_err e = {0};
    orc_buf ckline;
    enum s3_checksum_alg alg = S3_CK_NONE;
    char *uid = s3_query_get(r, "uploadId"), *headers = NULL;
    orc_buf_init(&ckline, 0);

    if (s3_bucket_for_owner(r, &b) || s3_check_xml_body(r)) goto done;
    int rc =
        uid && *uid ? meta_upload_get(r->svc->st->m, b.id, r->key, uid, &up, &e) : ORC_ENOTFOUND;
    if (rc == ORC_ENOTFOUND) {
        complete_again(r, &b, uid);
        goto done;
    }
    if (rc) {
        s3_error_from(r, rc, &e, S3E_NO_SUCH_UPLOAD);
        goto done;
    }
    if (complete_parts(r, &l)) goto done;
    for (size_t i = 0; i < l.n; i++) {
        if (l.parts[i].number < 1 || l.parts[i].number > META_PART_MAX) { /* cannot exist */
            s3_error(r, S3E_INVALID_PART, NULL);
            goto done;
        }
    }
    if (complete_checksum(r, b.id, uid, upload_alg(&up), &l, &ckline, &alg)) goto done;
    headers = complete_headers(&up, &ckline);
    object_commit cm = s3_commit_of(r);
    rc = object_mp_complete(r->svc->st, b.id, r->key, uid, l.parts, l.n, headers, &cm, &res, &fault,
                            &fault_part, &e);
    if (rc) {
        complete_failed(r, rc, &e, fault, fault_part);
        goto done;
    }
    complete_result(r, &res, &ckline, alg);
done:
    meta_upload_dispose(&up);
    listed_free(&l);
    orc_buf_dispose(&ckline);
    free(headers);
    free(uid);
}

/* ---- AbortMultipartUpload ---- */

void s3_abort_multipart_upload(s3_req *r)
{
    meta_bucket b;
    orc_err e = {0};
    char *uid = s3_query_get(r, "uploadId");
    if (!s3_bucket_for_owner(r, &b)) {
        int rc =
            uid && *uid ? meta_upload_abort(r->svc->st->m, b.id, r->key, uid, &e) : ORC_ENOTFOUND;
        if (rc)
            s3_error_from(r, rc, &e, S3E_NO_SUCH_UPLOAD);
        else
            s3_reply_empty(r, 204);
    }
    free(uid);
}

/* ---- ListParts ---- */

static void parts_xml(s3_req *r, orc_buf *x, const meta_upload *up, const meta_part *ps, size_t n,
                      size_t max, int marker, bool truncated)
{
    xml_decl(x, NULL);
    xml_open(x, "ListPartsResult", S3_NS, NULL);
    xml_elem(x, "Bucket", r->bucket, NULL);
    xml_elem(x, "Key", r->key, NULL);
    xml_elem(x, "UploadId", up->upload_id, NULL);
    user_xml(r, x, "Initiator", up->initiator);
    user_xml(r, x, "Owner", r->user.id);
    xml_elem(x, "StorageClass", "STANDARD", NULL);
    enum s3_checksum_alg alg = upload_alg(up);
    if (alg) {
        xml_elem(x, "ChecksumAlgorithm", s3_checksum_name(alg), NULL);
        xml_elem(x, "ChecksumType", "COMPOSITE", NULL);
    }
    xml_elemf(x, NULL, "PartNumberMarker", "%d", marker);
    xml_elemf(x, NULL, "NextPartNumberMarker", "%d", n ? ps[n - 1].number : 0);
    xml_elemf(x, NULL, "MaxParts", "%zu", max);
    xml_elem(x, "IsTruncated", truncated ? "true" : "false", NULL);
    for (size_t i = 0; i < n; i++) {
        char when[32], etag[72];
        orc_time_iso8601(ps[i].mtime_ms, when);
        snprintf(etag, sizeof(etag), "\"%s\"", ps[i].etag);
        xml_open(x, "Part", NULL, NULL);
        xml_elemf(x, NULL, "PartNumber", "%d", ps[i].number);
        xml_elem(x, "LastModified", when, NULL);
        xml_elem(x, "ETag", etag, NULL);
        xml_elemf(x, NULL, "Size", "%llu", (unsigned long long)ps[i].size);
        uint8_t raw[S3_CHECKSUM_MAX];
        enum s3_checksum_alg a = part_checksum(ps[i].checksum, raw);
        if (a) {
            char el[32];
            snprintf(el, sizeof(el), "Checksum%s", s3_checksum_name(a));
            xml_elem(x, el, strchr(ps[i].checksum, ':') + 1, NULL);
        }
        xml_close(x, "Part", NULL);
    }
    xml_close(x, "ListPartsResult", NULL);
}

void s3_list_parts(s3_req *r)
{
    meta_bucket b;
    meta_upload up = {0};
    meta_part *ps = NULL;
    size_t n = 0, max = MP_LIST_MAX;
    uint64_t marker = 0;
    orc_err e = {0};
    char *uid = s3_query_get(r, "uploadId"), *mp = s3_query_get(r, "max-parts");
    char *pm = s3_query_get(r, "part-number-marker");

    if (s3_bucket_for_owner(r, &b)) goto done;
    if (parse_max(mp, &max)) {
        s3_error(r, S3E_INVALID_ARGUMENT, "max-parts must be an integer between 0 and 2147483647");
        goto done;
    }
    if (pm && *pm && parse_uint_max(pm, INT32_MAX, &marker)) {
        s3_error(r, S3E_INVALID_ARGUMENT, "part-number-marker must be a non-negative integer");
        goto done;
    }
    if (marker > META_PART_MAX) marker = META_PART_MAX;
    if (upload_of(r, &b, uid, &up)) goto done;
    /* One more than asked tells whether the list is truncated. */
    int rc = meta_part_list(r->svc->st->m, b.id, r->key, uid, (int)marker, max + 1, &ps, &n, &e);
    if (rc) {
        s3_error_from(r, rc, &e, S3E_NO_SUCH_UPLOAD);
        goto done;
    }
    bool truncated = n > max;
    orc_buf x;
    orc_buf_init(&x, 0);
    parts_xml(r, &x, &up, ps, truncated ? max : n, max, (int)marker, truncated);
    s3_reply_xml(r, 200, &x);
done:
    meta_upload_dispose(&up);
    free(ps);
    free(uid);
    free(mp);
    free(pm);
}

/* ---- ListMultipartUploads ---- */

struct uploads_q {
    char *prefix, *delimiter, *key_marker, *upload_marker, *max, *encoding;
};

static void uploads_xml(s3_req *r, orc_buf *x, const struct uploads_q *q, size_t max,
                        const object_mp_list_result *res, bool url)
{
    xml_decl(x, NULL);
    xml_open(x, "ListMultipartUploadsResult", S3_NS, NULL);
    xml_elem(x, "Bucket", r->bucket, NULL);
    s3_text_elem(x, "KeyMarker", q->key_marker ? q->key_marker : "", url);
    xml_elem(x, "UploadIdMarker", q->upload_marker ? q->upload_marker : "", NULL);
    if (res->truncated) {
        s3_text_elem(x, "NextKeyMarker", res->next_key ? res->next_key : "", url);
        xml_elem(x, "NextUploadIdMarker", res->next_upload_id ? res->next_upload_id : "", NULL);
    }
    if (q->prefix) s3_text_elem(x, "Prefix", q->prefix, url);
    if (q->delimiter && *q->delimiter) s3_text_elem(x, "Delimiter", q->delimiter, url);
    xml_elemf(x, NULL, "MaxUploads", "%zu", max);
    if (url) xml_elem(x, "EncodingType", "url", NULL);
    xml_elem(x, "IsTruncated", res->truncated ? "true" : "false", NULL);
    for (size_t i = 0; i < res->n; i++) {
        const meta_upload *u = &res->entries[i].up;
        char when[32];
        if (res->entries[i].is_prefix) continue;
        orc_time_iso8601(u->created_ms, when);
        xml_open(x, "Upload", NULL, NULL);
        s3_text_elem(x, "Key", u->key, url);
        xml_elem(x, "UploadId", u->upload_id, NULL);
        user_xml(r, x, "Initiator", u->initiator);
        user_xml(r, x, "Owner", r->user.id);
        xml_elem(x, "StorageClass", "STANDARD", NULL);
        xml_elem(x, "Initiated", when, NULL);
        xml_close(x, "Upload", NULL);
    }
    for (size_t i = 0; i < res->n; i++) {
        if (!res->entries[i].is_prefix) continue;
        xml_open(x, "CommonPrefixes", NULL, NULL);
        s3_text_elem(x, "Prefix", res->entries[i].prefix, url);
        xml_close(x, "CommonPrefixes", NULL);
    }
    xml_close(x, "ListMultipartUploadsResult", NULL);
}

void s3_list_multipart_uploads(s3_req *r)
{
    meta_bucket b;
    struct uploads_q q = {s3_query_get(r, "prefix"),      s3_query_get(r, "delimiter"),
                          s3_query_get(r, "key-marker"),  s3_query_get(r, "upload-id-marker"),
                          s3_query_get(r, "max-uploads"), s3_query_get(r, "encoding-type")};
    object_mp_list_result res = {0};
    size_t max = MP_LIST_MAX;
    orc_err e = {0};

    if (s3_bucket_for_owner(r, &b)) goto done;
    if (parse_max(q.max, &max)) {
        s3_error(r, S3E_INVALID_ARGUMENT, "max-uploads must be an integer");
        goto done;
    }
    if (q.encoding && strcmp(q.encoding, "url") != 0) {
        s3_error(r, S3E_INVALID_ARGUMENT, "Invalid Encoding Method specified in Request");
        goto done;
    }
    /* S3 ignores upload-id-marker without key-marker. */
    object_mp_list_args a = {q.prefix, q.delimiter, q.key_marker,
                             q.key_marker && *q.key_marker ? q.upload_marker : NULL, max};
    int rc = object_mp_list(r->svc->st, b.id, &a, &res, &e);
    if (rc) {
        s3_error_from(r, rc, &e, S3E_NO_SUCH_BUCKET);
        goto done;
    }
    orc_buf x;
    orc_buf_init(&x, 0);
    uploads_xml(r, &x, &q, max, &res, q.encoding != NULL);
    s3_reply_xml(r, 200, &x);
done:
    object_mp_list_result_dispose(&res);
    free(q.prefix), free(q.delimiter), free(q.key_marker), free(q.upload_marker);
    free(q.max), free(q.encoding);
}
