/* The wrappers every provider call goes through: counters, latency, health
 * and the per-call deadline live here, once for every kind (the registry that
 * opens a kind and stacks its decorators is registry.c). */
#include "provider/provider_impl.h"

#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "util/parse.h"
#include "util/time.h"

/* A get of unknown length is given the deadline of the largest chunk. */
#define DEADLINE_UNKNOWN_BYTES (8ull << 20)

/* The deadline of the wrapper call this thread is in (provider_call_deadline_us). */
static _Thread_local int64_t call_deadline;

const char *provider_kv_get(const provider_kv *kv, size_t nkv, const char *key)
{
    for (size_t i = 0; i < nkv; i++)
        if (strcmp(kv[i].key, key) == 0) return kv[i].value;
    return NULL;
}

int64_t provider_call_deadline_us(void)
{
    return call_deadline;
}

void provider_free(provider *p)
{
    if (p) p->ops->free(p);
}

const char *provider_name(const provider *p)
{
    return p->name;
}

unsigned provider_caps(const provider *p)
{
    return p->ops->caps;
}

/* Latency buckets: quarter steps of log2(microseconds), so percentiles are
 * within about 19% of the truth without keeping samples. */
static int lat_bucket(uint64_t us)
{
    if (us < 1) us = 1;
    int b = 63 - __builtin_clzll(us); /* floor(log2) */
    int quarter = b >= 2 ? (int)((us >> (b - 2)) & 3) : 0;
    int i = b * 4 + quarter;
    return i < PROVIDER_LAT_BUCKETS * 4 ? i : PROVIDER_LAT_BUCKETS * 4 - 1;
}

static double bucket_ms(int i)
{
    double lo = (double)(1ull << (i / 4)) * (1.0 + (i % 4) / 4.0);
    return lo * 1.125 / 1000.0; /* middle of the bucket */
}

/* Whether rc means the provider itself is failing (not the request). */
static bool provider_fault(int rc)
{
    return rc && rc != ORC_ENOTFOUND && rc != ORC_EINVAL;
}

/* Every wrapper starts here: sets this thread's call deadline from the bytes
 * the call moves; returns the one it replaces (restored by finish). */
static int64_t enter(const provider *p, uint64_t bytes, int64_t t0)
{
    uint64_t mib = (bytes + (1u << 20) - 1) >> 20;
    /* Zero settings (a provider made without provider_open): the defaults. */
    long base = p->deadline_base_ms > 0 ? p->deadline_base_ms : PROVIDER_DEADLINE_BASE_MS_DEFAULT;
    long per =
        p->deadline_per_mib_ms > 0 ? p->deadline_per_mib_ms : PROVIDER_DEADLINE_PER_MIB_MS_DEFAULT;
    uint64_t ms = (uint64_t)base + (uint64_t)per * mib;
    int64_t saved = call_deadline;
    call_deadline =
        t0 + (int64_t)(ms > PROVIDER_DEADLINE_MAX_MS ? PROVIDER_DEADLINE_MAX_MS : ms) * 1000;
    return saved;
}

/* Every wrapper ends here: counters, latency and health in one place. A call
 * that ended past its deadline is a failure for health even if it succeeded:
 * a provider that answers everything late must go down, not stall every
 * request that touches it. */
static int finish(provider *p, int rc, int64_t t0, int64_t saved)
{
    int64_t now = orc_monotonic_us();
    uint64_t us = (uint64_t)(now - t0);
    bool late = now > call_deadline;
    call_deadline = saved;
    p->lat[lat_bucket(us)]++;
    if (late) {
        p->timeouts++;
        LOG_WARN("provider %s: call took %llu ms, past its deadline", p->name,
                 (unsigned long long)(us / 1000));
    }
    if (provider_fault(rc) || late) {
        p->errors++;
        int n = ++p->consecutive_failures;
        if (n >= p->down_after && !p->down) {
            bool was = false;
            if (atomic_compare_exchange_strong(&p->down, &was, true))
                LOG_WARN("provider %s is down after %d failures in a row", p->name, n);
        }
    } else {
        p->consecutive_failures = 0;
        bool was = true;
        if (p->down && atomic_compare_exchange_strong(&p->down, &was, false))
            LOG_INFO("provider %s is up again", p->name);
    }
    return rc;
}

