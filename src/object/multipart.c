/* Multipart uploads: create, UploadPartCopy, complete, listing uploads, and
 * the expiry of abandoned ones. UploadPart itself is a PUT whose commit goes
 * to meta_part_put (put.c); a part is a manifest of chunk references, so
 * completing is one metadata transaction over manifests and moves no data. */
#include "object/object.h"
#include "object/object_int.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/time.h"

#define MP_LIST_BATCH 256
#define MP_EXPIRE_BATCH 100

int object_mp_create(store *s, int64_t bucket_id, const char *key, int64_t initiator,
                     const char *content_type, const char *headers, const char *storage_class,
                     char upload_id[META_UPLOAD_ID_MAX + 1], orc_err *e)
{
    uint8_t rnd[16];
    char hex[33];
    /* Time first, so that upload ids of one key sort by creation as S3's
     * listing does; then 128 random bits, so ids are never guessed. */
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return orc_fail(e, ORC_EINTERNAL, "no random bytes for an upload id");
    hex_encode(rnd, sizeof(rnd), hex);
    snprintf(upload_id, META_UPLOAD_ID_MAX + 1, "%012llx%s",
             (unsigned long long)orc_now_ms() & 0xffffffffffffull, hex);
    return meta_upload_create(s->m, bucket_id, key, upload_id, initiator, content_type, headers,
                              storage_class, orc_now_ms(), e);
}

/* ---- UploadPartCopy ---- */

/* The part being built: its chunks, and the MD5 over their hashes (its ETag). */
struct part_build {
    int64_t *ids;
    uint64_t *offs;
    size_t n, cap;
    EVP_MD_CTX *md5;
};

static void build_push(struct part_build *b, int64_t id, uint64_t off, const uint8_t hash[32])
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->ids = orc_realloc(b->ids, b->cap * sizeof(*b->ids));
        b->offs = orc_realloc(b->offs, b->cap * sizeof(*b->offs));
    }
    b->ids[b->n] = id;
    b->offs[b->n++] = off;
    EVP_DigestUpdate(b->md5, hash, 32);
}

/* Stores plaintext as new chunks (FastCDC cut, dedup claim, seal, copies,
 * LIVE) at part offset off. len is at most one maximum chunk (an edge of a
 * copied range), so one buffer of one sealed chunk serves. */
static int store_bytes(store *s, const place_policy *pol, const uint8_t *data, size_t len,
                       uint64_t off, struct part_build *b, orc_err *e)
{
    cdc c;
    size_t pos = 0;
    uint8_t *sealed = NULL;
    int rc = ORC_OK;
    cdc_init(&c, &s->cdc);
    while (!rc && pos < len) {
        size_t n = cdc_cut(&c, data + pos, len - pos, true);
        uint8_t h[32];
        meta_chunk k;
        bool is_new = false;
        chunk_hash(data + pos, n, h);
        if ((rc = object_chunk_claim(s, pol, h, n, &k, &is_new, e))) break;
        if (is_new) {
            size_t sealed_len = seal_sealed_len(n);
            sealed = orc_realloc(sealed, sealed_len);
            if ((rc = seal_chunk(s->keys, h, data + pos, n, sealed, e))) {
                meta_chunk_abandon(s->m, k.id, NULL);
                break;
            }
            if ((rc = object_chunk_write(s, &k, sealed, sealed_len, e))) break;
        }
        build_push(b, k.id, off + pos, h);
        pos += n;
    }
    free(sealed);
    return rc;
}

/* Reads bytes [lo, hi) of the chunk (offsets within it), verified, and
 * stores them as new chunks with pol at part offset off. */
static int copy_edge(store *s, const place_policy *pol, const meta_chunk *c, uint64_t lo,
                     uint64_t hi, uint64_t off, struct part_build *b, orc_err *e)
{
    const uint8_t *plain = NULL;
    orc_buf buf;
    orc_buf_init(&buf, 0);
    int rc = object_chunk_read(s, c, true, &buf, &plain, e);
    if (!rc) rc = store_bytes(s, pol, plain + lo, (size_t)(hi - lo), off, b, e);
    orc_buf_dispose(&buf);
    return rc;
}

