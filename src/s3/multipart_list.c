/* ListParts and ListMultipartUploads: their query values and XML. Which
 * parts and uploads are listed is object/'s (object_upload_parts,
 * object_mp_list). */
#include "s3/s3_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3/checksum.h"
#include "s3/multipart_parse.h"
#include "s3/xml.h"
#include "util/parse.h"
#include "util/time.h"

#define S3_NS "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""

/* <Owner> or <Initiator> for user id `id` (the requester when it is them). */
static void user_xml(s3_req *r, orc_buf *b, const char *tag, int64_t id)
{
    meta_user u;
    char oid[65];
    const meta_user *who = &r->user;
    if (id != r->user.id && object_upload_user(r->svc->st, id, &u, NULL) == 0) who = &u;
    s3_owner_id(who, oid);
    xml_open(b, tag, NULL, NULL);
    xml_elem(b, "ID", oid, NULL);
    xml_elem(b, "DisplayName", who->name, NULL);
    xml_close(b, tag, NULL);
}

/* ---- ListParts ---- */

static void part_xml(orc_buf *x, const meta_part *p)
{
    char when[32], etag[72];
    uint8_t raw[S3_CHECKSUM_MAX];
    orc_time_iso8601(p->mtime_ms, when);
    snprintf(etag, sizeof(etag), "\"%s\"", p->etag);
    xml_open(x, "Part", NULL, NULL);
    xml_elemf(x, NULL, "PartNumber", "%d", p->number);
    xml_elem(x, "LastModified", when, NULL);
    xml_elem(x, "ETag", etag, NULL);
    xml_elemf(x, NULL, "Size", "%llu", (unsigned long long)p->size);
    enum s3_checksum_alg a = s3_checksum_stored(p->checksum, raw);
    if (a) {
        char el[32];
        snprintf(el, sizeof(el), "Checksum%s", s3_checksum_name(a));
        xml_elem(x, el, strchr(p->checksum, ':') + 1, NULL);
    }
    xml_close(x, "Part", NULL);
}

static void parts_xml(s3_req *r, orc_buf *x, const object_upload_parts_result *res, size_t max,
                      int marker)
{
    const meta_upload *up = &res->up;
    xml_decl(x, NULL);
    xml_open(x, "ListPartsResult", S3_NS, NULL);
    xml_elem(x, "Bucket", r->bucket, NULL);
    xml_elem(x, "Key", r->key, NULL);
    xml_elem(x, "UploadId", up->upload_id, NULL);
    user_xml(r, x, "Initiator", up->initiator);
    user_xml(r, x, "Owner", r->user.id);
    xml_elem(x, "StorageClass", object_class_name(r->svc->st, up->storage_class), NULL);
    enum s3_checksum_alg alg = s3_checksum_upload_alg(up->headers);
    if (alg) {
        xml_elem(x, "ChecksumAlgorithm", s3_checksum_name(alg), NULL);
        xml_elem(x, "ChecksumType", "COMPOSITE", NULL);
    }
    xml_elemf(x, NULL, "PartNumberMarker", "%d", marker);
    xml_elemf(x, NULL, "NextPartNumberMarker", "%d", res->n ? res->parts[res->n - 1].number : 0);
    xml_elemf(x, NULL, "MaxParts", "%zu", max);
    xml_elem(x, "IsTruncated", res->truncated ? "true" : "false", NULL);
    for (size_t i = 0; i < res->n; i++)
        part_xml(x, &res->parts[i]);
    xml_close(x, "ListPartsResult", NULL);
}

void s3_list_parts(s3_req *r)
{
    meta_bucket b;
    object_upload_parts_result res = {0};
    size_t max = S3_MP_LIST_MAX;
    uint64_t marker = 0;
    orc_err e = {0};
    char *uid = s3_query_get(r, "uploadId"), *mp = s3_query_get(r, "max-parts");
    char *pm = s3_query_get(r, "part-number-marker");

    if (s3_bucket_for_owner(r, &b)) goto done;
    if (s3_mp_parse_max(mp, &max)) {
        s3_error(r, S3E_INVALID_ARGUMENT, "max-parts must be an integer between 0 and 2147483647");
        goto done;
    }
    if (pm && *pm && parse_uint_max(pm, INT32_MAX, &marker)) {
        s3_error(r, S3E_INVALID_ARGUMENT, "part-number-marker must be a non-negative integer");
        goto done;
    }
    if (marker > META_PART_MAX) marker = META_PART_MAX;
    int rc = object_upload_parts(r->svc->st, b.id, r->key, uid, (int)marker, max, &res, &e);
    if (rc) {
        s3_error_from(r, rc, &e, S3E_NO_SUCH_UPLOAD);
        goto done;
    }
    orc_buf x;
    orc_buf_init(&x, 0);
    parts_xml(r, &x, &res, max, (int)marker);
    s3_reply_xml(r, 200, &x);
done:
    object_upload_parts_result_dispose(&res);
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
        xml_elem(x, "StorageClass", object_class_name(r->svc->st, u->storage_class), NULL);
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
    size_t max = S3_MP_LIST_MAX;
    orc_err e = {0};

    if (s3_bucket_for_owner(r, &b)) goto done;
    if (s3_mp_parse_max(q.max, &max)) {
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
