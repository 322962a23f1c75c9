/* The store's part of GET /metrics: each provider's counters, latency
 * histogram and health (read live from placement's providers: atomics, no
 * lock), what the metadata says each provider holds and the store's totals
 * (table scans, so read at most once per cache period), written in the
 * Prometheus text format (util/prom.h). A value that cannot be had honestly
 * (the metadata failed, a ratio over zero) is left out, never shown as 0. */
#include "object/object_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/prom.h"
#include "util/time.h"

/* Reads every count; the first failure is returned (in e), the counts that
 * did answer are kept. */
static int counts_read(store *s, struct metrics_counts *c, orc_err *e)
{
    int first = ORC_OK;
    orc_err one = {0};
    memset(c, 0, sizeof(*c));
    c->n = place_count(s->pl);
    for (size_t i = 0; i < c->n; i++) {
        int rc = meta_provider_usage(s->m, place_provider_id(s->pl, i), &c->chunks[i], &c->bytes[i],
                                     &one);
        c->have_usage[i] = rc == ORC_OK;
        if (rc && !first) first = orc_fail_copy(e, rc, &one);
    }
    int rc = meta_stats_get(s->m, &c->stats, &one);
    c->have_stats = rc == ORC_OK;
    if (rc && !first) first = orc_fail_copy(e, rc, &one);
    rc = meta_under_replicated(s->m, object_legacy_width(s), &c->under, &one);
    c->have_under = rc == ORC_OK;
    if (rc && !first) first = orc_fail_copy(e, rc, &one);
    return first;
}

/* The counts, from the cache while it is fresh. A refresh that failed in
 * part is used once and not kept, so the next scrape tries again. */
static int counts_get(store *s, struct metrics_counts *out, orc_err *e)
{
    struct metrics_cache *mc = s->mcache;
    if (!mc) return counts_read(s, out, e); /* a store not made by object_store_new */
    int rc = ORC_OK;
    pthread_mutex_lock(&mc->mu);
    int64_t now = orc_monotonic_us() / 1000;
    if (!mc->at_ms || now - mc->at_ms >= mc->ttl_ms) {
        rc = counts_read(s, &mc->c, e);
        mc->at_ms = rc ? 0 : now;
    }
    *out = mc->c;
    pthread_mutex_unlock(&mc->mu);
    return rc;
}

/* ---- the providers ---- */

enum { F_UP, F_OPS, F_ERRORS, F_TIMEOUTS, F_CORRUPT, F_CANCELLED, F_BYTES, F_NFAMILIES };

static const struct {
    const char *name, *type, *help;
} provider_families[F_NFAMILIES] = {
    [F_UP] = {"orchard_provider_up", "gauge",
              "Whether the provider is up (1) or marked down after failures in a row (0)."},
    [F_OPS] = {"orchard_provider_operations_total", "counter",
               "Calls made to the provider, by operation (head includes the health probes)."},
    [F_ERRORS] = {"orchard_provider_errors_total", "counter",
                  "Calls that failed through the provider (unreachable, 5xx, refused "
                  "credentials, I/O error), calls past their deadline, and pieces that failed "
                  "verification."},
    [F_TIMEOUTS] = {"orchard_provider_timeouts_total", "counter",
                    "Calls that ended past their deadline (also in errors)."},
    [F_CORRUPT] = {"orchard_provider_corrupt_total", "counter",
                   "Pieces read from the provider that failed verification (also in errors)."},
    [F_CANCELLED] = {"orchard_provider_cancelled_total", "counter",
                     "Calls ended by cancellation (a hedge or quorum won elsewhere); not errors."},
    [F_BYTES] = {"orchard_provider_bytes_total", "counter",
                 "Bytes written to the provider by puts (in) and read from it by gets (out)."},
};