/* Builds the part over extents ext[0..n) for the source range [first, end). */
static int build_from_extents(store *s, const place_policy *pol, const meta_extent *ext, size_t n,
                              uint64_t first, uint64_t end, struct part_build *b, orc_err *e)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t xs = ext[i].offset, xe = xs + ext[i].chunk.plain_len;
        uint64_t lo = xs > first ? xs : first, hi = xe < end ? xe : end;
        if (lo >= hi) continue;
        int rc;
        if (lo == xs && hi == xe) {
            build_push(b, ext[i].chunk.id, xs - first, ext[i].chunk.hash);
        } else if ((rc = copy_edge(s, pol, &ext[i].chunk, lo - xs, hi - xs, lo - first, b, e))) {
            return rc;
        }
    }
    return ORC_OK;
}

int object_upload_copy_part(store *s, const object_mp_copy_args *a, object_put_result *res,
                            uint64_t *src_size, orc_err *e)
{
    meta_upload up;
    meta_object src = {0};
    meta_extent *ext = NULL;
    size_t n = 0;
    struct part_build b = {0};
    uint8_t md5[16];

    /* Before any chunk is written: an unknown upload writes nothing. */
    int rc = object_upload_get(s, a->bucket_id, a->key, a->upload_id, &up, e);
    if (rc) return rc;
    /* New edge chunks go where the upload's class puts them. */
    const place_policy *pol = &object_class_get(s, up.storage_class)->pol;
    meta_upload_dispose(&up);

    uint64_t from = a->has_range ? a->first : 0;
    uint64_t to = a->has_range ? (a->last == UINT64_MAX ? UINT64_MAX : a->last + 1) : UINT64_MAX;
    rc = meta_object_get(s->m, a->src_bucket_id, a->src_key, true, from, to, &src, &ext, &n, e);
    if (rc) return rc;
    if (src_size) *src_size = src.size;
    uint64_t first = 0, end = src.size;
    if (a->has_range) {
        if (a->first > a->last || a->last >= src.size) {
            rc = orc_fail_detail(e, ORC_EINVAL, ORC_D_INVALID_RANGE, "InvalidRange");
            goto done;
        }
        first = a->first;
        end = a->last + 1;
    }
    if (end - first > OBJECT_MAX_SIZE) {
        rc = orc_fail_detail(e, ORC_EINVAL, ORC_D_TOO_LARGE, "EntityTooLarge");
        goto done;
    }
    b.md5 = EVP_MD_CTX_new();
    EVP_DigestInit_ex(b.md5, EVP_md5(), NULL);
    if ((rc = build_from_extents(s, pol, ext, n, first, end, &b, e))) goto done;
    EVP_DigestFinal_ex(b.md5, md5, NULL);
    hex_encode(md5, 16, res->etag);
    res->mtime_ms = orc_now_ms();
    meta_part_new p = {
        .upload_id = a->upload_id,
        .key = a->key,
        .number = a->part_number,
        .size = end - first,
        .etag = res->etag,
        .mtime_ms = res->mtime_ms,
        .chunk_ids = b.ids,
        .offsets = b.offs,
        .nchunks = b.n,
    };
    rc = meta_part_put(s->m, a->bucket_id, &p, e);
    if (rc == ORC_ENOTFOUND) rc = orc_fail_detail(e, rc, ORC_D_NO_SUCH_UPLOAD, "NoSuchUpload");
    /* A referenced chunk was collected after the source was overwritten: the
     * client copies again and sees the new source. */
    if (rc == ORC_ECONFLICT) rc = orc_fail(e, ORC_ETRANSIENT, "source changed during the copy");
done:
    EVP_MD_CTX_free(b.md5);
    free(b.ids);
    free(b.offs);
    free(ext);
    meta_object_dispose(&src);
    return rc;
}

/* ---- complete ---- */

/* The multipart ETag of a part list: the MD5 of the parts' binary MD5s and
 * "-N". Non-zero with *fault set when the list cannot name parts (order, or
 * an ETag that is not an MD5). */
