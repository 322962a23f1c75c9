/* The retry decorator: a call that failed with ORC_ETRANSIENT or ORC_EIO is
 * tried again after a capped exponential backoff with full jitter (a uniform
 * sleep in [0, min(cap, base * 2^n)]), as long as the call's deadline leaves
 * time for it. Cancellation is checked before every attempt and during every
 * backoff, so a retry never keeps a cancelled call (a hedged read's loser)
 * alive. Listings are not retried: a walk that failed half way has already
 * handed names to its callback. It sits under health (a call a retry saved
 * is a success) and over the fault decorator (injected faults exercise it). */
#include "provider/provider_impl.h"

#include <stdio.h>
#include <stdlib.h>

#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"

typedef struct retry_provider {
    provider base; /* first: provider.c casts */
    struct provider_ops ops;
    int attempts;
    long base_ms, cap_ms;
} retry_provider;

static bool retryable(int rc)
{
    return rc == ORC_ETRANSIENT || rc == ORC_EIO;
}

/* The backoff before attempt n+1 (n >= 1), never past the deadline; <0: no
 * time is left for another attempt. */
static long backoff_ms(const retry_provider *r, int n)
{
    long ms = r->base_ms;
    for (int i = 1; i < n && ms < r->cap_ms; i++)
        ms *= 2;
    if (ms > r->cap_ms) ms = r->cap_ms;
    long pick = (long)arc4random_uniform((uint32_t)ms + 1);
    int64_t deadline = provider_call_deadline_us();
    if (!deadline) return pick;
    int64_t left = (deadline - orc_monotonic_us()) / 1000;
    if (left <= pick) return -1; /* the attempt would start at or past the deadline */
    return pick;
}

static int retry_call(provider *p, provider_callargs *c, orc_err *e)
{
    retry_provider *r = (retry_provider *)p;
    size_t before = c->out ? c->out->len : 0;
    int rc = provider_call(p->inner, c, e);
    for (int n = 1; n < r->attempts && retryable(rc) && c->op != PROVIDER_LIST; n++) {
        long ms = backoff_ms(r, n);
        if (ms < 0) break;
        LOG_DEBUG("provider %s: attempt %d failed (%s), again in %ld ms", p->name, n,
                  e ? e->msg : "", ms);
        /* Cancelled in the backoff or the next attempt, the call still
         * failed: the failure is its answer, so health and metrics see a
         * provider that fails, not a cancel. */
        orc_err failed = e ? *e : (orc_err){0};
        int frc = rc;
        if (c->out) c->out->len = before; /* a failed get leaves nothing behind */
        if (!provider_sleep_ms(p, ms, e) && (rc = provider_call(p->inner, c, e)) != ORC_ECANCELED)
            continue;
        if (c->out) c->out->len = before;
        if (e) *e = failed;
        return frc;
    }
    return rc;
}

static const struct provider_layer retry_layer = {"retry", retry_call};

static void retry_free(provider *p)
{
    provider_free(p->inner);
    free(p);
}

provider *provider_retry_wrap(provider *inner, int attempts, long base_ms, long cap_ms)
{
    retry_provider *r = orc_calloc(1, sizeof(*r));
    r->ops = (struct provider_ops){
        .kind = inner->ops->kind,
        .caps = inner->ops->caps,
        .free = retry_free,
    };
    r->base.ops = &r->ops;
    r->base.layer = &retry_layer;
    r->base.inner = inner;
    snprintf(r->base.name, sizeof(r->base.name), "%s", inner->name);
    r->attempts = attempts < 1 ? 1 : attempts;
    r->base_ms = base_ms > 0 ? base_ms : 1;
    r->cap_ms = cap_ms >= r->base_ms ? cap_ms : r->base_ms;
    return &r->base;
}
