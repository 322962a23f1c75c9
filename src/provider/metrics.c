/* The metrics and health decorators. Metrics is the outermost layer, so it
 * counts what callers see: one call however many attempts the retry layer
 * made below, its whole latency, and cancelled calls. Health sits above the
 * retry layer for the same reason: a call that a retry saved is a success,
 * and only calls that failed for good (or ended past their deadline) bring
 * the provider closer to down. A cancelled call says nothing of the
 * provider's health, so health leaves it alone. */
#include "provider/provider_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"

static _Atomic long recent_window_ms = 30000;

void provider_set_recent_window_ms(long ms)
{
    recent_window_ms = ms > 0 ? ms : 30000;
}

/* Latency buckets: quarter steps of log2(microseconds), so percentiles are
 * within about 19% of the truth without keeping samples. */
static int lat_bucket(uint64_t us)
{
    if (us < 1) us = 1;
    int b = 63 - __builtin_clzll(us); /* floor(log2) */
    int quarter = b >= 2 ? (int)((us >> (b - 2)) & 3) : 0;
    int i = b * 4 + quarter;
    return i < PROVIDER_LAT_N ? i : PROVIDER_LAT_N - 1;
}

static double bucket_us(int i)
{
    double lo = (double)(1ull << (i / 4)) * (1.0 + (i % 4) / 4.0);
    return lo * 1.125; /* middle of the bucket */
}

/* The bucket value at quantile q of hist, 0 when empty. */
static double quantile_us(const uint64_t *hist, double q)
{
    uint64_t total = 0, seen = 0;
    for (int i = 0; i < PROVIDER_LAT_N; i++)
        total += hist[i];
    for (int i = 0; total && i < PROVIDER_LAT_N; i++) {
        seen += hist[i];
        if ((double)seen >= q * (double)total) return bucket_us(i);
    }
    return 0;
}

/* The current window's number (1-based, so 0 means an empty slot). */
static int64_t window_now(void)
{
    return 1 + orc_monotonic_us() / ((int64_t)recent_window_ms * 1000);
}

static void recent_add(provider_recent *r, uint64_t us)
{
    int64_t w = window_now(), had = atomic_load(&r->epoch[w & 1]);
    if (had != w && atomic_compare_exchange_strong(&r->epoch[w & 1], &had, w))
        for (int i = 0; i < PROVIDER_LAT_N; i++) /* the slot held a window two ago */
            atomic_store(&r->hist[w & 1][i], 0);
    atomic_fetch_add(&r->hist[w & 1][lat_bucket(us)], 1);
}

static uint64_t recent_p95_us(const provider_recent *r)
{
    uint64_t hist[PROVIDER_LAT_N] = {0};
    int64_t w = window_now();
    for (int s = 0; s < 2; s++) {
        int64_t e = atomic_load(&r->epoch[s]);
        if (e != w && e != w - 1) continue; /* older than the last two windows */
        for (int i = 0; i < PROVIDER_LAT_N; i++)
            hist[i] += atomic_load(&r->hist[s][i]);
    }
    return (uint64_t)quantile_us(hist, 0.95);
}

uint64_t provider_get_p95_us(const provider *p)
{
    const provider *m = provider_find_layer(p, "metrics");
    return recent_p95_us(&(m ? m : p)->recent);
}

uint64_t provider_put_p95_us(const provider *p)
{
    const provider *m = provider_find_layer(p, "metrics");
    return recent_p95_us(&(m ? m : p)->recent_put);
}

void provider_metrics_begin(provider *m, enum provider_op op)
{
    if (op == PROVIDER_PUT) m->puts++;
    if (op == PROVIDER_GET) m->gets++;
    if (op == PROVIDER_DEL) m->dels++;
    if (op == PROVIDER_HEAD) m->heads++;
    if (op == PROVIDER_LIST) m->lists++;
}

/* A call that ended past its deadline is a timeout and an error even if it
 * succeeded: a provider that answers everything late must go down, not stall
 * every request that touches it. */
