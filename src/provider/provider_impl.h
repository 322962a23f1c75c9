/* What provider implementations see. Callers include provider.h only. */
#ifndef ORC_PROVIDER_PROVIDER_IMPL_H
#define ORC_PROVIDER_PROVIDER_IMPL_H

#include <stdbool.h>

#include "provider/provider.h"

struct provider_ops {
    const char *kind; /* "fs", "s3", "azure", "gcs" */
    unsigned caps;
    int (*put)(provider *p, const char *name, const uint8_t *data, size_t len, orc_err *e);
    int (*get)(provider *p, const char *name, uint64_t off, uint64_t len, orc_buf *out, orc_err *e);
    int (*del)(provider *p, const char *name, orc_err *e);
    int (*head)(provider *p, const char *name, uint64_t *size, orc_err *e);
    int (*list)(provider *p, provider_list_fn fn, void *ctx, orc_err *e);
    void (*free)(provider *p);
};

/* First member of every implementation's struct. */
#define PROVIDER_LAT_BUCKETS 40 /* log2 of microseconds, in quarter steps: 1 us .. ~1000 s */

/* First member of every implementation's struct (zeroed at allocation; the
 * registry fills the name and the health settings after open). */
struct provider {
    const struct provider_ops *ops;
    char name[64];
    _Atomic uint64_t puts, gets, dels, errors, bytes_in, bytes_out, timeouts, corrupt;
    /* Deadlines: see provider.h. deadline_own: set by the provider's section. */
    long deadline_base_ms, deadline_per_mib_ms;
    bool deadline_own;
    /* Health: see provider.h. */
    int down_after;
    _Atomic int consecutive_failures;
    _Atomic bool down;
    _Atomic uint64_t lat[PROVIDER_LAT_BUCKETS * 4];
};

/* The absolute deadline (orc_monotonic_us) of the wrapper call this thread is
 * in, or 0 outside one (provider_list has none). Implementations bound every
 * wait and retry of the call by it. */
int64_t provider_call_deadline_us(void);

/* Finds a config value, or NULL. */
const char *provider_kv_get(const provider_kv *kv, size_t nkv, const char *key);

typedef int provider_open_fn(const char *name, const provider_kv *kv, size_t nkv, provider **out,
                             orc_err *e);

provider_open_fn provider_fs_open;
provider_open_fn provider_azure_open;
provider_open_fn provider_s3_open;
provider_open_fn provider_gcs_open;

/* The fault decorator for tests (fault.c): wraps inner (taken over) and, on
 * every call, applies the rules in the file at path, re-read when it changes.
 * See docs/configuration.md, "Fault injection". */
int provider_fault_wrap(provider *inner, const char *path, provider **out, orc_err *e);

#endif