static int parts_etag(const meta_part_ref *parts, size_t n, char out[64], int *fault,
                      int *fault_part, orc_err *e)
{
    /* The ETag is the MD5 of the parts' binary MD5s; a listed ETag that is
     * not an MD5 cannot match a part, so the part is invalid. */
    EVP_MD_CTX *md5 = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md5, EVP_md5(), NULL);
    int prev = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t raw[16];
        if (parts[i].number <= prev || parts[i].number > META_PART_MAX) {
            *fault = META_COMPLETE_BAD_ORDER;
        } else if (!parts[i].etag || strlen(parts[i].etag) != 32 ||
                   hex_decode(parts[i].etag, 16, raw) != 0) {
            *fault = META_COMPLETE_NO_PART;
        }
        if (*fault) {
            *fault_part = parts[i].number;
            EVP_MD_CTX_free(md5);
            return orc_fail(e, ORC_EINVAL, "part %d: bad order or ETag", parts[i].number);
        }
        prev = parts[i].number;
        EVP_DigestUpdate(md5, raw, 16);
    }
    uint8_t sum[16];
    char hex[33];
    EVP_DigestFinal_ex(md5, sum, NULL);
    EVP_MD_CTX_free(md5);
    hex_encode(sum, 16, hex);
    snprintf(out, 64, "%s-%zu", hex, n);
    return ORC_OK;
}

int object_mp_completed(store *s, int64_t bucket_id, const char *key, const char *upload_id,
                        const meta_part_ref *parts, size_t n, object_put_result *res, orc_err *e)
{
    meta_completed done;
    int fault = 0, fault_part = 0;
    char etag[64];
    if (n == 0 || n > META_PART_MAX || parts_etag(parts, n, etag, &fault, &fault_part, e))
        return orc_fail(e, ORC_ENOTFOUND, "no such upload");
    int rc = meta_upload_completed(s->m, bucket_id, key, upload_id, orc_now_ms(), &done, e);
    if (rc) return rc;
    /* Another part list would have made another object: not a repeat. */
    if (strcmp(done.etag, etag) != 0) return orc_fail(e, ORC_ENOTFOUND, "no such upload");
    snprintf(res->etag, sizeof(res->etag), "%s", done.etag);
    res->mtime_ms = done.completed_ms;
    return ORC_OK;
}

int object_mp_complete(store *s, int64_t bucket_id, const char *key, const char *upload_id,
                       const meta_part_ref *parts, size_t n, const char *headers,
                       const object_commit *cm, object_put_result *res, int *fault, int *fault_part,
                       orc_err *e)
{
    *fault = META_COMPLETE_OK;
    *fault_part = 0;
    if (n == 0 || n > META_PART_MAX)
        return orc_fail(e, ORC_EINVAL, "a complete lists 1 to %d parts", META_PART_MAX);
    int rc = parts_etag(parts, n, res->etag, fault, fault_part, e);
    if (rc) return rc;
    res->mtime_ms = orc_now_ms();
    meta_complete mc = {
        .upload_id = upload_id,
        .key = key,
        .parts = parts,
        .nparts = n,
        .min_part_size = OBJECT_MP_MIN_PART,
        .etag = res->etag,
        .mtime_ms = res->mtime_ms,
        .headers = headers,
        .start_ms = cm ? cm->start_ms : 0,
    };
    if ((rc = object_commit_check(cm, e))) return rc;
    rc = meta_upload_complete(s->m, bucket_id, &mc, e);
    res->superseded = !rc && mc.object_id == 0;
    *fault = mc.fault;
    *fault_part = mc.fault_part;
    if (rc == ORC_ECONFLICT) /* a part outlived the grace period: cannot happen with refs */
        return orc_fail(e, ORC_ETRANSIENT, "a part's chunk is being collected; retry");
    return rc;
}

/* ---- expiry ---- */

long object_mp_expire(store *s, int64_t max_age_ms, orc_err *e)
{
    long total = 0;
    for (;;) {
        size_t n = 0;
        int rc = meta_upload_expire(s->m, orc_now_ms() - max_age_ms, MP_EXPIRE_BATCH, &n, e);
        if (rc) return rc;
        total += (long)n;
        if (n < MP_EXPIRE_BATCH) break;
    }
    return total;
}

