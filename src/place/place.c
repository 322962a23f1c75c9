/* Replicated placement: rendezvous-hashed choice of providers, parallel copy
 * writes through a small I/O thread pool, verified reads fastest-first. */
#include "place/place.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"
#include "util/log.h"
#include "util/queue.h"
#include "util/time.h"

#define IO_THREADS 8

struct slot {
    provider *p;
    uint32_t id;
    _Atomic uint64_t read_us; /* moving average of read latency */
};

struct latch {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int pending;
};

struct job {
    void (*run)(void *arg); /* a place_run job (heap-allocated, freed after) */
    void *arg;
    struct slot *slot;
    const char *name;
    const uint8_t *data;
    size_t len;
    int rc;
    orc_err err;
    struct latch *latch;
};

struct place {
    place_policy pol;
    size_t n;
    struct slot slots[PLACE_MAX_PROVIDERS];
    orc_queue jobs;
    pthread_t threads[IO_THREADS];
    pthread_t prober;
    pthread_mutex_t mu; /* guards stop, for the prober's timed wait */
    pthread_cond_t cv;
    bool stop;
};

int place_policy_parse(const char *s, place_policy *out, orc_err *e)
{
    const char *p = s;
    if (strncmp(p, "replicate:", 10) != 0)
        return orc_fail(e, ORC_EINVAL, "placement '%s': expected replicate:N", s);
    p += 10;
    int n = 0;
    if (!*p) return orc_fail(e, ORC_EINVAL, "placement '%s': expected replicate:N", s);
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || n > PLACE_MAX_COPIES)
            return orc_fail(e, ORC_EINVAL, "placement '%s': N must be 1..%d", s, PLACE_MAX_COPIES);
        n = n * 10 + (*p - '0');
    }
    if (n < 1 || n > PLACE_MAX_COPIES)
        return orc_fail(e, ORC_EINVAL, "placement '%s': N must be 1..%d", s, PLACE_MAX_COPIES);
    out->copies = n;
    return ORC_OK;
}

static void *io_main(void *arg)
{
    place *pl = arg;
    struct job *j;
    pthread_setname_np(pthread_self(), "orc-io");
    while ((j = orc_queue_pop(&pl->jobs))) {
        if (j->run) {
            j->run(j->arg);
            free(j);
            continue;
        }
        j->rc = provider_put(j->slot->p, j->name, j->data, j->len, &j->err);
        pthread_mutex_lock(&j->latch->mu);
        if (--j->latch->pending == 0) pthread_cond_signal(&j->latch->cv);
        pthread_mutex_unlock(&j->latch->mu);
    }
    return NULL;
}

/* Probes down providers every probe_interval seconds until they answer. */
static void *probe_main(void *arg)
{
    place *pl = arg;
    pthread_setname_np(pthread_self(), "orc-probe");
    pthread_mutex_lock(&pl->mu);
    while (!pl->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += pl->pol.probe_interval;
        while (!pl->stop && pthread_cond_timedwait(&pl->cv, &pl->mu, &until) == 0) {
        }
        if (pl->stop) break;
        pthread_mutex_unlock(&pl->mu);
        for (size_t i = 0; i < pl->n; i++)
            if (!provider_is_up(pl->slots[i].p)) provider_probe(pl->slots[i].p);
        pthread_mutex_lock(&pl->mu);
    }
    pthread_mutex_unlock(&pl->mu);
    return NULL;
}

int place_new(provider *const *provs, const uint32_t *ids, size_t n, const place_policy *pol,
              place **out, orc_err *e)
{
    if (n > PLACE_MAX_PROVIDERS)
        return orc_fail(e, ORC_EINVAL, "at most %d providers", PLACE_MAX_PROVIDERS);
    if ((size_t)pol->copies > n)
        return orc_fail(e, ORC_EINVAL, "placement replicate:%d needs %d providers, %zu configured",
                        pol->copies, pol->copies, n);
    if (pol->min_copies < 1 || pol->min_copies > pol->copies)
        return orc_fail(e, ORC_EINVAL, "min_copies must be 1..%d (the placement's copies)",
                        pol->copies);
    place *pl = orc_calloc(1, sizeof(*pl));
    pl->pol = *pol;
    if (pl->pol.probe_interval < 1) pl->pol.probe_interval = 1;
    pthread_mutex_init(&pl->mu, NULL);
    pthread_cond_init(&pl->cv, NULL);
    pl->n = n;
    for (size_t i = 0; i < n; i++) {
        pl->slots[i].p = provs[i];
        pl->slots[i].id = ids[i];
    }
    orc_queue_init(&pl->jobs, 64);
    for (int i = 0; i < IO_THREADS; i++)
        pthread_create(&pl->threads[i], NULL, io_main, pl);
    pthread_create(&pl->prober, NULL, probe_main, pl);
    *out = pl;
    return ORC_OK;
}