static void provider_sample(orc_buf *b, int f, const char *name, const provider_stats *st)
{
    prom_label l[2] = {{"provider", name}, {NULL, NULL}};
    const char *fam = provider_families[f].name;
    static const char *const ops[] = {"put", "get", "delete", "head", "list"};
    switch (f) {
    case F_UP:
        return prom_sample_u64(b, fam, l, 1, st->up ? 1 : 0);
    case F_OPS: {
        uint64_t v[] = {st->puts, st->gets, st->dels, st->heads, st->lists};
        for (int i = 0; i < 5; i++) {
            l[1] = (prom_label){"operation", ops[i]};
            prom_sample_u64(b, fam, l, 2, v[i]);
        }
        return;
    }
    case F_ERRORS:
        return prom_sample_u64(b, fam, l, 1, st->errors);
    case F_TIMEOUTS:
        return prom_sample_u64(b, fam, l, 1, st->timeouts);
    case F_CORRUPT:
        return prom_sample_u64(b, fam, l, 1, st->corrupt);
    case F_CANCELLED:
        return prom_sample_u64(b, fam, l, 1, st->cancelled);
    default:
        l[1] = (prom_label){"direction", "in"};
        prom_sample_u64(b, fam, l, 2, st->bytes_in);
        l[1] = (prom_label){"direction", "out"};
        prom_sample_u64(b, fam, l, 2, st->bytes_out);
    }
}

/* The live counters of every provider, family by family. */
static void provider_counters(store *s, orc_buf *b)
{
    size_t n = place_count(s->pl);
    provider_stats *st = orc_calloc(n ? n : 1, sizeof(*st));
    for (size_t i = 0; i < n; i++)
        provider_stats_get(place_provider(s->pl, i), &st[i]);
    for (int f = 0; f < F_NFAMILIES; f++) {
        prom_family(b, provider_families[f].name, provider_families[f].type,
                    provider_families[f].help);
        for (size_t i = 0; i < n; i++)
            provider_sample(b, f, provider_name(place_provider(s->pl, i)), &st[i]);
    }
    free(st);
    prom_family(b, "orchard_provider_request_duration_seconds", "histogram",
                "Latency of the provider's put, get, delete and head calls (cancelled calls "
                "left out).");
    for (size_t i = 0; i < n; i++) {
        provider *p = place_provider(s->pl, i);
        prom_hist_counts h;
        provider_histogram(p, &h);
        prom_label l = {"provider", provider_name(p)};
        prom_histogram(b, "orchard_provider_request_duration_seconds", &l, 1, &h);
    }
}

/* What each provider holds, when the metadata answered for it. */
static void provider_usage(store *s, const struct metrics_counts *c, orc_buf *b)
{
    size_t have = 0;
    for (size_t i = 0; i < c->n; i++)
        have += c->have_usage[i];
    if (!have) return;
    prom_family(b, "orchard_provider_stored_bytes", "gauge",
                "Bytes of the live pieces (whole copies or fragments) the provider holds.");
    for (size_t i = 0; i < c->n; i++) {
        prom_label l = {"provider", provider_name(place_provider(s->pl, i))};
        if (c->have_usage[i])
            prom_sample_u64(b, "orchard_provider_stored_bytes", &l, 1, c->bytes[i]);
    }
    prom_family(b, "orchard_provider_stored_chunks", "gauge",
                "Live pieces (whole copies or fragments of chunks) the provider holds.");
    for (size_t i = 0; i < c->n; i++) {
        prom_label l = {"provider", provider_name(place_provider(s->pl, i))};
        if (c->have_usage[i])
            prom_sample_u64(b, "orchard_provider_stored_chunks", &l, 1, c->chunks[i]);
    }
}

/* ---- the store ---- */

static void gauge_u64(orc_buf *b, const char *name, const char *help, uint64_t v)
{
    prom_family(b, name, "gauge", help);
    prom_sample_u64(b, name, NULL, 0, v);
}

static void gauge_f64(orc_buf *b, const char *name, const char *help, double v)
{
    prom_family(b, name, "gauge", help);
    prom_sample_f64(b, name, NULL, 0, v);
}

