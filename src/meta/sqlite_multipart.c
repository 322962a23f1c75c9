/* The SQLite metadata store, multipart side: uploads, parts and their
 * manifests, completing (stitching part manifests into the object's in one
 * transaction), aborting and expiring. */
#include "meta/sqlite_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/hex.h"
#include "util/time.h"

/* ---- multipart ----
 * Parts hold chunk references through part_manifest exactly as objects do
 * through manifest; every function that drops a part or an upload releases
 * them in the same transaction. */

static void read_upload(sqlite3_stmt *s, meta_upload *u)
{
    memset(u, 0, sizeof(*u));
    u->id = sqlite3_column_int64(s, 0);
    sq_copy_text(u->upload_id, sizeof(u->upload_id), s, 1);
    u->bucket_id = sqlite3_column_int64(s, 2);
    u->key = sq_dup_text(s, 3);
    if (!u->key) u->key = orc_strdup("");
    u->initiator = sqlite3_column_int64(s, 4);
    u->content_type = sq_dup_text(s, 5);
    u->headers = sq_dup_text(s, 6);
    u->created_ms = sqlite3_column_int64(s, 7);
    sq_copy_text(u->storage_class, sizeof(u->storage_class), s, 8);
}

static int no_upload(const char *upload_id, orc_err *e)
{
    return orc_fail(e, ORC_ENOTFOUND, "no multipart upload %.80s", upload_id);
}

/* 1 and *u if upload_id is an upload of (bucket, key), 0 if not, or an error. */
static int upload_find(struct conn *c, int64_t bucket_id, const char *key, const char *upload_id,
                       meta_upload *u, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, ST_MP_UPLOAD_GET, &s, e);
    if (rc) return rc;
    if (sq_bind_text(s, 1, upload_id)) return sq_bind_fail(c, e);
    if ((rc = sq_row(c, s, "upload lookup", e)) <= 0) return rc;
    read_upload(s, u);
    sqlite3_reset(s);
    if (u->bucket_id != bucket_id || strcmp(u->key, key) != 0) {
        meta_upload_dispose(u);
        return 0;
    }
    return 1;
}

static int check_upload_args(const char *key, const char *upload_id, orc_err *e)
{
    if (!key || !*key || strlen(key) > META_KEY_MAX)
        return orc_fail(e, ORC_EINVAL, "object key must be 1 to %d bytes", META_KEY_MAX);
    if (!upload_id || !*upload_id || strlen(upload_id) > META_UPLOAD_ID_MAX)
        return orc_fail(e, ORC_EINVAL, "upload id must be 1 to %d bytes", META_UPLOAD_ID_MAX);
    return ORC_OK;
}

static int upload_create(struct conn *c, int64_t bucket_id, const char *key, const char *upload_id,
                         int64_t initiator, const char *content_type, const char *headers,
                         const char *storage_class, int64_t created_ms, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, ST_BUCKET_EXISTS, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, bucket_id)) return sq_bind_fail(c, e);
    if ((rc = sq_row(c, s, "bucket lookup", e)) < 0) return rc;
    if (rc == 0) return orc_fail(e, ORC_ENOTFOUND, "no bucket with id %" PRId64, bucket_id);
    sqlite3_reset(s);
    if ((rc = sq_stmt(c, ST_MP_UPLOAD_ADD, &s, e))) return rc;
    if (sq_bind_text(s, 1, upload_id) || sqlite3_bind_int64(s, 2, bucket_id) ||
        sq_bind_text(s, 3, key) || sqlite3_bind_int64(s, 4, initiator) ||
        sq_bind_text(s, 5, content_type) || sq_bind_text(s, 6, headers) ||
        sqlite3_bind_int64(s, 7, created_ms) ||
        sq_bind_text(s, 8, storage_class && *storage_class ? storage_class : NULL))
        return sq_bind_fail(c, e);
    rc = sq_run(c, s, "upload create", e);
    if (rc == ORC_EEXISTS) orc_fail(e, rc, "upload id %s is taken", upload_id);
    return rc;
}

