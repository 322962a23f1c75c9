/* Repair: works the metadata's durable queue (meta.h, "the repair queue").
 * Each item is a chunk below full redundancy (written while providers were
 * down, or whose pieces were lost or failed verification); its missing
 * copies or fragments are rebuilt from pieces that verify, written, read
 * back and compared with what was meant, and only then recorded LIVE. The
 * item leaves the queue when the chunk has its full width again; until then
 * it comes back with a growing delay. A scan queues what went short without
 * a report. Runs in the background (cli/serve.c), at a bounded rate. */
#include "object/object.h"
#include "object/object_int.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "util/log.h"
#include "util/time.h"

#define REPAIR_LEASE_MS (10 * 60 * 1000)       /* a worker's hold on an item */
#define REPAIR_BACKOFF_MIN_MS 1000             /* after the first failed try */
#define REPAIR_BACKOFF_MAX_MS (15 * 60 * 1000) /* never longer than this */

static int64_t backoff_ms(uint32_t attempts)
{
    int64_t d = REPAIR_BACKOFF_MIN_MS;
    for (uint32_t i = 0; i < attempts && d < REPAIR_BACKOFF_MAX_MS; i++)
        d *= 2;
    return d < REPAIR_BACKOFF_MAX_MS ? d : REPAIR_BACKOFF_MAX_MS;
}

static int chunk_width(const store *s, const meta_chunk *c)
{
    return c->layout.width ? c->layout.width : object_legacy_width(s);
}

/* Gives c its missing pieces. 0 once it has its full width of LIVE pieces,
 * each written by a repair read back and found equal to what was meant. A
 * new piece that reads back wrong stays recorded PENDING (the next try
 * deletes it) and the try fails: a repair never counts what it has not
 * seen durable and right. *bytes grows by what was read and written. */
static int repair_chunk(store *s, meta_chunk *c, orc_buf *sealed, uint64_t *bytes, orc_err *e)
{
    int width = chunk_width(s, c);
    int rc = object_chunk_clear_pending(s, c, e);
    if (rc) return rc;
    if (c->ncopies >= width) return ORC_OK; /* repaired meanwhile (a straggler) */
    if ((rc = object_chunk_read_good(s, c, sealed, e))) return rc;
    *bytes += sealed->len;
    uint32_t ids[META_MAX_COPIES], good[META_MAX_COPIES];
    int16_t frags[META_MAX_COPIES], good_frags[META_MAX_COPIES];
    int n = 0, ngood = 0, res[META_MAX_COPIES];
    struct chunk_names cn;
    object_chunk_names(s, c->hash, &c->layout, &cn);
    place_policy pol = object_chunk_policy(s, &c->layout);
    struct pending_ctx pc = {s->m, c->id, &cn};
    place_intent in = {object_record_pending, &pc};
    rc = place_write_more(s->pl, &pol, &cn.nm, sealed->ptr, sealed->len, &in, c->copies, c->frags,
                          c->ncopies, ids, frags, &n, e);
    if (rc) return rc;
    if ((rc = place_check_pieces(s->pl, &pol, &cn.nm, sealed->ptr, sealed->len, ids, frags, n, res,
                                 e)))
        return rc;
    int first_bad = ORC_OK;
    for (int i = 0; i < n; i++) {
        *bytes +=
            c->layout.ec_k ? (sealed->len + c->layout.ec_k - 1) / c->layout.ec_k : sealed->len;
        if (res[i] == 0) {
            good[ngood] = ids[i];
            good_frags[ngood++] = frags[i];
        } else if (!first_bad) {
            first_bad = res[i];
        }
    }
    if (ngood) {
        if ((rc = meta_chunk_add_copies(s->m, c->id, good, good_frags, ngood, e))) {
            place_delete(s->pl, &cn.nm, good, good_frags, ngood, NULL); /* collected meanwhile */
            return rc;
        }
    }
    if (c->ncopies + ngood >= width) return ORC_OK;
    if (first_bad)
        return orc_fail(e, first_bad == ORC_ECORRUPT ? ORC_ECORRUPT : ORC_ETRANSIENT,
                        "%d of %d new pieces did not read back right (%s)", n - ngood, n,
                        orc_code_name(first_bad));
    return orc_fail(e, ORC_ETRANSIENT, "%d of %d pieces after repair; no more providers took one",
                    c->ncopies + ngood, width);
}

long object_repair_scan(store *s, orc_err *e)
{
    uint64_t n = 0;
    int rc = meta_repair_scan(s->m, object_legacy_width(s), &n, e);
    return rc ? rc : (long)n;
}

long object_repair_work(store *s, size_t limit, uint64_t *bytes, orc_err *e)
{
    meta_repair_item *items = NULL;
    size_t n = 0;
    uint64_t moved = 0;
    int64_t now = orc_now_ms();
    int rc = meta_repair_take(s->m, now, REPAIR_LEASE_MS, limit, &items, &n, e);
    if (rc) return rc;
    long done = 0;
    orc_buf sealed;
    orc_buf_init(&sealed, 0);
    for (size_t i = 0; i < n; i++) {
        meta_repair_item *it = &items[i];
        orc_err re = {0}, me = {0};
        if (repair_chunk(s, &it->chunk, &sealed, &moved, &re) == 0) {
            if (meta_repair_done(s->m, it->chunk_id, it->gen, &me))
                LOG_WARN("repair: chunk %lld: %s", (long long)it->chunk_id, me.msg);
            atomic_fetch_add(&s->repair.repaired, 1);
            done++;
            continue;
        }
        atomic_fetch_add(&s->repair.failed, 1);
        int64_t wait = backoff_ms(it->attempts);
        /* One line per chunk and try; the delay doubles, so a chunk that
         * cannot be repaired (a provider down) logs less and less. */
        LOG_WARN("repair: chunk %lld (try %u): %s; next try in %lld s", (long long)it->chunk_id,
                 it->attempts + 1, re.msg, (long long)(wait / 1000));
        if (meta_repair_retry(s->m, it->chunk_id, orc_now_ms() + wait, re.msg, &me))
            LOG_WARN("repair: chunk %lld: %s", (long long)it->chunk_id, me.msg);
    }
    orc_buf_dispose(&sealed);
    free(items);
    atomic_fetch_add(&s->repair.bytes, moved);
    if (bytes) *bytes = moved;
    return done;
}

long object_repair_pass(store *s, orc_err *e)
{
    long fixed = 0;
    if (object_repair_scan(s, e) < 0) return e->code;
    /* Until nothing is due: items that fail wait for their backoff, so
     * this ends. */
    for (;;) {
        long n = object_repair_work(s, 16, NULL, e);
        if (n < 0) return n;
        fixed += n;
        meta_repair_stats st;
        if (meta_repair_stats_get(s->m, orc_now_ms(), &st, e)) return e->code;
        if (st.due == 0) break;
    }
    return fixed;
}

int object_repair_view_get(store *s, object_repair_view *out, orc_err *e)
{
    meta_repair_stats st = {0};
    int rc = meta_repair_stats_get(s->m, orc_now_ms(), &st, e);
    out->items = st.items, out->due = st.due, out->failing = st.failing;
    out->oldest_ms = st.oldest_ms;
    out->repaired = atomic_load(&s->repair.repaired);
    out->failed = atomic_load(&s->repair.failed);
    out->bytes = atomic_load(&s->repair.bytes);
    return rc;
}
