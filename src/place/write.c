/* Writes: a chunk's copies or fragments race on the fetch pool (fetch.c),
 * each to its own provider in rendezvous order; a failed piece goes to the
 * next provider at once, a slow one is hedged on a spare, and past the
 * write quorum late ones are cancelled and left to repair. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "place/place.h"
#include "place/place_int.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"

#define PLACE_WRITE_HEDGE_MIN_MS 50
#define PLACE_WRITE_HEDGE_COLD_MS 1000
#define PLACE_FRAG_ALIGN 4096

/* What a write sends: want[0..nwant) are the pieces still to place (frag
 * index or PLACE_WHOLE), each piece's bytes in data[frag + 1] (data[0]: the
 * whole chunk) of len[...] bytes, named by nm. */
struct pieces {
    const place_names *nm;
    const uint8_t *data[EC_MAX_FRAGMENTS + 1];
    size_t len[EC_MAX_FRAGMENTS + 1];
    int16_t want[PLACE_MAX_COPIES];
    int nwant;
};

/* How long a piece's put may take before it is hedged (and, once the
 * quorum is durable, before it counts as a straggler): twice its
 * provider's recent put p95, and at least the hedge floor and
 * PLACE_WRITE_HEDGE_MIN_MS (a hedged write costs a whole piece). With no
 * recent put to go by (a new server, a quiet provider), a cloud's first
 * puts are slow for reasons of its own (connections, TLS), so the wait is
 * PLACE_WRITE_HEDGE_COLD_MS. */
static int64_t put_patience_us(const place *pl, const struct slot *s)
{
    int64_t p95 = (int64_t)provider_put_p95_us(s->p);
    int64_t w = p95 ? 2 * p95 : PLACE_WRITE_HEDGE_COLD_MS * 1000;
    int64_t floor = (int64_t)pl->pol.hedge_ms * 1000;
    if (w < floor) w = floor;
    if (w < PLACE_WRITE_HEDGE_MIN_MS * 1000) w = PLACE_WRITE_HEDGE_MIN_MS * 1000;
    return w;
}

/* The state of one write's race: piece p (0 .. np - 1, pc->want[p]) is
 * durable once one of its puts succeeded; open[p] puts of it are out. */
struct wrace {
    place *pl;
    struct pieces *pc;
    const place_intent *intent;
    fetch_race *r;
    size_t *order, next, up;
    int np, have;
    bool durable[PLACE_MAX_COPIES];
    int open[PLACE_MAX_COPIES];
    bool hedged[FETCH_MAX];
    uint32_t *ids;
    int16_t *frags;
    int *nids;
    uint32_t dup_ids[FETCH_MAX]; /* pieces written twice (a hedge and its original) */
    int16_t dup_frags[FETCH_MAX];
    int ndup;
    uint64_t rsv[FETCH_MAX];   /* bytes put i holds reserved on its provider's capacity */
    bool closing;              /* the race is over: nothing more is sent */
    bool cancelled[FETCH_MAX]; /* put i ended cancelled: its bytes may have landed */
};

/* Reserves len bytes of s's capacity; false if they do not fit (never
 * past it, whatever else is being written there at once). */
static bool reserve(struct slot *s, uint64_t len)
{
    if (!s->capacity) return true;
    uint64_t cur = atomic_load(&s->reserved);
    do {
        if (atomic_load(&s->used) + cur + len > s->capacity) return false;
    } while (!atomic_compare_exchange_weak(&s->reserved, &cur, cur + len));
    return true;
}

/* Put i ended: its reservation goes, and its bytes count as used if it
 * landed (until the next refresh from the metadata, which records them). */
static void unreserve(struct wrace *w, int i, bool landed)
{
    struct slot *s = fetch_slot(w->r, i);
    if (!w->rsv[i]) return;
    if (landed) atomic_fetch_add(&s->used, w->rsv[i]);
    atomic_fetch_sub(&s->reserved, w->rsv[i]);
    w->rsv[i] = 0;
}

/* Sends pieces p[0..k) to the next providers in order that have room for
 * them, recording them with the intent first. Returns the intent's code,
 * or 0 (a piece with no provider left is simply not sent). */