int sq_upload_create(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                     int64_t initiator, const char *content_type, const char *headers,
                     const char *storage_class, int64_t created_ms, orc_err *e)
{
    int rc = check_upload_args(key, upload_id, e);
    if (rc) return rc;
    struct conn *c;
    if ((rc = sq_acquire(m, &c, e))) return rc;
    if (!(rc = sq_tx_begin(m, c, TX_WRITE, e)))
        rc = sq_tx_end(m, c, TX_WRITE,
                       upload_create(c, bucket_id, key, upload_id, initiator, content_type, headers,
                                     storage_class, created_ms, e),
                       e);
    sq_release(m, c);
    return rc;
}

int sq_upload_get(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                  meta_upload *out, orc_err *e)
{
    memset(out, 0, sizeof(*out));
    int rc = check_upload_args(key, upload_id, e);
    if (rc) return rc == ORC_EINVAL ? no_upload(upload_id ? upload_id : "", e) : rc;
    struct conn *c;
    if ((rc = sq_acquire(m, &c, e))) return rc;
    rc = upload_find(c, bucket_id, key, upload_id, out, e);
    sq_release(m, c);
    return rc == 1 ? ORC_OK : rc == 0 ? no_upload(upload_id, e) : rc;
}

/* Releases part `number` of upload sq_row `up` (if it exists) and deletes it. */
static int part_drop(struct conn *c, int64_t up, int number, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, ST_MP_PART_RELEASE, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, up) || sqlite3_bind_int64(s, 2, orc_now_ms()) ||
        sqlite3_bind_int(s, 3, number))
        return sq_bind_fail(c, e);
    if ((rc = sq_run(c, s, "sq_release part references", e))) return rc;
    if ((rc = sq_stmt(c, ST_MP_PART_DEL, &s, e))) return rc;
    if (sqlite3_bind_int64(s, 1, up) || sqlite3_bind_int(s, 2, number)) return sq_bind_fail(c, e);
    return sq_run(c, s, "part delete", e);
}

/* Releases every part of upload sq_row `up` and deletes the upload (parts and
 * their manifests cascade). */
static int upload_drop(struct conn *c, int64_t up, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, ST_MP_UPLOAD_RELEASE, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, up) || sqlite3_bind_int64(s, 2, orc_now_ms()))
        return sq_bind_fail(c, e);
    if ((rc = sq_run(c, s, "sq_release upload references", e))) return rc;
    if ((rc = sq_stmt(c, ST_MP_UPLOAD_DEL, &s, e))) return rc;
    if (sqlite3_bind_int64(s, 1, up)) return sq_bind_fail(c, e);
    return sq_run(c, s, "upload delete", e);
}

/* Takes a reference on each chunk of p (which must be LIVE) and writes the
 * part's manifest, checking that the chunks tile [0, size). */
static int part_manifest_add(struct conn *c, int64_t up, const meta_part_new *p, orc_err *e)
{
    sqlite3_stmt *ref = NULL, *add = NULL;
    uint64_t end = 0;
    int rc = sq_stmt(c, ST_CHUNK_REF, &ref, e);
    if (!rc) rc = sq_stmt(c, ST_MP_PMAN_ADD, &add, e);
    if (rc) return rc;
    for (size_t i = 0; i < p->nchunks; i++) {
        int64_t id = p->chunk_ids[i];
        if (p->offsets[i] != end)
            return orc_fail(e, ORC_EINVAL,
                            "part %d: chunk %zu starts at %" PRIu64 ", expected %" PRIu64,
                            p->number, i, p->offsets[i], end);
        if (sqlite3_bind_int64(ref, 1, id)) return sq_bind_fail(c, e);
        if ((rc = sq_row(c, ref, "chunk reference", e)) < 0) return rc;
        if (rc == 0) {
            rc = sq_not_in_state(c, id, META_CHUNK_LIVE, e);
            if (rc != ORC_ENOTFOUND) return rc;
            return orc_fail(e, ORC_ECONFLICT,
                            "chunk %" PRId64 " was collected while the upload ran: upload again",
                            id);
        }
        end += (uint64_t)sqlite3_column_int64(ref, 0);
        sqlite3_reset(ref);
        if (sqlite3_bind_int64(add, 1, up) || sqlite3_bind_int(add, 2, p->number) ||
            sqlite3_bind_int64(add, 3, (int64_t)p->offsets[i]) || sqlite3_bind_int64(add, 4, id))
            return sq_bind_fail(c, e);
        if ((rc = sq_run(c, add, "part manifest insert", e))) return rc;
    }
    if (end != p->size)
        return orc_fail(e, ORC_EINVAL, "part %d: chunks cover %" PRIu64 " bytes, size is %" PRIu64,
                        p->number, end, p->size);
    return ORC_OK;
}

