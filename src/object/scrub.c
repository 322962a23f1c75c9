/* Scrub: reads back every piece of every live chunk and compares it with
 * what it must hold, so that a provider that lost or changed data is found
 * before a read needs it (object.h, "scrub"). The pass under way is kept in
 * the metadata (setting "scrub.pass") after every step, so it resumes after
 * a restart; the rate is the caller's (cli/serve.c), by the bytes a step
 * reports. */
#include "object/object.h"
#include "object/object_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"

#define SCRUB_SETTING "scrub.pass"

struct scrub_state {
    bool running;
    int64_t started_ms, finished_ms, cursor;
    uint64_t chunks, pieces, bytes, bad, missing, lost, unreachable;
};

static void state_format(const struct scrub_state *st, char *buf, size_t cap)
{
    snprintf(buf, cap,
             "1 %d %" PRId64 " %" PRId64 " %" PRId64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
             " %" PRIu64 " %" PRIu64 " %" PRIu64,
             st->running ? 1 : 0, st->started_ms, st->finished_ms, st->cursor, st->chunks,
             st->pieces, st->bytes, st->bad, st->missing, st->lost, st->unreachable);
}

static bool state_parse(const char *v, struct scrub_state *st)
{
    int version = 0, running = 0;
    int got =
        sscanf(v,
               "%d %d %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNu64 " %" SCNu64 " %" SCNu64
               " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64,
               &version, &running, &st->started_ms, &st->finished_ms, &st->cursor, &st->chunks,
               &st->pieces, &st->bytes, &st->bad, &st->missing, &st->lost, &st->unreachable);
    st->running = running != 0;
    return version == 1 && got == 12;
}

/* The state, loaded from the metadata on first use. Called with scrub_mu. */
static struct scrub_state *state_get(store *s, orc_err *e)
{
    if (s->scrub) return s->scrub;
    struct scrub_state *st = orc_calloc(1, sizeof(*st));
    char v[512];
    orc_err ge = {0};
    int rc = meta_setting_get(s->m, SCRUB_SETTING, v, sizeof(v), &ge);
    if (rc == 0 && !state_parse(v, st)) {
        LOG_WARN("scrub: unreadable saved state '%.60s'; starting afresh", v);
        memset(st, 0, sizeof(*st));
    } else if (rc && rc != ORC_ENOTFOUND) {
        orc_fail_copy(e, rc, &ge);
        free(st);
        return NULL;
    }
    s->scrub = st;
    return st;
}

static int state_save(store *s, const struct scrub_state *st, orc_err *e)
{
    char v[512];
    state_format(st, v, sizeof(v));
    return meta_setting_set(s->m, SCRUB_SETTING, v, e);
}

int object_scrub_start(store *s, orc_err *e)
{
    pthread_mutex_lock(&s->scrub_mu);
    struct scrub_state *st = state_get(s, e);
    int rc = st ? ORC_OK : e->code;
    if (st && !st->running) {
        struct scrub_state next = {
            .running = true, .started_ms = orc_now_ms(), .finished_ms = st->finished_ms};
        if (!(rc = state_save(s, &next, e))) *st = next;
    }
    pthread_mutex_unlock(&s->scrub_mu);
    return rc;
}

/* Counts of one chunk's check, added to the pass afterwards. */
struct tally {
    uint64_t pieces, bytes, bad, missing, lost, unreachable;
};

