/* Multipart upload operations: CreateMultipartUpload, UploadPart (streamed
 * into the PUT pipeline as a part), UploadPartCopy, CompleteMultipartUpload,
 * AbortMultipartUpload, and GET/HEAD of one part of a completed object
 * (?partNumber). The listings are in multipart_list.c, the query parsers in
 * multipart_parse.c, the checksum composition in checksum.c; what a request
 * means for the upload is object/'s (object/upload.h). */
#include "s3/s3_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3/checksum.h"
#include "s3/complete_xml.h"
#include "s3/multipart_parse.h"
#include "s3/xml.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"
#include "util/uri.h"

#define S3_NS "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""
#define PART_NUMBER_MSG S3_PART_NUMBER_MSG

static inline int parse_part_number(const char *s, int *out)
{
    return s3_mp_parse_part_number(s, out);
}

/* The upload named by ?uploadId; answers NoSuchUpload itself (non-zero). */
static int upload_of(s3_req *r, const meta_bucket *b, const char *uid, meta_upload *up)
{
    orc_err e = {0};
    int rc = object_upload_get(r->svc->st, b->id, r->key, uid, up, &e);
    if (rc) s3_error_from(r, rc, &e, S3E_NO_SUCH_UPLOAD);
    return rc;
}

/* ---- CreateMultipartUpload ---- */