static int part_put(struct conn *c, int64_t bucket_id, const meta_part_new *p, orc_err *e)
{
    meta_upload u;
    sqlite3_stmt *s = NULL;
    int rc = upload_find(c, bucket_id, p->key, p->upload_id, &u, e);
    if (rc <= 0) return rc ? rc : no_upload(p->upload_id, e);
    int64_t up = u.id;
    meta_upload_dispose(&u);
    /* The part it replaces goes first; shared chunks may touch 0 and come
     * back up below, all in this transaction. */
    if ((rc = part_drop(c, up, p->number, e))) return rc;
    if ((rc = sq_stmt(c, ST_MP_PART_ADD, &s, e))) return rc;
    if (sqlite3_bind_int64(s, 1, up) || sqlite3_bind_int(s, 2, p->number) ||
        sqlite3_bind_int64(s, 3, (int64_t)p->size) || sq_bind_text(s, 4, p->etag) ||
        sqlite3_bind_int64(s, 5, p->mtime_ms))
        return sq_bind_fail(c, e);
    if ((rc = sq_run(c, s, "part insert", e))) return rc;
    return part_manifest_add(c, up, p, e);
}

int sq_part_put(meta *m, int64_t bucket_id, const meta_part_new *p, orc_err *e)
{
    int rc = check_upload_args(p->key, p->upload_id, e);
    if (rc) return rc;
    if (p->number < 1 || p->number > META_PART_MAX)
        return orc_fail(e, ORC_EINVAL, "part number %d is not 1 to %d", p->number, META_PART_MAX);
    if (!p->etag || strlen(p->etag) >= sizeof(((meta_part *)0)->etag))
        return orc_fail(e, ORC_EINVAL, "part %d: bad ETag", p->number);
    if (p->size > INT64_MAX) return orc_fail(e, ORC_EINVAL, "part %d: too large", p->number);
    if (p->nchunks && (!p->chunk_ids || !p->offsets))
        return orc_fail(e, ORC_EINVAL, "part %d: chunks without ids or offsets", p->number);
    struct conn *c;
    if ((rc = sq_acquire(m, &c, e))) return rc;
    if (!(rc = sq_tx_begin(m, c, TX_WRITE, e)))
        rc = sq_tx_end(m, c, TX_WRITE, part_put(c, bucket_id, p, e), e);
    sq_release(m, c);
    return rc;
}

static int part_list(struct conn *c, int64_t bucket_id, const char *key, const char *upload_id,
                     int after, size_t limit, meta_part **out, size_t *n, orc_err *e)
{
    meta_upload u;
    sqlite3_stmt *s = NULL;
    meta_part *v = NULL;
    size_t len = 0, cap = 0;
    int rc = upload_find(c, bucket_id, key, upload_id, &u, e);
    if (rc <= 0) return rc ? rc : no_upload(upload_id, e);
    int64_t up = u.id;
    meta_upload_dispose(&u);
    if ((rc = sq_stmt(c, ST_MP_PART_LIST, &s, e))) return rc;
    if (sqlite3_bind_int64(s, 1, up) || sqlite3_bind_int(s, 2, after) ||
        sqlite3_bind_int64(s, 3, sq_clamp64(limit)))
        return sq_bind_fail(c, e);
    while ((rc = sq_row(c, s, "part list", e)) == 1) {
        if (len == cap) v = orc_realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
        meta_part *p = &v[len++];
        p->number = sqlite3_column_int(s, 0);
        p->size = (uint64_t)sqlite3_column_int64(s, 1);
        sq_copy_text(p->etag, sizeof(p->etag), s, 2);
        p->mtime_ms = sqlite3_column_int64(s, 3);
        sq_copy_text(p->checksum, sizeof(p->checksum), s, 4);
    }
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = len;
    return ORC_OK;
}

