/* The multipart operations around an upload that move no data: looking it
 * up, aborting it, listing and matching its parts, and keeping a part's
 * checksum. Each turns a missing upload into ORC_D_NO_SUCH_UPLOAD, so that
 * the front tells it apart from a missing bucket or key. */
#include "object/object_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

/* ENOTFOUND from the store, for an upload: NoSuchUpload. */
static int upload_missing(int rc, orc_err *e)
{
    if (rc == ORC_ENOTFOUND) return orc_fail_detail(e, rc, ORC_D_NO_SUCH_UPLOAD, "no such upload");
    return rc;
}

static bool named(const char *upload_id)
{
    return upload_id && *upload_id;
}

int object_upload_get(store *s, int64_t bucket_id, const char *key, const char *upload_id,
                      meta_upload *up, orc_err *e)
{
    memset(up, 0, sizeof(*up));
    if (!named(upload_id)) return upload_missing(ORC_ENOTFOUND, e);
    return upload_missing(meta_upload_get(s->m, bucket_id, key, upload_id, up, e), e);
}

int object_upload_abort(store *s, int64_t bucket_id, const char *key, const char *upload_id,
                        orc_err *e)
{
    if (!named(upload_id)) return upload_missing(ORC_ENOTFOUND, e);
    return upload_missing(meta_upload_abort(s->m, bucket_id, key, upload_id, e), e);
}

int object_upload_parts(store *s, int64_t bucket_id, const char *key, const char *upload_id,
                        int after, size_t max, object_upload_parts_result *out, orc_err *e)
{
    memset(out, 0, sizeof(*out));
    int rc = object_upload_get(s, bucket_id, key, upload_id, &out->up, e);
    if (rc) return rc;
    /* One more than asked tells whether the list is truncated. */
    rc = meta_part_list(s->m, bucket_id, key, upload_id, after, max + 1, &out->parts, &out->n, e);
    if (rc) {
        object_upload_parts_result_dispose(out);
        return upload_missing(rc, e);
    }
    out->truncated = out->n > max;
    if (out->truncated) out->n = max;
    return ORC_OK;
}

void object_upload_parts_result_dispose(object_upload_parts_result *r)
{
    meta_upload_dispose(&r->up);
    free(r->parts);
    memset(r, 0, sizeof(*r));
}

/* The part numbered `number` in rows ascending by number, or NULL. */
static const meta_part *row_of(const meta_part *rows, size_t n, int number)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rows[mid].number == number) return &rows[mid];
        if (rows[mid].number < number)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int object_upload_match_parts(store *s, int64_t bucket_id, const char *key, const char *upload_id,
                              const meta_part_ref *parts, size_t n, object_upload_match *out,
                              int *fault, int *fault_part, orc_err *e)
{
    memset(out, 0, sizeof(*out));
    *fault = META_COMPLETE_OK;
    *fault_part = 0;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].number < 1 || parts[i].number > META_PART_MAX) { /* cannot exist */
            *fault = META_COMPLETE_NO_PART;
            *fault_part = parts[i].number;
            return orc_fail(e, ORC_EINVAL, "part number %d cannot exist", parts[i].number);
        }
    }
    if (!named(upload_id)) return upload_missing(ORC_ENOTFOUND, e);
    int rc = meta_part_list(s->m, bucket_id, key, upload_id, 0, META_PART_MAX, &out->rows,
                            &out->nrows, e);
    if (rc) return upload_missing(rc, e);
    out->n = n;
    out->match = orc_calloc(n ? n : 1, sizeof(*out->match));
    for (size_t i = 0; i < n; i++) {
        const meta_part *p = row_of(out->rows, out->nrows, parts[i].number);
        /* Another ETag is another body: that part is not the one listed. */
        if (p && parts[i].etag && strcmp(p->etag, parts[i].etag) == 0) out->match[i] = p;
    }
    return ORC_OK;
}

void object_upload_match_dispose(object_upload_match *m)
{
    free(m->match);
    free(m->rows);
    memset(m, 0, sizeof(*m));
}

int object_upload_part_checksum(store *s, int64_t bucket_id, const char *key, const char *upload_id,
                                int number, const char *etag, int64_t mtime_ms,
                                const char *checksum, orc_err *e)
{
    int rc = meta_part_set_checksum(s->m, bucket_id, key, upload_id, number, etag, mtime_ms,
                                    checksum, e);
    /* Replaced by a newer upload of the part number meanwhile: that one
     * keeps its own checksum; the response still describes this body. */
    return rc == ORC_ENOTFOUND ? ORC_OK : rc;
}

int object_upload_user(store *s, int64_t user_id, meta_user *out, orc_err *e)
{
    return meta_user_by_id(s->m, user_id, out, e);
}
