/* Hedged fetches: the gets of one read (or the puts of one write) race on
 * a pool of threads that do nothing else; the caller takes the first
 * answers it needs and cancels the rest through each call's own cancel flag
 * (provider_set_cancel). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "place/place_int.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/queue.h"
#include "util/time.h"

#define FETCH_NAME_MAX 128
/* Buffers of ended races kept for the next gets: a get into fresh memory
 * page-faults on every page it fills (a 4 MiB chunk read this way took 8x
 * as long as into a warm buffer on this machine's VMs). Bounded in count
 * and bytes. */
#define FETCH_SPARE_MAX 32
#define FETCH_SPARE_BYTES ((size_t)64 << 20)

struct fetch_pool {
    orc_queue q;
    int n;
    pthread_t *threads;
    pthread_mutex_t mu; /* guards the spares */
    orc_buf spare[FETCH_SPARE_MAX];
    int nspare;
    size_t spare_bytes;
};

struct fetch {
    fetch_race *race;
    struct slot *slot;
    char name[FETCH_NAME_MAX];
    const uint8_t *data; /* a put of these len bytes; NULL: a get */
    bool del;            /* a delete */
    uint64_t len;
    int tag;
    _Atomic int64_t started_us; /* when its call began; 0 while queued */
    _Atomic bool cancel;
    _Atomic bool late; /* given up on as too slow: a cancel is a health failure */
    bool ended;        /* the get returned (guarded by the race's mu) */
    bool returned;     /* fetch_next gave it to the reader (the reader's own) */
    int rc;
    orc_err err;
    orc_buf buf;
};

struct fetch_race {
    fetch_pool *pool;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a fetch ended */
    int refs;          /* the reader, and each fetch not yet ended */
    int n, returned;
    struct fetch f[FETCH_MAX];
};

void place_note_read(struct slot *s, uint64_t us, int rc)
{
    uint64_t avg = s->read_us;
    if (rc == ORC_ECANCELED) {
        if (us > avg) s->read_us = avg ? (avg * 7 + us) / 8 : us;
    } else {
        s->read_us = (avg ? (avg * 7 + us) / 8 : us) + (rc ? PLACE_READ_PENALTY_US : 0);
    }
    s->read_at = orc_monotonic_us();
}

/* A buffer for a get: a spare (the largest) if there is one. */
static void buf_take(fetch_pool *fp, orc_buf *b)
{
    orc_buf_init(b, 0);
    pthread_mutex_lock(&fp->mu);
    if (fp->nspare > 0) {
        int best = 0;
        for (int i = 1; i < fp->nspare; i++)
            if (fp->spare[i].cap > fp->spare[best].cap) best = i;
        *b = fp->spare[best];
        fp->spare[best] = fp->spare[--fp->nspare];
        fp->spare_bytes -= b->cap;
    }
    pthread_mutex_unlock(&fp->mu);
}

void fetch_pool_give(fetch_pool *fp, orc_buf *b)
{
    if (b->cap == 0) return;
    orc_buf_reset(b);
    pthread_mutex_lock(&fp->mu);
    if (fp->nspare < FETCH_SPARE_MAX && fp->spare_bytes + b->cap <= FETCH_SPARE_BYTES) {
        b->max = 0;
        fp->spare[fp->nspare++] = *b;
        fp->spare_bytes += b->cap;
        orc_buf_init(b, 0);
    }
    pthread_mutex_unlock(&fp->mu);
    orc_buf_dispose(b);
}

static void race_free(fetch_race *r)
{
    for (int i = 0; i < r->n; i++)
        fetch_pool_give(r->pool, &r->f[i].buf);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}

static void run_fetch(struct fetch *f)
{
    fetch_race *r = f->race;
    const _Atomic bool *was = provider_set_cancel(&f->cancel);
    int64_t t0 = orc_monotonic_us();
    pthread_mutex_lock(&r->mu);
    f->started_us = t0;
    pthread_cond_broadcast(&r->cv); /* a hedge clock starts */
    pthread_mutex_unlock(&r->mu);
    int rc;
    if (f->del) {
        rc = provider_del(f->slot->p, f->name, &f->err);
    } else if (f->data) {
        rc = provider_put(f->slot->p, f->name, f->data, f->len, &f->err);
    } else {
        rc = provider_get(f->slot->p, f->name, 0, f->len, &f->buf, &f->err);
        if (!rc && f->len != UINT64_MAX && f->buf.len != f->len) {
            rc = orc_fail(&f->err, ORC_ECORRUPT, "piece of %zu bytes, expected %llu", f->buf.len,
                          (unsigned long long)f->len);
            provider_note_corrupt(f->slot->p);
        }
    }
    provider_set_cancel(was);
    if (rc == ORC_ECANCELED && f->late) provider_note_late(f->slot->p);
    if (!f->data && !f->del) place_note_read(f->slot, (uint64_t)(orc_monotonic_us() - t0), rc);
    pthread_mutex_lock(&r->mu);
    f->rc = rc;
    f->ended = true;
    bool last = --r->refs == 0;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (last) race_free(r);
}

static void *fetch_main(void *arg)
{
    fetch_pool *fp = arg;
    struct fetch *f;
    pthread_setname_np(pthread_self(), "orc-fetch");
    while ((f = orc_queue_pop(&fp->q)))
        run_fetch(f);
    return NULL;
}