int sq_part_list(meta *m, int64_t bucket_id, const char *key, const char *upload_id, int after,
                 size_t limit, meta_part **out, size_t *n, orc_err *e)
{
    *out = NULL;
    *n = 0;
    int rc = check_upload_args(key, upload_id, e);
    if (rc) return rc == ORC_EINVAL ? no_upload(upload_id ? upload_id : "", e) : rc;
    struct conn *c;
    if ((rc = sq_acquire(m, &c, e))) return rc;
    if (!(rc = sq_tx_begin(m, c, TX_READ, e))) {
        rc = part_list(c, bucket_id, key, upload_id, after, limit, out, n, e);
        int end = sq_tx_end(m, c, TX_READ, rc, e);
        if (!rc && end) {
            free(*out);
            *out = NULL;
            *n = 0;
            rc = end;
        }
    }
    sq_release(m, c);
    return rc;
}

/* The chunks of one completed object being stitched from its parts. */
struct stitch {
    int64_t *ids;
    uint64_t *offs;
    size_t n, cap;
};

static void stitch_push(struct stitch *st, int64_t id, uint64_t off)
{
    if (st->n == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 64;
        st->ids = orc_realloc(st->ids, st->cap * sizeof(*st->ids));
        st->offs = orc_realloc(st->offs, st->cap * sizeof(*st->offs));
    }
    st->ids[st->n] = id;
    st->offs[st->n++] = off;
}

static int complete_fault(meta_complete *mc, int fault, int number, orc_err *e)
{
    static const char *const why[] = {"", "parts are not in ascending order",
                                      "a part is missing or its ETag does not match",
                                      "a part before the last is too small"};
    mc->fault = fault;
    mc->fault_part = number;
    return orc_fail(e, ORC_EINVAL, "part %d: %s", number, why[fault]);
}

/* Validates the listed parts and appends their manifests to st, shifted to
 * their offsets in the object; *size gets the object's size. */
static int stitch_parts(struct conn *c, int64_t up, meta_complete *mc, struct stitch *st,
                        uint64_t *starts, uint64_t *sizes, orc_err *e)
{
    sqlite3_stmt *ps = NULL, *ms = NULL;
    uint64_t size = 0;
    int prev = 0, small = 0; /* a missing part is reported before a small one */
    int rc = sq_stmt(c, ST_MP_PART_GET, &ps, e);
    if (!rc) rc = sq_stmt(c, ST_MP_PMAN_GET, &ms, e);
    if (rc) return rc;
    for (size_t i = 0; i < mc->nparts; i++) {
        int num = mc->parts[i].number;
        if (num <= prev || num > META_PART_MAX)
            return complete_fault(mc, META_COMPLETE_BAD_ORDER, num, e);
        prev = num;
        if (sqlite3_bind_int64(ps, 1, up) || sqlite3_bind_int(ps, 2, num))
            return sq_bind_fail(c, e);
        if ((rc = sq_row(c, ps, "part lookup", e)) < 0) return rc;
        if (rc == 0) return complete_fault(mc, META_COMPLETE_NO_PART, num, e);
        uint64_t psize = (uint64_t)sqlite3_column_int64(ps, 0);
        const unsigned char *etag = sqlite3_column_text(ps, 1);
        bool same = etag && mc->parts[i].etag && strcmp((const char *)etag, mc->parts[i].etag) == 0;
        sqlite3_reset(ps);
        if (!same) return complete_fault(mc, META_COMPLETE_NO_PART, num, e);
        if (i + 1 < mc->nparts && psize < mc->min_part_size && !small) small = num;
        if (sqlite3_bind_int64(ms, 1, up) || sqlite3_bind_int(ms, 2, num))
            return sq_bind_fail(c, e);
        while ((rc = sq_row(c, ms, "part manifest", e)) == 1)
            stitch_push(st, sqlite3_column_int64(ms, 1),
                        size + (uint64_t)sqlite3_column_int64(ms, 0));
        if (rc) return rc;
        starts[i] = size;
        sizes[i] = psize;
        size += psize;
    }
    if (small) return complete_fault(mc, META_COMPLETE_TOO_SMALL, small, e);
    mc->size = size;
    return ORC_OK;
}

