/* GET: reads the chunks overlapping a range, verifying and decrypting each,
 * with a reader thread fetching ahead of the sender for multi-chunk reads. */
#include "object/object.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/log.h"
#include "util/queue.h"

#define READ_AHEAD 2
#define PIECES (READ_AHEAD + 2) /* ready queue, one being filled, one being sent */

struct piece {
    int rc;
    orc_err err;
    uint64_t off; /* object offset of plain.ptr[0] */
    orc_buf plain;
};

struct object_reader {
    store *s;
    meta_extent *ext;
    size_t next;
    size_t idx, end; /* extents [idx, end) still to fetch */
    uint64_t first, last, pos;
    struct piece *cur;
    bool threaded;
    orc_queue ready, spare; /* filled pieces; pieces to reuse */
    orc_buf sealed;         /* the reader thread's read buffer */
    pthread_t thread;
};

struct verify_ctx {
    const seal_keys *keys;
    const meta_chunk *c;
    orc_buf *plain;
};

/* place_verify_fn: authenticates and decrypts a sealed copy into ctx->plain. */
static int verify_copy(void *arg, orc_buf *sealed, orc_err *e)
{
    struct verify_ctx *v = arg;
    size_t n = 0;
    if (sealed->len != (size_t)v->c->sealed_len)
        return orc_fail(e, ORC_ECORRUPT, "sealed length %zu, expected %u", sealed->len,
                        v->c->sealed_len);
    orc_buf_reset(v->plain);
    if (orc_buf_reserve(v->plain, v->c->plain_len, e)) return ORC_EINTERNAL;
    int rc = seal_open(v->keys, v->c->hash, sealed->ptr, sealed->len, v->plain->ptr, &n, e);
    if (rc) return rc;
    if (n != v->c->plain_len) return orc_fail(e, ORC_ECORRUPT, "plaintext length mismatch");
    v->plain->len = n;
    return ORC_OK;
}

/* Reads, verifies and decrypts extent i into p, reusing p's buffers and the
 * caller's sealed buffer: fresh multi-MiB buffers per chunk would cost a
 * page fault and a page clear per 4 KiB, more than the decryption. */
static void fetch(object_reader *r, size_t i, struct piece *p, orc_buf *sealed)
{
    const meta_chunk *c = &r->ext[i].chunk;
    char name[SEAL_NAME_LEN + 1];
    p->off = r->ext[i].offset;
    p->rc = 0;
    orc_buf_reset(&p->plain);
    seal_name(r->s->keys, c->hash, name);
    struct verify_ctx v = {r->s->keys, c, &p->plain};
    p->rc = place_read(r->s->pl, name, c->copies, c->ncopies, verify_copy, &v, sealed, &p->err);
    if (p->rc) LOG_ERROR("read failed: %s", p->err.msg);
}

static struct piece *piece_new(void)
{
    struct piece *p = orc_calloc(1, sizeof(*p));
    orc_buf_init(&p->plain, 0);
    return p;
}

static void piece_free(struct piece *p)
{
    if (!p) return;
    orc_buf_dispose(&p->plain);
    free(p);
}

static void *reader_main(void *arg)
{
    object_reader *r = arg;
    pthread_setname_np(pthread_self(), "orc-get-read");
    for (size_t i = r->idx; i < r->end; i++) {
        struct piece *p = orc_queue_pop(&r->spare); /* blocks: bounded read-ahead */
        if (!p) break;
        fetch(r, i, p, &r->sealed);
        int rc = p->rc;
        if (!orc_queue_push(&r->ready, p)) {
            piece_free(p);
            break;
        }
        if (rc) break;
    }
    orc_queue_close(&r->ready);
    return NULL;
}

int object_get_open(store *s, int64_t bucket_id, const char *key, bool head_only,
                    meta_object *obj, object_reader **out, orc_err *e)
{
    meta_extent *ext = NULL;
    size_t n = 0;
    int rc = meta_object_get(s->m, bucket_id, key, !head_only, 0, UINT64_MAX, obj,
                             head_only ? NULL : &ext, head_only ? NULL : &n, e);
    if (rc) return rc;
    object_reader *r = orc_calloc(1, sizeof(*r));
    r->s = s;
    r->ext = ext;
    r->next = n;
    *out = r;
    return ORC_OK;
}

int object_get_range(object_reader *r, uint64_t first, uint64_t last, orc_err *e)
{
    r->first = r->pos = first;
    r->last = last;
    r->idx = r->end = 0;
    while (r->idx < r->next &&
           r->ext[r->idx].offset + r->ext[r->idx].chunk.plain_len <= first)
        r->idx++;
    r->end = r->idx;
    while (r->end < r->next && r->ext[r->end].offset <= last) r->end++;
    if (r->idx == r->end) return ORC_OK; /* empty object or empty range */
    /* The first chunk is read here, so that a chunk with no good copy is an
     * error response rather than a cut connection. */
    orc_buf_init(&r->sealed, 0);
    r->cur = piece_new();
    fetch(r, r->idx++, r->cur, &r->sealed);
    if (r->cur->rc) return orc_fail(e, r->cur->rc, "%s", r->cur->err.msg);
    if (r->idx < r->end) {
        r->threaded = true;
        orc_queue_init(&r->ready, READ_AHEAD);
        orc_queue_init(&r->spare, PIECES);
        for (int i = 0; i < PIECES - 1; i++) orc_queue_push(&r->spare, piece_new());
        pthread_create(&r->thread, NULL, reader_main, r);
    }
    return ORC_OK;
}

long object_read(object_reader *r, uint8_t *buf, size_t max, orc_err *e)
{
    size_t done = 0;
    while (done < max && r->pos <= r->last) {
        if (!r->cur || r->pos >= r->cur->off + r->cur->plain.len) {
            if (r->threaded && r->cur) orc_queue_push(&r->spare, r->cur);
            else piece_free(r->cur);
            r->cur = r->threaded ? orc_queue_pop(&r->ready) : NULL;
            if (!r->cur) break; /* no more chunks */
            if (r->cur->rc) return orc_fail(e, r->cur->rc, "%s", r->cur->err.msg);
            continue;
        }
        uint64_t in = r->pos - r->cur->off;
        uint64_t avail = r->cur->plain.len - in;
        uint64_t want = r->last - r->pos + 1;
        size_t n = max - done;
        if (n > avail) n = (size_t)avail;
        if (n > want) n = (size_t)want;
        memcpy(buf + done, r->cur->plain.ptr + in, n);
        done += n;
        r->pos += n;
    }
    if (done == 0 && r->pos <= r->last && r->next)
        return orc_fail(e, ORC_EINTERNAL, "object manifest ends before its size");
    return (long)done;
}

void object_reader_free(object_reader *r)
{
    if (!r) return;
    if (r->threaded) {
        struct piece *p;
        orc_queue_close(&r->ready);
        orc_queue_close(&r->spare);
        pthread_join(r->thread, NULL);
        while ((p = orc_queue_pop(&r->ready))) piece_free(p);
        while ((p = orc_queue_pop(&r->spare))) piece_free(p);
        orc_queue_dispose(&r->ready);
        orc_queue_dispose(&r->spare);
    }
    piece_free(r->cur);
    orc_buf_dispose(&r->sealed);
    free(r->ext);
    free(r);
}