static int send_pieces(struct wrace *w, const int *p, int k, orc_err *e)
{
    uint32_t to[PLACE_MAX_COPIES];
    int16_t fr[PLACE_MAX_COPIES];
    struct slot *sl[PLACE_MAX_COPIES];
    int n = 0;
    if (w->closing) return ORC_OK;
    for (int i = 0; i < k && fetch_count(w->r) + n < FETCH_MAX; i++) {
        int16_t f = w->pc->want[p[i]];
        struct slot *s = NULL;
        while (!s && w->next < w->up) { /* full ones are passed over, for this write */
            struct slot *c = &w->pl->slots[w->order[w->next++]];
            if (reserve(c, w->pc->len[f + 1])) s = c;
        }
        if (!s) break;
        sl[n] = s;
        to[n] = s->id;
        fr[n] = f;
        n++;
    }
    if (n == 0) return ORC_OK;
    if (w->intent && w->intent->fn) {
        int rc = w->intent->fn(w->intent->ctx, to, fr, n, e);
        if (rc) {
            for (int i = 0; i < n; i++)
                if (sl[i]->capacity) atomic_fetch_sub(&sl[i]->reserved, w->pc->len[fr[i] + 1]);
            return rc;
        }
    }
    for (int i = 0; i < n; i++) {
        int16_t f = fr[i];
        int at = fetch_start_put(w->r, sl[i], place_piece_name(w->pc->nm, f), w->pc->data[f + 1],
                                 w->pc->len[f + 1], p[i]);
        if (at >= 0) {
            w->open[p[i]]++;
            w->rsv[at] = sl[i]->capacity ? w->pc->len[f + 1] : 0;
        } else if (sl[i]->capacity) {
            atomic_fetch_sub(&sl[i]->reserved, w->pc->len[f + 1]);
        }
    }
    return ORC_OK;
}

/* The next hedge or straggler time of the open puts (0: none), and which
 * put it is for; *late: every open put has run past its patience. */
static int64_t put_due(struct wrace *w, int *which, bool *late)
{
    int64_t best = 0, now = orc_monotonic_us();
    *which = -1;
    *late = true;
    for (int i = 0; i < fetch_count(w->r); i++) {
        if (!fetch_open(w->r, i)) continue;
        int64_t st = fetch_started_us(w->r, i), at;
        int hedge = -1; /* -1: the time is only for looking again */
        if (!st) {      /* queued for a thread */
            *late = false;
            at = now + 1000;
        } else {
            at = st + put_patience_us(w->pl, fetch_slot(w->r, i));
            if (at > now) *late = false;
            if (!w->hedged[i])
                hedge = i;
            else if (at <= now)
                continue; /* hedged, or nowhere to hedge it: only late */
        }
        if (best == 0 || at < best) {
            best = at;
            *which = hedge;
        }
    }
    return best;
}

/* A put ended: a success makes its piece durable (a second success of one
 * piece is a duplicate, deleted after); a failure is replaced by the next
 * provider unless another put of the piece is out. last gets the failure,
 * or the intent's error (which is returned). */
static int put_ended(struct wrace *w, int i, orc_err *last)
{
    int p = fetch_tag(w->r, i);
    struct slot *s = fetch_slot(w->r, i);
    orc_err fe = {0};
    orc_buf none;
    orc_buf_init(&none, 0);
    int rc = fetch_result(w->r, i, &none, &fe);
    orc_buf_dispose(&none);
    w->open[p]--;
    unreserve(w, i, rc == 0);
    if (rc == ORC_ECANCELED) w->cancelled[i] = true;
    if (rc == 0) {
        if (w->durable[p]) {
            w->dup_ids[w->ndup] = s->id;
            w->dup_frags[w->ndup++] = w->pc->want[p];
            return ORC_OK;
        }
        w->durable[p] = true;
        w->have++;
        w->ids[*w->nids] = s->id;
        w->frags[(*w->nids)++] = w->pc->want[p];
        for (int j = 0; j < fetch_count(w->r); j++) /* its hedge, or what it hedged */
            if (fetch_open(w->r, j) && fetch_tag(w->r, j) == p) fetch_cancel(w->r, j);
        return ORC_OK;
    }
    if (rc != ORC_ECANCELED) {
        const char *tag = w->pc->nm->whole ? w->pc->nm->whole : w->pc->nm->frag[0];
        LOG_WARN("write of chunk %.16s... to provider %s failed: %s", tag, provider_name(s->p),
                 fe.msg);
        *last = fe;
    }
    if (!w->durable[p] && w->open[p] == 0) return send_pieces(w, &p, 1, last);
    return ORC_OK;
}

