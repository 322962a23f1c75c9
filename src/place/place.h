/* Placement: which providers hold a chunk's copies, writing them in parallel,
 * and reading a chunk from the best copy that verifies.
 *
 * Replication only in this slice (policy "replicate:N"): each chunk goes to N
 * distinct providers chosen by rendezvous hashing on its name, so the spread
 * is even and stable when providers are added. If a chosen provider fails the
 * next one in rendezvous order is tried. Reads try copies fastest first (by a
 * moving average of each provider's read latency), and a copy that is missing
 * or fails verification is logged and skipped, never returned.
 *
 * Thread-safe; owns a small pool of I/O threads for parallel copies. */
#ifndef ORC_PLACE_PLACE_H
#define ORC_PLACE_PLACE_H

#include <stddef.h>
#include <stdint.h>

#include "provider/provider.h"
#include "util/buf.h"
#include "util/err.h"

#define PLACE_MAX_PROVIDERS 64
/* Most copies of one chunk (object/ checks it fits PLACE_MAX_COPIES). */
#define PLACE_MAX_COPIES 16

typedef struct place place;

typedef struct place_policy {
    int copies;         /* N in replicate:N */
    int min_copies;     /* a write with fewer up providers succeeds down to this */
    int probe_interval; /* seconds between probes of a down provider */
} place_policy;

/* Parses "replicate:N" (1 <= N <= PLACE_MAX_COPIES) into out->copies; the
 * other fields are left as they are. */
int place_policy_parse(const char *s, place_policy *out, orc_err *e);

/* provs[i] has metadata id ids[i]. The place keeps the pointers (not owned)
 * until place_free. ORC_EINVAL if fewer providers than copies. */
int place_new(provider *const *provs, const uint32_t *ids, size_t n, const place_policy *pol,
              place **out, orc_err *e);
void place_free(place *pl);

int place_copies(const place *pl);
size_t place_count(const place *pl);
provider *place_provider(const place *pl, size_t i);
uint32_t place_provider_id(const place *pl, size_t i);

/* Called with the providers about to be sent a copy, before any of them is
 * sent (each round of a write, in the writing thread). Non-zero stops the
 * write before it sends anything more; that code is returned. The object
 * layer records the copies as PENDING here, so a copy whose outcome is lost
 * (a timeout whose write lands later, a crash) is still known. */
typedef struct place_intent {
    int (*fn)(void *ctx, const uint32_t *ids, int n, orc_err *e);
    void *ctx;
} place_intent;

/* Writes data under name to `copies` distinct providers that are up, in
 * parallel, each durably. intent (may be NULL) hears of each copy first. A failed provider is
 * replaced by the next up one in rendezvous order. Fills ids (room for PLACE_MAX_COPIES) with the
 * providers that hold a copy: at least min_copies of them (fewer than copies means the chunk is
 * under-replicated and repair will add copies). Fails with ORC_ETRANSIENT, after deleting any
 * partial copies, below min_copies. */
int place_write(place *pl, const char *name, const uint8_t *data, size_t len,
                const place_intent *intent, uint32_t *ids, int *nids, orc_err *e);

/* Repair: writes copies of name to up providers not in have[0..nhave) until
 * the chunk has `copies` of them; ids gets the new ones (at least one, else
 * ORC_ETRANSIENT). */
int place_write_more(place *pl, const char *name, const uint8_t *data, size_t len,
                     const place_intent *intent, const uint32_t *have, int nhave, uint32_t *ids,
                     int *nids, orc_err *e);

/* Verifies a sealed copy read from a provider: 0 if good, ORC_ECORRUPT if not.
 * May transform out in place (e.g. decrypt). */
typedef int (*place_verify_fn)(void *ctx, orc_buf *data, orc_err *e);

/* Reads the copy of name (size bytes, as recorded; UINT64_MAX: unknown)
 * from the providers in ids (fastest first) into out (reset first) and runs
 * verify on it; a copy that is missing, fails to read (a provider past its
 * deadline included: the size sets it) or fails verify is logged and the next
 * is tried; a failed verify counts as its provider's error. ORC_ECORRUPT /
 * ORC_ENOTFOUND when no copy is good. */
int place_read(place *pl, const char *name, uint64_t size, const uint32_t *ids, int nids,
               place_verify_fn verify, void *ctx, orc_buf *out, orc_err *e);

/* Runs fn(arg) on one of the I/O threads, for reads that should overlap
 * (GET read-ahead). fn must not wait for other I/O-thread work. */
void place_run(place *pl, void (*fn)(void *arg), void *arg);

/* Deletes name from the providers in ids (or from every provider when nids is
 * 0). Missing copies are fine. Returns the first hard error. */
int place_delete(place *pl, const char *name, const uint32_t *ids, int nids, orc_err *e);

#endif
