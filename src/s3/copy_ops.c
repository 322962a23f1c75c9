/* CopyObject and DeleteObjects.
 *
 * A copy moves no data: it is a new manifest over the source's chunks, written
 * with their references in one metadata transaction (object_copy), so it
 * costs the same whatever the object's size and the ETag stays the source's.
 * DeleteObjects deletes up to 1000 keys named in an XML body, each on its own,
 * and reports each key's outcome. */
#include "s3/object_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "s3/checksum.h"
#include "s3/conditional.h"
#include "s3/tagging.h"
#include "s3/xml.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"
#include "util/uri.h"
#include "util/utf8.h"

#define S3_NS "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""
#define DELETE_MAX_KEYS 1000
/* Elements per <Object>: Key, VersionId, ETag, LastModifiedTime, Size. */
#define DELETE_MAX_NODES (DELETE_MAX_KEYS * 6 + 16)

/* ---- CopyObject ---- */

/* The version in x-amz-copy-source is ignored (no versioning). */
int s3_parse_copy_source(const char *v, char **bucket, char **key)
{
    orc_buf b;
    if (!v) return -1;
    size_t n = strcspn(v, "?");
    if (*v == '/') v++, n--;
    orc_buf_init(&b, 0);
    orc_buf_append(&b, "", 0, NULL);
    /* Refused like the request's own key: NUL, or a key that is not UTF-8. */
    if (uri_decode_text(&b, v, n, NULL) || !utf8_valid((const char *)b.ptr, b.len)) {
        orc_buf_dispose(&b);
        return -1;
    }
    size_t len;
    char *s = (char *)orc_buf_take(&b, &len);
    char *slash = strchr(s, '/');
    if (strlen(s) != len || !slash || slash == s || !slash[1] || strlen(slash + 1) > META_KEY_MAX) {
        free(s);
        return -1;
    }
    *bucket = orc_strndup(s, (size_t)(slash - s));
    *key = orc_strdup(slash + 1);
    free(s);
    return 0;
}

/* x-amz-copy-source-if-* (object_source_check): any failure is 412, as S3
 * answers (no 304). */
static int source_conditions(void *ctx, const meta_object *src, orc_err *e)
{
    s3_req *r = ctx;
    s3_cond c = {http_header(r->rq, "x-amz-copy-source-if-match"),
                 http_header(r->rq, "x-amz-copy-source-if-none-match"),
                 http_header(r->rq, "x-amz-copy-source-if-modified-since"),
                 http_header(r->rq, "x-amz-copy-source-if-unmodified-since")};
    if (s3_cond_eval(&c, src->etag, src->mtime_ms, (int64_t)time(NULL)) == S3_COND_PASS) return 0;
    return orc_fail_detail(e, ORC_ECONFLICT, ORC_D_PRECONDITION,
                           "x-amz-copy-source-if-* fails on the source");
}

/* Whether the request sends any x-amz-copy-source-if-* header. */
static bool has_source_conditions(s3_req *r)
{
    return http_header(r->rq, "x-amz-copy-source-if-match") ||
           http_header(r->rq, "x-amz-copy-source-if-none-match") ||
           http_header(r->rq, "x-amz-copy-source-if-modified-since") ||
           http_header(r->rq, "x-amz-copy-source-if-unmodified-since");
}

static void copy_result(s3_req *r, const meta_object *o)
{
    char when[32], etag[72];
    orc_buf b;
    orc_time_iso8601(o->mtime_ms, when);
    snprintf(etag, sizeof(etag), "\"%s\"", o->etag);
    orc_buf_init(&b, 0);
    xml_decl(&b, NULL);
    xml_open(&b, "CopyObjectResult", S3_NS, NULL);
    xml_elem(&b, "LastModified", when, NULL);
    xml_elem(&b, "ETag", etag, NULL);
    xml_close(&b, "CopyObjectResult", NULL);
    s3_reply_xml(r, 200, &b);
}

/* The copy's directives: x-amz-metadata-directive and x-amz-tagging-directive,
 * each COPY (the default) or REPLACE. Non-zero: answered. */
static int copy_directives(s3_req *r, bool *meta_replace, bool *tags_replace)
{
    const char *md = http_header(r->rq, "x-amz-metadata-directive");
    const char *td = http_header(r->rq, "x-amz-tagging-directive");
    *meta_replace = md && strcmp(md, "REPLACE") == 0;
    *tags_replace = td && strcmp(td, "REPLACE") == 0;
    if (md && !*meta_replace && strcmp(md, "COPY") != 0) {
        s3_error(r, S3E_INVALID_ARGUMENT, "Unknown metadata directive.");
        return -1;
    }
    if (td && !*tags_replace && strcmp(td, "COPY") != 0) {
        s3_error(r, S3E_INVALID_ARGUMENT, "Unknown tagging directive.");
        return -1;
    }
    return 0;
}

