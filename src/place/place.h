/* Placement: which providers hold a chunk's copies, writing them in parallel,
 * and reading a chunk from the best copy that verifies.
 *
 * Two policies: "replicate:N" stores N whole copies of a sealed chunk,
 * "ec:K+M" its K data and M parity fragments (place/ec.h, ISA-L), any K of
 * which rebuild it. Every piece goes to its own provider, chosen by
 * rendezvous hashing on the chunk's name, so the spread is even and stable
 * when providers are added. If a chosen provider fails the next one in
 * rendezvous order is tried. Reads try providers fastest first (by a moving
 * average of each provider's read latency), and a piece that is missing or
 * fails verification is logged and skipped, never returned.
 *
 * Thread-safe; owns a small pool of I/O threads for parallel copies. */
#ifndef ORC_PLACE_PLACE_H
#define ORC_PLACE_PLACE_H

#include <stddef.h>
#include <stdint.h>

#include "place/ec.h"
#include "provider/provider.h"
#include "util/buf.h"
#include "util/err.h"

#define PLACE_MAX_PROVIDERS 64
/* Most copies of one chunk (object/ checks it fits PLACE_MAX_COPIES). */
#define PLACE_MAX_COPIES 16

typedef struct place place;

enum place_kind {
    PLACE_REPLICATE = 0, /* replicate:N, whole copies of the sealed chunk */
    PLACE_EC = 1,        /* ec:K+M, K data and M parity fragments (place/ec.h) */
};

/* A piece's fragment index when it is a whole copy (meta's META_WHOLE). */
#define PLACE_WHOLE (-1)

typedef struct place_policy {
    int kind;           /* enum place_kind */
    int copies;         /* N in replicate:N */
    int k, m;           /* K and M in ec:K+M */
    int min_copies;     /* replicate: a write with fewer up providers succeeds down to this */
    int probe_interval; /* seconds between probes of a down provider */
    int hedge_ms;       /* a read asks the next holder once one is slower than its
                           provider's recent get p95 or this, whichever is more */
    int write_quorum;   /* pieces durable before a write is acknowledged (the rest,
                           if late, are cancelled); 0: all of them */
} place_policy;

/* Parses "replicate:N" (1 <= N <= PLACE_MAX_COPIES) or "ec:K+M" (1 <= K,
 * 1 <= M, K + M <= EC_MAX_FRAGMENTS) into out's kind, copies, k and m; the
 * other fields are left as they are. */
int place_policy_parse(const char *s, place_policy *out, orc_err *e);
/* Pieces a chunk written with pol has: N copies or K + M fragments. */
int place_width(const place_policy *pol);
/* Whether pol's write_quorum can be had: 0 (every piece), or 1..N for
 * replicate:N, K+1..K+M for ec:K+M (K alone would leave no redundancy
 * at all the moment the write is acknowledged). */
int place_quorum_check(const place_policy *pol, orc_err *e);
/* "replicate:N" or "ec:K+M" into buf. */
void place_policy_format(const place_policy *pol, char *buf, size_t cap);

/* provs[i] has metadata id ids[i]. The place keeps the pointers (not owned)
 * until place_free. ORC_EINVAL if fewer providers than copies. */
int place_new(provider *const *provs, const uint32_t *ids, size_t n, const place_policy *pol,
              place **out, orc_err *e);
void place_free(place *pl);

/* The policy place_new was given, and whether another one can be served by
 * pl's providers (ORC_EINVAL names what is missing). */
const place_policy *place_default_policy(const place *pl);
int place_check(const place *pl, const place_policy *pol, orc_err *e);
int place_copies(const place *pl);
/* Brings in one more provider while the place is in use (a config reload):
 * it takes writes and reads from now on. p must outlive the place.
 * ORC_EEXISTS if that id is there; ORC_EINVAL past PLACE_MAX_PROVIDERS. */
int place_add(place *pl, provider *p, uint32_t id, orc_err *e);
/* Whether the provider with this id takes new pieces (a draining or removed
 * one does not: it is read until its pieces have moved). ORC_ENOTFOUND: no
 * such provider. Every provider takes writes at first. */
int place_set_writable(place *pl, uint32_t id, bool writable);
/* A provider's capacity in bytes (0: no limit: a write never sends a piece
 * that would take it past it), its storage price (writes prefer the
 * providers with the lowest one that have room, so own disks, price 0,
 * fill before clouds; rendezvous order among equals) and what its egress
 * price adds to its read cost, in microseconds (reads go to the cheapest of
 * latency plus that). ORC_ENOTFOUND: no such provider. */
int place_set_costs(place *pl, uint32_t id, uint64_t capacity, double price_gb_month,
                    uint64_t egress_cost_us);
/* The bytes the metadata records on the provider now (a refresh: puts
 * that succeed add to it until the next). */
void place_set_used(place *pl, uint32_t id, uint64_t bytes);
/* Slot i's capacity (0: none) and used bytes. */
uint64_t place_capacity(const place *pl, size_t i);
uint64_t place_used(const place *pl, size_t i);
bool place_writable(const place *pl, size_t i);
/* ORC_EINVAL (naming the policy) unless enough providers take writes for
 * pol's pieces. */
int place_check_writable(const place *pl, const place_policy *pol, orc_err *e);
size_t place_count(const place *pl);
provider *place_provider(const place *pl, size_t i);
uint32_t place_provider_id(const place *pl, size_t i);

/* The provider names of a chunk's pieces: `whole` for every whole copy (all
 * copies of a chunk share a name), frag[i] for fragment i. object/ derives
 * them (chunk/seal.h) and place/ never sees a chunk's hash; a name not
 * needed by a call may be NULL. */
