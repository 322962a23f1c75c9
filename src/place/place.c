/* Placement: policies, the place's providers and threads, rendezvous-hashed
 * choice of providers, and hedged, verified reads (the fetches race in
 * fetch.c): fastest first, the next holder asked when one is slower than
 * its own recent p95. Writes are in write.c. */
#include "place/place.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "place/place_int.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/queue.h"
#include "util/time.h"

#define FETCH_THREADS 32

/* A place_run job, on the I/O pool (heap-allocated, freed after). */
struct job {
    void (*run)(void *arg);
    void *arg;
};

/* Reads a decimal number 1..max from *p, advancing it; -1 if there is none
 * or it is out of range. */
static int small_number(const char **p, int max)
{
    int n = 0, digits = 0;
    for (; **p >= '0' && **p <= '9'; (*p)++) {
        if (++digits > 3) return -1;
        n = n * 10 + (**p - '0');
    }
    return digits && n >= 1 && n <= max ? n : -1;
}

int place_policy_parse(const char *s, place_policy *out, orc_err *e)
{
    const char *p = s;
    if (!strncmp(p, "replicate:", 10)) {
        p += 10;
        int n = small_number(&p, PLACE_MAX_COPIES);
        if (n < 0 || *p)
            return orc_fail(e, ORC_EINVAL, "placement '%.40s': N in replicate:N must be 1..%d", s,
                            PLACE_MAX_COPIES);
        out->kind = PLACE_REPLICATE;
        out->copies = n;
        out->k = out->m = 0;
        return ORC_OK;
    }
    if (!strncmp(p, "ec:", 3)) {
        p += 3;
        int k = small_number(&p, EC_MAX_FRAGMENTS - 1);
        int m = k > 0 && *p == '+' ? (p++, small_number(&p, EC_MAX_FRAGMENTS - 1)) : -1;
        if (k < 0 || m < 0 || *p || k + m > EC_MAX_FRAGMENTS)
            return orc_fail(e, ORC_EINVAL,
                            "placement '%.40s': want ec:K+M with K, M >= 1 and K + M <= %d", s,
                            EC_MAX_FRAGMENTS);
        out->kind = PLACE_EC;
        out->k = k;
        out->m = m;
        out->copies = 0;
        return ORC_OK;
    }
    return orc_fail(e, ORC_EINVAL, "placement '%.40s': expected replicate:N or ec:K+M", s);
}

int place_width(const place_policy *pol)
{
    return pol->kind == PLACE_EC ? pol->k + pol->m : pol->copies;
}

int place_quorum_check(const place_policy *pol, orc_err *e)
{
    int q = pol->write_quorum, w = place_width(pol);
    if (q == 0) return ORC_OK;
    if (pol->kind == PLACE_EC && (q < pol->k + 1 || q > w))
        return orc_fail(e, ORC_EINVAL, "write_quorum %d: ec:%d+%d needs %d..%d", q, pol->k, pol->m,
                        pol->k + 1, w);
    if (pol->kind == PLACE_REPLICATE && (q < 1 || q > w))
        return orc_fail(e, ORC_EINVAL, "write_quorum %d: replicate:%d needs 1..%d", q, w, w);
    return ORC_OK;
}

void place_policy_format(const place_policy *pol, char *buf, size_t cap)
{
    if (pol->kind == PLACE_EC)
        snprintf(buf, cap, "ec:%d+%d", pol->k, pol->m);
    else
        snprintf(buf, cap, "replicate:%d", pol->copies);
}

/* Whether n providers can serve pol (each piece on its own provider). */
static int check_policy(const place_policy *pol, size_t n, orc_err *e)
{
    char name[32];
    int w = place_width(pol);
    place_policy_format(pol, name, sizeof(name));
    if (w < 1 || (size_t)w > n)
        return orc_fail(e, ORC_EINVAL,
                        "placement %s needs %d providers (one per %s), %zu configured", name, w,
                        pol->kind == PLACE_EC ? "fragment" : "copy", n);
    if (pol->kind == PLACE_REPLICATE && (pol->min_copies < 1 || pol->min_copies > pol->copies))
        return orc_fail(e, ORC_EINVAL, "min_copies must be 1..%d (the placement's copies)",
                        pol->copies);
    return ORC_OK;
}

int place_check(const place *pl, const place_policy *pol, orc_err *e)
{
    return check_policy(pol, pl->n, e);
}

const place_policy *place_default_policy(const place *pl)
{
    return &pl->pol;
}

