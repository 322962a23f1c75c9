/* PUT: the streaming write pipeline (see object.h for the stages).
 *
 * Memory per request is bounded by the queues and reused, never allocated per
 * chunk: PUT_BLOCKS receive blocks, a stream buffer of one maximum chunk plus
 * a block for the chunker, and SEALED_BUFS sealed-chunk buffers (SEALED_DEPTH
 * waiting for a writer, PUT_WRITERS being written, one being sealed). */
#include "object/object.h"
#include "object/object_int.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/queue.h"
#include "util/time.h"

#define PUT_BLOCK (1u << 20)
#define PUT_BLOCKS 4
#define SEALED_DEPTH 1
/* Chunks whose copies are being written at once. One would do for local
 * disks; a cloud answers each PUT after a round trip, so a stream of chunks
 * to it needs several in flight to keep its pipe full. */
#define PUT_WRITERS 3
#define SEALED_BUFS (SEALED_DEPTH + PUT_WRITERS + 1)
#define IO_ALIGN 4096 /* sealed buffers suit O_DIRECT writes */
/* What a non-blocking writer may hold beyond its blocks: one call's bytes
 * (an HTTP read, at most a connection's memory) with a wide margin. */
#define PUT_OVER_MAX (4u << 20)

struct block {
    size_t len;
    uint8_t data[PUT_BLOCK];
};

struct sealed {
    meta_chunk chunk; /* claimed, PENDING */
    uint8_t *data;
    size_t len, cap;
};

struct object_put {
    store *s;
    const struct store_class *cls; /* where new chunks go; what the object records */
    int64_t bucket_id;
    char *key, *content_type, *headers;
    uint64_t content_length, received;
    bool has_md5, has_sha;
    uint8_t want_md5[16];
    char want_sha[65];
    meta_put_cond cond; /* checked in the version switch */
    char *upload_id;    /* UploadPart: commit as this upload's part */
    int part_number;
    object_commit commit;
    EVP_MD_CTX *md5, *sha;
    bool piped, closed;

    orc_buf body; /* small bodies: the whole body */

    struct block *cur; /* being filled by the connection thread */
    void (*wake)(void *);
    void *wake_arg;
    orc_buf over; /* with wake: bytes taken while no receive block was free */
    orc_queue full, spare, sealed, spare_sealed;
    pthread_t sealer, writers[PUT_WRITERS];

    pthread_mutex_t mu; /* guards rc, err and the chunk list */
    int rc;
    orc_err err;
    int64_t *chunk_ids;
    uint64_t *offsets;
    size_t nchunks, cap;
};

static void fail(object_put *w, int rc, const orc_err *e)
{
    pthread_mutex_lock(&w->mu);
    if (!w->rc) {
        w->rc = rc;
        w->err = *e;
    }
    pthread_mutex_unlock(&w->mu);
}

