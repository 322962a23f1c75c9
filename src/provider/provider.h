/* A place that stores sealed chunks: a local disk, a cloud bucket.
 *
 * Callers use these wrappers, never the ops table. provider_open returns a
 * stack of layers (metrics, health, retry, faults in a test build, then the
 * kind that does the I/O; see provider_impl.h and registry.c): the wrappers
 * set the call's deadline and cancel flag and hand the call to the top.
 * Every call is safe from many threads at once. Names are what seal_name()
 * produces (64 lowercase hex chars).
 *
 * Health: an operation that fails for a reason that is the provider's
 * (unreachable, timeout, 5xx, refused credentials, I/O error) counts as a
 * failure; down_after failures in a row mark the provider down, and any
 * answer (success or "not found") marks it up again. Placement skips down
 * providers for new writes and probes them (provider_probe).
 *
 * Deadlines: every put/get/del/head has one, deadline_base_ms plus
 * deadline_per_mib_ms for each MiB it moves, across all of an
 * implementation's retries. The cloud providers abort a call at its deadline
 * (ORC_ETRANSIENT); a call that still ends past it (a local disk that stalled)
 * keeps its result but counts as a failure for health, as a timeout does. */
#ifndef ORC_PROVIDER_PROVIDER_H
#define ORC_PROVIDER_PROVIDER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/prom.h"

typedef struct provider provider;

/* One "key = value" pair from the provider's config section. */
typedef struct provider_kv {
    const char *key, *value;
} provider_kv;

enum provider_caps {
    PROVIDER_CAP_RANGE = 1 << 0, /* get with off/len reads only those bytes */
};

typedef struct provider_stats {
    uint64_t puts, gets, dels, errors, bytes_in, bytes_out;
    uint64_t heads, lists; /* calls started (heads include the health probes) */
    uint64_t timeouts;     /* calls past their deadline (also in errors) */
    uint64_t corrupt;      /* copies that failed verification (also in errors) */
    uint64_t cancelled;    /* calls ended by their cancel flag (not in errors) */
    bool up;
    int consecutive_failures;
    double p50_ms, p90_ms, p99_ms; /* latency of put/get/del/head, 0 if none yet */
    double get_p95_ms;             /* of recent gets (provider_get_p95_us), 0 if none */
} provider_stats;

/* Opens a provider of the given type ("fs") named name with its config pairs.
 * ORC_EINVAL names the missing or bad key. */
int provider_open(const char *type, const char *name, const provider_kv *kv, size_t nkv,
                  provider **out, orc_err *e);
void provider_free(provider *p);

const char *provider_name(const provider *p);
const char *provider_type(const provider *p); /* "fs", "s3", ... */
unsigned provider_caps(const provider *p);

/* Stores data under name durably: when it returns 0 the bytes survive a crash.
 * Overwriting a name with the same bytes is fine (names are content-derived). */
int provider_put(provider *p, const char *name, const uint8_t *data, size_t len, orc_err *e);
/* Appends bytes [off, off+len) of name to out (len = UINT64_MAX: to the end).
 * ORC_ENOTFOUND if absent. May return fewer bytes if the object is shorter. */
int provider_get(provider *p, const char *name, uint64_t off, uint64_t len, orc_buf *out,
                 orc_err *e);
/* ORC_ENOTFOUND if absent (callers usually treat that as success). */
int provider_del(provider *p, const char *name, orc_err *e);
/* Size of name, or ORC_ENOTFOUND. */
int provider_head(provider *p, const char *name, uint64_t *size, orc_err *e);
/* Calls fn for every stored name (any order). fn returning non-zero stops the
 * walk and that value is returned. */
typedef int (*provider_list_fn)(void *ctx, const char *name, uint64_t size);
int provider_list(provider *p, provider_list_fn fn, void *ctx, orc_err *e);

void provider_stats_get(const provider *p, provider_stats *out);
/* The latency of p's put, get, del and head calls (the ones the p50..p99 of
 * provider_stats come from; cancelled calls and listings left out) in the
 * fixed buckets of util/prom.h, for /metrics. */
void provider_histogram(const provider *p, prom_hist_counts *out);

#define PROVIDER_DOWN_AFTER_DEFAULT 3
/* Failures in a row before the provider is marked down (>= 1). */
void provider_set_down_after(provider *p, int n);
bool provider_is_up(const provider *p);

#define PROVIDER_DEADLINE_BASE_MS_DEFAULT 5000
#define PROVIDER_DEADLINE_PER_MIB_MS_DEFAULT 1000
#define PROVIDER_DEADLINE_MAX_MS 3600000ull /* no call waits longer, whatever the settings */
/* The server-wide deadline settings ([server] deadline_base_ms and
 * deadline_per_mib_ms); a provider whose own section sets those keys keeps its
 * own. Values below 1 leave the current one. */
void provider_set_deadline(provider *p, long base_ms, long per_mib_ms);
/* A copy read from p failed verification (the layer above checks every
 * byte): counts as an error of p. Not a health failure: the provider
 * answered, and a bad copy is repaired, not routed around. */
void provider_note_corrupt(provider *p);
/* A put that was given up on as too slow (hedged on another provider, or a
 * straggler past the write quorum) and ended cancelled: a failure for
 * health, as a slow provider is as broken as one that fails (down after
 * down_after in a row). Not an error in the metrics: the call did not
 * fail, it was cancelled (counted there). */
void provider_note_late(provider *p);
/* Sets this thread's cancel flag for the provider calls it makes next (NULL: none);
 * returns the previous one. A call whose flag is raised before or during it ends soon
 * with ORC_ECANCELED, leaving nothing half-written visible (a put may or may not have
 * landed). Not a health failure. */
const _Atomic bool *provider_set_cancel(const _Atomic bool *flag);
/* The 95th percentile latency, in microseconds, of p's gets over the last
 * 30 to 60 seconds (cancelled ones left out: they say how long we waited, not
 * how long p takes); 0 when there was none. What a hedged read waits for
 * before asking another provider. */
uint64_t provider_get_p95_us(const provider *p);
/* The same of recent puts (what a hedged write waits for). */
uint64_t provider_put_p95_us(const provider *p);

/* One cheap request (a HEAD of a name that does not exist) to see whether a
 * down provider answers again; updates the health state. */
void provider_probe(provider *p);

#endif