fetch_pool *fetch_pool_new(int threads)
{
    fetch_pool *fp = orc_calloc(1, sizeof(*fp));
    orc_queue_init(&fp->q, (size_t)threads * 4);
    fp->n = threads;
    pthread_mutex_init(&fp->mu, NULL);
    fp->threads = orc_calloc((size_t)threads, sizeof(*fp->threads));
    for (int i = 0; i < threads; i++)
        pthread_create(&fp->threads[i], NULL, fetch_main, fp);
    return fp;
}

void fetch_pool_free(fetch_pool *fp)
{
    if (!fp) return;
    orc_queue_close(&fp->q);
    for (int i = 0; i < fp->n; i++)
        pthread_join(fp->threads[i], NULL);
    orc_queue_dispose(&fp->q);
    for (int i = 0; i < fp->nspare; i++)
        orc_buf_dispose(&fp->spare[i]);
    pthread_mutex_destroy(&fp->mu);
    free(fp->threads);
    free(fp);
}

fetch_race *fetch_race_new(fetch_pool *fp)
{
    fetch_race *r = orc_calloc(1, sizeof(*r));
    r->pool = fp;
    r->refs = 1;
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    return r;
}

static int start_as(fetch_race *r, struct slot *s, const char *name, const uint8_t *data,
                    uint64_t len, int tag, bool del)
{
    if (r->n >= FETCH_MAX || strlen(name) >= FETCH_NAME_MAX) return -1;
    int i = r->n;
    struct fetch *f = &r->f[i];
    f->race = r;
    f->slot = s;
    memcpy(f->name, name, strlen(name) + 1);
    f->data = data;
    f->del = del;
    f->len = len;
    f->tag = tag;
    f->started_us = 0;
    if (data || del)
        orc_buf_init(&f->buf, 0);
    else
        buf_take(r->pool, &f->buf);
    pthread_mutex_lock(&r->mu);
    r->n++;
    r->refs++;
    pthread_mutex_unlock(&r->mu);
    if (!orc_queue_push(&r->pool->q, f)) run_fetch(f); /* shutting down: here */
    return i;
}

int fetch_start(fetch_race *r, struct slot *s, const char *name, uint64_t len, int tag)
{
    return start_as(r, s, name, NULL, len, tag, false);
}

int fetch_start_put(fetch_race *r, struct slot *s, const char *name, const uint8_t *data,
                    uint64_t len, int tag)
{
    return start_as(r, s, name, data, len, tag, false);
}

int fetch_start_del(fetch_race *r, struct slot *s, const char *name)
{
    return start_as(r, s, name, NULL, 0, -1, true);
}

int fetch_next(fetch_race *r, int64_t until_us)
{
    pthread_mutex_lock(&r->mu);
    for (;;) {
        for (int i = 0; i < r->n; i++)
            if (r->f[i].ended && !r->f[i].returned) {
                r->f[i].returned = true;
                r->returned++;
                pthread_mutex_unlock(&r->mu);
                return i;
            }
        if (r->returned == r->n) break;
        if (!until_us) {
            pthread_cond_wait(&r->cv, &r->mu);
            continue;
        }
        int64_t left = until_us - orc_monotonic_us();
        if (left <= 0) {
            pthread_mutex_unlock(&r->mu);
            return -1;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += left / 1000000;
        ts.tv_nsec += (left % 1000000) * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
    }
    pthread_mutex_unlock(&r->mu);
    return -2;
}

int fetch_count(const fetch_race *r)
{
    return r->n;
}

int fetch_pending(const fetch_race *r)
{
    return r->n - r->returned;
}

int fetch_result(fetch_race *r, int i, orc_buf *out, orc_err *e)
{
    struct fetch *f = &r->f[i];
    if (f->rc) return orc_fail_copy(e, f->rc, &f->err);
    orc_buf t = *out;
    *out = f->buf;
    f->buf = t; /* freed with the race */
    return ORC_OK;
}

struct slot *fetch_slot(const fetch_race *r, int i)
{
    return r->f[i].slot;
}

int fetch_tag(const fetch_race *r, int i)
{
    return r->f[i].tag;
}

int64_t fetch_started_us(const fetch_race *r, int i)
{
    return atomic_load(&r->f[i].started_us);
}

void fetch_mark_late(fetch_race *r, int i)
{
    atomic_store(&r->f[i].late, true);
}

void fetch_cancel(fetch_race *r, int i)
{
    atomic_store(&r->f[i].cancel, true);
}

bool fetch_open(const fetch_race *r, int i)
{
    return !r->f[i].returned;
}

void fetch_race_drain(fetch_race *r)
{
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < r->n; i++)
        if (!r->f[i].ended) atomic_store(&r->f[i].cancel, true);
    for (;;) {
        bool all = true;
        for (int i = 0; i < r->n && all; i++)
            all = r->f[i].ended;
        if (all) break;
        pthread_cond_wait(&r->cv, &r->mu);
    }
    pthread_mutex_unlock(&r->mu);
}

void fetch_race_release(fetch_race *r)
{
    pthread_mutex_lock(&r->mu);
    bool last = --r->refs == 0;
    pthread_mutex_unlock(&r->mu);
    if (last) race_free(r);
}

void fetch_race_end(fetch_race *r)
{
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < r->n; i++)
        if (!r->f[i].ended) atomic_store(&r->f[i].cancel, true);
    bool last = --r->refs == 0;
    pthread_mutex_unlock(&r->mu);
    if (last) race_free(r);
}
