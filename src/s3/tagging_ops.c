/* GetObjectTagging, PutObjectTagging and DeleteObjectTagging: the tag set of
 * the current version, kept in its stored headers (object_tags_set), so a
 * PutObjectTagging is one metadata update that leaves the chunks alone. */
#include "s3/object_common.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "s3/tagging.h"
#include "s3/xml.h"
#include "util/alloc.h"

#define S3_NS "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""
/* Elements of a <Tagging> document: Tagging, TagSet, and 3 per Tag; a few
 * more than S3 allows, so that too many tags is InvalidTag, not MalformedXML. */
#define TAGGING_MAX_NODES (2 + 3 * (S3_TAGS_MAX + 40))

/* ---- GetObjectTagging, PutObjectTagging, DeleteObjectTagging ---- */

void s3_get_object_tagging(s3_req *r)
{
    meta_bucket b;
    meta_object o = {0};
    orc_err e = {0};
    s3_tagset t = {0};
    const char *why = NULL;
    size_t len = 0;
    if (s3_bucket_for_owner(r, &b)) return;
    int rc = object_head(r->svc->st, b.id, r->key, &o, &e);
    if (rc) return s3_error_from(r, rc, &e, S3E_NO_SUCH_KEY);
    const char *v = s3_tags_stored(o.headers, &len);
    if (v && s3_tags_parse(v, len, &t, &why)) { /* what was stored passed these rules */
        meta_object_dispose(&o);
        return s3_error(r, S3E_INTERNAL_ERROR, "The stored tag set cannot be read.");
    }
    orc_buf x;
    orc_buf_init(&x, 0);
    xml_decl(&x, NULL);
    xml_open(&x, "Tagging", S3_NS, NULL);
    xml_open(&x, "TagSet", NULL, NULL);
    for (size_t i = 0; i < t.n; i++) {
        xml_open(&x, "Tag", NULL, NULL);
        xml_elem(&x, "Key", t.tags[i].key, NULL);
        xml_elem(&x, "Value", t.tags[i].value, NULL);
        xml_close(&x, "Tag", NULL);
    }
    xml_close(&x, "TagSet", NULL);
    xml_close(&x, "Tagging", NULL);
    s3_tags_dispose(&t);
    meta_object_dispose(&o);
    s3_reply_xml(r, 200, &x);
}

/* Sets (or with NULL removes) the current version's tag line; answers. */
static void set_tags(s3_req *r, int64_t bucket_id, const char *value, unsigned status)
{
    orc_err e = {0};
    int rc = object_tags_set(r->svc->st, bucket_id, r->key, value, &e);
    if (rc) return s3_error_from(r, rc, &e, S3E_NO_SUCH_KEY);
    s3_reply_empty(r, status);
}

void s3_put_object_tagging(s3_req *r)
{
    meta_bucket b;
    xml_node *root = NULL;
    s3_tagset t = {0};
    orc_buf v;
    orc_err e;
    const char *why = NULL;
    if (s3_bucket_for_owner(r, &b) || s3_check_xml_body(r)) return;
    if (xml_parse((const char *)r->body.ptr, r->body.len, TAGGING_MAX_NODES, &root, &e))
        return s3_error(r, S3E_MALFORMED_XML, NULL);
    enum s3_error err = s3_tags_from_xml(root, &t, &why);
    xml_free(root);
    if (err) return s3_error(r, err, why);
    orc_buf_init(&v, 0);
    if (s3_tags_encode(&t, &v, &e)) {
        s3_error(r, S3E_INTERNAL_ERROR, NULL);
    } else {
        set_tags(r, b.id, t.n ? (const char *)v.ptr : NULL, 200);
    }
    orc_buf_dispose(&v);
    s3_tags_dispose(&t);
}

void s3_delete_object_tagging(s3_req *r)
{
    meta_bucket b;
    if (s3_bucket_for_owner(r, &b)) return;
    set_tags(r, b.id, NULL, 204);
}