struct copy_req {
    char *sbucket, *skey;
    meta_bucket sb, db;
    bool meta_replace, tags_replace;
    orc_buf stored; /* the request's headers (with its tag line) when REPLACE */
    orc_buf tags;   /* the request's tag line, for tagging REPLACE */
};

/* Answers the outcome of object_copy. */
static void copy_answer(s3_req *r, int rc, const orc_err *e, const meta_object *out)
{
    if (rc == ORC_EINVAL && e->detail == ORC_D_TOO_LARGE)
        return s3_error(r, S3E_INVALID_REQUEST,
                        "The specified copy source is larger than the maximum allowable size for "
                        "a copy source: 5368709120");
    if (rc == ORC_EBUSY) return s3_error(r, S3E_SLOW_DOWN, "The copy source kept changing; retry.");
    /* A failed condition is PreconditionFailed (s3_error_for). */
    if (rc) return s3_error_from(r, rc, e, S3E_NO_SUCH_KEY);
    copy_result(r, out);
}

/* Runs from PutObject's begin when x-amz-copy-source is present: the whole
 * copy is a metadata transaction, so it answers before any body. */
void s3_copy_object(s3_req *r)
{
    struct copy_req q = {0};
    meta_object out = {0};
    orc_err e = {0};
    object_copy_args a = {0};
    orc_buf_init(&q.stored, 0);
    orc_buf_init(&q.tags, 0);
    orc_buf_append(&q.tags, "", 0, NULL);

    if (s3_parse_copy_source(http_header(r->rq, "x-amz-copy-source"), &q.sbucket, &q.skey)) {
        s3_error(r, S3E_INVALID_ARGUMENT,
                 "Copy Source must mention the source bucket and key: sourcebucket/sourcekey");
        goto done;
    }
    if (s3_bucket_for_owner(r, &q.db) || s3_bucket_owned(r, q.sbucket, &q.sb)) goto done;
    if (copy_directives(r, &q.meta_replace, &q.tags_replace)) goto done;
    if (q.sb.id == q.db.id && strcmp(q.skey, r->key) == 0 && !q.meta_replace &&
        !http_header(r->rq, "x-amz-storage-class")) {
        s3_error(r, S3E_INVALID_REQUEST,
                 "This copy request is illegal because it is trying to copy an object to itself "
                 "without changing the object's metadata, storage class, website redirect "
                 "location or encryption attributes.");
        goto done;
    }
    if (q.meta_replace && s3_stored_headers(r, &q.stored)) goto done;
    if (q.tags_replace && s3_request_tags(r, &q.tags)) goto done;
    if (s3_put_condition_parse(r, &a.cond)) goto done;
    /* As S3: without the header the copy is in the default class, whatever
     * the source's. */
    if (s3_storage_class(r, &q.db, &a.storage_class)) goto done;
    a.src_bucket = q.sb.id;
    a.src_key = q.skey;
    a.dst_bucket = q.db.id;
    a.dst_key = r->key;
    a.meta_replace = q.meta_replace;
    a.content_type = http_header(r->rq, "Content-Type");
    a.headers = q.stored.len ? (const char *)q.stored.ptr : NULL;
    a.tags_replace = q.tags_replace;
    a.tag_headers = (const char *)q.tags.ptr;
    if (has_source_conditions(r)) {
        a.source_check = source_conditions;
        a.source_ctx = r;
    }
    a.commit = s3_commit_of(r);
    int rc = object_copy(r->svc->st, &a, &out, &e);
    copy_answer(r, rc, &e, &out);
done:
    meta_object_dispose(&out);
    orc_buf_dispose(&q.stored);
    orc_buf_dispose(&q.tags);
    free(q.sbucket);
    free(q.skey);
}

/* ---- DeleteObjects ---- */

static void key_error(orc_buf *b, const char *key, enum s3_error code, const char *msg)
{
    const struct s3_error_info *info = s3_error_get(code);
    xml_open(b, "Error", NULL, NULL);
    xml_elem(b, "Key", key, NULL);
    xml_elem(b, "Code", info->code, NULL);
    xml_elem(b, "Message", msg ? msg : info->message, NULL);
    xml_close(b, "Error", NULL);
}