static int upload_complete(struct conn *c, int64_t bucket_id, meta_complete *mc, orc_err *e)
{
    meta_upload u = {0};
    struct stitch st = {0};
    sqlite3_stmt *s = NULL;
    uint64_t *starts = orc_malloc(mc->nparts * sizeof(*starts));
    uint64_t *sizes = orc_malloc(mc->nparts * sizeof(*sizes));
    int rc = upload_find(c, bucket_id, mc->key, mc->upload_id, &u, e);
    if (rc <= 0) {
        if (rc == 0) rc = no_upload(mc->upload_id, e);
        goto done;
    }
    if ((rc = stitch_parts(c, u.id, mc, &st, starts, sizes, e))) goto done;
    meta_object_new o = {
        .key = u.key,
        .size = mc->size,
        .etag = mc->etag,
        .content_type = u.content_type,
        .storage_class = u.storage_class,
        .headers = mc->headers ? mc->headers : u.headers,
        .mtime_ms = mc->mtime_ms,
        .chunk_ids = st.ids,
        .offsets = st.offs,
        .nchunks = st.n,
        .start_ms = mc->start_ms,
    };
    /* sq_version_put re-checks every chunk is LIVE and takes the object's
     * references before upload_drop releases the parts': a chunk never
     * passes through 0 for good in between. */
    if ((rc = sq_check_object_new(&o, e)) ||
        (rc = sq_version_put(c, bucket_id, &o, &mc->object_id, e)))
        goto done;
    /* Superseded by a version whose request started later (object_id 0):
     * the upload still completes and goes, as in S3, but changes nothing. */
    if ((rc = sq_stmt(c, ST_MP_OBJPART_ADD, &s, e))) goto done;
    for (size_t i = 0; mc->object_id && i < mc->nparts; i++) {
        if (sqlite3_bind_int64(s, 1, mc->object_id) || sqlite3_bind_int64(s, 2, (int64_t)i + 1) ||
            sqlite3_bind_int64(s, 3, (int64_t)starts[i]) ||
            sqlite3_bind_int64(s, 4, (int64_t)sizes[i])) {
            rc = sq_bind_fail(c, e);
            goto done;
        }
        if ((rc = sq_run(c, s, "object part insert", e))) goto done;
    }
    if (!(rc = upload_drop(c, u.id, e)))
        rc = sq_completed_add(c, bucket_id, u.key, mc->upload_id, mc->etag, mc->mtime_ms, e);
done:
    meta_upload_dispose(&u);
    free(st.ids);
    free(st.offs);
    free(starts);
    free(sizes);
    return rc;
}

int sq_upload_complete(meta *m, int64_t bucket_id, meta_complete *mc, orc_err *e)
{
    mc->fault = META_COMPLETE_OK;
    mc->fault_part = 0;
    mc->size = 0;
    mc->object_id = 0;
    int rc = check_upload_args(mc->key, mc->upload_id, e);
    if (rc) return rc;
    if (mc->nparts == 0 || mc->nparts > META_PART_MAX || !mc->parts)
        return orc_fail(e, ORC_EINVAL, "a complete needs 1 to %d parts", META_PART_MAX);
    if (!mc->etag || strlen(mc->etag) >= sizeof(((meta_object *)0)->etag))
        return orc_fail(e, ORC_EINVAL, "bad ETag for the completed object");
    struct conn *c;
    if ((rc = sq_acquire(m, &c, e))) return rc;
    if (!(rc = sq_tx_begin(m, c, TX_WRITE, e)))
        rc = sq_tx_end(m, c, TX_WRITE, upload_complete(c, bucket_id, mc, e), e);
    sq_release(m, c);
    return rc;
}

