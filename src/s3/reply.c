/* S3 replies: the error XML document and small helpers for XML bodies. */
#include "s3/s3_int.h"

#include <stdlib.h>
#include <string.h>

#include "s3/xml.h"
#include "util/log.h"
#include "util/uri.h"

void s3_reply_xml(s3_req *r, unsigned status, orc_buf *b)
{
    size_t len;
    uint8_t *p = orc_buf_take(b, &len);
    http_respond(r->rq, status, "application/xml", p, len);
}

void s3_reply_empty(s3_req *r, unsigned status)
{
    http_respond(r->rq, status, NULL, NULL, 0);
}

void s3_error(s3_req *r, enum s3_error code, const char *msg)
{
    s3_error_why(r, code, msg, NULL);
}

void s3_error_why(s3_req *r, enum s3_error code, const char *msg, const orc_err *why)
{
    const struct s3_error_info *info = s3_error_get(code);
    const char *text = msg && *msg ? msg : info->message;
    orc_buf b;
    orc_buf_init(&b, 0);
    xml_decl(&b, NULL);
    xml_open(&b, "Error", NULL, NULL);
    xml_elem(&b, "Code", info->code, NULL);
    xml_elem(&b, "Message", text, NULL);
    if (r->bucket) xml_elem(&b, "BucketName", r->bucket, NULL);
    if (r->key) xml_elem(&b, "Key", r->key, NULL);
    xml_elem(&b, "Resource", r->rq->path, NULL);
    xml_elem(&b, "RequestId", r->rq->request_id, NULL);
    xml_close(&b, "Error", NULL);
    /* A server-side failure is logged here, once, with the request id; the
     * lower layers' reason goes to the log only. A 4xx is the client's. */
    if (info->status >= 500)
        orc_log(info->status == 500 ? ORC_LOG_ERROR : ORC_LOG_WARN, "request %s %s %s: %s: %s%s%s",
                r->rq->request_id, r->rq->method, r->rq->path, info->code, text, why ? " -- " : "",
                why ? why->msg : "");
    s3_reply_xml(r, (unsigned)info->status, &b);
}

void s3_error_from(s3_req *r, int code, const orc_err *e, enum s3_error notfound)
{
    enum s3_error se = s3_error_for(code, e ? e->detail : 0, notfound);
    /* The lower layer's words go to the client where they are its to act
     * on (a bad argument; why to retry); a detail has S3's own message. */
    bool generic = se == s3_error_for(code, ORC_D_NONE, notfound);
    bool tell = e && generic &&
                (code == ORC_EINVAL || code == ORC_ETRANSIENT || code == ORC_EBUSY ||
                 code == ORC_ECANCELED);
    orc_err none;
    if (!e) { /* the log line still says what failed */
        orc_fail(&none, code, "%s", orc_code_name(code));
        e = &none;
    }
    s3_error_why(r, se, tell ? e->msg : NULL, tell ? NULL : e);
}

int s3_bucket_for_owner(s3_req *r, meta_bucket *b)
{
    return s3_bucket_owned(r, r->bucket, b);
}

int s3_bucket_owned(s3_req *r, const char *name, meta_bucket *b)
{
    orc_err e;
    /* ORC_EAUTH (another owner's bucket) maps to AccessDenied. */
    int rc = object_bucket_owned(r->svc->st, name, r->user.id, b, &e);
    if (rc) s3_error_from(r, rc, &e, S3E_NO_SUCH_BUCKET);
    return rc ? -1 : 0;
}

void s3_text_elem(orc_buf *b, const char *name, const char *v, bool url)
{
    if (!url) {
        xml_elem(b, name, v, NULL);
        return;
    }
    orc_buf enc;
    orc_buf_init(&enc, 0);
    orc_buf_append(&enc, "", 0, NULL);
    uri_encode(&enc, v, strlen(v), true, NULL);
    xml_elem(b, name, (const char *)enc.ptr, NULL);
    orc_buf_dispose(&enc);
}
