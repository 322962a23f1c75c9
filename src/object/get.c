/* GET: reads the chunks overlapping a range, verifying and decrypting each.
 * Up to READ_AHEAD chunks are fetched at once on the placement layer's I/O
 * threads, in order of need, so the sender finds the next chunk ready and a
 * slow single read does not stall the stream. */
#include "object/object_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/log.h"

#define READ_AHEAD 3

/* One chunk being fetched or sent. Its one buffer holds the sealed copy, then
 * (decrypted in place) the plaintext at buf.ptr + SEAL_HEADER_LEN; the buffer
 * is reused for later chunks, since fresh multi-MiB buffers cost a page fault
 * and a page clear per 4 KiB, more than the decryption. */
struct piece {
    object_reader *r;
    size_t idx; /* extent */
    int rc;
    orc_err err;
    uint64_t off; /* object offset of the first plaintext byte */
    const uint8_t *plain;
    size_t plain_len;
    orc_buf buf;
    bool done;
    void (*wake)(void *); /* a non-blocking reader waiting for this piece */
    void *wake_arg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

struct object_reader {
    store *s;
    meta_object ver;   /* the version being read (key owned, no other strings) */
    bool ranged;       /* object_get_range was called */
    meta_extent *ext;  /* those overlapping the range */
    size_t next;       /* extents */
    size_t fetch, end; /* next extent to fetch; one past the last needed */
    uint64_t first, last, pos;
    struct piece *cur;              /* being sent */
    struct piece *ring[READ_AHEAD]; /* in flight, in order */
    size_t head, count;
    struct piece *spare[READ_AHEAD + 1];
    size_t nspare;
    void (*wake)(void *); /* set: object_read never blocks */
    void *wake_arg;
};

static void fetch(struct piece *p)
{
    const meta_extent *x = &p->r->ext[p->idx];
    const uint8_t *plain = NULL;
    p->off = x->offset;
    p->plain = NULL;
    p->plain_len = 0;
    p->rc = object_chunk_read(p->r->s, &x->chunk, true, &p->buf, &plain, &p->err);
    if (!p->rc) {
        p->plain = plain;
        p->plain_len = x->chunk.plain_len;
    }
    /* Not logged above debug: each bad piece was (place.c), and the request
     * that needed this chunk logs the failure once with its id (s3/). A
     * read-ahead piece nobody consumes is not a failure of anything. */
    if (p->rc) LOG_DEBUG("read of chunk %lld failed: %s", (long long)x->chunk.id, p->err.msg);
}

static void fetch_job(void *arg)
{
    struct piece *p = arg;
    fetch(p);
    pthread_mutex_lock(&p->mu);
    p->done = true;
    pthread_cond_signal(&p->cv);
    void (*wake)(void *) = p->wake;
    void *wake_arg = p->wake_arg;
    p->wake = NULL;
    pthread_mutex_unlock(&p->mu);
    if (wake) wake(wake_arg);
}

static struct piece *piece_get(object_reader *r)
{
    if (r->nspare) return r->spare[--r->nspare];
    struct piece *p = orc_calloc(1, sizeof(*p));
    p->r = r;
    orc_buf_init(&p->buf, 0);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    return p;
}

static void piece_put(object_reader *r, struct piece *p)
{
    if (p) r->spare[r->nspare++] = p;
}

static void piece_free(struct piece *p)
{
    orc_buf_dispose(&p->buf);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

static void piece_wait(struct piece *p)
{
    pthread_mutex_lock(&p->mu);
    while (!p->done)
        pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

/* Whether p is fetched; if not, wake(arg) runs when it is. */
static bool piece_ready(struct piece *p, void (*wake)(void *), void *arg)
{
    pthread_mutex_lock(&p->mu);
    bool done = p->done;
    if (!done) {
        p->wake = wake;
        p->wake_arg = arg;
    }
    pthread_mutex_unlock(&p->mu);
    return done;
}

/* Keeps READ_AHEAD fetches in flight. */
static void submit(object_reader *r)
{
    while (r->count < READ_AHEAD && r->fetch < r->end) {
        struct piece *p = piece_get(r);
        p->idx = r->fetch++;
        p->done = false;
        r->ring[(r->head + r->count++) % READ_AHEAD] = p;
        place_run(r->s->pl, fetch_job, p);
    }
}

/* The next chunk in order, waiting for its fetch; NULL past the end, or
 * (*again set) when it is not fetched yet and may_block is false. */
static struct piece *take(object_reader *r, bool may_block, bool *again)
{
    submit(r);
    if (!r->count) return NULL;
    struct piece *p = r->ring[r->head];
    if (!may_block && !piece_ready(p, r->wake, r->wake_arg)) {
        *again = true;
        return NULL;
    }
    r->head = (r->head + 1) % READ_AHEAD;
    r->count--;
    piece_wait(p);
    submit(r); /* refill behind it while it is sent */
    return p;
}

int object_get_open(store *s, int64_t bucket_id, const char *key, meta_object *obj,
                    object_reader **out, orc_err *e)
{
    int rc = meta_object_get(s->m, bucket_id, key, false, 0, 0, obj, NULL, NULL, e);
    if (rc) return rc;
    object_reader *r = orc_calloc(1, sizeof(*r));
    r->s = s;
    /* The version's identity (not its owned strings but the key): the
     * extents are read for this version only, see object_get_range. */
    r->ver = *obj;
    r->ver.key = orc_strdup(obj->key);
    r->ver.content_type = r->ver.headers = NULL;
    *out = r;
    return ORC_OK;
}

int object_get_range(object_reader *r, uint64_t first, uint64_t last, orc_err *e)
{
    r->first = r->pos = first;
    r->last = last;
    r->ranged = true;
    /* Only the manifest rows of [first, last]: a 1-byte range of an object
     * of a million chunks reads one row. ORC_ECONFLICT if the version was
     * replaced since object_get_open. */
    uint64_t to = last == UINT64_MAX ? UINT64_MAX : last + 1;
    int rc = meta_object_extents(r->s->m, &r->ver, first, to, &r->ext, &r->next, e);
    if (rc) return rc;
    r->fetch = 0;
    r->end = r->next;
    if (r->fetch == r->end) return ORC_OK; /* empty object or empty range */
    /* The first chunk is waited for here, so that a chunk with no good copy
     * is an error response rather than a cut connection. */
    bool again = false;
    r->cur = take(r, true, &again);
    if (r->cur->rc) return orc_fail_copy(e, r->cur->rc, &r->cur->err);
    return ORC_OK;
}

int object_get_part(object_reader *r, int number, int *nparts, uint64_t *first, uint64_t *len,
                    orc_err *e)
{
    int64_t oid = 0;
    *first = *len = 0;
    int rc = meta_object_part(r->s->m, r->ver.bucket_id, r->ver.key, number, &oid, nparts, first,
                              len, e);
    if (rc == ORC_ENOTFOUND) /* it was there at object_get_open */
        return orc_fail(e, ORC_ECONFLICT, "%s was deleted while it was read", r->ver.key);
    if (rc) return rc;
    /* The id alone cannot tell: a version deleted and rewritten in between
     * may get the same id back. An empty extent read checks the whole
     * identity (meta_object_extents), in a transaction after the part's. */
    meta_extent *ext = NULL;
    size_t n = 0;
    if (oid != r->ver.id)
        return orc_fail(e, ORC_ECONFLICT, "%s was replaced while it was read", r->ver.key);
    rc = meta_object_extents(r->s->m, &r->ver, 0, 0, &ext, &n, e);
    free(ext);
    if (rc) return rc;
    if (*nparts == 0 && number == 1) { /* not multipart: part 1 is the object */
        *first = 0;
        *len = r->ver.size;
    } else if (number > *nparts) {
        return orc_fail_detail(e, ORC_EINVAL, ORC_D_INVALID_RANGE, "%s has %d parts, not %d",
                               r->ver.key, *nparts, number);
    }
    return ORC_OK;
}

long object_read(object_reader *r, uint8_t *buf, size_t max, orc_err *e)
{
    size_t done = 0;
    while (done < max && r->pos <= r->last) {
        if (!r->cur || r->pos >= r->cur->off + r->cur->plain_len) {
            bool again = false;
            piece_put(r, r->cur);
            if (!(r->cur = take(r, !r->wake, &again))) {
                if (again && !done) return orc_fail(e, ORC_EAGAIN, "waiting for a chunk");
                if (again) return (long)done;
                break; /* no more chunks */
            }
            if (r->cur->rc) return orc_fail_copy(e, r->cur->rc, &r->cur->err);
            continue;
        }
        uint64_t in = r->pos - r->cur->off;
        uint64_t avail = r->cur->plain_len - in;
        uint64_t want = r->last - r->pos + 1;
        size_t n = max - done;
        if (n > avail) n = (size_t)avail;
        if (n > want) n = (size_t)want;
        memcpy(buf + done, r->cur->plain + in, n);
        done += n;
        r->pos += n;
    }
    if (done == 0 && r->pos <= r->last && r->ranged)
        return orc_fail(e, ORC_EINTERNAL, "object manifest ends before its size");
    return (long)done;
}

void object_reader_set_wake(object_reader *r, void (*wake)(void *arg), void *arg)
{
    r->wake = wake;
    r->wake_arg = arg;
}

void object_reader_free(object_reader *r)
{
    if (!r) return;
    while (r->count) { /* fetches in flight still point at r */
        struct piece *p = r->ring[r->head];
        r->head = (r->head + 1) % READ_AHEAD;
        r->count--;
        piece_wait(p);
        piece_free(p);
    }
    if (r->cur) piece_free(r->cur);
    while (r->nspare)
        piece_free(r->spare[--r->nspare]);
    free(r->ext);
    meta_object_dispose(&r->ver);
    free(r);
}