void provider_metrics_end(provider *m, const provider_callargs *c, int rc, int64_t t0,
                          size_t out_before)
{
    if (rc == ORC_ECANCELED) {
        m->cancelled++;
        return;
    }
    if (c->op == PROVIDER_LIST) { /* no deadline, no latency: it walks everything */
        if (provider_failure(rc)) m->errors++;
        return;
    }
    int64_t now = orc_monotonic_us(), deadline = provider_call_deadline_us();
    uint64_t us = (uint64_t)(now - t0);
    bool late = deadline && now > deadline;
    m->lat[lat_bucket(us)]++;
    prom_hist_observe_us(&m->hist, us);
    if (c->op == PROVIDER_GET) recent_add(&m->recent, us);
    if (c->op == PROVIDER_PUT && !rc) recent_add(&m->recent_put, us);
    if (!rc && c->op == PROVIDER_PUT) m->bytes_in += c->len;
    if (!rc && c->op == PROVIDER_GET) m->bytes_out += c->out->len - out_before;
    if (late) {
        m->timeouts++;
        LOG_WARN("provider %s: call took %llu ms, past its deadline", m->name,
                 (unsigned long long)(us / 1000));
    }
    if (provider_failure(rc) || late) m->errors++;
}

void provider_health_fail(provider *h)
{
    int n = ++h->consecutive_failures;
    int after = h->down_after > 0 ? h->down_after : PROVIDER_DOWN_AFTER_DEFAULT;
    if (n >= after && !h->down) {
        bool was = false;
        if (atomic_compare_exchange_strong(&h->down, &was, true))
            LOG_WARN("provider %s is down after %d failures in a row", h->name, n);
    }
}

void provider_health_note(provider *h, int rc)
{
    if (rc == ORC_ECANCELED) return;
    int64_t deadline = provider_call_deadline_us();
    bool late = deadline && orc_monotonic_us() > deadline;
    if (provider_failure(rc) || late) {
        provider_health_fail(h);
    } else {
        h->consecutive_failures = 0;
        bool was = true;
        if (h->down && atomic_compare_exchange_strong(&h->down, &was, false))
            LOG_INFO("provider %s is up again", h->name);
    }
}

void provider_metrics_read(const provider *m, provider_stats *out)
{
    out->puts = m->puts;
    out->gets = m->gets;
    out->dels = m->dels;
    out->heads = m->heads;
    out->lists = m->lists;
    out->errors = m->errors;
    out->timeouts = m->timeouts;
    out->corrupt = m->corrupt;
    out->cancelled = m->cancelled;
    out->bytes_in = m->bytes_in;
    out->bytes_out = m->bytes_out;
    uint64_t hist[PROVIDER_LAT_N];
    for (int i = 0; i < PROVIDER_LAT_N; i++)
        hist[i] = m->lat[i];
    out->p50_ms = quantile_us(hist, 0.50) / 1000.0;
    out->p90_ms = quantile_us(hist, 0.90) / 1000.0;
    out->p99_ms = quantile_us(hist, 0.99) / 1000.0;
    out->get_p95_ms = (double)provider_get_p95_us(m) / 1000.0;
}

/* A decorator: the header and its own ops (kind and caps of the inner). */
typedef struct layer {
    provider base; /* first: provider.c casts */
    struct provider_ops ops;
} layer;

static void layer_free(provider *p)
{
    provider_free(p->inner);
    free(p);
}

static int metrics_call(provider *p, provider_callargs *c, orc_err *e)
{
    int64_t t0 = orc_monotonic_us();
    size_t before = c->out ? c->out->len : 0;
    provider_metrics_begin(p, c->op);
    int rc = provider_call(p->inner, c, e);
    provider_metrics_end(p, c, rc, t0, before);
    return rc;
}

static int health_call(provider *p, provider_callargs *c, orc_err *e)
{
    int rc = provider_call(p->inner, c, e);
    if (c->op != PROVIDER_LIST) provider_health_note(p, rc); /* a listing is not health */
    return rc;
}

static const struct provider_layer metrics_layer = {"metrics", metrics_call};
static const struct provider_layer health_layer = {"health", health_call};

static provider *wrap(provider *inner, const struct provider_layer *role)
{
    layer *l = orc_calloc(1, sizeof(*l));
    l->ops = (struct provider_ops){
        .kind = inner->ops->kind,
        .caps = inner->ops->caps,
        .free = layer_free,
    };
    l->base.ops = &l->ops;
    l->base.layer = role;
    l->base.inner = inner;
    snprintf(l->base.name, sizeof(l->base.name), "%s", inner->name);
    l->base.down_after = PROVIDER_DOWN_AFTER_DEFAULT;
    return &l->base;
}

provider *provider_metrics_wrap(provider *inner)
{
    return wrap(inner, &metrics_layer);
}

provider *provider_health_wrap(provider *inner)
{
    return wrap(inner, &health_layer);
}
