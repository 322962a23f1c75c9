/* CopyObject's semantics (version.h): which version of the source is
 * copied, which metadata and tags the copy gets, the conditions on both ends,
 * and the retry when the source changes under a copy pinned to it. The copy
 * itself is one metadata transaction (meta_object_copy): no data moves. */
#include "object/object_int.h"

#include <string.h>

#include "util/buf.h"
#include "util/time.h"

#define COPY_ATTEMPTS 3

/* out = the lines of meta_lines but their tag line, then the tag line of
 * tag_lines (if any). */
static void headers_compose(const char *meta_lines, const char *tag_lines, orc_buf *out)
{
    static const char tag[] = OBJECT_TAG_LINE ": ";
    size_t tlen = 0;
    const char *tv = object_tags_of(tag_lines, &tlen);
    orc_buf_reset(out);
    orc_buf_append(out, "", 0, NULL);
    for (const char *l = meta_lines; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) + 1 : strlen(l);
        if (strncmp(l, tag, sizeof(tag) - 1) != 0) orc_buf_append(out, l, n, NULL);
        l += n;
    }
    if (tv && tlen) orc_buf_printf(out, NULL, "%s%.*s\n", tag, (int)tlen, tv);
}

/* One attempt from the source's current version. *retry: the source changed
 * under a copy pinned to it only to compose its headers; try again. */
static int copy_once(store *s, const object_copy_args *a, meta_object *out, bool *retry, orc_err *e)
{
    meta_object src = {0};
    meta_object_copy_args m = {0};
    orc_buf hd;
    orc_buf_init(&hd, 0);
    *retry = false;
    int rc = object_head(s, a->src_bucket, a->src_key, &src, e);
    if (rc) goto done;
    if (src.size > OBJECT_MAX_SIZE) {
        rc = orc_fail_detail(e, ORC_EINVAL, ORC_D_TOO_LARGE, "copy source %s is over %llu bytes",
                             a->src_key, (unsigned long long)OBJECT_MAX_SIZE);
        goto done;
    }
    if (a->source_check && (rc = a->source_check(a->source_ctx, &src, e))) goto done;
    if ((rc = object_put_cond_check(s, a->dst_bucket, a->dst_key, &a->cond, e))) goto done;
    m.src_bucket = a->src_bucket;
    m.src_key = a->src_key;
    /* The source's conditions held for this version: copy it or nothing. */
    m.src_etag = a->source_check ? src.etag : NULL;
    m.dst_bucket = a->dst_bucket;
    m.dst_key = a->dst_key;
    m.mtime_ms = orc_now_ms();
    m.cond = a->cond;
    m.storage_class = a->storage_class;
    m.start_ms = a->commit.start_ms;
    /* When one directive differs the headers are composed here from this
     * version of the source, so the copy is pinned to it. */
    bool from_src = a->meta_replace != a->tags_replace;
    if (a->meta_replace || a->tags_replace) {
        headers_compose(a->meta_replace ? a->headers : src.headers,
                        a->tags_replace ? a->tag_headers : src.headers, &hd);
        m.replace_meta = true;
        m.content_type = a->meta_replace ? a->content_type : src.content_type;
        m.headers = hd.len ? (const char *)hd.ptr : NULL;
        if (from_src && !m.src_etag) m.src_etag = src.etag;
    }
    /* As for a PUT: a client that gave up must not have its copy land. */
    if (!(rc = object_commit_check(&a->commit, e))) rc = meta_object_copy(s->m, &m, out, e);
    *retry =
        rc == ORC_ECONFLICT && e->detail == ORC_D_SOURCE_CHANGED && from_src && !a->source_check;
done:
    meta_object_dispose(&src);
    orc_buf_dispose(&hd);
    return rc;
}

int object_copy(store *s, const object_copy_args *a, meta_object *out, orc_err *e)
{
    bool retry = true;
    int rc = ORC_OK;
    memset(out, 0, sizeof(*out));
    for (int attempt = 0; retry && attempt < COPY_ATTEMPTS; attempt++) {
        meta_object_dispose(out);
        rc = copy_once(s, a, out, &retry, e);
    }
    if (retry) return orc_fail(e, ORC_EBUSY, "copy source %s kept changing", a->src_key);
    return rc;
}
