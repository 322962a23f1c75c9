/* The provider registry: opens an implementation by its [provider] type and
 * stacks the decorators on it. From the outside in:
 *
 *     metrics -> health -> retry -> fault (test builds, if asked) -> kind
 *
 * Metrics is outermost so it sees what callers see (one call, its whole
 * latency, cancels). Health is above retry so a call that a retry saved is a
 * success and only calls that failed for good count toward down. Retry is
 * above fault so injected faults exercise it, as real ones would. The kind
 * at the bottom does I/O only. Apart from provider.c, so that the wrappers'
 * file never reaches into the decorators. */
#include "provider/provider_impl.h"

#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "util/parse.h"

#define RETRY_ATTEMPTS_DEFAULT 4
#define RETRY_BASE_MS_DEFAULT 100
#define RETRY_CAP_MS_DEFAULT 5000

static const struct {
    const char *type;
    provider_open_fn *open;
} kinds[] = {
    {"fs", provider_fs_open},
    {"azure", provider_azure_open},
    {"s3", provider_s3_open},
    {"gcs", provider_gcs_open},
};

/* An optional whole-number key in lo..hi into *out (left as is if absent). */
static int uint_key(const char *name, const provider_kv *kv, size_t nkv, const char *key,
                    uint64_t lo, uint64_t hi, long *out, orc_err *e)
{
    const char *v = provider_kv_get(kv, nkv, key);
    uint64_t x;
    if (!v) return ORC_OK;
    if (parse_uint_max(v, hi, &x) || x < lo)
        return orc_fail(e, ORC_EINVAL, "provider %s: %s = '%.32s': want %llu..%llu", name, key, v,
                        (unsigned long long)lo, (unsigned long long)hi);
    *out = (long)x;
    return ORC_OK;
}

/* The settings of a section the stack itself reads, checked before the
 * kind is opened (a bad key must not leave a directory behind). */
struct settings {
    long deadline_base_ms, deadline_per_mib_ms;
    bool deadline_own; /* the section sets its own deadline */
    long attempts;     /* -1: the default for the kind */
    long base_ms, cap_ms;
};

static int settings_read(const char *name, const provider_kv *kv, size_t nkv, struct settings *s,
                         orc_err *e)
{
    *s = (struct settings){PROVIDER_DEADLINE_BASE_MS_DEFAULT,
                           PROVIDER_DEADLINE_PER_MIB_MS_DEFAULT,
                           false,
                           -1,
                           RETRY_BASE_MS_DEFAULT,
                           RETRY_CAP_MS_DEFAULT};
    const uint64_t dmax = PROVIDER_DEADLINE_MAX_MS;
    int rc = uint_key(name, kv, nkv, "deadline_base_ms", 1, dmax, &s->deadline_base_ms, e);
    if (!rc)
        rc = uint_key(name, kv, nkv, "deadline_per_mib_ms", 1, dmax, &s->deadline_per_mib_ms, e);
    if (!rc) rc = uint_key(name, kv, nkv, "retry_attempts", 1, 20, &s->attempts, e);
    if (!rc) rc = uint_key(name, kv, nkv, "retry_base_ms", 1, 60000, &s->base_ms, e);
    if (!rc) rc = uint_key(name, kv, nkv, "retry_cap_ms", 1, 600000, &s->cap_ms, e);
#ifndef ORCHARD_FAULTS
    if (!rc && (provider_kv_get(kv, nkv, "faults") || provider_kv_get(kv, nkv, "fault_file")))
        rc = orc_fail(e, ORC_EINVAL,
                      "provider %s: faults and fault_file need a build with -DORCHARD_FAULTS=ON",
                      name);
#endif
    s->deadline_own = provider_kv_get(kv, nkv, "deadline_base_ms") ||
                      provider_kv_get(kv, nkv, "deadline_per_mib_ms");
    return rc;
}

/* The fault decorator over p when the section asks for it (a build without
 * ORCHARD_FAULTS refused such a section in settings_read, rather than run
 * without the faults a test counts on). On error p is freed. */
static int faults(const char *name, const provider_kv *kv, size_t nkv, provider **p, orc_err *e)
{
#ifdef ORCHARD_FAULTS
    const char *rules = provider_kv_get(kv, nkv, "faults");
    const char *file = provider_kv_get(kv, nkv, "fault_file");
    if (!rules && !file) return ORC_OK;
    int rc = provider_fault_wrap(*p, rules, file, p, e);
    if (rc) return rc;
    LOG_WARN("provider %s: fault injection (a test facility)", name);
#else
    (void)name, (void)kv, (void)nkv, (void)p, (void)e;
#endif
    return ORC_OK;
}

/* The stack over the kind p (taken over). */
static int stack(const char *name, const provider_kv *kv, size_t nkv, const struct settings *s,
                 provider *p, provider **out, orc_err *e)
{
    /* A kind whose client retries each request gets no more attempts here
     * unless the section asks: attempts would multiply. */
    long attempts = s->attempts > 0 ? s->attempts : p->retries_itself ? 1 : RETRY_ATTEMPTS_DEFAULT;
    int rc = faults(name, kv, nkv, &p, e);
    if (rc) return rc;
    p = provider_retry_wrap(p, (int)attempts, s->base_ms, s->cap_ms);
    p = provider_metrics_wrap(provider_health_wrap(p));
    p->deadline_base_ms = s->deadline_base_ms;
    p->deadline_per_mib_ms = s->deadline_per_mib_ms;
    p->deadline_own = s->deadline_own;
    *out = p;
    return ORC_OK;
}

int provider_open(const char *type, const char *name, const provider_kv *kv, size_t nkv,
                  provider **out, orc_err *e)
{
    if (strlen(name) >= sizeof(((provider *)0)->name))
        return orc_fail(e, ORC_EINVAL, "provider name '%.40s...' is too long", name);
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(kinds[i].type, type) != 0) continue;
        struct settings s;
        provider *p = NULL;
        int rc = settings_read(name, kv, nkv, &s, e);
        if (!rc) rc = kinds[i].open(name, kv, nkv, &p, e);
        if (rc) return rc;
        snprintf(p->name, sizeof(p->name), "%s", name);
        return stack(name, kv, nkv, &s, p, out, e);
    }
    return orc_fail(e, ORC_EINVAL, "provider %s: unknown type '%s' (known: fs, s3, gcs, azure)",
                    name, type);
}
