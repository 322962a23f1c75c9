/* fsck: the metadata against what each provider really holds (object.h,
 * "fsck"). A provider's listing is compared with every piece recorded on
 * it: a LIVE piece it lacks, or holds at the wrong size, is marked suspect
 * (queued for repair); a name it holds that no record references is an
 * orphan candidate, deleted once a later pass finds it still unreferenced
 * after the grace period. Deleting is made safe against an upload writing
 * the same content-derived name: the names are fenced first (no write can
 * record a piece under a fenced name), then the records are read again, and
 * only names still unreferenced are deleted; the fences go last. */
#include "object/object.h"
#include "object/object_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"

#define FSCK_BATCH 1000

struct listed {
    char name[96];
    uint64_t size;
    bool referenced;
};

struct listing {
    struct listed *v;
    size_t n, cap;
};

static int add_listed(void *ctx, const char *name, uint64_t size)
{
    struct listing *l = ctx;
    if (strlen(name) >= sizeof(l->v[0].name)) return 0; /* not a name Orchard writes */
    if (l->n == l->cap)
        l->v = orc_realloc(l->v, (l->cap = l->cap ? l->cap * 2 : 256) * sizeof(*l->v));
    snprintf(l->v[l->n].name, sizeof(l->v[0].name), "%s", name);
    l->v[l->n].size = size;
    l->v[l->n++].referenced = false;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct listed *)a)->name, ((const struct listed *)b)->name);
}

static struct listed *find(struct listing *l, const char *name)
{
    struct listed key;
    snprintf(key.name, sizeof(key.name), "%s", name);
    return l->n ? bsearch(&key, l->v, l->n, sizeof(*l->v), by_name) : NULL;
}

/* The name and size a recorded piece has on its provider. */
static const char *piece_name(const store *s, const meta_piece *p, struct chunk_names *cn,
                              uint64_t *size)
{
    object_chunk_names(s, p->chunk.hash, &p->chunk.layout, cn);
    int k = p->chunk.layout.ec_k;
    *size = p->frag >= 0 && k ? (p->chunk.sealed_len + (uint64_t)k - 1) / (uint64_t)k
                              : p->chunk.sealed_len;
    return p->frag >= 0 && k ? cn->frag[p->frag] : cn->whole;
}

/* Calls fn for every recorded piece on provider id. */
static int each_piece(store *s, uint32_t id, void (*fn)(void *, const meta_piece *), void *ctx,
                      orc_err *e)
{
    int64_t after = 0;
    for (;;) {
        meta_piece *ps = NULL;
        size_t n = 0;
        int rc = meta_provider_pieces(s->m, id, after, FSCK_BATCH, &ps, &n, e);
        if (rc) return rc;
        for (size_t i = 0; i < n; i++)
            fn(ctx, &ps[i]);
        if (n) after = ps[n - 1].chunk.id;
        free(ps);
        if (n < FSCK_BATCH) return ORC_OK;
    }
}

struct check_ctx {
    store *s;
    struct listing *l;
    object_fsck_provider *out;
    uint32_t id;
    int64_t *suspects;
    size_t nsuspects, cap;
};

static void check_piece(void *arg, const meta_piece *p)
{
    struct check_ctx *c = arg;
    struct chunk_names cn;
    uint64_t size;
    const char *name = piece_name(c->s, p, &cn, &size);
    struct listed *got = find(c->l, name);
    c->out->recorded++;
    if (got) got->referenced = true;
    if (!p->live || p->chunk.state != META_CHUNK_LIVE) return; /* nothing promised yet */
    if (got && got->size == size) return;
    got ? c->out->wrong_size++ : c->out->missing++;
    LOG_WARN("fsck: provider %s %s chunk %lld's piece (%s)", c->out->name,
             got ? "holds a wrong-sized copy of" : "lacks", (long long)p->chunk.id,
             got ? "size differs" : "not listed");
    orc_err me = {0};
    if (meta_chunk_copy_suspect(c->s->m, p->chunk.id, c->id, p->frag, &me))
        LOG_WARN("fsck: chunk %lld: %s", (long long)p->chunk.id, me.msg);
    if (c->nsuspects == c->cap)
        c->suspects =
            orc_realloc(c->suspects, (c->cap = c->cap ? c->cap * 2 : 16) * sizeof(int64_t));
    c->suspects[c->nsuspects++] = p->chunk.id;
}

