/* What provider implementations and decorators see. Callers include
 * provider.h only.
 *
 * A provider is a stack of layers, as SQLite's shim VFS or curl's connection
 * filters: every layer is a `struct provider` whose ops either do I/O (a base
 * kind: fs, s3, gcs, azure; inner is NULL) or call the layer below through
 * provider_call (a decorator: metrics, health, retry, fault; inner is set).
 * provider_open (registry.c) returns the whole stack; see registry.c for the
 * order and why. */
#ifndef ORC_PROVIDER_PROVIDER_IMPL_H
#define ORC_PROVIDER_PROVIDER_IMPL_H

#include <stdbool.h>

#include "provider/provider.h"

enum provider_op { PROVIDER_PUT, PROVIDER_GET, PROVIDER_DEL, PROVIDER_HEAD, PROVIDER_LIST };

/* One call on its way down the stack: the op and its arguments. */
typedef struct provider_callargs {
    enum provider_op op;
    const char *name;
    const uint8_t *data; /* put */
    size_t len;          /* put */
    uint64_t off, glen;  /* get */
    orc_buf *out;        /* get */
    uint64_t *size;      /* head */
    provider_list_fn fn; /* list */
    void *ctx;           /* list */
} provider_callargs;

/* What makes a layer a decorator (provider.layer): its role and the one
 * function that handles every op, calling provider_call(p->inner, ...). */
struct provider_layer {
    const char *role; /* "metrics", "health", "retry", "fault" */
    int (*call)(provider *p, provider_callargs *c, orc_err *e);
};

struct provider_ops {
    const char *kind; /* "fs", "s3", "azure", "gcs" */
    unsigned caps;
    /* A base kind fills these five; a decorator leaves them NULL (see layer). */
    int (*put)(provider *p, const char *name, const uint8_t *data, size_t len, orc_err *e);
    int (*get)(provider *p, const char *name, uint64_t off, uint64_t len, orc_buf *out, orc_err *e);
    int (*del)(provider *p, const char *name, orc_err *e);
    int (*head)(provider *p, const char *name, uint64_t *size, orc_err *e);
    int (*list)(provider *p, provider_list_fn fn, void *ctx, orc_err *e);
    void (*free)(provider *p);
};

#define PROVIDER_LAT_BUCKETS 40 /* log2 of microseconds, in quarter steps: 1 us .. ~1000 s */
#define PROVIDER_LAT_N (PROVIDER_LAT_BUCKETS * 4)

/* Get latencies of the recent past: two rotating windows (metrics.c),
 * lock-free; a window being reset may lose a few samples, which a
 * percentile does not notice. */
typedef struct provider_recent {
    _Atomic int64_t epoch[2]; /* which window each slot holds (1 + now / window); 0: none */
    _Atomic uint32_t hist[2][PROVIDER_LAT_N];
} provider_recent;

/* First member of every layer's struct (zeroed at allocation). The counters
 * are used by the metrics layer, the health fields by the health layer; a
 * bare base kind made without provider_open (the test fakes) keeps both
 * itself, since the wrappers then do the metrics' and health's work on it. */
struct provider {
    const struct provider_ops *ops;
    char name[64];
    const struct provider_layer *layer; /* NULL for a base kind */
    provider *inner;                    /* the layer below; NULL for a base kind */
    /* A kind whose client retries each request itself (the HTTP client of
     * the cloud kinds): the retry layer above adds no attempts by default. */
    bool retries_itself;
    _Atomic uint64_t puts, gets, dels, heads, lists, errors, bytes_in, bytes_out, timeouts, corrupt,
        cancelled;
    /* Deadlines (top layer): see provider.h. deadline_own: set by the provider's section. */
    long deadline_base_ms, deadline_per_mib_ms;
    bool deadline_own;
    /* Health: see provider.h. */
    int down_after;
    _Atomic int consecutive_failures;
    _Atomic bool down;
    _Atomic uint64_t lat[PROVIDER_LAT_N];
    prom_hist hist;             /* the same calls as lat, in Prometheus buckets (metrics) */
    provider_recent recent;     /* get latencies (metrics) */
    provider_recent recent_put; /* put latencies (metrics) */
};

/* layer.c: what every layer shares. Runs c on layer p: its call op for a decorator, the matching op
 * of a base. */
int provider_call(provider *p, provider_callargs *c, orc_err *e);

/* The absolute deadline (orc_monotonic_us) of the wrapper call this thread is
 * in, or 0 outside one (provider_list has none). Implementations bound every
 * wait and retry of the call by it. */
int64_t provider_call_deadline_us(void);
/* Sets it (the wrappers, provider.c); returns the one it replaces. */
int64_t provider_set_call_deadline_us(int64_t deadline_us);
/* This thread's cancel flag (provider_set_cancel), or NULL. */
const _Atomic bool *provider_cancel_flag(void);
/* Whether this thread's current call is cancelled. */
bool provider_cancelled(void);
/* Sleeps ms milliseconds, waking every few ms to check the cancel flag:
 * ORC_ECANCELED (filling e) if it rose, else 0. */
int provider_sleep_ms(const provider *p, long ms, orc_err *e);
/* Whether rc means the provider itself is failing (not the request, not a cancel). */
bool provider_failure(int rc);

/* Finds a config value, or NULL. */
const char *provider_kv_get(const provider_kv *kv, size_t nkv, const char *key);

typedef int provider_open_fn(const char *name, const provider_kv *kv, size_t nkv, provider **out,
                             orc_err *e);

provider_open_fn provider_fs_open;
provider_open_fn provider_azure_open;
provider_open_fn provider_s3_open;
provider_open_fn provider_gcs_open;

/* The decorators: each takes inner over (freed with it) and shows its kind
 * and capabilities. metrics.c: */
provider *provider_metrics_wrap(provider *inner);
provider *provider_health_wrap(provider *inner);
/* retry.c: attempts >= 1 (1: no retries); backoff from base_ms doubling up to cap_ms. */
provider *provider_retry_wrap(provider *inner, int attempts, long base_ms, long cap_ms);
/* The first layer of the stack p with that role, or NULL. */
provider *provider_find_layer(const provider *p, const char *layer);

/* The metrics' and health's accounting (metrics.c), also applied by the
 * wrappers to a bare base kind. m counts, h keeps the health state. */
void provider_metrics_begin(provider *m, enum provider_op op);
void provider_metrics_end(provider *m, const provider_callargs *c, int rc, int64_t t0,
                          size_t out_before);
void provider_health_note(provider *h, int rc);
/* One more failure in a row for the health layer h. */
void provider_health_fail(provider *h);
void provider_metrics_read(const provider *m, provider_stats *out);

/* Test-only: the length of a recent-latency window (default 30 s). */
void provider_set_recent_window_ms(long ms);

#ifdef ORCHARD_FAULTS
/* The fault decorator for tests (fault.c): wraps inner (taken over) and, on
 * every call, applies the inline rules (';'-separated, may be NULL) and the
 * rules in the file at path (may be NULL), re-read when it changes. See
 * docs/configuration.md, "Fault injection". On error inner is freed. */
int provider_fault_wrap(provider *inner, const char *rules, const char *path, provider **out,
                        orc_err *e);
#endif

#endif
