/* Versioning and access-control reads: GetBucketVersioning, GetBucketAcl,
 * GetObjectAcl, and the one ACL write that changes nothing.
 *
 * An Orchard bucket never had versioning enabled and belongs to one owner
 * who holds every right on it and its objects, so these answer that truth to
 * the clients that ask (s3cmd info, rclone, SDK helpers): an empty
 * VersioningConfiguration, and a policy granting the owner FULL_CONTROL. A
 * PutBucketAcl / PutObjectAcl of the canned "private" ACL (or a body saying
 * the same) succeeds since it is what already holds; any other ACL is
 * NotImplemented rather than silently ignored. */
#include "s3/s3_int.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "s3/xml.h"

#define S3_NS "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""
#define XSI_NS "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
#define ACL_MAX_NODES 256

void s3_get_bucket_versioning(s3_req *r)
{
    meta_bucket b;
    orc_buf x;
    if (s3_bucket_for_owner(r, &b)) return;
    orc_buf_init(&x, 0);
    xml_decl(&x, NULL);
    /* No <Status>: versioning was never enabled on the bucket (S3's answer). */
    xml_open(&x, "VersioningConfiguration", S3_NS, NULL);
    xml_close(&x, "VersioningConfiguration", NULL);
    s3_reply_xml(r, 200, &x);
}

static void user_elems(orc_buf *x, const meta_user *u, const char *id)
{
    xml_elem(x, "ID", id, NULL);
    xml_elem(x, "DisplayName", u->name, NULL);
}

/* The owner (the requester: s3_bucket_for_owner passed) with FULL_CONTROL. */
static void reply_policy(s3_req *r)
{
    char id[65];
    orc_buf x;
    s3_owner_id(&r->user, id);
    orc_buf_init(&x, 0);
    xml_decl(&x, NULL);
    xml_open(&x, "AccessControlPolicy", S3_NS, NULL);
    xml_open(&x, "Owner", NULL, NULL);
    user_elems(&x, &r->user, id);
    xml_close(&x, "Owner", NULL);
    xml_open(&x, "AccessControlList", NULL, NULL);
    xml_open(&x, "Grant", NULL, NULL);
    xml_open(&x, "Grantee", XSI_NS " xsi:type=\"CanonicalUser\"", NULL);
    user_elems(&x, &r->user, id);
    xml_close(&x, "Grantee", NULL);
    xml_elem(&x, "Permission", "FULL_CONTROL", NULL);
    xml_close(&x, "Grant", NULL);
    xml_close(&x, "AccessControlList", NULL);
    xml_close(&x, "AccessControlPolicy", NULL);
    s3_reply_xml(r, 200, &x);
}

/* The request's object must exist. Non-zero: answered (NoSuchKey). */
static int object_exists(s3_req *r, int64_t bucket_id)
{
    meta_object o = {0};
    object_reader *rd = NULL;
    orc_err e = {0};
    /* Opening reads the object row only; nothing of the body is fetched. */
    int rc = object_get_open(r->svc->st, bucket_id, r->key, &o, &rd, &e);
    object_reader_free(rd);
    meta_object_dispose(&o);
    if (rc) s3_error_from(r, rc, &e, S3E_NO_SUCH_KEY);
    return rc;
}

void s3_get_bucket_acl(s3_req *r)
{
    meta_bucket b;
    if (!s3_bucket_for_owner(r, &b)) reply_policy(r);
}

void s3_get_object_acl(s3_req *r)
{
    meta_bucket b;
    if (!s3_bucket_for_owner(r, &b) && !object_exists(r, b.id)) reply_policy(r);
}

static int has_grant_header(void *ctx, const char *name, const char *value)
{
    (void)value;
    if (strncasecmp(name, "x-amz-grant-", 12) == 0) *(bool *)ctx = true;
    return 0;
}

/* Whether an <AccessControlPolicy> grants exactly FULL_CONTROL to the owner
 * and nothing else (what "private" means). S3E_NONE and *priv, or
 * S3E_MALFORMED_ACL for a document of another shape. */
static enum s3_error body_is_private(const xml_node *root, const char *owner_id, bool *priv)
{
    const xml_node *acl = xml_child(root, "AccessControlList"), *owner = xml_child(root, "Owner");
    *priv = false;
    if (strcmp(root->name, "AccessControlPolicy") != 0 || !acl) return S3E_MALFORMED_ACL;
    const xml_node *id = owner ? xml_child(owner, "ID") : NULL;
    if (owner && (!id || strcmp(id->text, owner_id) != 0)) return S3E_NONE;
    size_t grants = 0;
    bool owner_full = false;
    for (const xml_node *g = xml_child(acl, "Grant"); g; g = xml_next_named(g, "Grant")) {
        const xml_node *who = xml_child(g, "Grantee"), *perm = xml_child(g, "Permission");
        if (!who || !perm) return S3E_MALFORMED_ACL;
        const xml_node *gid = xml_child(who, "ID");
        grants++;
        owner_full = gid && strcmp(gid->text, owner_id) == 0 && !xml_child(who, "URI") &&
                     !xml_child(who, "EmailAddress") && strcmp(perm->text, "FULL_CONTROL") == 0;
    }
    *priv = grants == 1 && owner_full;
    return S3E_NONE;
}

/* PutBucketAcl / PutObjectAcl: succeeds for the canned private ACL (the
 * x-amz-acl header or a body granting only the owner FULL_CONTROL), which
 * is what holds already. Non-zero: answered with an error. */
static int put_acl_private(s3_req *r)
{
    const char *canned = http_header(r->rq, "x-amz-acl");
    bool grants = false, priv = false;
    char owner_id[65];
    xml_node *root = NULL;
    orc_err e;
    http_headers_each(r->rq, has_grant_header, &grants);
    if (s3_check_xml_body(r)) return -1;
    if ((canned ? 1 : 0) + (grants ? 1 : 0) + (r->body.len ? 1 : 0) > 1) {
        s3_error(r, S3E_INVALID_REQUEST,
                 "Specifying both Canned ACLs and Header Grants (or a body) is not allowed");
        return -1;
    }
    if (canned) {
        priv = strcmp(canned, "private") == 0;
    } else if (r->body.len) {
        if (xml_parse((const char *)r->body.ptr, r->body.len, ACL_MAX_NODES, &root, &e)) {
            s3_error(r, S3E_MALFORMED_ACL, NULL);
            return -1;
        }
        s3_owner_id(&r->user, owner_id);
        enum s3_error err = body_is_private(root, owner_id, &priv);
        xml_free(root);
        if (err) {
            s3_error(r, err, NULL);
            return -1;
        }
    } else if (!grants) {
        s3_error(r, S3E_MALFORMED_ACL,
                 "An ACL must be given by x-amz-acl, x-amz-grant-* or a body.");
        return -1;
    }
    if (!priv) {
        s3_error(r, S3E_NOT_IMPLEMENTED,
                 "Orchard buckets and objects are private to their owner; only the 'private' "
                 "ACL can be set.");
        return -1;
    }
    return 0;
}

void s3_put_bucket_acl(s3_req *r)
{
    meta_bucket b;
    if (s3_bucket_for_owner(r, &b) || put_acl_private(r)) return;
    s3_reply_empty(r, 200);
}

void s3_put_object_acl(s3_req *r)
{
    meta_bucket b;
    if (s3_bucket_for_owner(r, &b) || object_exists(r, b.id) || put_acl_private(r)) return;
    s3_reply_empty(r, 200);
}