int provider_put(provider *p, const char *name, const uint8_t *data, size_t len, orc_err *e)
{
    int64_t t0 = orc_monotonic_us(), saved = enter(p, len, t0);
    p->puts++;
    int rc = p->ops->put(p, name, data, len, e);
    if (!rc) p->bytes_in += len;
    return finish(p, rc, t0, saved);
}

int provider_get(provider *p, const char *name, uint64_t off, uint64_t len, orc_buf *out,
                 orc_err *e)
{
    int64_t t0 = orc_monotonic_us();
    int64_t saved = enter(p, len == UINT64_MAX ? DEADLINE_UNKNOWN_BYTES : len, t0);
    p->gets++;
    size_t before = out->len;
    int rc = p->ops->get(p, name, off, len, out, e);
    if (!rc) p->bytes_out += out->len - before;
    return finish(p, rc, t0, saved);
}

int provider_del(provider *p, const char *name, orc_err *e)
{
    int64_t t0 = orc_monotonic_us(), saved = enter(p, 0, t0);
    p->dels++;
    return finish(p, p->ops->del(p, name, e), t0, saved);
}

int provider_head(provider *p, const char *name, uint64_t *size, orc_err *e)
{
    int64_t t0 = orc_monotonic_us(), saved = enter(p, 0, t0);
    return finish(p, p->ops->head(p, name, size, e), t0, saved);
}

void provider_note_corrupt(provider *p)
{
    p->errors++;
    p->corrupt++;
}

void provider_set_deadline(provider *p, long base_ms, long per_mib_ms)
{
    if (p->deadline_own) return;
    if (base_ms > 0) p->deadline_base_ms = base_ms;
    if (per_mib_ms > 0) p->deadline_per_mib_ms = per_mib_ms;
}

int provider_list(provider *p, provider_list_fn fn, void *ctx, orc_err *e)
{
    int rc = p->ops->list(p, fn, ctx, e);
    if (provider_fault(rc)) p->errors++;
    return rc;
}

void provider_stats_get(const provider *p, provider_stats *out)
{
    out->puts = p->puts;
    out->gets = p->gets;
    out->dels = p->dels;
    out->errors = p->errors;
    out->timeouts = p->timeouts;
    out->corrupt = p->corrupt;
    out->bytes_in = p->bytes_in;
    out->bytes_out = p->bytes_out;
    out->up = !p->down;
    out->consecutive_failures = p->consecutive_failures;
    uint64_t hist[PROVIDER_LAT_BUCKETS * 4], total = 0;
    for (int i = 0; i < PROVIDER_LAT_BUCKETS * 4; i++)
        total += hist[i] = p->lat[i];
    double *pct[] = {&out->p50_ms, &out->p90_ms, &out->p99_ms};
    const double want[] = {0.50, 0.90, 0.99};
    for (int k = 0; k < 3; k++) {
        uint64_t seen = 0;
        *pct[k] = 0;
        for (int i = 0; total && i < PROVIDER_LAT_BUCKETS * 4; i++) {
            seen += hist[i];
            if ((double)seen >= want[k] * (double)total) {
                *pct[k] = bucket_ms(i);
                break;
            }
        }
    }
}

const char *provider_type(const provider *p)
{
    return p->ops->kind;
}

void provider_set_down_after(provider *p, int n)
{
    p->down_after = n < 1 ? 1 : n;
}

bool provider_is_up(const provider *p)
{
    return !p->down;
}

void provider_probe(provider *p)
{
    uint64_t size;
    /* A HEAD of a valid chunk name that is never written. Any HTTP answer
     * means the provider is reachable again: "not found", but also "access
     * denied", since S3 answers 403 for a missing key when the credentials
     * may not list the bucket. If the credentials really are wrong, the next
     * writes fail and mark it down again. Only transport errors and 5xx
     * (ORC_ETRANSIENT, ORC_EIO) keep it down. */
    int64_t t0 = orc_monotonic_us(), saved = enter(p, 0, t0);
    int rc = p->ops->head(p, "0rchardpr0be", &size, NULL);
    if (rc == ORC_EAUTH) rc = ORC_ENOTFOUND;
    finish(p, rc, t0, saved);
}