static int upload_abort(struct conn *c, int64_t bucket_id, const char *key, const char *upload_id,
                        orc_err *e)
{
    meta_upload u;
    int rc = upload_find(c, bucket_id, key, upload_id, &u, e);
    if (rc <= 0) return rc ? rc : no_upload(upload_id, e);
    rc = upload_drop(c, u.id, e);
    meta_upload_dispose(&u);
    return rc;
}

int sq_upload_abort(meta *m, int64_t bucket_id, const char *key, const char *upload_id, orc_err *e)
{
    int rc = check_upload_args(key, upload_id, e);
    if (rc) return rc == ORC_EINVAL ? no_upload(upload_id ? upload_id : "", e) : rc;
    struct conn *c;
    if ((rc = sq_acquire(m, &c, e))) return rc;
    if (!(rc = sq_tx_begin(m, c, TX_WRITE, e)))
        rc = sq_tx_end(m, c, TX_WRITE, upload_abort(c, bucket_id, key, upload_id, e), e);
    sq_release(m, c);
    return rc;
}

int sq_upload_list(meta *m, int64_t bucket_id, const char *prefix, const char *from_key,
                   const char *from_upload, size_t limit, meta_upload **out, size_t *n, orc_err *e)
{
    char upper[META_KEY_MAX + 1];
    *out = NULL;
    *n = 0;
    if (!prefix) prefix = "";
    if (strlen(prefix) > META_KEY_MAX || (from_key && strlen(from_key) > META_KEY_MAX))
        return orc_fail(e, ORC_EINVAL, "prefix or marker longer than %d bytes", META_KEY_MAX);
    if (limit == 0) return ORC_OK;
    /* From the later of prefix and from_key; "" takes every upload of it. */
    const char *lower = prefix, *after = "";
    if (from_key && strcmp(from_key, prefix) >= 0) {
        lower = from_key;
        after = from_upload;
    }
    bool bounded = sq_prefix_successor(prefix, upper, sizeof(upper));

    struct conn *c;
    sqlite3_stmt *s = NULL;
    meta_upload *v = NULL;
    size_t len = 0, cap = 0;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = sq_stmt(c, ST_MP_UPLOAD_LIST, &s, e))) goto done;
    if (sqlite3_bind_int64(s, 1, bucket_id) || sq_bind_text(s, 2, lower) ||
        sq_bind_text(s, 3, after) || sq_bind_text(s, 4, bounded ? upper : NULL) ||
        sqlite3_bind_int64(s, 5, sq_clamp64(limit))) {
        rc = sq_bind_fail(c, e);
        goto done;
    }
    while ((rc = sq_row(c, s, "upload list", e)) == 1) {
        if (len == cap) v = orc_realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
        read_upload(s, &v[len++]);
    }
done:
    sq_release(m, c);
    if (rc) {
        for (size_t i = 0; i < len; i++)
            meta_upload_dispose(&v[i]);
        free(v);
        return rc;
    }
    *out = v;
    *n = len;
    return ORC_OK;
}

static int upload_expire(struct conn *c, int64_t cutoff_ms, size_t limit, size_t *n, orc_err *e)
{
    sqlite3_stmt *s = NULL;
    int64_t *ids = NULL;
    size_t len = 0, cap = 0;
    int rc = sq_stmt(c, ST_MP_EXPIRED, &s, e);
    if (rc) return rc;
    if (sqlite3_bind_int64(s, 1, cutoff_ms) || sqlite3_bind_int64(s, 2, sq_clamp64(limit)))
        return sq_bind_fail(c, e);
    while ((rc = sq_row(c, s, "expired uploads", e)) == 1) {
        if (len == cap) ids = orc_realloc(ids, (cap = cap ? cap * 2 : 16) * sizeof(*ids));
        ids[len++] = sqlite3_column_int64(s, 0);
    }
    for (size_t i = 0; !rc && i < len; i++)
        rc = upload_drop(c, ids[i], e);
    free(ids);
    if (!rc) *n = len;
    return rc;
}

int sq_upload_expire(meta *m, int64_t cutoff_ms, size_t limit, size_t *n, orc_err *e)
{
    *n = 0;
    struct conn *c;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if (!(rc = sq_tx_begin(m, c, TX_WRITE, e)))
        rc = sq_tx_end(m, c, TX_WRITE, upload_expire(c, cutoff_ms, limit, n, e), e);
    if (rc) *n = 0;
    sq_release(m, c);
    return rc;
}