/* Hands the pieces of w's cancelled puts whose piece was written elsewhere
 * (a put cancelled after its last byte went out can still land) to
 * deletes that run in the background on the fetch pool, on providers that
 * are up. Their rows stay PENDING, so the collector deletes them with the
 * chunk in any case. A straggler's (its piece not written anywhere) is left
 * to repair, which clears pending pieces before it writes. */
static void clear_leftovers(struct wrace *w)
{
    fetch_race *r = NULL;
    for (int i = 0; i < fetch_count(w->r); i++) {
        int p = fetch_tag(w->r, i);
        struct slot *s = fetch_slot(w->r, i);
        if (!w->cancelled[i] || !w->durable[p] || !provider_is_up(s->p)) continue;
        if (!r) r = fetch_race_new(w->pl->fetch);
        fetch_start_del(r, s, place_piece_name(w->pc->nm, w->pc->want[p]));
    }
    if (r) fetch_race_release(r);
}

/* Writes the pieces in pc->want to up providers not in skip[0..nskip), at
 * least min of them; see place_write. All go out at once, each to the next
 * provider in rendezvous order; a failed one goes to the next provider at
 * once, and one slower than its patience (put_patience_us) is hedged on the
 * next provider, the first to finish winning. Once quorum pieces are
 * durable, puts past their patience with no provider left to hedge them
 * are stragglers: cancelled, and the chunk is below full redundancy until
 * repair (their pieces stay recorded PENDING). */
static int write_pieces(place *pl, struct pieces *pc, const place_intent *intent,
                        const uint32_t *skip, int nskip, int min, int quorum, uint32_t *ids,
                        int16_t *frags, int *nids, orc_err *e)
{
    size_t order[PLACE_MAX_PROVIDERS];
    orc_err last = {0};
    const char *tag = pc->nm->whole ? pc->nm->whole : pc->nm->frag[0];
    size_t n = place_rendezvous(pl, tag, order), up = 0;
    for (size_t i = 0; i < n; i++) { /* drop providers that hold a piece already */
        bool held = false;
        for (int j = 0; j < nskip && !held; j++)
            held = pl->slots[order[i]].id == skip[j];
        if (!held) order[up++] = order[i];
    }
    *nids = 0;
    struct wrace w = {.pl = pl,
                      .pc = pc,
                      .intent = intent,
                      .order = order,
                      .up = up,
                      .np = pc->nwant,
                      .ids = ids,
                      .frags = frags,
                      .nids = nids};
    if (quorum > w.np) quorum = w.np;
    w.r = fetch_race_new(pl->fetch);
    int all[PLACE_MAX_COPIES];
    for (int p = 0; p < w.np; p++)
        all[p] = p;
    int rc = send_pieces(&w, all, w.np, &last);
    while (!rc && w.have < w.np) {
        int which;
        bool late;
        int64_t until = put_due(&w, &which, &late);
        if (w.have >= quorum && late && w.next >= w.up) { /* the rest are stragglers */
            for (int i = 0; i < fetch_count(w.r); i++)
                if (fetch_open(w.r, i)) fetch_mark_late(w.r, i);
            LOG_INFO("chunk %.16s...: %d of %d pieces durable, the late rest cancelled", tag,
                     w.have, w.np);
            break;
        }
        int i = fetch_next(w.r, until);
        if (i == -2) break;
        if (i >= 0) {
            rc = put_ended(&w, i, &last);
            continue;
        }
        if (which < 0) continue; /* a queued put started, or may have */
        w.hedged[which] = true;
        fetch_mark_late(w.r, which);
        int p = fetch_tag(w.r, which);
        if (!w.durable[p] && w.next < w.up) rc = send_pieces(&w, &p, 1, &last);
    }
    w.closing = true;
    fetch_race_drain(w.r); /* cancels the stragglers; the data stays ours until they end */
    for (int i; (i = fetch_next(w.r, 0)) >= 0;) /* what ended meanwhile still counts */
        put_ended(&w, i, &last);
    if (!rc) clear_leftovers(&w);
    for (int i = 0; i < fetch_count(w.r); i++) /* still out, cancelled: the refresh counts them */
        unreserve(&w, i, false);
    fetch_race_end(w.r);
    if (w.ndup) place_delete(pl, pc->nm, w.dup_ids, w.dup_frags, w.ndup, NULL);
    if (rc) {
        if (*nids) place_delete(pl, pc->nm, ids, frags, *nids, NULL);
        *nids = 0;
        return orc_fail(e, rc, "chunk %.16s...: %s", tag, last.msg);
    }
    pc->nwant = 0;
    for (int p = 0; p < w.np; p++) /* what is left to place */
        if (!w.durable[p]) pc->want[pc->nwant++] = pc->want[p];
    if (w.have < min) {
        /* Only the pieces written here: n == 0 would mean every provider,
         * and for a repair that includes the pieces being repaired from. */
        if (*nids) place_delete(pl, pc->nm, ids, frags, *nids, NULL);
        *nids = 0;
        return orc_fail(e, ORC_ETRANSIENT,
                        "only %d of %d %s could be written, %d needed (%zu of %zu providers "
                        "up and eligible%s%s)",
                        w.have, w.np, pc->want[0] == PLACE_WHOLE ? "copies" : "fragments", min, up,
                        pl->n, last.msg[0] ? "; last error: " : "", last.msg);
    }
    return ORC_OK;
}

