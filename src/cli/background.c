/* The background work of `orchard serve`, one thread each: the collector
 * (multipart expiry, garbage collection and the repair scan, every
 * gc_interval), the repair worker (the durable queue, at repair_rate), the
 * scrub (a pass every scrub_interval, or when asked, at scrub_rate) and the
 * drain of draining providers (at drain_rate), and fsck when asked.
 * Each paces itself by the bytes its steps report, so background I/O stays
 * under its rate whatever the chunk sizes. */
#include "cli/background.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"

#define REPAIR_STEP 4 /* items per step: a step's burst stays a few chunks */
#define SCRUB_STEP 8  /* chunks per step */
#define DRAIN_STEP 16 /* pieces per step and draining provider */
#define IDLE_MS 1000  /* an idle worker looks again this often */
#define NTHREADS 5

struct background {
    store *st;
    bg_config c;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    pthread_t threads[NTHREADS];
    bool started[NTHREADS];
};

/* Waits up to ms (or until stop); false once stopping. */
static bool nap(struct background *b, int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&b->mu);
    while (!b->stop && pthread_cond_timedwait(&b->cv, &b->mu, &until) != ETIMEDOUT) {
    }
    bool go = !b->stop;
    pthread_mutex_unlock(&b->mu);
    return go;
}

/* After a step that moved bytes and began at t0 (orc_monotonic_us), waits
 * until the step's share of the rate has passed. */
static bool pace(struct background *b, uint64_t bytes, long rate, int64_t t0)
{
    if (rate <= 0 || bytes == 0) return true;
    int64_t due_us = (int64_t)((double)bytes * 1e6 / (double)rate);
    int64_t left_ms = (due_us - (orc_monotonic_us() - t0)) / 1000;
    return left_ms <= 0 || nap(b, left_ms);
}

static void *gc_main(void *arg)
{
    struct background *b = arg;
    while (nap(b, b->c.gc_interval * 1000)) {
        orc_err e = {0};
        /* Abandoned uploads first: their chunks are then collectable. */
        long n = object_mp_expire(b->st, b->c.multipart_expiry * 1000, &e);
        if (n < 0)
            LOG_WARN("multipart expiry: %s", e.msg);
        else if (n > 0)
            LOG_INFO("aborted %ld multipart uploads older than %ld s", n, b->c.multipart_expiry);
        n = object_gc_pass(b->st, &e);
        if (n < 0)
            LOG_WARN("gc: %s", e.msg);
        else if (n > 0)
            LOG_INFO("gc: collected %ld chunks", n);
        if (object_usage_refresh(b->st, &e)) LOG_WARN("usage: %s", e.msg);
        n = object_repair_scan(b->st, &e);
        if (n < 0)
            LOG_WARN("repair scan: %s", e.msg);
        else if (n > 0)
            LOG_INFO("repair scan: queued %ld chunks below full redundancy", n);
    }
    return NULL;
}

/* A worker that runs step until stopped, paced by the bytes each step
 * reports to its rate; a step that did nothing (moved no bytes, or with
 * by_count finished no item) is followed by IDLE_MS of rest. */
static void paced(struct background *b, long (*step)(store *, size_t, uint64_t *, orc_err *),
                  size_t limit, long rate, bool by_count, const char *what)
{
    bool go = true;
    while (go) {
        orc_err e = {0};
        uint64_t bytes = 0;
        int64_t t0 = orc_monotonic_us();
        long n = step(b->st, limit, &bytes, &e);
        if (n < 0) LOG_WARN("%s: %s", what, e.msg);
        if (n > 0 && step == object_repair_work)
            LOG_INFO("repair: %ld chunks have their full redundancy again", n);
        bool busy = by_count ? n > 0 : bytes > 0;
        go = busy ? pace(b, bytes, rate, t0) : nap(b, IDLE_MS);
    }
}

static void *repair_main(void *arg)
{
    struct background *b = arg;
    paced(b, object_repair_work, REPAIR_STEP, b->c.repair_rate, false, "repair");
    return NULL;
}

static void *drain_main(void *arg)
{
    struct background *b = arg;
    paced(b, object_drain_step, DRAIN_STEP, b->c.drain_rate, true, "drain");
    return NULL;
}

static void *fsck_main(void *arg)
{
    struct background *b = arg;
    while (nap(b, 200))
        object_fsck_run_requested(b->st);
    return NULL;
}

static void *scrub_main(void *arg)
{
    struct background *b = arg;
    bool go = true;
    while (go) {
        orc_err e = {0};
        object_scrub_view v;
        if (object_scrub_view_get(b->st, &v, false, &e)) {
            LOG_WARN("scrub: %s", e.msg);
            go = nap(b, IDLE_MS * 10);
            continue;
        }
        if (!v.running && b->c.scrub_interval > 0 &&
            orc_now_ms() - v.started_ms >= b->c.scrub_interval * 1000) {
            if (object_scrub_start(b->st, &e)) LOG_WARN("scrub: %s", e.msg);
            continue;
        }
        if (!v.running) {
            go = nap(b, IDLE_MS);
            continue;
        }
        uint64_t bytes = 0;
        int64_t t0 = orc_monotonic_us();
        long n = object_scrub_step(b->st, SCRUB_STEP, &bytes, &e);
        if (n < 0) {
            LOG_WARN("scrub: %s", e.msg);
            go = nap(b, IDLE_MS);
        } else {
            go = pace(b, bytes, b->c.scrub_rate, t0);
        }
    }
    return NULL;
}

int bg_start(store *st, const bg_config *c, background **out, orc_err *e)
{
    background *b = orc_calloc(1, sizeof(*b));
    b->st = st;
    b->c = *c;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    void *(*mains[NTHREADS])(void *) = {gc_main, repair_main, scrub_main, drain_main, fsck_main};
    for (int i = 0; i < NTHREADS; i++) {
        if (pthread_create(&b->threads[i], NULL, mains[i], b) != 0) {
            bg_stop(b);
            return orc_fail(e, ORC_EINTERNAL, "cannot start a background thread");
        }
        b->started[i] = true;
    }
    *out = b;
    return ORC_OK;
}

void bg_stop(background *b)
{
    if (!b) return;
    pthread_mutex_lock(&b->mu);
    b->stop = true;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    for (int i = 0; i < NTHREADS; i++)
        if (b->started[i]) pthread_join(b->threads[i], NULL);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    free(b);
}