static void store_gauges(const struct metrics_counts *c, orc_buf *b)
{
    bool all_usage = c->n > 0;
    uint64_t stored = 0;
    for (size_t i = 0; i < c->n; i++) {
        all_usage = all_usage && c->have_usage[i];
        stored += c->bytes[i];
    }
    if (c->have_stats) {
        const meta_stats *st = &c->stats;
        gauge_u64(b, "orchard_objects", "Objects stored (current versions).", st->objects);
        gauge_u64(b, "orchard_logical_bytes", "Sum of the sizes of the objects stored.",
                  st->bytes_logical);
        if (st->bytes_unique)
            gauge_f64(b, "orchard_dedup_ratio",
                      "Logical bytes over the plaintext bytes of the distinct chunks the "
                      "objects reference (1: no deduplication).",
                      (double)st->bytes_logical / (double)st->bytes_unique);
    }
    if (all_usage)
        gauge_u64(b, "orchard_stored_bytes",
                  "Bytes of the live pieces on every provider (the sum of "
                  "orchard_provider_stored_bytes), sealed and padded.",
                  stored);
    if (all_usage && c->have_stats && c->stats.bytes_logical)
        gauge_f64(b, "orchard_stored_bytes_per_logical_byte",
                  "Stored bytes over logical bytes: the cost of redundancy, sealing and padding, "
                  "less what deduplication saves.",
                  (double)stored / (double)c->stats.bytes_logical);
}

/* Repair, scrub and drain: the queue's length (a count of a small table,
 * read live), what repair and the scrub did, and what each draining
 * provider still holds (an indexed count per draining provider). */
static void counter_u64(orc_buf *b, const char *name, const char *help, uint64_t v)
{
    prom_family(b, name, "counter", help);
    prom_sample_u64(b, name, NULL, 0, v);
}

static void repair_gauges(store *s, const struct metrics_counts *c, orc_buf *b)
{
    if (c->have_under)
        gauge_u64(b, "orchard_chunks_under_replicated",
                  "Referenced chunks with fewer live pieces than their placement's width: what "
                  "repair will repair.",
                  c->under);
    object_repair_view rv;
    if (object_repair_view_get(s, &rv, NULL) == 0) {
        gauge_u64(b, "orchard_repair_queue_depth",
                  "Chunks in the durable repair queue (below full redundancy, waiting for repair).",
                  rv.items);
        gauge_u64(b, "orchard_repair_queue_failing",
                  "Chunks in the repair queue whose last try failed (retried with backoff).",
                  rv.failing);
    }
    counter_u64(b, "orchard_repairs_total",
                "Repair queue items finished: the chunk has its full redundancy again, verified.",
                rv.repaired);
    counter_u64(b, "orchard_repair_failures_total", "Repair tries that failed (retried later).",
                rv.failed);
    counter_u64(b, "orchard_repair_bytes_total", "Bytes repair read and wrote.", rv.bytes);
    object_scrub_view sv;
    if (object_scrub_view_get(s, &sv, false, NULL) == 0) {
        gauge_u64(b, "orchard_scrub_running", "Whether a scrub pass is under way (1) or not (0).",
                  sv.running ? 1 : 0);
        gauge_u64(b, "orchard_scrub_pass_pieces",
                  "Pieces the current (or last) scrub pass read back.", sv.pieces);
        gauge_u64(b, "orchard_scrub_pass_bad_pieces",
                  "Pieces the current (or last) scrub pass found missing or wrong (queued).",
                  sv.bad + sv.missing);
    }
    prom_family(b, "orchard_drain_remaining_pieces", "gauge",
                "Pieces a draining provider still holds (to move or delete).");
    prom_family(b, "orchard_drain_remaining_bytes", "gauge",
                "Bytes a draining provider still holds.");
    for (size_t i = 0; i < place_count(s->pl); i++) {
        const char *name = provider_name(place_provider(s->pl, i));
        object_drain_view dv;
        if (place_writable(s->pl, i) || object_drain_view_get(s, name, &dv, NULL) ||
            dv.state != META_PROVIDER_DRAINING)
            continue;
        prom_label l = {"provider", name};
        prom_sample_u64(b, "orchard_drain_remaining_pieces", &l, 1, dv.left_pieces);
        prom_sample_u64(b, "orchard_drain_remaining_bytes", &l, 1, dv.left_bytes);
    }
}

int object_metrics_write(store *s, orc_buf *out, orc_err *e)
{
    struct metrics_counts c;
    int rc = counts_get(s, &c, e);
    provider_counters(s, out);
    provider_usage(s, &c, out);
    store_gauges(&c, out);
    repair_gauges(s, &c, out);
    return rc;
}
