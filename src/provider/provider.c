/* The wrappers every provider call goes through: they set the call's deadline
 * and cancel flag for the thread and hand the call to the top of the stack
 * (registry.c builds it; the layers are metrics.c, retry.c, fault.c and the
 * kinds). A bare base kind made without provider_open (the unit tests'
 * fakes) gets the metrics' and health's accounting done here instead, so
 * every caller sees the same behaviour. */
#include "provider/provider_impl.h"

#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "util/time.h"

/* A get of unknown length is given the deadline of the largest chunk. */
#define DEADLINE_UNKNOWN_BYTES (8ull << 20)

const char *provider_kv_get(const provider_kv *kv, size_t nkv, const char *key)
{
    for (size_t i = 0; i < nkv; i++)
        if (strcmp(kv[i].key, key) == 0) return kv[i].value;
    return NULL;
}

/* The layers that count and that keep health: a bare kind is its own. */
static provider *metrics_of(const provider *p)
{
    provider *m = provider_find_layer(p, "metrics");
    return m ? m : (provider *)p;
}

static provider *health_of(const provider *p)
{
    provider *h = provider_find_layer(p, "health");
    return h ? h : (provider *)p;
}

const char *provider_name(const provider *p)
{
    return p->name;
}

unsigned provider_caps(const provider *p)
{
    return p->ops->caps;
}

const char *provider_type(const provider *p)
{
    return p->ops->kind;
}

/* Sets this thread's call deadline from the bytes the call moves; returns the
 * one it replaces. Settings live on the top layer. */
static int64_t enter(const provider *p, uint64_t bytes)
{
    uint64_t mib = (bytes + (1u << 20) - 1) >> 20;
    /* Zero settings (a provider made without provider_open): the defaults. */
    long base = p->deadline_base_ms > 0 ? p->deadline_base_ms : PROVIDER_DEADLINE_BASE_MS_DEFAULT;
    long per =
        p->deadline_per_mib_ms > 0 ? p->deadline_per_mib_ms : PROVIDER_DEADLINE_PER_MIB_MS_DEFAULT;
    uint64_t ms = (uint64_t)base + (uint64_t)per * mib;
    return provider_set_call_deadline_us(
        orc_monotonic_us() +
        (int64_t)(ms > PROVIDER_DEADLINE_MAX_MS ? PROVIDER_DEADLINE_MAX_MS : ms) * 1000);
}

/* One public call: deadline set, the stack run (or the accounting done here
 * around a bare kind), deadline restored. deadline false: provider_list. */
static int outer(provider *p, provider_callargs *c, uint64_t bytes, bool deadline, orc_err *e)
{
    int64_t saved = deadline ? enter(p, bytes) : provider_set_call_deadline_us(0);
    int rc;
    if (p->layer) {
        rc = provider_call(p, c, e);
    } else {
        int64_t t0 = orc_monotonic_us();
        size_t before = c->out ? c->out->len : 0;
        provider_metrics_begin(p, c->op);
        rc = provider_call(p, c, e);
        provider_metrics_end(p, c, rc, t0, before);
        if (c->op != PROVIDER_LIST) provider_health_note(p, rc);
    }
    provider_set_call_deadline_us(saved);
    return rc;
}

int provider_put(provider *p, const char *name, const uint8_t *data, size_t len, orc_err *e)
{
    provider_callargs c = {.op = PROVIDER_PUT, .name = name, .data = data, .len = len};
    return outer(p, &c, len, true, e);
}

int provider_get(provider *p, const char *name, uint64_t off, uint64_t len, orc_buf *out,
                 orc_err *e)
{
    provider_callargs c = {.op = PROVIDER_GET, .name = name, .off = off, .glen = len, .out = out};
    return outer(p, &c, len == UINT64_MAX ? DEADLINE_UNKNOWN_BYTES : len, true, e);
}

int provider_del(provider *p, const char *name, orc_err *e)
{
    provider_callargs c = {.op = PROVIDER_DEL, .name = name};
    return outer(p, &c, 0, true, e);
}

int provider_head(provider *p, const char *name, uint64_t *size, orc_err *e)
{
    provider_callargs c = {.op = PROVIDER_HEAD, .name = name, .size = size};
    return outer(p, &c, 0, true, e);
}

int provider_list(provider *p, provider_list_fn fn, void *ctx, orc_err *e)
{
    provider_callargs c = {.op = PROVIDER_LIST, .fn = fn, .ctx = ctx};
    return outer(p, &c, 0, false, e);
}

void provider_note_corrupt(provider *p)
{
    provider *m = metrics_of(p);
    m->errors++;
    m->corrupt++;
}

void provider_note_late(provider *p)
{
    provider_health_fail(health_of(p));
}

void provider_set_deadline(provider *p, long base_ms, long per_mib_ms)
{
    if (p->deadline_own) return;
    if (base_ms > 0) p->deadline_base_ms = base_ms;
    if (per_mib_ms > 0) p->deadline_per_mib_ms = per_mib_ms;
}

void provider_stats_get(const provider *p, provider_stats *out)
{
    memset(out, 0, sizeof(*out));
    provider_metrics_read(metrics_of(p), out);
    const provider *h = health_of(p);
    out->up = !h->down;
    out->consecutive_failures = h->consecutive_failures;
}

void provider_histogram(const provider *p, prom_hist_counts *out)
{
    prom_hist_read(&metrics_of(p)->hist, out);
}

void provider_set_down_after(provider *p, int n)
{
    health_of(p)->down_after = n < 1 ? 1 : n;
}

bool provider_is_up(const provider *p)
{
    return !health_of(p)->down;
}

void provider_probe(provider *p)
{
    uint64_t size;
    /* A HEAD of a valid chunk name that is never written. Any HTTP answer
     * means the provider is reachable again: "not found", but also "access
     * denied", since S3 answers 403 for a missing key when the credentials
     * may not list the bucket. If the credentials really are wrong, the next
     * writes fail and mark it down again. Only transport errors and 5xx
     * (ORC_ETRANSIENT, ORC_EIO) keep it down. The probe skips the retry
     * layer: one request is the point. */
    provider *m = metrics_of(p), *h = health_of(p), *r = provider_find_layer(p, "retry");
    provider *below = r ? r->inner : h->inner ? h->inner : h;
    provider_callargs c = {.op = PROVIDER_HEAD, .name = "0rchardpr0be", .size = &size};
    int64_t saved = enter(p, 0), t0 = orc_monotonic_us();
    provider_metrics_begin(m, c.op);
    int rc = provider_call(below, &c, NULL);
    if (rc == ORC_EAUTH) rc = ORC_ENOTFOUND;
    provider_metrics_end(m, &c, rc, t0, 0);
    provider_health_note(h, rc);
    provider_set_call_deadline_us(saved);
}