/* ---- listing ---- */

static void push(object_mp_list_result *r, size_t *cap, object_mp_list_entry *en)
{
    if (r->n == *cap) {
        *cap = *cap ? *cap * 2 : 32;
        r->entries = orc_realloc(r->entries, *cap * sizeof(*r->entries));
    }
    r->entries[r->n++] = *en;
}

/* Where listing starts: (key, upload) with upload NULL meaning "after every
 * upload of key", "" meaning "every upload of key". */
struct cursor {
    char *key, *upload;
};

static void cursor_set(struct cursor *c, char *key, const char *upload)
{
    free(c->key);
    free(c->upload);
    c->key = key;
    c->upload = upload ? orc_strdup(upload) : NULL;
}

static void finish_page(object_mp_list_result *out)
{
    object_mp_list_entry *last = &out->entries[out->n - 1];
    if (last->is_prefix) {
        out->next_key = orc_strdup(last->prefix);
    } else {
        out->next_key = orc_strdup(last->up.key);
        out->next_upload_id = orc_strdup(last->up.upload_id);
    }
}

int object_mp_list(store *s, int64_t bucket_id, const object_mp_list_args *a,
                   object_mp_list_result *out, orc_err *e)
{
    const char *prefix = a->prefix ? a->prefix : "";
    const char *delim = a->delimiter && *a->delimiter ? a->delimiter : NULL;
    size_t plen = strlen(prefix), cap = 0;
    struct cursor cur = {0};
    int rc = ORC_OK;

    memset(out, 0, sizeof(*out));
    if (a->max_uploads == 0) return ORC_OK;
    if (a->key_marker && *a->key_marker) {
        const char *um = a->upload_id_marker && *a->upload_id_marker ? a->upload_id_marker : NULL;
        cursor_set(&cur, orc_strdup(a->key_marker), um);
        /* A marker that is a common prefix (our NextKeyMarker) skips it all. */
        const char *d =
            delim && strncmp(cur.key, prefix, plen) == 0 ? strstr(cur.key + plen, delim) : NULL;
        if (d && d[strlen(delim)] == 0) {
            char *next = object_key_successor(cur.key);
            if (!next) goto done;
            cursor_set(&cur, next, "");
        }
    }
    for (;;) {
        meta_upload *ups = NULL;
        size_t n = 0, i = 0;
        rc = meta_upload_list(s->m, bucket_id, prefix, cur.key, cur.upload, MP_LIST_BATCH, &ups, &n,
                              e);
        if (rc) break;
        bool more = n == MP_LIST_BATCH;
        for (; i < n; i++) {
            object_mp_list_entry en = {0};
            const char *d = delim ? strstr(ups[i].key + plen, delim) : NULL;
            if (out->n == a->max_uploads) {
                out->truncated = true;
                break;
            }
            if (d) {
                en.is_prefix = true;
                en.prefix = orc_strndup(ups[i].key, (size_t)(d - ups[i].key) + strlen(delim));
                push(out, &cap, &en);
                char *next = object_key_successor(en.prefix);
                more = next != NULL;
                cursor_set(&cur, next, "");
                i++;
                break; /* re-query past the prefix */
            }
            en.up = ups[i];
            memset(&ups[i], 0, sizeof(ups[i]));
            push(out, &cap, &en);
            cursor_set(&cur, orc_strdup(en.up.key), en.up.upload_id);
        }
        for (size_t k = 0; k < n; k++)
            meta_upload_dispose(&ups[k]);
        free(ups);
        if (out->truncated) {
            finish_page(out);
            break;
        }
        if (!more) break;
    }
done:
    cursor_set(&cur, NULL, NULL);
    if (rc) object_mp_list_result_dispose(out);
    return rc;
}

void object_mp_list_result_dispose(object_mp_list_result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->entries[i].is_prefix)
            free(r->entries[i].prefix);
        else
            meta_upload_dispose(&r->entries[i].up);
    }
    free(r->entries);
    free(r->next_key);
    free(r->next_upload_id);
    memset(r, 0, sizeof(*r));
}