/* Deletes one key and reports it (Deleted unless quiet, or Error). Deleting
 * an absent key succeeds, as DeleteObject does. */
static void delete_one(s3_req *r, int64_t bucket_id, const char *key, bool quiet, orc_buf *b)
{
    orc_err e = {0};
    if (strlen(key) > META_KEY_MAX) return key_error(b, key, S3E_KEY_TOO_LONG, NULL);
    int rc = object_delete(r->svc->st, bucket_id, key, &e);
    if (rc) {
        bool busy = rc == ORC_ETRANSIENT || rc == ORC_EBUSY;
        if (!busy) LOG_ERROR("request %s: DeleteObjects %s: %s", r->rq->request_id, key, e.msg);
        return key_error(b, key, busy ? S3E_SLOW_DOWN : S3E_INTERNAL_ERROR, NULL);
    }
    if (quiet) return;
    xml_open(b, "Deleted", NULL, NULL);
    xml_elem(b, "Key", key, NULL);
    xml_close(b, "Deleted", NULL);
}

/* The <Delete> document: 1 to 1000 <Object>s, each with a non-empty <Key>.
 * Returns the first Object, or NULL if the document does not validate. */
static xml_node *delete_objects_of(const xml_node *root, bool *quiet)
{
    size_t n = 0;
    if (strcmp(root->name, "Delete") != 0) return NULL;
    xml_node *q = xml_child(root, "Quiet");
    *quiet = q && strcasecmp(q->text, "true") == 0;
    xml_node *first = xml_child(root, "Object");
    for (xml_node *o = first; o; o = xml_next_named(o, "Object")) {
        xml_node *k = xml_child(o, "Key");
        if (++n > DELETE_MAX_KEYS || !k || k->text_len == 0 || strlen(k->text) != k->text_len)
            return NULL;
    }
    return first;
}

/* S3 insists that a DeleteObjects body carry an integrity check: Content-MD5
 * (checked by s3_check_xml_body) or an x-amz-checksum-* header, which
 * current SDKs send instead and which is checked here. Non-zero: answered. */
static int delete_integrity(s3_req *r)
{
    if (http_header(r->rq, "Content-MD5")) return 0;
    for (int alg = S3_CK_CRC32; alg <= S3_CK_SHA256; alg++) {
        const char *v = http_header(r->rq, s3_checksum_header(alg));
        uint8_t want[S3_CHECKSUM_MAX], got[S3_CHECKSUM_MAX];
        char msg[96];
        s3_checksum ck;
        if (!v) continue;
        if (s3_checksum_decode(alg, v, want)) {
            snprintf(msg, sizeof(msg), "Value for %s header is invalid.", s3_checksum_header(alg));
            s3_error(r, S3E_INVALID_REQUEST, msg);
            return -1;
        }
        s3_checksum_init(&ck, alg);
        s3_checksum_update(&ck, r->body.ptr ? r->body.ptr : (const uint8_t *)"", r->body.len);
        size_t n = s3_checksum_final(&ck, got, NULL);
        if (memcmp(want, got, n) != 0) {
            snprintf(msg, sizeof(msg),
                     "The %s you specified did not match the calculated checksum.",
                     s3_checksum_name(alg));
            s3_error(r, S3E_BAD_DIGEST, msg);
            return -1;
        }
        return 0;
    }
    s3_error(r, S3E_INVALID_REQUEST, "Missing required header for this request: Content-MD5");
    return -1;
}

void s3_delete_objects(s3_req *r)
{
    meta_bucket bk;
    xml_node *root = NULL;
    orc_err e;
    bool quiet = false;
    if (s3_bucket_for_owner(r, &bk) || s3_check_xml_body(r) || delete_integrity(r)) return;
    if (xml_parse((const char *)r->body.ptr, r->body.len, DELETE_MAX_NODES, &root, &e))
        return s3_error(r, S3E_MALFORMED_XML, NULL);
    xml_node *first = delete_objects_of(root, &quiet);
    if (!first) {
        xml_free(root);
        return s3_error(r, S3E_MALFORMED_XML, NULL);
    }
    orc_buf b;
    orc_buf_init(&b, 0);
    xml_decl(&b, NULL);
    xml_open(&b, "DeleteResult", S3_NS, NULL);
    for (xml_node *o = first; o; o = xml_next_named(o, "Object"))
        delete_one(r, bk.id, xml_child(o, "Key")->text, quiet, &b);
    xml_close(&b, "DeleteResult", NULL);
    xml_free(root);
    s3_reply_xml(r, 200, &b);
}
