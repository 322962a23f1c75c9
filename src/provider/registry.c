/* The provider registry: opens an implementation by its [provider] type and
 * stacks the decorators its section asks for (today the fault decorator,
 * tests only). Apart from provider.c, so that a decorator may call the
 * wrappers without the wrappers' file reaching back into the decorators. */
#include "provider/provider_impl.h"

#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "util/parse.h"

static const struct {
    const char *type;
    provider_open_fn *open;
} kinds[] = {
    {"fs", provider_fs_open},
    {"azure", provider_azure_open},
    {"s3", provider_s3_open},
    {"gcs", provider_gcs_open},
};

/* deadline_base_ms / deadline_per_mib_ms from the provider's own section. */
static int deadline_keys(const char *name, const provider_kv *kv, size_t nkv, long *base,
                         long *per_mib, bool *own, orc_err *e)
{
    const char *keys[] = {"deadline_base_ms", "deadline_per_mib_ms"};
    long *dst[] = {base, per_mib};
    for (int i = 0; i < 2; i++) {
        const char *v = provider_kv_get(kv, nkv, keys[i]);
        uint64_t x;
        if (!v) continue;
        if (parse_uint_max(v, PROVIDER_DEADLINE_MAX_MS, &x) || x < 1)
            return orc_fail(e, ORC_EINVAL, "provider %s: %s = '%.32s': want 1..%llu", name, keys[i],
                            v, PROVIDER_DEADLINE_MAX_MS);
        *dst[i] = (long)x;
        *own = true;
    }
    return ORC_OK;
}

/* Opens the implementation, then wraps it in the fault decorator when the
 * section names a fault_file (tests only). */
static int open_kind(provider_open_fn *open, const char *name, const provider_kv *kv, size_t nkv,
                     provider **out, orc_err *e)
{
    long base = PROVIDER_DEADLINE_BASE_MS_DEFAULT, per_mib = PROVIDER_DEADLINE_PER_MIB_MS_DEFAULT;
    bool own = false;
    int rc = deadline_keys(name, kv, nkv, &base, &per_mib, &own, e);
    if (rc) return rc;
    provider *p = NULL;
    if ((rc = open(name, kv, nkv, &p, e))) return rc;
    const char *fault = provider_kv_get(kv, nkv, "fault_file");
    if (fault) {
        snprintf(p->name, sizeof(p->name), "%s", name);
        if ((rc = provider_fault_wrap(p, fault, &p, e))) return rc;
        LOG_WARN("provider %s: fault injection from %s (a test facility)", name, fault);
    }
    p->deadline_base_ms = base;
    p->deadline_per_mib_ms = per_mib;
    p->deadline_own = own;
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
        int rc = open_kind(kinds[i].open, name, kv, nkv, out, e);
        if (rc) return rc;
        snprintf((*out)->name, sizeof((*out)->name), "%s", name);
        (*out)->down_after = PROVIDER_DOWN_AFTER_DEFAULT;
        return ORC_OK;
    }
    return orc_fail(e, ORC_EINVAL, "provider %s: unknown type '%s' (known: fs, s3, gcs, azure)",
                    name, type);
}