static int failed(object_put *w)
{
    pthread_mutex_lock(&w->mu);
    int rc = w->rc;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

static void add_chunk(object_put *w, int64_t id, uint64_t off)
{
    pthread_mutex_lock(&w->mu);
    if (w->nchunks == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 16;
        w->chunk_ids = orc_realloc(w->chunk_ids, w->cap * sizeof(*w->chunk_ids));
        w->offsets = orc_realloc(w->offsets, w->cap * sizeof(*w->offsets));
    }
    w->chunk_ids[w->nchunks] = id;
    w->offsets[w->nchunks++] = off;
    pthread_mutex_unlock(&w->mu);
}

/* A buffer for a sealed chunk of len bytes: from the request's pool when
 * piped (blocking while all are in use: backpressure), else a new one. */
static struct sealed *sealed_get(object_put *w, size_t len)
{
    struct sealed *sc = w->piped ? orc_queue_pop(&w->spare_sealed) : NULL;
    if (!sc) sc = orc_calloc(1, sizeof(*sc));
    if (sc->cap < len) {
        free(sc->data);
        /* Padding never shrinks as chunks grow: the largest chunk's fits all. */
        sc->cap = w->piped ? seal_sealed_len(w->s->cdc.max) : len;
        sc->cap = (sc->cap + IO_ALIGN - 1) & ~(size_t)(IO_ALIGN - 1);
        sc->data = orc_malloc_aligned(IO_ALIGN, sc->cap);
    }
    sc->len = len;
    return sc;
}

static void sealed_free(struct sealed *sc)
{
    if (!sc) return;
    free(sc->data);
    free(sc);
}

static void sealed_put(object_put *w, struct sealed *sc)
{
    if (!sc) return;
    if (!w->piped || !orc_queue_push(&w->spare_sealed, sc)) sealed_free(sc);
}

/* Hashes, dedups and seals one chunk. A new chunk is returned in *out for the
 * writer; a chunk already stored only gets a reference. */
static int seal_one(object_put *w, const uint8_t *data, size_t len, uint64_t off,
                    struct sealed **out, orc_err *e)
{
    uint8_t h[32];
    meta_chunk c;
    bool is_new;
    *out = NULL;
    chunk_hash(data, len, h);
    int rc = object_chunk_claim(w->s, &w->cls->pol, h, len, &c, &is_new, e);
    if (rc) return rc;
    add_chunk(w, c.id, off);
    if (!is_new) return ORC_OK;
    struct sealed *sc = sealed_get(w, seal_sealed_len(len));
    sc->chunk = c;
    rc = seal_chunk(w->s->keys, h, data, len, sc->data, e);
    if (rc) {
        meta_chunk_abandon(w->s->m, c.id, NULL);
        sealed_put(w, sc);
        return rc;
    }
    *out = sc;
    return ORC_OK;
}

int object_commit_check(const object_commit *cm, orc_err *e)
{
    if (cm && cm->alive && !cm->alive(cm->alive_ctx))
        return orc_fail(e, ORC_ECANCELED,
                        "the client closed the connection before the commit; nothing was stored");
    return ORC_OK;
}

static void *writer_main(void *arg)
{
    object_put *w = arg;
    pthread_setname_np(pthread_self(), "orc-put-write");
    struct sealed *sc;
    while ((sc = orc_queue_pop(&w->sealed))) {
        orc_err e = {0};
        int rc;
        if (failed(w)) {
            meta_chunk_abandon(w->s->m, sc->chunk.id, NULL);
        } else if ((rc = object_chunk_write(w->s, &sc->chunk, sc->data, sc->len, &e))) {
            fail(w, rc, &e);
        }
        sealed_put(w, sc);
    }
    return NULL;
}

/* Cuts the stream buffer into chunks while a decision can be made. */
static int cut_chunks(object_put *w, const cdc *c, orc_buf *sb, size_t *pos, uint64_t *off,
                      bool eof, orc_err *e)
{
    while (sb->len > *pos) {
        size_t n = cdc_cut(c, sb->ptr + *pos, sb->len - *pos, eof);
        if (n == 0) break;
        struct sealed *sc;
        int rc = seal_one(w, sb->ptr + *pos, n, *off, &sc, e);
        if (rc) return rc;
        if (sc && !orc_queue_push(&w->sealed, sc)) sealed_put(w, sc);
        *pos += n;
        *off += n;
    }
    return ORC_OK;
}

static void *sealer_main(void *arg)
{
    object_put *w = arg;
    cdc c;
    orc_buf sb;
    size_t pos = 0;
    uint64_t off = 0;
    struct block *b;
    orc_err e = {0};
    int rc = 0;

    pthread_setname_np(pthread_self(), "orc-put-seal");
    cdc_init(&c, &w->s->cdc);
    orc_buf_init(&sb, 0);
    /* Compaction keeps the undecided tail (< max) at the front, so one more
     * block always fits. */
    orc_buf_reserve(&sb, (size_t)w->s->cdc.max + PUT_BLOCK, NULL);
    while ((b = orc_queue_pop(&w->full))) {
        if (!rc && !failed(w)) {
            if (w->sha) EVP_DigestUpdate(w->sha, b->data, b->len);
            if (sb.len + b->len > sb.cap - 1) { /* compact: keep the undecided tail */
                memmove(sb.ptr, sb.ptr + pos, sb.len - pos);
                sb.len -= pos;
                pos = 0;
            }
            orc_buf_append(&sb, b->data, b->len, NULL);
            if (sb.len - pos >= w->s->cdc.max) rc = cut_chunks(w, &c, &sb, &pos, &off, false, &e);
        }
        orc_queue_push(&w->spare, b);
    }
    if (!rc && !failed(w)) rc = cut_chunks(w, &c, &sb, &pos, &off, true, &e);
    if (rc) fail(w, rc, &e);
    orc_queue_close(&w->sealed);
    orc_buf_dispose(&sb);
    return NULL;
}

object_put *object_put_begin(store *s, const object_put_args *a)
{
    object_put *w = orc_calloc(1, sizeof(*w));
    w->s = s;
    w->bucket_id = a->bucket_id;
    w->key = orc_strdup(a->key);
    w->content_type = a->content_type ? orc_strdup(a->content_type) : NULL;
    w->headers = a->headers ? orc_strdup(a->headers) : NULL;
    w->content_length = a->content_length;
    w->cond = a->cond;
    w->upload_id = a->upload_id ? orc_strdup(a->upload_id) : NULL;
    w->part_number = a->part_number;
    w->cls = object_class_get(s, a->storage_class);
    if (a->upload_id) {
        /* A part goes where its upload's class puts it. An unknown upload
         * is refused at the commit (NoSuchUpload). */
        meta_upload up;
        orc_err ue = {0};
        if (meta_upload_get(s->m, a->bucket_id, a->key, a->upload_id, &up, &ue) == 0) {
            w->cls = object_class_get(s, up.storage_class);
            meta_upload_dispose(&up);
        }
    }
    w->commit = a->commit;
    if (!w->commit.start_ms) w->commit.start_ms = orc_now_ms();
    if (a->want_md5) {
        w->has_md5 = true;
        memcpy(w->want_md5, a->want_md5, 16);
    }
    w->md5 = EVP_MD_CTX_new();
    EVP_DigestInit_ex(w->md5, EVP_md5(), NULL);
    if (a->want_sha256) {
        w->has_sha = true;
        snprintf(w->want_sha, sizeof(w->want_sha), "%s", a->want_sha256);
        w->sha = EVP_MD_CTX_new();
        EVP_DigestInit_ex(w->sha, EVP_sha256(), NULL);
    }
    w->wake = a->wake;
    w->wake_arg = a->wake_arg;
    pthread_mutex_init(&w->mu, NULL);
    orc_buf_init(&w->body, 0);
    orc_buf_init(&w->over, PUT_OVER_MAX);
    /* Bodies that fit in one minimum chunk are one chunk: no threads. */
    w->piped = a->content_length > s->cdc.min;
    if (w->piped) {
        orc_queue_init(&w->full, PUT_BLOCKS);
        orc_queue_init(&w->spare, PUT_BLOCKS);
        orc_queue_init(&w->sealed, SEALED_DEPTH);
        orc_queue_init(&w->spare_sealed, SEALED_BUFS);
        for (int i = 0; i < SEALED_BUFS; i++)
            orc_queue_push(&w->spare_sealed, orc_calloc(1, sizeof(struct sealed)));
        for (int i = 0; i < PUT_BLOCKS; i++)
            orc_queue_push(&w->spare, orc_malloc(sizeof(struct block)));
        pthread_create(&w->sealer, NULL, sealer_main, w);
        for (int i = 0; i < PUT_WRITERS; i++)
            pthread_create(&w->writers[i], NULL, writer_main, w);
    }
    return w;
}

/* The next free receive block: blocks while all are in use (backpressure),
 * or with a wake function returns NULL and has it called when one is back. */
static struct block *next_block(object_put *w, bool may_block)
{
    struct block *b =
        may_block ? orc_queue_pop(&w->spare) : orc_queue_try_pop(&w->spare, w->wake, w->wake_arg);
    if (b) b->len = 0;
    return b;
}

/* Copies what fits into receive blocks, handing full ones to the sealer;
 * returns how many bytes it took. */
static size_t fill(object_put *w, const uint8_t *data, size_t len, bool may_block)
{
    size_t taken = 0;
    while (taken < len) {
        if (!w->cur && !(w->cur = next_block(w, may_block))) break;
        size_t n = PUT_BLOCK - w->cur->len < len - taken ? PUT_BLOCK - w->cur->len : len - taken;
        memcpy(w->cur->data + w->cur->len, data + taken, n);
        w->cur->len += n;
        taken += n;
        if (w->cur->len == PUT_BLOCK) {
            orc_queue_push(&w->full, w->cur); /* never waits: blocks come from spare */
            w->cur = NULL;
        }
    }
    return taken;
}

/* Moves held bytes into blocks, oldest first. */
static void fill_over(object_put *w, bool may_block)
{
    if (!w->over.len) return;
    size_t n = fill(w, w->over.ptr, w->over.len, may_block);
    memmove(w->over.ptr, w->over.ptr + n, w->over.len - n);
    w->over.len -= n;
}

int object_put_write(object_put *w, const uint8_t *data, size_t len, orc_err *e)
{
    int rc = failed(w);
    if (rc) return orc_fail_copy(e, rc, &w->err);
    if (len > w->content_length - w->received)
        return orc_fail_detail(e, ORC_EINVAL, ORC_D_INCOMPLETE_BODY,
                               "IncompleteBody: more bytes than Content-Length");
    w->received += len;
    EVP_DigestUpdate(w->md5, data, len);
    if (!w->piped) return orc_buf_append(&w->body, data, len, e);
    bool may_block = !w->wake;
    if (w->over.len) fill_over(w, may_block);
    size_t n = w->over.len ? 0 : fill(w, data, len, may_block);
    if (n == len) return ORC_OK;
    if (orc_buf_append(&w->over, data + n, len - n, e))
        return orc_fail(e, ORC_EINTERNAL, "PUT written to while paused");
    return ORC_EAGAIN;
}

/* Stops the pipeline threads (idempotent). */
static void close_pipeline(object_put *w)
{
    if (!w->piped || w->closed) return;
    w->closed = true;
    if (w->cur && w->cur->len)
        orc_queue_push(&w->full, w->cur);
    else if (w->cur)
        orc_queue_push(&w->spare, w->cur);
    w->cur = NULL;
    orc_queue_close(&w->full);
    pthread_join(w->sealer, NULL);
    for (int i = 0; i < PUT_WRITERS; i++)
        pthread_join(w->writers[i], NULL);
}

static int finish_small(object_put *w, orc_err *e)
{
    if (w->sha) EVP_DigestUpdate(w->sha, w->body.ptr, w->body.len);
    if (w->body.len == 0) return ORC_OK;
    struct sealed *sc;
    int rc = seal_one(w, w->body.ptr, w->body.len, 0, &sc, e);
    if (!rc && sc) rc = object_chunk_write(w->s, &sc->chunk, sc->data, sc->len, e);
    sealed_put(w, sc);
    return rc;
}

/* UploadPart: the body becomes a part of its upload instead of the object. */
static int commit_part(object_put *w, const object_put_result *res, orc_err *e)
{
    meta_part_new p = {
        .upload_id = w->upload_id,
        .key = w->key,
        .number = w->part_number,
        .size = w->content_length,
        .etag = res->etag,
        .mtime_ms = res->mtime_ms,
        .chunk_ids = w->chunk_ids,
        .offsets = w->offsets,
        .nchunks = w->nchunks,
    };
    int rc = meta_part_put(w->s->m, w->bucket_id, &p, e);
    if (rc == ORC_ECONFLICT)
        return orc_fail(e, ORC_ETRANSIENT, "upload outlived the chunk grace period; retry");
    return rc;
}

int object_put_finish(object_put *w, object_put_result *res, orc_err *e)
{
    uint8_t md5[16], sha[32];
    char hex[65];
    int rc;

    if (w->received != w->content_length) {
        close_pipeline(w);
        return orc_fail_detail(
            e, ORC_EINVAL, ORC_D_INCOMPLETE_BODY, "IncompleteBody: got %llu of %llu bytes",
            (unsigned long long)w->received, (unsigned long long)w->content_length);
    }
    if (w->piped) {
        fill_over(w, true);
        close_pipeline(w);
        if ((rc = failed(w))) return orc_fail_copy(e, rc, &w->err);
    } else if ((rc = finish_small(w, e))) {
        return rc;
    }
    EVP_DigestFinal_ex(w->md5, md5, NULL);
    if (w->has_md5 && memcmp(md5, w->want_md5, 16) != 0)
        return orc_fail_detail(e, ORC_ECORRUPT, ORC_D_BAD_DIGEST, "BadDigest");
    if (w->sha) {
        EVP_DigestFinal_ex(w->sha, sha, NULL);
        hex_encode(sha, 32, hex);
        if (strcmp(hex, w->want_sha) != 0)
            return orc_fail_detail(e, ORC_ECORRUPT, ORC_D_SHA256_MISMATCH,
                                   "XAmzContentSHA256Mismatch");
    }
    hex_encode(md5, 16, res->etag);
    res->mtime_ms = orc_now_ms();
    res->superseded = false;
    /* Last moment before anything becomes visible: a client that gave up
     * (timed out and closed) must not have its write land later. */
    if ((rc = object_commit_check(&w->commit, e))) return rc;
    if (w->upload_id) return commit_part(w, res, e);
    meta_object_new o = {
        .key = w->key,
        .size = w->content_length,
        .etag = res->etag,
        .content_type = w->content_type,
        .storage_class = w->cls->name,
        .headers = w->headers,
        .mtime_ms = res->mtime_ms,
        .chunk_ids = w->chunk_ids,
        .offsets = w->offsets,
        .nchunks = w->nchunks,
        .cond = w->cond,
        .start_ms = w->commit.start_ms,
    };
    int64_t id;
    rc = meta_object_put(w->s->m, w->bucket_id, &o, &id, e);
    if (!rc && id == 0) {
        res->superseded = true;
        LOG_INFO("PUT of %s superseded by a write that started later; not made visible", w->key);
    }
    if (rc == ORC_ECONFLICT && e->detail != ORC_D_PRECONDITION)
        /* a chunk was collected during a very slow upload */
        return orc_fail(e, ORC_ETRANSIENT, "upload outlived the chunk grace period; retry");
    return rc;
}

void object_put_free(object_put *w)
{
    if (!w) return;
    if (w->piped) {
        orc_err e = {.code = ORC_EINVAL, .msg = "aborted"};
        fail(w, ORC_EINVAL, &e); /* no-op if finished: rc only matters to finish */
        close_pipeline(w);
        struct block *b;
        orc_queue_close(&w->spare);
        while ((b = orc_queue_pop(&w->spare)))
            free(b);
        struct sealed *sc;
        orc_queue_close(&w->spare_sealed);
        while ((sc = orc_queue_pop(&w->spare_sealed)))
            sealed_free(sc);
        orc_queue_dispose(&w->full);
        orc_queue_dispose(&w->spare);
        orc_queue_dispose(&w->sealed);
        orc_queue_dispose(&w->spare_sealed);
    }
    EVP_MD_CTX_free(w->md5);
    EVP_MD_CTX_free(w->sha);
    orc_buf_dispose(&w->body);
    orc_buf_dispose(&w->over);
    pthread_mutex_destroy(&w->mu);
    free(w->chunk_ids);
    free(w->offsets);
    free(w->key);
    free(w->content_type);
    free(w->headers);
    free(w->upload_id);
    free(w);
}

void object_put_add_headers(object_put *w, const char *lines)
{
    size_t had = w->headers ? strlen(w->headers) : 0, n = strlen(lines);
    w->headers = orc_realloc(w->headers, had + n + 1);
    memcpy(w->headers + had, lines, n + 1);
}