void s3_create_multipart_upload(s3_req *r)
{
    meta_bucket b;
    orc_buf stored, x;
    orc_err e;
    char uid[META_UPLOAD_ID_MAX + 1];
    enum s3_checksum_alg alg;
    const char *msg;
    if (s3_bucket_for_owner(r, &b)) return;
    enum s3_error bad =
        s3_checksum_create_args(http_header(r->rq, "x-amz-checksum-algorithm"),
                                http_header(r->rq, "x-amz-checksum-type"), &alg, &msg);
    if (bad) return s3_error(r, bad, msg);
    const char *cls;
    if (s3_storage_class(r, &b, &cls)) return;
    if (s3_stored_headers(r, &stored)) return;
    if (alg) {
        stored.max += 64;
        orc_buf_printf(&stored, NULL, S3_CHECKSUM_UPLOAD_LINE "%s\n", s3_checksum_name(alg));
    }
    int rc =
        object_mp_create(r->svc->st, b.id, r->key, r->user.id, http_header(r->rq, "Content-Type"),
                         stored.len ? (const char *)stored.ptr : NULL, cls, uid, &e);
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
    uint64_t src_size = 0;
    object_put_result res;
    orc_err e = {0};
    object_mp_copy_args a = {b->id, r->key, uid, number, 0, NULL, false, 0, 0};

    if (s3_parse_copy_source(http_header(r->rq, "x-amz-copy-source"), &sbucket, &skey)) {
        s3_error(r, S3E_INVALID_ARGUMENT,
                 "Copy Source must mention the source bucket and key: sourcebucket/sourcekey");
        goto done;
    }
    if (range && s3_mp_parse_copy_range(range, &a.first, &a.last)) {
        s3_error(r, S3E_INVALID_ARGUMENT,
                 "The x-amz-copy-source-range value must be of the form bytes=first-last where "
                 "first and last are the zero-based offsets of the first and last bytes to copy");
        goto done;
    }
    if (s3_bucket_owned(r, sbucket, &sb)) goto done;
    a.src_bucket_id = sb.id;
    a.src_key = skey;
    a.has_range = range != NULL;
    int rc = object_upload_copy_part(r->svc->st, &a, &res, &src_size, &e);
    if (rc) {
        copy_failed(r, rc, &e, src_size);
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
    free(sbucket);
    free(skey);
}

/* A body checksum of another algorithm than the upload's. Non-zero: answered. */
static int part_alg_check(s3_req *r, const meta_upload *up)
{
    enum s3_checksum_alg want = s3_checksum_upload_alg(up->headers);
    const char *ckh = s3_body_checksum_header(r);
    if (!want || !ckh || s3_checksum_by_header(ckh) == want) return 0;
    char msg[160];
    snprintf(msg, sizeof(msg),
             "Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum "
             "Type: %s",
             s3_checksum_header(want) + 15, ckh + 15);
    s3_error(r, S3E_INVALID_REQUEST, msg);
    return -1;
}

/* The body's framing and Content-MD5 (into md5). Non-zero: answered. */
static int part_body_check(s3_req *r, const char *cmd5, uint8_t md5[16])
{
    if (!r->has_length) {
        if (http_header(r->rq, "Content-Length"))
            s3_error(r, S3E_INVALID_ARGUMENT, "Content-Length is not a number.");
        else
            s3_error(r, S3E_MISSING_CONTENT_LENGTH, NULL);
        return -1;
    }
    if (r->content_length > OBJECT_MAX_SIZE) {
        s3_error(r, S3E_ENTITY_TOO_LARGE, NULL);
        return -1;
    }
    if (cmd5 && s3_parse_content_md5(cmd5, md5)) {
        s3_error(r, S3E_INVALID_DIGEST, NULL);
        return -1;
    }
    return 0;
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
    if (upload_of(r, &b, uid, &up) || part_alg_check(r, &up)) goto done;
    if (http_header(r->rq, "x-amz-copy-source")) {
        copy_part(r, &b, uid, number);
        goto done;
    }
    if (part_body_check(r, cmd5, md5)) goto done;
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
    char stored[S3_CHECKSUM_STORED_MAX];
    char *uid = s3_query_get(r, "uploadId"), *pn = s3_query_get(r, "partNumber");
    int number = 0, rc = s3_bucket_for_owner(r, &b);
    if (!rc && parse_part_number(pn, &number) == 0) {
        s3_checksum_stored_text(ckn, ckv, stored);
        rc = object_upload_part_checksum(r->svc->st, b.id, r->key, uid, number, res->etag,
                                         res->mtime_ms, stored, &e);
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

/* Checks the checksums the body lists against the stored parts' and, when
 * every listed part has one of one composite-capable algorithm (the
 * upload's, if it named one), writes the object's composite
 * "x-amz-checksum-*: v-N" line to line and sets *alg. A part missing or with
 * another ETag is left to the complete itself to report. Non-zero: answered. */
static int complete_checksum(s3_req *r, int64_t bucket_id, const char *uid,
                             enum s3_checksum_alg want, const struct listed *l, orc_buf *line,
                             enum s3_checksum_alg *alg)
{
    object_upload_match m;
    orc_err e = {0};
    int fault = 0, fault_part = 0;
    *alg = S3_CK_NONE;
    int rc = object_upload_match_parts(r->svc->st, bucket_id, r->key, uid, l->parts, l->n, &m,
                                       &fault, &fault_part, &e);
    if (rc) {
        complete_failed(r, rc, &e, fault, fault_part);
        return -1;
    }
    const char **stored = orc_calloc(l->n ? l->n : 1, sizeof(*stored));
    for (size_t i = 0; i < l->n && !rc; i++) {
        const meta_part *p = m.match[i];
        const char *listed = l->body.v[i].checksum;
        if (p && listed[0] && strcmp(listed, p->checksum) != 0) {
            char msg[96];
            snprintf(msg, sizeof(msg), "The checksum of part %d does not match the part's.",
                     p->number);
            s3_error(r, S3E_INVALID_PART, msg);
            rc = -1;
        }
        stored[i] = p ? p->checksum : NULL;
    }
    char value[S3_CHECKSUM_COMPOSITE_MAX];
    if (!rc) *alg = s3_checksum_composite(stored, l->n, want, value);
    if (*alg) orc_buf_printf(line, NULL, "%s: %s\n", s3_checksum_header(*alg), value);
    free(stored);
    object_upload_match_dispose(&m);
    return rc;
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
    int rc = object_upload_get(r->svc->st, b.id, r->key, uid, &up, &e);
    if (rc == ORC_ENOTFOUND) {
        complete_again(r, &b, uid);
        goto done;
    }
    if (rc) {
        s3_error_from(r, rc, &e, S3E_NO_SUCH_UPLOAD);
        goto done;
    }
    if (complete_parts(r, &l)) goto done;
    if (complete_checksum(r, b.id, uid, s3_checksum_upload_alg(up.headers), &l, &ckline, &alg))
        goto done;
    headers = s3_checksum_object_headers(up.headers, ckline.len ? (const char *)ckline.ptr : NULL);
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
        int rc = object_upload_abort(r->svc->st, b.id, r->key, uid, &e);
        if (rc)
            s3_error_from(r, rc, &e, S3E_NO_SUCH_UPLOAD);
        else
            s3_reply_empty(r, 204);
    }
    free(uid);
}