int sq_object_part(meta *m, int64_t bucket_id, const char *key, int number, int64_t *object_id,
                   int *nparts, uint64_t *start, uint64_t *size, orc_err *e)
{
    *object_id = 0;
    *nparts = 0;
    *start = *size = 0;
    if (!key) return orc_fail(e, ORC_EINVAL, "object key is missing");
    struct conn *c;
    sqlite3_stmt *s = NULL;
    int rc = sq_acquire(m, &c, e);
    if (rc) return rc;
    if ((rc = sq_stmt(c, ST_MP_OBJPART_GET, &s, e))) goto done;
    if (sqlite3_bind_int64(s, 1, bucket_id) || sq_bind_text(s, 2, key) ||
        sqlite3_bind_int(s, 3, number)) {
        rc = sq_bind_fail(c, e);
        goto done;
    }
    if ((rc = sq_row(c, s, "object part", e)) == 1) {
        *object_id = sqlite3_column_int64(s, 0);
        *nparts = sqlite3_column_int(s, 1);
        if (sqlite3_column_type(s, 2) != SQLITE_NULL) {
            *start = (uint64_t)sqlite3_column_int64(s, 2);
            *size = (uint64_t)sqlite3_column_int64(s, 3);
        }
        sqlite3_reset(s);
        rc = ORC_OK;
    } else if (rc == 0) {
        rc = orc_fail(e, ORC_ENOTFOUND, "no object %s", key);
    }
done:
    sq_release(m, c);
    return rc;
}

/* ---- a part's additional checksum (multipart checksums) ---- */

static int part_set_checksum(struct conn *c, int64_t bucket_id, const char *key,
                             const char *upload_id, int number, const char *etag, int64_t mtime_ms,
                             const char *checksum, orc_err *e)
{
    meta_upload u;
    sqlite3_stmt *s = NULL;
    int rc = upload_find(c, bucket_id, key, upload_id, &u, e);
    if (rc <= 0) return rc ? rc : no_upload(upload_id, e);
    int64_t up = u.id;
    meta_upload_dispose(&u);
    rc = sqlite3_prepare_v2(c->db,
                            "UPDATE parts SET checksum = ?5 WHERE upload = ?1 AND number = ?2"
                            " AND etag = ?3 AND mtime_ms = ?4",
                            -1, &s, NULL);
    if (rc != SQLITE_OK) return sq_db_fail(c->db, rc, "part update", e);
    if (sqlite3_bind_int64(s, 1, up) || sqlite3_bind_int(s, 2, number) ||
        sq_bind_text(s, 3, etag) || sqlite3_bind_int64(s, 4, mtime_ms) ||
        sq_bind_text(s, 5, checksum))
        rc = sq_bind_fail(c, e);
    else if ((rc = sqlite3_step(s)) != SQLITE_DONE)
        rc = sq_db_fail(c->db, rc, "part update", e);
    else
        rc = sqlite3_changes(c->db) == 1
                 ? ORC_OK
                 : orc_fail(e, ORC_ENOTFOUND, "part %d was replaced", number);
    sqlite3_finalize(s);
    return rc;
}

int sq_part_set_checksum(meta *m, int64_t bucket_id, const char *key, const char *upload_id,
                         int number, const char *etag, int64_t mtime_ms, const char *checksum,
                         orc_err *e)
{
    int rc = check_upload_args(key, upload_id, e);
    if (rc) return rc == ORC_EINVAL ? no_upload(upload_id ? upload_id : "", e) : rc;
    if (!etag) return orc_fail(e, ORC_EINVAL, "part ETag missing");
    struct conn *c;
    if ((rc = sq_acquire(m, &c, e))) return rc;
    if (!(rc = sq_tx_begin(m, c, TX_WRITE, e)))
        rc = sq_tx_end(
            m, c, TX_WRITE,
            part_set_checksum(c, bucket_id, key, upload_id, number, etag, mtime_ms, checksum, e),
            e);
    sq_release(m, c);
    return rc;
}