static void scrub_chunk(store *s, const meta_chunk *c, orc_buf *sealed, struct tally *t)
{
    orc_err e = {0};
    sealed->len = 0;
    /* The chunk first, verified: what each piece must hold is made from it.
     * A piece that fails here is marked for repair by the read itself. */
    int rc = object_chunk_read(s, c, false, sealed, NULL, &e);
    if (rc) {
        if (rc == ORC_ECORRUPT || rc == ORC_ENOTFOUND) {
            t->lost++;
            LOG_ERROR("scrub: chunk %lld has no good copy left: %s", (long long)c->id, e.msg);
        } else {
            t->unreachable += (uint64_t)c->ncopies;
        }
        return;
    }
    t->bytes += sealed->len;
    struct chunk_names cn;
    object_chunk_names(s, c->hash, &c->layout, &cn);
    place_policy pol = object_chunk_policy(s, &c->layout);
    int res[META_MAX_COPIES];
    if (place_check_pieces(s->pl, &pol, &cn.nm, sealed->ptr, sealed->len, c->copies, c->frags,
                           c->ncopies, res, &e)) {
        LOG_WARN("scrub: chunk %lld: %s", (long long)c->id, e.msg);
        t->unreachable += (uint64_t)c->ncopies;
        return;
    }
    size_t piece =
        c->layout.ec_k ? (sealed->len + c->layout.ec_k - 1) / c->layout.ec_k : sealed->len;
    for (int i = 0; i < c->ncopies; i++) {
        if (res[i] != 0 && res[i] != ORC_ECORRUPT && res[i] != ORC_ENOTFOUND) {
            t->unreachable++;
            continue;
        }
        t->pieces++;
        t->bytes += piece;
        if (res[i] == 0) continue;
        res[i] == ORC_ECORRUPT ? t->bad++ : t->missing++;
        if (res[i] == ORC_ENOTFOUND)
            LOG_WARN("scrub: chunk %lld: provider %u lacks its piece", (long long)c->id,
                     c->copies[i]);
        orc_err me = {0};
        if (meta_chunk_copy_suspect(s->m, c->id, c->copies[i], c->frags[i], &me))
            LOG_WARN("scrub: chunk %lld: could not queue its repair: %s", (long long)c->id, me.msg);
    }
}

long object_scrub_step(store *s, size_t max_chunks, uint64_t *bytes, orc_err *e)
{
    if (bytes) *bytes = 0;
    pthread_mutex_lock(&s->scrub_mu);
    struct scrub_state *st = state_get(s, e);
    bool running = st && st->running;
    int64_t cursor = running ? st->cursor : 0;
    pthread_mutex_unlock(&s->scrub_mu);
    if (!st) return e->code;
    if (!running) return 0;

    meta_chunk *cs = NULL;
    size_t n = 0;
    int rc = meta_chunk_list(s->m, cursor, max_chunks, &cs, &n, e);
    if (rc) return rc;
    struct tally t = {0};
    orc_buf sealed;
    orc_buf_init(&sealed, 0);
    for (size_t i = 0; i < n; i++)
        scrub_chunk(s, &cs[i], &sealed, &t);
    orc_buf_dispose(&sealed);

    pthread_mutex_lock(&s->scrub_mu);
    if (st->running && st->cursor == cursor) { /* not restarted meanwhile */
        struct scrub_state next = *st;
        next.chunks += n;
        next.pieces += t.pieces, next.bytes += t.bytes, next.bad += t.bad;
        next.missing += t.missing, next.lost += t.lost, next.unreachable += t.unreachable;
        if (n) next.cursor = cs[n - 1].id;
        if (n < max_chunks) { /* the end of the chunks: the pass is done */
            next.running = false;
            next.finished_ms = orc_now_ms();
            LOG_INFO("scrub: pass done: %" PRIu64 " chunks, %" PRIu64 " pieces, %" PRIu64
                     " bad, %" PRIu64 " missing, %" PRIu64 " lost, %" PRIu64 " not reached",
                     next.chunks, next.pieces, next.bad, next.missing, next.lost, next.unreachable);
        }
        if (!(rc = state_save(s, &next, e))) *st = next;
    }
    pthread_mutex_unlock(&s->scrub_mu);
    free(cs);
    if (bytes) *bytes = t.bytes;
    return rc ? rc : (long)n;
}

int object_scrub_view_get(store *s, object_scrub_view *out, bool count_chunks, orc_err *e)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s->scrub_mu);
    struct scrub_state *st = state_get(s, e);
    if (st) {
        out->running = st->running;
        out->started_ms = st->started_ms, out->finished_ms = st->finished_ms;
        out->cursor = st->cursor, out->chunks = st->chunks, out->pieces = st->pieces;
        out->bytes = st->bytes, out->bad = st->bad, out->missing = st->missing;
        out->lost = st->lost, out->unreachable = st->unreachable;
    }
    pthread_mutex_unlock(&s->scrub_mu);
    if (!st) return e ? e->code : ORC_EINTERNAL;
    if (!count_chunks) return ORC_OK;
    meta_stats ms;
    int rc = meta_stats_get(s->m, &ms, e);
    out->total_chunks = rc ? 0 : ms.chunks;
    return rc;
}
