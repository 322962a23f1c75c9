/* Draining a provider: every copy or fragment it holds moves to the others,
 * under load, without a moment of less redundancy than before (object.h,
 * "providers: drain and removal"). For each piece: the chunk is read
 * verified, the piece written to a provider that holds none of the chunk
 * and takes writes, read back and compared, then in one metadata
 * transaction the new piece becomes LIVE and the drained one PENDING, and
 * only then is the drained one deleted from its provider and forgotten.
 * The drain's state is the providers table: after a restart it goes on with
 * what the provider still holds. */
#include "object/object.h"
#include "object/object_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/time.h"

/* The place slot of provider name; -1 if there is none. */
static int slot_of(const store *s, const char *name)
{
    for (size_t i = 0; i < place_count(s->pl); i++)
        if (!strcmp(provider_name(place_provider(s->pl, i)), name)) return (int)i;
    return -1;
}

int object_providers_load_states(store *s, orc_err *e)
{
    meta_provider *ps = NULL;
    size_t n = 0;
    int rc = meta_provider_list(s->m, &ps, &n, e);
    if (rc) return rc;
    for (size_t i = 0; i < n; i++)
        if (ps[i].state != META_PROVIDER_ACTIVE) {
            place_set_writable(s->pl, ps[i].id, false);
            if (slot_of(s, ps[i].name) >= 0)
                LOG_INFO("provider %s is %s: it takes no new pieces", ps[i].name,
                         ps[i].state == META_PROVIDER_DRAINING ? "draining" : "removed");
        }
    free(ps);
    for (int c = 0; c < s->nclasses; c++) {
        orc_err ce = {0};
        if (place_check_writable(s->pl, &s->classes[c].pol, &ce))
            LOG_WARN("storage class %s: %s: its writes fail until a provider is added or a "
                     "drain is cancelled",
                     s->classes[c].name, ce.msg);
    }
    return ORC_OK;
}

/* The id of configured provider name, or ORC_ENOTFOUND. */
static int provider_id_of(store *s, const char *name, uint32_t *id, orc_err *e)
{
    int i = slot_of(s, name);
    if (i < 0) return orc_fail(e, ORC_ENOTFOUND, "no provider named '%.64s'", name);
    *id = place_provider_id(s->pl, (size_t)i);
    return ORC_OK;
}

int object_provider_set(store *s, const char *name, int state, orc_err *e)
{
    uint32_t id = 0;
    int rc = provider_id_of(s, name, &id, e);
    if (rc) return rc;
    if (state != META_PROVIDER_ACTIVE) {
        /* Without it, every class must still find providers for all its pieces. */
        bool was = place_writable(s->pl, (size_t)slot_of(s, name));
        place_set_writable(s->pl, id, false);
        for (int c = 0; c < s->nclasses && !rc; c++) {
            orc_err ce = {0};
            if (place_check_writable(s->pl, &s->classes[c].pol, &ce))
                rc = orc_fail(e, ORC_ECONFLICT, "without %s, storage class %s: %s", name,
                              s->classes[c].name, ce.msg);
        }
        if (rc) {
            place_set_writable(s->pl, id, was);
            return rc;
        }
    }
    if ((rc = meta_provider_set_state(s->m, id, state, e))) {
        if (state != META_PROVIDER_ACTIVE) { /* as it was */
            meta_provider *ps = NULL;
            size_t n = 0;
            bool active = true;
            if (!meta_provider_list(s->m, &ps, &n, NULL))
                for (size_t i = 0; i < n; i++)
                    if (ps[i].id == id) active = ps[i].state == META_PROVIDER_ACTIVE;
            free(ps);
            place_set_writable(s->pl, id, active);
        }
        return rc;
    }
    place_set_writable(s->pl, id, state == META_PROVIDER_ACTIVE);
    LOG_INFO("provider %s: %s", name,
             state == META_PROVIDER_DRAINING  ? "draining: its pieces move to the others"
             : state == META_PROVIDER_REMOVED ? "removed: it holds nothing"
                                              : "active: it takes new pieces again");
    return ORC_OK;
}

int object_drain_view_get(store *s, const char *name, object_drain_view *out, orc_err *e)
{
    memset(out, 0, sizeof(*out));
    uint32_t id = 0;
    int rc = provider_id_of(s, name, &id, e);
    if (rc) return rc;
    snprintf(out->name, sizeof(out->name), "%s", name);
    meta_provider *ps = NULL;
    size_t n = 0;
    if ((rc = meta_provider_list(s->m, &ps, &n, e))) return rc;
    for (size_t i = 0; i < n; i++)
        if (ps[i].id == id) {
            out->state = ps[i].state;
            out->started_ms = ps[i].drain_started_ms;
            out->total_pieces = ps[i].drain_pieces;
            out->total_bytes = ps[i].drain_bytes;
        }
    free(ps);
    return meta_provider_held(s->m, id, &out->left_pieces, &out->left_bytes, e);
}

/* Deletes provider p's piece frag of c from it, then forgets the record. */
static int drop_piece(store *s, const meta_chunk *c, uint32_t p, int16_t frag, orc_err *e)
{
    meta_chunk one = *c;
    one.copies[0] = p;
    one.frags[0] = frag;
    one.ncopies = 1;
    int rc = object_chunk_delete(s, &one, e);
    return rc ? rc : meta_chunk_copy_forget(s->m, c->id, p, e);
}

