/* Shared between the object layer's files; not for other layers. */
#ifndef ORC_OBJECT_OBJECT_INT_H
#define ORC_OBJECT_OBJECT_INT_H

/* The smallest key greater than every key that starts with p: p with its
 * trailing 0xff bytes dropped and the last byte incremented (malloc'ed), or
 * NULL when there is none. Listings skip a common prefix in one step with it. */
char *object_key_successor(const char *p);

#include <pthread.h>
#include <stdatomic.h>

#include "object/object.h"

/* What a store holds (object_store_new, store.c). Only object/ reads the
 * fields; nothing above builds one. */
struct store_class {
    char name[OBJECT_CLASS_NAME_MAX + 1];
    place_policy pol;
};

struct store {
    meta *m;
    place *pl;
    /* Storage classes; classes[default_class] is the default. Without any
     * set (object_store_set_classes) one STANDARD class with the place's
     * own policy. */
    struct store_class classes[OBJECT_MAX_CLASSES];
    int nclasses, default_class;
    const seal_keys *keys;
    cdc_params cdc;
    int64_t gc_grace_ms;
    struct {
        _Atomic uint64_t repaired, failed, bytes;
    } repair;
    struct scrub_state *scrub;                 /* scrub.c; made on first use */
    int64_t drain_cursor[PLACE_MAX_PROVIDERS]; /* drain.c, by place slot: the drain thread's */
    struct {                                   /* cost.c, under scrub_mu */
        object_costs prices[PLACE_MAX_PROVIDERS];
        uint64_t puts[PLACE_MAX_PROVIDERS], gets[PLACE_MAX_PROVIDERS],
            egress[PLACE_MAX_PROVIDERS]; /* the provider counters at the last flush */
    } cost;
    struct { /* fsck.c, under scrub_mu */
        bool requested;
        int64_t grace_ms;
        object_fsck_view view;
    } fsck;
    pthread_mutex_t scrub_mu;
    /* The metadata counts /metrics shows, kept for a while (metrics.c);
     * NULL in a store not made by object_store_new: read on every call. */
    struct metrics_cache *mcache;
};

/* ---- /metrics (metrics.c) ---- */
/* What the metadata counts for /metrics, as of one refresh. */
struct metrics_counts {
    bool have_stats, have_under;
    meta_stats stats;
    uint64_t under; /* chunks below full redundancy */
    size_t n;       /* providers, in placement's order */
    bool have_usage[PLACE_MAX_PROVIDERS];
    uint64_t chunks[PLACE_MAX_PROVIDERS], bytes[PLACE_MAX_PROVIDERS];
};
/* Those counts, kept for ttl_ms (made and freed with the store, store.c). */
struct metrics_cache {
    pthread_mutex_t mu; /* one refresh at a time; scrapes are rare */
    int64_t ttl_ms;
    int64_t at_ms; /* monotonic time of the last complete refresh; 0: none */
    struct metrics_counts c;
};

/* ---- capacity and cost (cost.c) ---- */
/* "YYYY-MM" of now, UTC. */
void object_month_now(char out[8]);
/* Fills v's capacity, this month's counts and estimated cost (v->bytes
 * must be filled: what it stores) for place slot i. */
void object_cost_view(store *s, size_t i, object_provider_view *v, const char *month);

/* ---- chunk I/O (chunkio.c) ---- */
/* A chunk's provider names (whole copy and, when coded, each fragment). */
struct chunk_names {
    char whole[SEAL_NAME_LEN + 1];
    char frag[EC_MAX_FRAGMENTS][SEAL_NAME_LEN + 1];
    place_names nm; /* points into the arrays above */
};
/* A place_intent that records the pieces of chunk_id as PENDING in m before
 * they are sent, under their names in cn (refused while fsck deletes an
 * orphan of that name: meta_chunk_copies_pending_named). */
struct pending_ctx {
    meta *m;
    int64_t chunk_id;
    const struct chunk_names *cn;
};
int object_record_pending(void *ctx, const uint32_t *ids, const int16_t *frags, int n, orc_err *e);
void object_chunk_names(const store *s, const uint8_t h[32], const meta_layout *lay,
                        struct chunk_names *out);
/* The placement a chunk with layout lay was written with (width 0: a chunk
 * from before schema 6, replicated to object_legacy_width copies). */
place_policy object_chunk_policy(const store *s, const meta_layout *lay);
int object_legacy_width(const store *s);
/* Claims the chunk with hash h and len plaintext bytes for writing with pol
 * (meta_chunk_claim), waiting while another upload writes it or the
 * collector removes it. A chunk already stored keeps its own layout. */
int object_chunk_claim(store *s, const place_policy *pol, const uint8_t h[32], size_t len,
                       meta_chunk *c, bool *is_new, orc_err *e);
/* Writes the claimed new chunk c's pieces (sealed[0, len), by c's layout),
 * recording each as PENDING first, and makes c LIVE; abandons it on failure. */
int object_chunk_write(store *s, const meta_chunk *c, const uint8_t *sealed, size_t len,
                       orc_err *e);
/* Reads chunk c's sealed bytes into out, verified: with decrypt, decrypted
 * in place and *plain (may be NULL) points at its c->plain_len bytes in out;
 * without, out holds the sealed chunk (to copy it). A piece that fails
 * verification is marked for repair (meta_chunk_copy_suspect). */
int object_chunk_read(store *s, const meta_chunk *c, bool decrypt, orc_buf *out,
                      const uint8_t **plain, orc_err *e);
/* object_chunk_read of the sealed chunk, and the pieces that failed
 * verification (marked for repair) are dropped from c's pieces: what is
 * left is what the chunk still has, as far as this read knows. */
int object_chunk_read_good(store *s, meta_chunk *c, orc_buf *out, orc_err *e);
/* Deletes the chunk's PENDING pieces (a write's failed attempts, pieces that
 * failed verification, a given-up writer's leftovers) from their providers
 * and forgets them, so those providers may take a piece of it again. */
int object_chunk_clear_pending(store *s, const meta_chunk *c, orc_err *e);
/* Deletes c's recorded pieces (none recorded: every name on every provider). */
int object_chunk_delete(store *s, const meta_chunk *c, orc_err *e);

/* ORC_ECANCELED when cm's client is gone (put.c); call right before a commit. */
int object_commit_check(const object_commit *cm, orc_err *e);

/* The class named name (NULL or unknown: the default one); store.c. */
const struct store_class *object_class_get(const store *s, const char *name);
/* The meta layout of a chunk written with pol. */
meta_layout object_layout(const place_policy *pol);
/* The write_quorum of the class whose placement is lay (0: every piece). */
int object_layout_quorum(const store *s, const meta_layout *lay);

#endif