struct names_ctx {
    const store *s;
    char (*names)[96];
    size_t n, cap;
};

static void collect_name(void *arg, const meta_piece *p)
{
    struct names_ctx *c = arg;
    struct chunk_names cn;
    uint64_t size;
    const char *name = piece_name(c->s, p, &cn, &size);
    if (c->n == c->cap)
        c->names = orc_realloc(c->names, (c->cap = c->cap ? c->cap * 2 : 256) * sizeof(*c->names));
    snprintf(c->names[c->n++], sizeof(c->names[0]), "%s", name);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* Deletes provider id's orphan candidates due at cutoff, each only if it is
 * still unreferenced once fenced. */
static int sweep(store *s, provider *p, uint32_t id, int64_t cutoff, object_fsck_provider *out,
                 orc_err *e)
{
    meta_orphan *due = NULL;
    size_t n = 0;
    int rc = meta_orphans_due(s->m, id, cutoff, &due, &n, e);
    if (rc || n == 0) {
        free(due);
        return rc;
    }
    const char **names = orc_calloc(n, sizeof(*names));
    for (size_t i = 0; i < n; i++)
        names[i] = due[i].name;
    if ((rc = meta_orphans_fence(s->m, id, names, n, true, e))) goto done;
    pthread_mutex_lock(&s->scrub_mu);
    s->fsck.view.fenced += n;
    pthread_mutex_unlock(&s->scrub_mu);
    /* Fenced: no write records a piece under these names from now on, and
     * every one recorded before is in this fresh read of the records. */
    struct names_ctx nc = {s, NULL, 0, 0};
    if ((rc = each_piece(s, id, collect_name, &nc, e))) {
        free(nc.names);
        meta_orphans_fence(s->m, id, names, n, false, NULL);
        pthread_mutex_lock(&s->scrub_mu);
        s->fsck.view.fenced -= n;
        pthread_mutex_unlock(&s->scrub_mu);
        goto done;
    }
    if (nc.n) qsort(nc.names, nc.n, sizeof(*nc.names), cmp_name);
    for (size_t i = 0; i < n; i++) {
        if (nc.n && bsearch(due[i].name, nc.names, nc.n, sizeof(*nc.names), cmp_name)) continue;
        orc_err de = {0};
        int dr = provider_del(p, due[i].name, &de);
        if (dr && dr != ORC_ENOTFOUND) {
            LOG_WARN("fsck: provider %s: could not delete orphan %.16s...: %s", out->name,
                     due[i].name, de.msg);
            continue;
        }
        out->orphans_deleted++;
        out->orphan_bytes_deleted += due[i].size;
    }
    free(nc.names);
    rc = meta_orphans_fence(s->m, id, names, n, false, e); /* forgotten: deleted, or not orphans */
    pthread_mutex_lock(&s->scrub_mu);
    s->fsck.view.fenced -= n;
    pthread_mutex_unlock(&s->scrub_mu);
done:
    free(names);
    free(due);
    return rc;
}

static void fsck_provider(store *s, size_t slot, int64_t grace_ms, object_fsck_provider *out,
                          int64_t **suspects, size_t *nsuspects, size_t *cap)
{
    provider *p = place_provider(s->pl, slot);
    uint32_t id = place_provider_id(s->pl, slot);
    snprintf(out->name, sizeof(out->name), "%s", provider_name(p));
    struct listing l = {0};
    orc_err e = {0};
    int64_t now = orc_now_ms();
    int rc = provider_list(p, add_listed, &l, &e);
    if (!rc) {
        if (l.n) qsort(l.v, l.n, sizeof(*l.v), by_name);
        out->listed = l.n;
        struct check_ctx c = {s, &l, out, id, *suspects, *nsuspects, *cap};
        rc = each_piece(s, id, check_piece, &c, &e);
        *suspects = c.suspects, *nsuspects = c.nsuspects, *cap = c.cap;
    }
    if (!rc) {
        meta_orphan *found = orc_calloc(l.n ? l.n : 1, sizeof(*found));
        size_t nf = 0;
        for (size_t i = 0; i < l.n; i++)
            if (!l.v[i].referenced) {
                snprintf(found[nf].name, sizeof(found[nf].name), "%s", l.v[i].name);
                found[nf++].size = l.v[i].size;
            }
        out->orphans = nf;
        rc = meta_orphans_update(s->m, id, found, nf, now, &e);
        free(found);
    }
    if (!rc) rc = sweep(s, p, id, now - grace_ms, out, &e);
    if (rc) {
        out->failed = true;
        snprintf(out->error, sizeof(out->error), "%s", e.msg);
        LOG_WARN("fsck: provider %s: %s", out->name, e.msg);
    }
    free(l.v);
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int object_fsck_run(store *s, int64_t grace_ms, object_fsck_view *out, orc_err *e)
{
    memset(out, 0, sizeof(*out));
    out->started_ms = orc_now_ms();
    size_t np = place_count(s->pl);
    if (np > OBJECT_FSCK_MAX_PROVIDERS) np = OBJECT_FSCK_MAX_PROVIDERS;
    int64_t *suspects = NULL;
    size_t ns = 0, cap = 0;
    for (size_t i = 0; i < np; i++) {
        fsck_provider(s, i, grace_ms, &out->providers[i], &suspects, &ns, &cap);
        out->nproviders++;
        out->missing += out->providers[i].missing;
        out->wrong_size += out->providers[i].wrong_size;
        out->orphans += out->providers[i].orphans;
        out->orphans_deleted += out->providers[i].orphans_deleted;
        out->failed_providers += out->providers[i].failed;
    }
    /* A chunk left with too few good pieces to rebuild it is lost. */
    if (ns) qsort(suspects, ns, sizeof(*suspects), cmp_id);
    for (size_t i = 0; i < ns; i++) {
        if (i && suspects[i] == suspects[i - 1]) continue;
        meta_chunk c;
        if (meta_chunk_get(s->m, suspects[i], &c, NULL)) continue;
        int need = c.layout.ec_k ? c.layout.ec_k : 1;
        if (c.state == META_CHUNK_LIVE && c.ncopies < need) {
            out->lost++;
            LOG_ERROR("fsck: chunk %lld has %d good pieces left of the %d it needs",
                      (long long)c.id, c.ncopies, need);
        }
    }
    free(suspects);
    out->finished_ms = orc_now_ms();
    (void)e;
    return ORC_OK;
}

/* ---- one pass at a time, run by the background (cli/background.c) ---- */

int object_fsck_request(store *s, int64_t grace_ms, orc_err *e)
{
    pthread_mutex_lock(&s->scrub_mu);
    int rc = ORC_OK;
    if (s->fsck.requested || s->fsck.view.running)
        rc = orc_fail(e, ORC_EBUSY, "an fsck pass is under way");
    else {
        s->fsck.requested = true;
        s->fsck.grace_ms = grace_ms;
        s->fsck.view.running = true; /* seen as under way from now on */
        s->fsck.view.started_ms = orc_now_ms();
        s->fsck.view.finished_ms = 0;
    }
    pthread_mutex_unlock(&s->scrub_mu);
    return rc;
}

bool object_fsck_run_requested(store *s)
{
    pthread_mutex_lock(&s->scrub_mu);
    bool go = s->fsck.requested;
    int64_t grace = s->fsck.grace_ms;
    s->fsck.requested = false;
    pthread_mutex_unlock(&s->scrub_mu);
    if (!go) return false;
    object_fsck_view *v = orc_calloc(1, sizeof(*v));
    object_fsck_run(s, grace, v, NULL);
    LOG_INFO("fsck: %llu missing, %llu wrong size (queued for repair), %llu orphans found, %llu "
             "deleted, %llu chunks lost",
             (unsigned long long)v->missing, (unsigned long long)v->wrong_size,
             (unsigned long long)v->orphans, (unsigned long long)v->orphans_deleted,
             (unsigned long long)v->lost);
    pthread_mutex_lock(&s->scrub_mu);
    s->fsck.view = *v;
    pthread_mutex_unlock(&s->scrub_mu);
    free(v);
    return true;
}

void object_fsck_view_get(store *s, object_fsck_view *out)
{
    pthread_mutex_lock(&s->scrub_mu);
    *out = s->fsck.view;
    pthread_mutex_unlock(&s->scrub_mu);
}