static void *io_main(void *arg)
{
    place *pl = arg;
    struct job *j;
    pthread_setname_np(pthread_self(), "orc-io");
    while ((j = orc_queue_pop(&pl->jobs))) {
        j->run(j->arg);
        free(j);
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
    int rc = check_policy(pol, n, e);
    if (rc) return rc;
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
    pl->fetch = fetch_pool_new(FETCH_THREADS);
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
    fetch_pool_free(pl->fetch);
    for (int k = 0; k <= EC_MAX_FRAGMENTS; k++)
        for (int m = 0; m <= EC_MAX_FRAGMENTS; m++)
            ec_free(pl->codes[k][m]);
    free(pl);
}

int place_add(place *pl, provider *p, uint32_t id, orc_err *e)
{
    pthread_mutex_lock(&pl->mu);
    size_t n = atomic_load(&pl->n);
    int rc = ORC_OK;
    for (size_t i = 0; i < n && !rc; i++)
        if (pl->slots[i].id == id)
            rc = orc_fail(e, ORC_EEXISTS, "provider %s is there already", provider_name(p));
    if (!rc && n >= PLACE_MAX_PROVIDERS)
        rc = orc_fail(e, ORC_EINVAL, "at most %d providers", PLACE_MAX_PROVIDERS);
    if (!rc) {
        struct slot *s = &pl->slots[n]; /* zero since place_new */
        s->p = p;
        s->id = id;
        atomic_store(&pl->n, n + 1); /* published whole */
    }
    pthread_mutex_unlock(&pl->mu);
    return rc;
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

/* Fills order[] with the indexes of the providers that are up and take
 * writes, in rendezvous order for name; returns how many. */
size_t place_rendezvous(const place *pl, const char *name, size_t *order)
{
    uint64_t h = name_hash(name), score[PLACE_MAX_PROVIDERS];
    for (size_t i = 0; i < pl->n; i++) {
        order[i] = i;
        score[i] = mix64(h ^ mix64(pl->slots[i].id));
    }
    size_t n = 0;
    for (size_t i = 0; i < pl->n; i++)
        if (provider_is_up(pl->slots[i].p) && !atomic_load(&pl->slots[i].no_writes)) order[n++] = i;
    /* Insertion sort: the cheapest storage first, then descending score. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i;
             j > 0 &&
             (pl->slots[order[j]].price_gb_month < pl->slots[order[j - 1]].price_gb_month ||
              (pl->slots[order[j]].price_gb_month == pl->slots[order[j - 1]].price_gb_month &&
               score[order[j]] > score[order[j - 1]]));
             j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    return n;
}

/* The erasure code k+m, made on first use and kept for the place's life. */
const ec_code *place_code(place *pl, int k, int m, orc_err *e)
{
    if (k < 1 || m < 1 || k + m > EC_MAX_FRAGMENTS) {
        orc_fail(e, ORC_EINVAL, "erasure code %d+%d is not valid", k, m);
        return NULL;
    }
    pthread_mutex_lock(&pl->mu);
    if (!pl->codes[k][m] && ec_new(k, m, &pl->codes[k][m], e)) pl->codes[k][m] = NULL;
    const ec_code *c = pl->codes[k][m];
    pthread_mutex_unlock(&pl->mu);
    return c;
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

int place_set_writable(place *pl, uint32_t id, bool writable)
{
    for (size_t i = 0; i < pl->n; i++)
        if (pl->slots[i].id == id) {
            atomic_store(&pl->slots[i].no_writes, !writable);
            return ORC_OK;
        }
    return ORC_ENOTFOUND;
}

int place_set_costs(place *pl, uint32_t id, uint64_t capacity, double price_gb_month,
                    uint64_t egress_cost_us)
{
    for (size_t i = 0; i < pl->n; i++)
        if (pl->slots[i].id == id) {
            pl->slots[i].capacity = capacity;
            pl->slots[i].price_gb_month = price_gb_month;
            pl->slots[i].egress_cost_us = egress_cost_us;
            return ORC_OK;
        }
    return ORC_ENOTFOUND;
}

void place_set_used(place *pl, uint32_t id, uint64_t bytes)
{
    for (size_t i = 0; i < pl->n; i++)
        if (pl->slots[i].id == id) atomic_store(&pl->slots[i].used, bytes);
}

uint64_t place_capacity(const place *pl, size_t i)
{
    return i < pl->n ? pl->slots[i].capacity : 0;
}

uint64_t place_used(const place *pl, size_t i)
{
    return i < pl->n ? atomic_load(&pl->slots[i].used) : 0;
}

bool place_writable(const place *pl, size_t i)
{
    return i < pl->n && !atomic_load(&pl->slots[i].no_writes);
}

int place_check_writable(const place *pl, const place_policy *pol, orc_err *e)
{
    size_t n = 0;
    for (size_t i = 0; i < pl->n; i++)
        n += !atomic_load(&pl->slots[i].no_writes);
    int w = place_width(pol);
    char name[32];
    place_policy_format(pol, name, sizeof(name));
    if ((size_t)w > n)
        return orc_fail(e, ORC_EINVAL, "%s needs %d providers that take writes; %zu do", name, w,
                        n);
    return ORC_OK;
}

static struct slot *slot_by_id(place *pl, uint32_t id)
{
    for (size_t i = 0; i < pl->n; i++)
        if (pl->slots[i].id == id) return &pl->slots[i];
    return NULL;
}

/* The read order's latency of a piece: a parity fragment counts as half as
 * slow again (and 0.5 ms more) as its provider is, so that among holders of
 * about equal speed the data fragments are read and a chunk needs no decode
 * (a copy instead of Reed-Solomon arithmetic over every byte). */
static uint64_t read_cost(const struct slot *s, int16_t frag, int k, int64_t now)
{
    uint64_t us = s->read_us;
    int64_t age = now - s->read_at;
    if (age > 0) {
        int64_t halvings = age / PLACE_READ_DECAY_US;
        us = halvings >= 63 ? 0 : us >> halvings;
    }
    us = frag >= k ? us + us / 2 + 500 : us;
    return us + s->egress_cost_us;
}

static bool read_before(const struct slot *a, int16_t fa, const struct slot *b, int16_t fb, int k,
                        int64_t now)
{
    bool ua = provider_is_up(a->p), ub = provider_is_up(b->p);
    if (ua != ub) return ua;
    return read_cost(a, fa, k, now) < read_cost(b, fb, k, now);
}

static int candidates(place *pl, const place_read_args *a, bool whole, struct slot **cand,
                      int16_t *cfrag)
{
    int n = 0;
    for (int i = 0; i < a->n && n < PLACE_MAX_COPIES; i++) {
        int16_t f = a->frags ? a->frags[i] : PLACE_WHOLE;
        if (whole != (f == PLACE_WHOLE) || (!whole && f >= a->k + a->m)) continue;
        struct slot *s = slot_by_id(pl, a->ids[i]);
        if (!s) continue;
        cand[n] = s;
        cfrag[n++] = f;
    }
    int64_t now = orc_monotonic_us();
    for (int i = 1; i < n; i++) /* up before down, then fastest first (data before parity) */
        for (int j = i; j > 0 && read_before(cand[j], cfrag[j], cand[j - 1], cfrag[j - 1],
                                             whole ? INT16_MAX : a->k, now);
             j--) {
            struct slot *t = cand[j];
            int16_t tf = cfrag[j];
            cand[j] = cand[j - 1];
            cfrag[j] = cfrag[j - 1];
            cand[j - 1] = t;
            cfrag[j - 1] = tf;
        }
    return n;
}

/* Hedging: once the oldest fetch still out has run longer than its
 * provider's recent get p95 (or the floor, hedge_ms), the next holder is
 * asked too; each fetch sets off at most one hedge. */
struct hedge {
    bool done[FETCH_MAX];
};

/* When the next hedge is due (orc_monotonic_us), for which fetch; 0 if
 * none. *which is -1 when the time is only for looking again (a fetch still
 * waits for a thread: its clock has not started). */
static int64_t hedge_at(const place *pl, const fetch_race *r, const struct hedge *h, int *which)
{
    int64_t best = 0, floor = (int64_t)pl->pol.hedge_ms * 1000;
    *which = -1;
    for (int i = 0; i < fetch_count(r); i++) {
        if (!fetch_open(r, i) || h->done[i]) continue;
        int64_t st = fetch_started_us(r, i), at;
        if (st) {
            int64_t wait = (int64_t)provider_get_p95_us(fetch_slot(r, i)->p);
            at = st + (wait < floor ? floor : wait);
        } else {
            at = orc_monotonic_us() + 1000;
        }
        if (best == 0 || at < best) {
            best = at;
            *which = st ? i : -1;
        }
    }
    return best;
}

/* Whole copies, fastest first, hedged; see place_read. *missing stays true
 * while every copy tried was simply absent. */
static int read_whole(place *pl, const place_read_args *a, orc_buf *out, bool *missing, orc_err *e)
{
    struct slot *cand[PLACE_MAX_COPIES];
    int16_t cfrag[PLACE_MAX_COPIES];
    int n = candidates(pl, a, true, cand, cfrag), next = 0;
    int rc = *missing ? ORC_ENOTFOUND : ORC_ECORRUPT;
    if (n == 0) return rc;
    fetch_race *r = fetch_race_new(pl->fetch);
    struct hedge h = {{0}};
    fetch_start(r, cand[next], a->names->whole, a->size, next);
    next++;
    for (;;) {
        int which = -1;
        int64_t until = next < n ? hedge_at(pl, r, &h, &which) : 0;
        int i = fetch_next(r, until);
        if (i == -2) break;
        if (i == -1) { /* the one out is slow: ask the next holder too */
            if (which < 0) continue;
            h.done[which] = true;
            fetch_start(r, cand[next], a->names->whole, a->size, next);
            next++;
            continue;
        }
        struct slot *s = fetch_slot(r, i);
        orc_err ce = {0};
        int frc = fetch_result(r, i, out, &ce);
        if (frc == ORC_ECORRUPT && a->bad) /* not of its recorded length */
            a->bad(a->bad_ctx, s->id, PLACE_WHOLE);
        else if (!frc && (frc = a->verify(a->ctx, out, &ce)) == ORC_ECORRUPT) {
            provider_note_corrupt(s->p); /* the provider's error, not the reader's */
            if (a->bad) a->bad(a->bad_ctx, s->id, PLACE_WHOLE);
            s->read_us += PLACE_READ_PENALTY_US;
        }
        if (!frc) {
            rc = ORC_OK;
            break;
        }
        LOG_WARN("chunk %.16s...: copy on provider %s is unusable (%s), trying the next copy",
                 a->names->whole, provider_name(s->p), ce.msg);
        if (frc != ORC_ENOTFOUND) *missing = false;
        rc = *missing ? ORC_ENOTFOUND : ORC_ECORRUPT;
        orc_fail(e, rc, "chunk %.16s...: no good copy (last: provider %s: %s)", a->names->whole,
                 provider_name(s->p), ce.msg);
        if (next < n) { /* a failed copy is replaced at once */
            fetch_start(r, cand[next], a->names->whole, a->size, next);
            next++;
        }
    }
    fetch_race_end(r); /* cancels the losers */
    return rc;
}

/* What an erasure-coded read has fetched: fragment f's bytes in buf[f],
 * good[f] when it read whole; from[f] the slot it came from. */
struct frag_set {
    int k, m;
    size_t fl;
    orc_buf buf[EC_MAX_FRAGMENTS];
    bool good[EC_MAX_FRAGMENTS];
    struct slot *from[EC_MAX_FRAGMENTS];
    int ngood;
    bool other; /* a fragment failed for a reason other than being absent */
};

/* Starts a fetch of the next candidate's fragment that is neither had nor
 * being fetched; false when there is none. */
static bool start_frag(fetch_race *r, const place_read_args *a, struct slot **cand,
                       const int16_t *cfrag, int ncand, int *next, struct frag_set *fs)
{
    while (*next < ncand) {
        int i = (*next)++;
        int16_t f = cfrag[i];
        if (fs->from[f]) continue; /* two records of one fragment: one at a time */
        if (fetch_start(r, cand[i], a->names->frag[f], fs->fl, f) < 0) return false;
        fs->from[f] = cand[i];
        return true;
    }
    return false;
}

/* Fetches fragments in parallel until `want` are good or the candidates run
 * out: as many as are missing go out at once, a failed one is replaced by
 * the next holder at once, and (h set) a slow one is hedged. */
static void gather(place *pl, fetch_race *r, const place_read_args *a, struct slot **cand,
                   const int16_t *cfrag, int ncand, int *next, int want, struct frag_set *fs,
                   struct hedge *h, orc_err *last)
{
    for (;;) {
        while (fs->ngood + fetch_pending(r) < want &&
               start_frag(r, a, cand, cfrag, ncand, next, fs)) {
        }
        if (fs->ngood >= want) return;
        int which = -1;
        int64_t until = h && *next < ncand ? hedge_at(pl, r, h, &which) : 0;
        int i = fetch_next(r, until);
        if (i == -2) return;
        if (i == -1) {
            if (which < 0) continue;
            h->done[which] = true;
            start_frag(r, a, cand, cfrag, ncand, next, fs);
            continue;
        }
        int16_t f = (int16_t)fetch_tag(r, i);
        orc_err fe = {0};
        int frc = fetch_result(r, i, &fs->buf[f], &fe);
        if (frc == 0) {
            fs->good[f] = true;
            fs->ngood++;
            continue;
        }
        *last = fe;
        if (frc != ORC_ENOTFOUND) fs->other = true;
        if (frc == ORC_ECORRUPT && a->bad) /* not of its recorded length */
            a->bad(a->bad_ctx, fetch_slot(r, i)->id, f);
        LOG_WARN("chunk %.16s...: fragment on provider %s is unusable (%s)", a->names->frag[0],
                 provider_name(fetch_slot(r, i)->p), fe.msg);
        fs->from[f] = NULL; /* another record of it may be tried */
    }
}

/* Decodes the fragments marked in use into out and verifies it. */
static int decode_verify(const ec_code *c, const place_read_args *a, struct frag_set *fs,
                         const bool *use, orc_buf *out, orc_err *e)
{
    const uint8_t *src[EC_MAX_FRAGMENTS];
    for (int i = 0; i < fs->k + fs->m; i++)
        src[i] = use[i] ? fs->buf[i].ptr : NULL;
    orc_buf_reset(out);
    if (orc_buf_reserve(out, (size_t)a->size, e)) return ORC_EINTERNAL;
    int rc = ec_decode(c, src, use, (size_t)a->size, out->ptr, e);
    if (rc) return rc;
    out->len = (size_t)a->size;
    return a->verify(a->ctx, out, e);
}

/* The first good chunk failed verification: some fragment lies. Fetches
 * every other fragment, then tries K-subsets of the good ones until one
 * verifies; a fragment the winning decode does not reproduce is bad. */
static int find_liars(place *pl, fetch_race *r, const ec_code *c, const place_read_args *a,
                      struct slot **cand, const int16_t *cfrag, int ncand, int *next,
                      struct frag_set *fs, orc_buf *out, orc_err *e)
{
    orc_err last = {0};
    int w = fs->k + fs->m;
    gather(pl, r, a, cand, cfrag, ncand, next, w, fs, NULL, &last);
    int idx[EC_MAX_FRAGMENTS], ng = 0;
    for (int f = 0; f < w; f++)
        if (fs->good[f]) idx[ng++] = f;
    if (ng <= fs->k) /* no other subset to try */
        return orc_fail(e, ORC_ECORRUPT, "chunk %.16s...: fragments do not verify, none to spare",
                        a->names->frag[0]);
    /* Subsets of k out of ng, in lexicographic order of positions. */
    int pos[EC_MAX_FRAGMENTS];
    for (int i = 0; i < fs->k; i++)
        pos[i] = i;
    for (;;) {
        bool use[EC_MAX_FRAGMENTS] = {0};
        for (int i = 0; i < fs->k; i++)
            use[idx[pos[i]]] = true;
        orc_err ve = {0};
        orc_buf sealed;
        orc_buf_init(&sealed, 0);
        /* verify may decrypt in place: keep the sealed bytes to re-encode. */
        int rc = decode_verify(c, a, fs, use, &sealed, &ve);
        if (rc == 0) {
            orc_buf_dispose(&sealed);
            break;
        }
        orc_buf_dispose(&sealed);
        int i = fs->k - 1;
        while (i >= 0 && pos[i] == ng - fs->k + i)
            i--;
        if (i < 0)
            return orc_fail(e, ORC_ECORRUPT, "chunk %.16s...: no %d fragments verify",
                            a->names->frag[0], fs->k);
        pos[i]++;
        for (int j = i + 1; j < fs->k; j++)
            pos[j] = pos[j - 1] + 1;
    }
    /* A subset verified: decode it again (undecrypted) and re-encode, so
     * every fetched fragment can be compared with what it should be. */
    bool use[EC_MAX_FRAGMENTS] = {0};
    for (int i = 0; i < fs->k; i++)
        use[idx[pos[i]]] = true;
    const uint8_t *src[EC_MAX_FRAGMENTS];
    for (int f = 0; f < w; f++)
        src[f] = use[f] ? fs->buf[f].ptr : NULL;
    uint8_t *sealed = orc_malloc((size_t)a->size), *block = orc_malloc((size_t)w * fs->fl);
    uint8_t *re[EC_MAX_FRAGMENTS];
    for (int f = 0; f < w; f++)
        re[f] = block + (size_t)f * fs->fl;
    int rc = ec_decode(c, src, use, (size_t)a->size, sealed, e);
    if (!rc) rc = ec_encode(c, sealed, (size_t)a->size, re, e);
    for (int f = 0; !rc && f < w; f++) {
        if (!fs->good[f] || use[f] || !memcmp(re[f], fs->buf[f].ptr, fs->fl)) continue;
        LOG_WARN("chunk %.16s...: fragment %d on provider %s is corrupt", a->names->frag[0], f,
                 provider_name(fs->from[f]->p));
        provider_note_corrupt(fs->from[f]->p);
        if (a->bad) a->bad(a->bad_ctx, fs->from[f]->id, (int16_t)f);
    }
    free(block);
    free(sealed);
    if (rc) return rc;
    return decode_verify(c, a, fs, use, out, e);
}

static int read_ec(place *pl, const place_read_args *a, orc_buf *out, bool *missing, orc_err *e)
{
    struct slot *cand[PLACE_MAX_COPIES];
    int16_t cfrag[PLACE_MAX_COPIES];
    const ec_code *c = place_code(pl, a->k, a->m, e);
    if (!c) return ORC_EINVAL;
    if (a->size == 0 || a->size == UINT64_MAX || a->size > INT32_MAX)
        return orc_fail(e, ORC_EINVAL, "erasure-coded chunk of unknown or bad size");
    int ncand = candidates(pl, a, false, cand, cfrag), next = 0;
    struct frag_set fs = {.k = a->k, .m = a->m, .fl = ec_frag_len(c, (size_t)a->size)};
    for (int f = 0; f < a->k + a->m; f++)
        orc_buf_init(&fs.buf[f], 0);
    orc_err last = {0};
    fetch_race *r = fetch_race_new(pl->fetch);
    struct hedge h = {{0}};
    gather(pl, r, a, cand, cfrag, ncand, &next, a->k, &fs, &h, &last);
    int rc;
    if (fs.other) *missing = false;
    if (fs.ngood < a->k) {
        rc = orc_fail(e, *missing ? ORC_ENOTFOUND : ORC_ECORRUPT,
                      "chunk %.16s...: %d of %d fragments could be read, %d needed%s%s",
                      a->names->frag[0], fs.ngood, ncand, a->k, last.msg[0] ? "; last error: " : "",
                      last.msg);
        goto done;
    }
    bool use[EC_MAX_FRAGMENTS];
    memcpy(use, fs.good, sizeof(use));
    orc_err ve = {0};
    rc = decode_verify(c, a, &fs, use, out, &ve);
    if (rc == ORC_ECORRUPT) {
        *missing = false;
        rc = find_liars(pl, r, c, a, cand, cfrag, ncand, &next, &fs, out, e);
    } else if (rc) {
        orc_fail_copy(e, rc, &ve);
    }
done:
    fetch_race_end(r); /* cancels the losers */
    for (int f = 0; f < a->k + a->m; f++)
        fetch_pool_give(pl->fetch, &fs.buf[f]);
    return rc;
}

int place_read(place *pl, const place_read_args *a, orc_buf *out, orc_err *e)
{
    bool missing = true;
    orc_fail(e, ORC_ENOTFOUND, "chunk: no provider holding it is configured");
    int rc = read_whole(pl, a, out, &missing, e);
    if (rc && a->k > 0) {
        rc = read_ec(pl, a, out, &missing, e);
    }
    if (rc) {
        orc_buf_reset(out);
        /* ENOTFOUND only when every piece is simply absent. */
        rc = missing ? ORC_ENOTFOUND : ORC_ECORRUPT;
        if (e) e->code = rc;
    }
    return rc;
}

int place_delete(place *pl, const place_names *nm, const uint32_t *ids, const int16_t *frags, int n,
                 orc_err *e)
{
    int first = ORC_OK;
    for (size_t i = 0; i < pl->n; i++) {
        for (int f = PLACE_WHOLE; f < EC_MAX_FRAGMENTS; f++) {
            const char *name = place_piece_name(nm, (int16_t)f);
            if (!name) continue;
            bool hit = n == 0;
            for (int k = 0; k < n && !hit; k++)
                hit = pl->slots[i].id == ids[k] && (frags ? frags[k] : PLACE_WHOLE) == f;
            if (!hit) continue;
            orc_err de = {0};
            int rc = provider_del(pl->slots[i].p, name, &de);
            if (rc && rc != ORC_ENOTFOUND && !first) first = orc_fail_copy(e, rc, &de);
        }
    }
    return first;
}
