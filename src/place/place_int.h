/* What place/'s files share: the place itself, a provider's slot, and the
 * hedged fetches of one read or write (fetch.c). Not a door: nothing outside place/ includes it. */
#ifndef ORC_PLACE_INT_H
#define ORC_PLACE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "place/ec.h"
#include "place/place.h"
#include "provider/provider.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/queue.h"

struct slot {
    provider *p;
    uint32_t id;
    _Atomic uint64_t read_us; /* moving average of read latency */
    _Atomic int64_t read_at;  /* when it last changed (orc_monotonic_us) */
    _Atomic bool no_writes;   /* draining or removed: read, never written to */
    /* Capacity and price (place_set_costs). capacity 0: no limit. used:
     * the bytes the metadata records on it (place_set_used) plus the puts
     * that succeeded since; reserved: the bytes of puts out now. */
    uint64_t capacity;
    _Atomic uint64_t used, reserved;
    double price_gb_month;   /* writes go to the cheapest providers with room first */
    uint64_t egress_cost_us; /* what its egress price adds to its read cost */
};

/* A read latency not renewed for this long counts half as much, and so on:
 * a provider that was slow once (a cold first read, a bad minute) is asked
 * again after a while instead of never, which costs at most a hedge. */
#define PLACE_READ_DECAY_US 500000

/* Forward: fetch.c's pool, below. */
typedef struct fetch_pool fetch_pool;

#define IO_THREADS 8

struct place {
    place_policy pol;
    _Atomic size_t n; /* grows (place_add), never shrinks: a slot once seen stays valid */
    struct slot slots[PLACE_MAX_PROVIDERS];
    orc_queue jobs;
    pthread_t threads[IO_THREADS];
    fetch_pool *fetch;
    pthread_t prober;
    pthread_mutex_t mu; /* guards stop, for the prober's timed wait, and codes */
    pthread_cond_t cv;
    bool stop;
    ec_code *codes[EC_MAX_FRAGMENTS + 1][EC_MAX_FRAGMENTS + 1]; /* [k][m], made on first use */
};

/* The providers that are up, in rendezvous order for name (indexes into
 * pl->slots); their count. */
size_t place_rendezvous(const place *pl, const char *name, size_t *order);
/* The erasure code k+m, made on first use and kept for the place's life;
 * NULL (e set) if k+m is not valid. */
const ec_code *place_code(place *pl, int k, int m, orc_err *e);

/* The provider name of a piece: the whole name, or fragment frag's. */
static inline const char *place_piece_name(const place_names *nm, int16_t frag)
{
    return frag == PLACE_WHOLE ? nm->whole : nm->frag[frag];
}

/* A failed read pushes its provider this far back in the read order. */
#define PLACE_READ_PENALTY_US 100000

/* Folds one read's time into s's moving average. A read that was cancelled
 * took at least us, so it only ever raises the average. */
void place_note_read(struct slot *s, uint64_t us, int rc);

/* A pool of threads that only run provider gets. A read waits for its
 * fetches without taking an I/O thread, and a fetch never waits for
 * anything but its provider (each call has a deadline), so reads started
 * from I/O threads (GET read-ahead) cannot starve each other. */
fetch_pool *fetch_pool_new(int threads);
void fetch_pool_free(fetch_pool *fp);
/* Hands b's memory to fp for later gets (or frees it); b is left empty. */
void fetch_pool_give(fetch_pool *fp, orc_buf *b);

/* The fetches of one read, racing. Each has its own cancel flag; what is
 * still running when the read ends is cancelled, and the race is freed by
 * whoever lets go of it last (a cancelled get may take a few milliseconds
 * to notice). */
#define FETCH_MAX (2 * PLACE_MAX_COPIES)
typedef struct fetch_race fetch_race;
fetch_race *fetch_race_new(fetch_pool *fp);
/* Starts a get of name (copied) from s, which must bring exactly len bytes
 * (UINT64_MAX: any); tag is the caller's. Returns the fetch's index, -1
 * when FETCH_MAX were started. */
int fetch_start(fetch_race *r, struct slot *s, const char *name, uint64_t len, int tag);
/* The same for a put of data[0, len) under name; data must stay valid
 * until the put has ended (fetch_race_drain). */
int fetch_start_put(fetch_race *r, struct slot *s, const char *name, const uint8_t *data,
                    uint64_t len, int tag);
/* The index of a fetch that ended and was not returned before; waits until
 * until_us (orc_monotonic_us; 0: no limit). -1 when until_us passed, -2
 * when nothing started is left to return. */
int fetch_next(fetch_race *r, int64_t until_us);
/* Fetches started so far (their indexes are 0 .. count - 1). */
int fetch_count(const fetch_race *r);
/* Started fetches not yet returned by fetch_next. */
int fetch_pending(const fetch_race *r);
/* Fetch i's result, for i returned by fetch_next: its code, error and bytes
 * (swapped into out). */
int fetch_result(fetch_race *r, int i, orc_buf *out, orc_err *e);
struct slot *fetch_slot(const fetch_race *r, int i);
int fetch_tag(const fetch_race *r, int i);
/* A delete of name on s, for a race that is only let go of
 * (fetch_race_release): it runs to its end in the background. */
int fetch_start_del(fetch_race *r, struct slot *s, const char *name);
/* When fetch i's call began (orc_monotonic_us); 0 while it waits for a
 * thread. */
int64_t fetch_started_us(const fetch_race *r, int i);
/* Put i was hedged (or is a straggler): slower than its provider should
 * be. If it ends cancelled, its provider's health counts a failure
 * (provider_note_late). A read's hedged get is not marked: a get past its
 * provider's own p95 is the tail that hedging is for, not a fault. */
void fetch_mark_late(fetch_race *r, int i);
/* Asks fetch i to stop (it still ends, with ORC_ECANCELED or its result). */
void fetch_cancel(fetch_race *r, int i);
/* Whether fetch i has not been returned by fetch_next. */
bool fetch_open(const fetch_race *r, int i);
/* Cancels what is still running and waits until every fetch has ended
 * (their results stay readable; fetch_next returns them). */
void fetch_race_drain(fetch_race *r);
/* Lets go of r without cancelling: what it started runs to its end. */
void fetch_race_release(fetch_race *r);
/* Cancels what is still running and lets go of r. */
void fetch_race_end(fetch_race *r);

#endif