/* The writing thread's buffer for a chunk's fragments, kept from one write
 * to the next: fresh memory for every chunk page-faults on every page the
 * encoder fills (a third of an erasure-coded PUT's CPU on this machine's
 * VMs). Page-aligned; freed when the thread ends. */
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
struct scratch {
    void *mem;
    size_t cap;
};

static void scratch_free(void *arg)
{
    struct scratch *sc = arg;
    free(sc->mem);
    free(sc);
}

static void scratch_init(void)
{
    pthread_key_create(&scratch_key, scratch_free);
}

static uint8_t *frag_scratch(size_t n, orc_err *e)
{
    pthread_once(&scratch_once, scratch_init);
    struct scratch *sc = pthread_getspecific(scratch_key);
    if (!sc) {
        sc = orc_calloc(1, sizeof(*sc));
        pthread_setspecific(scratch_key, sc);
    }
    if (sc->cap < n) {
        void *mem = NULL;
        if (posix_memalign(&mem, PLACE_FRAG_ALIGN, n)) {
            orc_fail(e, ORC_EINTERNAL, "out of memory for fragments (%zu bytes)", n);
            return NULL;
        }
        free(sc->mem);
        sc->mem = mem;
        sc->cap = n;
    }
    return sc->mem;
}

/* Fills pc with every piece of data under pol (fragments encoded into
 * *scratch, the thread's fragment buffer, which stays valid until this
 * thread's next write). */
static int make_pieces(place *pl, const place_policy *pol, const place_names *nm,
                       const uint8_t *data, size_t len, struct pieces *pc, uint8_t **scratch,
                       orc_err *e)
{
    memset(pc, 0, sizeof(*pc));
    pc->nm = nm;
    *scratch = NULL;
    if (pol->kind != PLACE_EC) {
        pc->data[0] = data;
        pc->len[0] = len;
        for (int i = 0; i < pol->copies && i < PLACE_MAX_COPIES; i++)
            pc->want[pc->nwant++] = PLACE_WHOLE;
        return ORC_OK;
    }
    const ec_code *c = place_code(pl, pol->k, pol->m, e);
    if (!c) return e ? e->code : ORC_EINVAL;
    size_t fl = ec_frag_len(c, len);
    int w = pol->k + pol->m;
    uint8_t *frag[EC_MAX_FRAGMENTS];
    /* Each fragment page-aligned, so a disk provider writes it with O_DIRECT
     * (an unaligned one goes through the page cache: twice the CPU). */
    size_t stride = (fl + PLACE_FRAG_ALIGN - 1) & ~(size_t)(PLACE_FRAG_ALIGN - 1);
    *scratch = frag_scratch((size_t)w * stride, e);
    if (!*scratch) return ORC_EINTERNAL;
    for (int i = 0; i < w; i++) {
        frag[i] = *scratch + (size_t)i * stride;
        pc->data[i + 1] = frag[i];
        pc->len[i + 1] = fl;
        pc->want[pc->nwant++] = (int16_t)i;
    }
    return ec_encode(c, data, len, frag, e);
}