void place_free(place *pl)
{
    if (!pl) return;
    pthread_mutex_lock(&pl->mu);
    pl->stop = true;
    pthread_cond_signal(&pl->cv);
    pthread_mutex_unlock(&pl->mu);
    pthread_join(pl->prober, NULL);
    pthread_mutex_destroy(&pl->mu);
    pthread_cond_destroy(&pl->cv);
    orc_queue_close(&pl->jobs);
    for (int i = 0; i < IO_THREADS; i++)
        pthread_join(pl->threads[i], NULL);
    orc_queue_dispose(&pl->jobs);
    free(pl);
}

int place_copies(const place *pl)
{
    return pl->pol.copies;
}

size_t place_count(const place *pl)
{
    return pl->n;
}

provider *place_provider(const place *pl, size_t i)
{
    return i < pl->n ? pl->slots[i].p : NULL;
}

uint32_t place_provider_id(const place *pl, size_t i)
{
    return i < pl->n ? pl->slots[i].id : 0;
}

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t name_hash(const char *name)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    return h;
}

/* Fills order[] with the indexes of the providers that are up, in
 * rendezvous order for name; returns how many. */
static size_t rendezvous(const place *pl, const char *name, size_t *order)
{
    uint64_t h = name_hash(name), score[PLACE_MAX_PROVIDERS];
    for (size_t i = 0; i < pl->n; i++) {
        order[i] = i;
        score[i] = mix64(h ^ mix64(pl->slots[i].id));
    }
    size_t n = 0;
    for (size_t i = 0; i < pl->n; i++)
        if (provider_is_up(pl->slots[i].p)) order[n++] = i;
    for (size_t i = 1; i < n; i++) /* insertion sort, descending score */
        for (size_t j = i; j > 0 && score[order[j]] > score[order[j - 1]]; j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    return n;
}

/* Writes up to want copies to up providers not in skip[0..nskip), at least
 * min of them; see place_write. */
static int write_copies(place *pl, const char *name, const uint8_t *data, size_t len,
                        const place_intent *intent, const uint32_t *skip, int nskip, int want,
                        int min, uint32_t *ids, int *nids, orc_err *e)
{
    size_t order[PLACE_MAX_PROVIDERS], next = 0;
    struct job jobs[PLACE_MAX_PROVIDERS];
    struct latch latch = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    int have = 0;
    orc_err last = {0};

    size_t n = rendezvous(pl, name, order), up = 0;
    for (size_t i = 0; i < n; i++) { /* drop providers that hold a copy already */
        bool held = false;
        for (int j = 0; j < nskip && !held; j++)
            held = pl->slots[order[i]].id == skip[j];
        if (!held) order[up++] = order[i];
    }
    *nids = 0;
    /* Each round sends the copies still missing to the next providers in
     * rendezvous order, all in parallel: one in this thread, the rest in the
     * pool. A failed provider is replaced by the next one. */
    while (have < want && next < up) {
        int k = 0;
        while (have + k < want && next < up) {
            struct job *j = &jobs[k++];
            *j = (struct job){NULL, NULL,  &pl->slots[order[next++]], name, data, len, 0,
                              {0},  &latch};
        }
        if (intent && intent->fn) {
            uint32_t to[PLACE_MAX_PROVIDERS];
            for (int i = 0; i < k; i++)
                to[i] = jobs[i].slot->id;
            int rc = intent->fn(intent->ctx, to, k, &last);
            if (rc) {
                if (*nids) place_delete(pl, name, ids, *nids, NULL);
                *nids = 0;
                return orc_fail(e, rc, "chunk %.16s...: %s", name, last.msg);
            }
        }
        latch.pending = k - 1;
        for (int i = 1; i < k; i++)
            orc_queue_push(&pl->jobs, &jobs[i]);
        jobs[0].rc = provider_put(jobs[0].slot->p, name, data, len, &jobs[0].err);
        pthread_mutex_lock(&latch.mu);
        while (latch.pending)
            pthread_cond_wait(&latch.cv, &latch.mu);
        pthread_mutex_unlock(&latch.mu);
        for (int i = 0; i < k; i++) {
            if (jobs[i].rc == 0) {
                ids[(*nids)++] = jobs[i].slot->id;
                have++;
            } else {
                LOG_WARN("write of chunk %.16s... to provider %s failed: %s", name,
                         provider_name(jobs[i].slot->p), jobs[i].err.msg);
                last = jobs[i].err;
            }
        }
    }
    if (have < min) {
        /* Only the copies written here: nids == 0 would mean every provider,
         * and for a repair that includes the copies being repaired from. */
        if (*nids) place_delete(pl, name, ids, *nids, NULL);
        *nids = 0;
        return orc_fail(e, ORC_ETRANSIENT,
                        "only %d of %d copies could be written, %d needed (%zu of %zu providers "
                        "up and eligible%s%s)",
                        have, want, min, up, pl->n, last.msg[0] ? "; last error: " : "", last.msg);
    }
    return ORC_OK;
}

int place_write(place *pl, const char *name, const uint8_t *data, size_t len,
                const place_intent *intent, uint32_t *ids, int *nids, orc_err *e)
{
    int rc = write_copies(pl, name, data, len, intent, NULL, 0, pl->pol.copies, pl->pol.min_copies,
                          ids, nids, e);
    if (!rc && *nids < pl->pol.copies)
        LOG_WARN("chunk %.16s...: %d of %d copies (under-replicated until repaired)", name, *nids,
                 pl->pol.copies);
    return rc;
}

int place_write_more(place *pl, const char *name, const uint8_t *data, size_t len,
                     const place_intent *intent, const uint32_t *have, int nhave, uint32_t *ids,
                     int *nids, orc_err *e)
{
    int want = pl->pol.copies - nhave;
    *nids = 0;
    if (want <= 0) return ORC_OK;
    return write_copies(pl, name, data, len, intent, have, nhave, want, 1, ids, nids, e);
}

void place_run(place *pl, void (*fn)(void *arg), void *arg)
{
    struct job *j = orc_calloc(1, sizeof(*j));
    j->run = fn;
    j->arg = arg;
    if (!orc_queue_push(&pl->jobs, j)) { /* shutting down: run it here */
        free(j);
        fn(arg);
    }
}

static struct slot *slot_by_id(place *pl, uint32_t id)
{
    for (size_t i = 0; i < pl->n; i++)
        if (pl->slots[i].id == id) return &pl->slots[i];
    return NULL;
}

static bool read_before(const struct slot *a, const struct slot *b)
{
    bool ua = provider_is_up(a->p), ub = provider_is_up(b->p);
    if (ua != ub) return ua;
    return a->read_us < b->read_us;
}

int place_read(place *pl, const char *name, uint64_t size, const uint32_t *ids, int nids,
               place_verify_fn verify, void *ctx, orc_buf *out, orc_err *e)
{
    struct slot *cand[PLACE_MAX_COPIES];
    int n = 0, rc = ORC_ENOTFOUND;
    bool all_missing = true;
    for (int i = 0; i < nids && n < PLACE_MAX_COPIES; i++) {
        struct slot *s = slot_by_id(pl, ids[i]);
        if (s) cand[n++] = s;
    }
    for (int i = 1; i < n; i++) /* up before down, then fastest first */
        for (int j = i; j > 0 && read_before(cand[j], cand[j - 1]); j--) {
            struct slot *t = cand[j];
            cand[j] = cand[j - 1];
            cand[j - 1] = t;
        }
    orc_fail(e, ORC_ENOTFOUND, "chunk %.16s...: no provider holding it is configured", name);
    for (int i = 0; i < n; i++) {
        orc_err ce = {0};
        orc_buf_reset(out);
        int64_t t0 = orc_monotonic_us();
        rc = provider_get(cand[i]->p, name, 0, size, out, &ce);
        uint64_t us = (uint64_t)(orc_monotonic_us() - t0), avg = cand[i]->read_us;
        cand[i]->read_us = avg ? (avg * 7 + us) / 8 : us;
        if (!rc && (rc = verify(ctx, out, &ce)) == ORC_ECORRUPT)
            provider_note_corrupt(cand[i]->p); /* the provider's error, not the reader's */
        if (!rc) return ORC_OK;
        /* Push a bad provider back in the read order. */
        cand[i]->read_us += 100000;
        LOG_WARN("chunk %.16s...: copy on provider %s is unusable (%s), trying the next copy", name,
                 provider_name(cand[i]->p), ce.msg);
        if (rc != ORC_ENOTFOUND) all_missing = false;
        orc_fail(e, all_missing ? ORC_ENOTFOUND : ORC_ECORRUPT,
                 "chunk %.16s...: no good copy (last: provider %s: %s)", name,
                 provider_name(cand[i]->p), ce.msg);
    }
    orc_buf_reset(out);
    /* ENOTFOUND only when every copy is simply absent. */
    return all_missing ? ORC_ENOTFOUND : ORC_ECORRUPT;
}

int place_delete(place *pl, const char *name, const uint32_t *ids, int nids, orc_err *e)
{
    int first = ORC_OK;
    for (size_t i = 0; i < pl->n; i++) {
        bool hit = nids == 0;
        for (int k = 0; k < nids && !hit; k++)
            hit = pl->slots[i].id == ids[k];
        if (!hit) continue;
        orc_err de = {0};
        int rc = provider_del(pl->slots[i].p, name, &de);
        if (rc && rc != ORC_ENOTFOUND && !first) first = orc_fail_copy(e, rc, &de);
    }
    return first;
}
