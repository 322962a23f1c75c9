/* The current version of a key: lookups, write conditions, delete and the
 * tag set (version.h). Thin over meta/ where the store already answers the
 * question; what S3 means by each request is decided here, not in s3/. */
#include "object/object_int.h"

#include <string.h>

int object_head(store *s, int64_t bucket_id, const char *key, meta_object *out, orc_err *e)
{
    return meta_object_get(s->m, bucket_id, key, false, 0, 0, out, NULL, NULL, e);
}

/* Whether the current version (found: o; else none) fails c. RFC 9110
 * 13.1.1, 13.1.2: If-Match: * holds for any current version, If-None-Match:
 * "x" for any but x (and for none). */
static bool cond_fails(const meta_put_cond *c, bool found, const meta_object *o)
{
    switch (c->kind) {
    case META_PUT_IF_ABSENT:
        return found;
    case META_PUT_IF_EXISTS:
        return !found;
    case META_PUT_IF_MATCH:
        return !found || strcmp(o->etag, c->etag) != 0;
    case META_PUT_IF_NONE_MATCH:
        return found && strcmp(o->etag, c->etag) == 0;
    }
    return false;
}

int object_put_cond_check(store *s, int64_t bucket_id, const char *key, const meta_put_cond *c,
                          orc_err *e)
{
    meta_object o = {0};
    if (c->kind == META_PUT_ALWAYS) return ORC_OK;
    int rc = object_head(s, bucket_id, key, &o, e);
    if (rc && rc != ORC_ENOTFOUND) return rc;
    bool fails = cond_fails(c, rc == ORC_OK, &o);
    meta_object_dispose(&o);
    if (fails)
        return orc_fail_detail(e, ORC_ECONFLICT, ORC_D_PRECONDITION,
                               "the write's condition fails on %s", key);
    return ORC_OK;
}

int object_delete(store *s, int64_t bucket_id, const char *key, orc_err *e)
{
    int rc = meta_object_delete(s->m, bucket_id, key, e);
    return rc == ORC_ENOTFOUND ? ORC_OK : rc;
}

const char *object_tags_of(const char *headers, size_t *len)
{
    static const char name[] = OBJECT_TAG_LINE ": ";
    for (const char *l = headers; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) : strlen(l);
        if (n >= sizeof(name) - 1 && memcmp(l, name, sizeof(name) - 1) == 0) {
            *len = n - (sizeof(name) - 1);
            return l + sizeof(name) - 1;
        }
        l += nl ? n + 1 : n;
    }
    *len = 0;
    return NULL;
}

int object_tags_set(store *s, int64_t bucket_id, const char *key, const char *tags, orc_err *e)
{
    if (tags && strchr(tags, '\n'))
        return orc_fail(e, ORC_EINVAL, "a tag set holds a newline"); /* a caller's bug */
    return meta_object_set_header(s->m, bucket_id, key, OBJECT_TAG_LINE,
                                  tags && *tags ? tags : NULL, e);
}