int place_write(place *pl, const place_policy *pol, const place_names *nm, const uint8_t *data,
                size_t len, const place_intent *intent, uint32_t *ids, int16_t *frags, int *n,
                orc_err *e)
{
    struct pieces pc;
    uint8_t *scratch;
    *n = 0;
    int rc = make_pieces(pl, pol, nm, data, len, &pc, &scratch, e);
    int w = place_width(pol);
    /* Erasure-coded chunks are written whole or not at all: a chunk short of
     * a fragment has less redundancy than its class promises. */
    int q = pol->write_quorum > 0 && pol->write_quorum < w ? pol->write_quorum : w;
    int min = pol->kind == PLACE_EC ? q : pol->min_copies;
    if (!rc) rc = write_pieces(pl, &pc, intent, NULL, 0, min, q, ids, frags, n, e);
    if (!rc && *n < w)
        LOG_WARN("chunk %.16s...: %d of %d pieces written (below full redundancy until repaired)",
                 nm->whole ? nm->whole : "", *n, w);
    return rc;
}

int place_write_more(place *pl, const place_policy *pol, const place_names *nm, const uint8_t *data,
                     size_t len, const place_intent *intent, const uint32_t *have_ids,
                     const int16_t *have_frags, int nhave, uint32_t *ids, int16_t *frags, int *n,
                     orc_err *e)
{
    struct pieces pc;
    uint8_t *scratch;
    *n = 0;
    int rc = make_pieces(pl, pol, nm, data, len, &pc, &scratch, e);
    if (rc) return rc;
    int still = 0;
    for (int i = 0; i < pc.nwant; i++) { /* drop the pieces the chunk has */
        bool held = false;
        if (pol->kind != PLACE_EC) /* copies: as many fewer as it has */
            held = i < nhave;
        for (int j = 0; pol->kind == PLACE_EC && j < nhave && !held; j++)
            held = have_frags && have_frags[j] == pc.want[i];
        if (!held) pc.want[still++] = pc.want[i];
    }
    pc.nwant = still;
    if (still > 0) rc = write_pieces(pl, &pc, intent, have_ids, nhave, 1, still, ids, frags, n, e);
    return rc;
}

int place_check_pieces(place *pl, const place_policy *pol, const place_names *nm,
                       const uint8_t *data, size_t len, const uint32_t *ids, const int16_t *frags,
                       int n, int *res, orc_err *e)
{
    struct pieces pc;
    uint8_t *scratch;
    int rc = make_pieces(pl, pol, nm, data, len, &pc, &scratch, e);
    if (rc) return rc;
    orc_buf got;
    orc_buf_init(&got, 0);
    for (int i = 0; i < n; i++) {
        int16_t f = frags ? frags[i] : PLACE_WHOLE;
        struct slot *sl = NULL;
        for (size_t j = 0; j < pl->n && !sl; j++)
            if (pl->slots[j].id == ids[i]) sl = &pl->slots[j];
        int idx = f == PLACE_WHOLE ? 0 : f + 1;
        const char *name = place_piece_name(nm, f);
        if (!sl || idx > EC_MAX_FRAGMENTS || (f != PLACE_WHOLE && pol->kind != PLACE_EC) || !name) {
            res[i] = ORC_EINVAL; /* not a piece of this layout, or an unknown provider */
            continue;
        }
        orc_err ge = {0};
        got.len = 0;
        /* One byte more than the piece: a longer object is a wrong one. */
        rc = provider_get(sl->p, name, 0, pc.len[idx] + 1, &got, &ge);
        if (rc == 0 && (got.len != pc.len[idx] || memcmp(got.ptr, pc.data[idx], got.len) != 0)) {
            char what[24] = "copy";
            if (f != PLACE_WHOLE) snprintf(what, sizeof(what), "fragment %d", f);
            LOG_WARN("provider %s: %s of %.16s... does not match the chunk", provider_name(sl->p),
                     what, nm->whole ? nm->whole : "");
            provider_note_corrupt(sl->p);
            rc = ORC_ECORRUPT;
        }
        res[i] = rc;
    }
    orc_buf_dispose(&got);
    return ORC_OK;
}