typedef struct place_names {
    const char *whole;
    const char *frag[EC_MAX_FRAGMENTS];
} place_names;

/* Called with the pieces about to be sent (providers ids[i], fragment index
 * frags[i] or PLACE_WHOLE), before any of them is sent (each round of a
 * write, in the writing thread). Non-zero stops the write before it sends
 * anything more; that code is returned. The object layer records the pieces
 * as PENDING here, so a piece whose outcome is lost (a timeout whose write
 * lands later, a crash) is still known. */
typedef struct place_intent {
    int (*fn)(void *ctx, const uint32_t *ids, const int16_t *frags, int n, orc_err *e);
    void *ctx;
} place_intent;

/* Writes the sealed chunk data[0, len) with pol to distinct providers that
 * are up, in parallel, each piece durably: replicate:N, N whole copies named
 * nm->whole; ec:K+M, the K+M fragments (place/ec.h) named nm->frag[i]. A
 * failed provider is replaced by the next up one in rendezvous order.
 * intent (may be NULL) hears of each piece first. Fills ids and frags (room
 * for PLACE_MAX_COPIES) with the pieces written: replicate, at least
 * min_copies copies (fewer than N: under-replicated until repair adds
 * copies); ec, pol->write_quorum fragments (0: all K+M). Pieces and hedges
 * race (write_pieces in place.c): a slow put is hedged on a
 * spare provider, and once the quorum is durable, late ones with no spare
 * are cancelled (the chunk is below full redundancy until repair). Below
 * the minimum, ORC_ETRANSIENT, after deleting the pieces written. */
int place_write(place *pl, const place_policy *pol, const place_names *nm, const uint8_t *data,
                size_t len, const place_intent *intent, uint32_t *ids, int16_t *frags, int *n,
                orc_err *e);

/* Repair: given the chunk's sealed bytes and the pieces it has
 * (have_ids/have_frags, nhave), writes the missing ones (replicate: copies
 * up to N; ec: the fragment indexes not held) to up providers that hold no
 * piece of it. ids/frags get the new ones (at least one, else
 * ORC_ETRANSIENT). */
int place_write_more(place *pl, const place_policy *pol, const place_names *nm, const uint8_t *data,
                     size_t len, const place_intent *intent, const uint32_t *have_ids,
                     const int16_t *have_frags, int nhave, uint32_t *ids, int16_t *frags, int *n,
                     orc_err *e);

/* Verifies a sealed chunk read back (a whole copy, or rebuilt from
 * fragments): 0 if good, ORC_ECORRUPT if not. May transform out in place
 * (e.g. decrypt). */
typedef int (*place_verify_fn)(void *ctx, orc_buf *data, orc_err *e);

/* Told of each piece that failed verification or was not of its recorded
 * length (provider id, fragment index or PLACE_WHOLE), so the caller can stop counting it and
 * repair replaces it. */
typedef void (*place_bad_fn)(void *ctx, uint32_t id, int16_t frag);

typedef struct place_read_args {
    const place_names *names;
    int k, m;      /* the chunk's erasure code (k 0: whole copies only) */
    uint64_t size; /* sealed length, as recorded (UINT64_MAX: unknown; whole copies only) */
    const uint32_t *ids;
    const int16_t *frags; /* NULL: all whole copies */
    int n;
    place_verify_fn verify;
    void *ctx;
    place_bad_fn bad; /* may be NULL */
    void *bad_ctx;
} place_read_args;

/* Reads the sealed chunk into out (reset first) and runs verify on it. Whole
 * copies are tried one after another, fastest first; fragments are fetched k
 * at a time in parallel from the fastest holders, a failed one replaced by
 * the next, and decoded. A piece that is missing, fails to read (a provider
 * past its deadline included: the size sets it) or fails verify is logged
 * and skipped (a failed verify counts as its provider's error and is told
 * to bad; with fragments, the bad ones are found by decoding other subsets).
 * ORC_ECORRUPT / ORC_ENOTFOUND when no good chunk can be had. */
int place_read(place *pl, const place_read_args *a, orc_buf *out, orc_err *e);

/* Runs fn(arg) on one of the I/O threads, for reads that should overlap
 * (GET read-ahead). fn must not wait for other I/O-thread work. */
void place_run(place *pl, void (*fn)(void *arg), void *arg);

/* Reads back pieces i < n (provider ids[i], fragment index frags[i] or
 * PLACE_WHOLE) of the chunk whose sealed bytes are data[0, len), written with
 * pol, and compares each with what it must hold: the whole chunk, or that
 * fragment of its encoding. res[i] gets 0 if it does, ORC_ECORRUPT if it
 * differs (a wrong length included), ORC_ENOTFOUND if the provider lacks
 * it, or another code if the provider could not answer (down, past its
 * deadline: nothing known). A mismatch counts as the provider's error.
 * Repair checks what it wrote before it counts it; a scrub checks every
 * piece. Returns non-zero only when the pieces could not be made. */
int place_check_pieces(place *pl, const place_policy *pol, const place_names *nm,
                       const uint8_t *data, size_t len, const uint32_t *ids, const int16_t *frags,
                       int n, int *res, orc_err *e);

/* Deletes piece i (nm->whole or nm->frag[frags[i]]) from provider ids[i];
 * with n 0, every name in nm (those not NULL) from every provider. Missing
 * pieces are fine. Returns the first hard error. */
int place_delete(place *pl, const place_names *nm, const uint32_t *ids, const int16_t *frags, int n,
                 orc_err *e);

#endif