static int drain_piece(store *s, meta_drain_item *it, uint32_t p, orc_buf *sealed, uint64_t *bytes,
                       orc_err *e)
{
    meta_chunk *c = &it->chunk;
    if (!it->live) return drop_piece(s, c, p, it->frag, e); /* a write's leftover */
    /* An earlier, interrupted move's new piece: a provider holds one piece
     * of a chunk, so it goes first (deleted, then forgotten). */
    int rc = object_chunk_clear_pending(s, c, e);
    if (!rc) rc = object_chunk_read_good(s, c, sealed, e);
    if (rc) return rc;
    *bytes += sealed->len;
    uint32_t have[META_MAX_COPIES], ids[META_MAX_COPIES], add[META_MAX_COPIES];
    int16_t have_f[META_MAX_COPIES], frags[META_MAX_COPIES], add_f[META_MAX_COPIES];
    int nhave = 0, n = 0, nadd = 0, res[META_MAX_COPIES];
    bool still = false;
    for (int i = 0; i < c->ncopies; i++) {
        if (c->copies[i] == p) {
            still = true;
            continue;
        }
        have[nhave] = c->copies[i];
        have_f[nhave++] = c->frags[i];
    }
    int width = c->layout.width ? c->layout.width : object_legacy_width(s);
    if (!still || nhave >= width) {
        /* Its piece failed verification just now (marked; repair rebuilds
         * it elsewhere), or the chunk has its width without it: nothing to
         * copy. A LIVE piece goes to PENDING first, so it is never deleted
         * while counted. */
        if (still && (rc = meta_chunk_copy_suspect(s->m, c->id, p, it->frag, e))) return rc;
        return drop_piece(s, c, p, it->frag, e);
    }
    struct chunk_names cn;
    object_chunk_names(s, c->hash, &c->layout, &cn);
    place_policy pol = object_chunk_policy(s, &c->layout);
    struct pending_ctx pc = {s->m, c->id, &cn};
    place_intent in = {object_record_pending, &pc};
    if ((rc = place_write_more(s->pl, &pol, &cn.nm, sealed->ptr, sealed->len, &in, have, have_f,
                               nhave, ids, frags, &n, e)))
        return rc;
    if ((rc = place_check_pieces(s->pl, &pol, &cn.nm, sealed->ptr, sealed->len, ids, frags, n, res,
                                 e)))
        return rc;
    int target = -1;
    for (int i = 0; i < n; i++) {
        *bytes +=
            c->layout.ec_k ? (sealed->len + c->layout.ec_k - 1) / c->layout.ec_k : sealed->len;
        if (res[i] != 0) continue; /* stays PENDING: the next try deletes it */
        if (target < 0 && frags[i] == it->frag) {
            target = i;
        } else {
            add[nadd] = ids[i]; /* fills another gap of the chunk */
            add_f[nadd++] = frags[i];
        }
    }
    if (nadd && (rc = meta_chunk_add_copies(s->m, c->id, add, add_f, nadd, e))) return rc;
    if (target < 0)
        return orc_fail(e, ORC_ETRANSIENT,
                        "no provider took a verified copy of its piece (%d written, none right)",
                        n);
    if ((rc = meta_chunk_move_piece(s->m, c->id, p, ids[target], it->frag, e))) return rc;
    return drop_piece(s, c, p, it->frag, e);
}

/* The pieces of one step, moved by DRAIN_PARALLEL threads at once: each
 * piece waits mostly on its provider (a read, a durable write, a read back,
 * the metadata's commits), so a few in flight fill the disks. */
#define DRAIN_PARALLEL 4

struct drain_batch {
    store *s;
    const char *name;
    uint32_t p;
    meta_drain_item *items;
    size_t n;
    _Atomic size_t next;
    _Atomic long done;
    _Atomic uint64_t bytes;
};

static void *drain_worker(void *arg)
{
    struct drain_batch *d = arg;
    orc_buf sealed;
    orc_buf_init(&sealed, 0);
    for (size_t i; (i = atomic_fetch_add(&d->next, 1)) < d->n;) {
        orc_err de = {0};
        uint64_t moved = 0;
        if (drain_piece(d->s, &d->items[i], d->p, &sealed, &moved, &de) == 0)
            atomic_fetch_add(&d->done, 1);
        else
            LOG_WARN("drain %s: chunk %lld: %s; will retry", d->name,
                     (long long)d->items[i].chunk.id, de.msg);
        atomic_fetch_add(&d->bytes, moved);
    }
    orc_buf_dispose(&sealed);
    return NULL;
}

long object_drain_step(store *s, size_t limit, uint64_t *bytes, orc_err *e)
{
    meta_provider *ps = NULL;
    size_t np = 0;
    uint64_t moved = 0;
    long done = 0;
    if (bytes) *bytes = 0;
    int rc = meta_provider_list(s->m, &ps, &np, e);
    if (rc) return rc;
    for (size_t k = 0; k < np; k++) {
        if (ps[k].state != META_PROVIDER_DRAINING || slot_of(s, ps[k].name) < 0) continue;
        uint32_t p = ps[k].id;
        int64_t *cursor = &s->drain_cursor[slot_of(s, ps[k].name)];
        meta_drain_item *items = NULL;
        size_t n = 0;
        if ((rc = meta_drain_list(s->m, p, *cursor, limit, &items, &n, e))) break;
        *cursor = n < limit ? 0 : items[n - 1].chunk.id; /* from the start again at the end */
        struct drain_batch d = {s, ps[k].name, p, items, n, 0, 0, 0};
        pthread_t t[DRAIN_PARALLEL];
        int nt = 0;
        for (; nt < DRAIN_PARALLEL - 1 && (size_t)nt + 1 < n; nt++)
            if (pthread_create(&t[nt], NULL, drain_worker, &d) != 0) break;
        drain_worker(&d); /* this thread too */
        for (int i = 0; i < nt; i++)
            pthread_join(t[i], NULL);
        done += atomic_load(&d.done);
        moved += atomic_load(&d.bytes);
        free(items);
    }
    free(ps);
    if (bytes) *bytes = moved;
    return rc ? rc : done;
}
