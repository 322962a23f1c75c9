/* The object layer's door for buckets, users and the admin view, and the
 * store's life cycle: what the S3 front asks about who owns what and who may
 * sign, with the rules (ownership, S3's re-create semantics, sealed secrets)
 * kept here, below the protocol. Included by object/object.h. */
#ifndef ORC_OBJECT_ACCESS_H
#define ORC_OBJECT_ACCESS_H

#include "object/object.h"

/* ---- the store (store.c) ---- */
/* A store over an open metadata store, placement and sealing keys (kept by
 * pointer, not owned: they must outlive it), chunking parameters (copied) and
 * the garbage collector's grace period. Freed with object_store_free (NULL
 * is fine). A store for user administration alone (`orchard user`) has no
 * placement and no chunking: pl and params NULL; only the users functions
 * below may be called on it. */
store *object_store_new(meta *m, place *pl, const seal_keys *keys, const cdc_params *params,
                        int64_t gc_grace_ms);
void object_store_free(store *s);

/* ---- storage classes (store.c) ---- */
/* S3 storage class names (STANDARD, STANDARD_IA, ...) mapped to placements.
 * Replaces the store's classes with defs[0..n) (names unique, 1 to
 * OBJECT_CLASS_NAME_MAX chars of A-Z, 0-9, '_'); default_name, one of them,
 * is the default. Each policy is checked against the place (enough
 * providers). Call before serving. */
typedef struct object_class_def {
    const char *name;
    place_policy pol;
} object_class_def;
int object_store_set_classes(store *s, const object_class_def *defs, size_t n,
                             const char *default_name, orc_err *e);

/* ---- buckets (bucket.c) ---- */
/* Buckets owned by owner, ordered by name; *out is malloc'ed (free()). */
int object_bucket_list(store *s, int64_t owner, meta_bucket **out, size_t *n, orc_err *e);
/* Creates bucket name for owner in region (name checked by the caller with
 * bucket_name_valid). A bucket the owner already holds in us-east-1 is
 * created again with success (S3's legacy behaviour there). ORC_EEXISTS
 * with detail ORC_D_BUCKET_OWNED: the owner holds it (another region);
 * plain ORC_EEXISTS: someone else does. */
int object_bucket_create(store *s, const char *name, int64_t owner, const char *region, orc_err *e);
/* Looks bucket name up, whoever owns it. ORC_ENOTFOUND if there is none. */
int object_bucket_get(store *s, const char *name, meta_bucket *out, orc_err *e);
/* As object_bucket_get, for a request by owner: ORC_EAUTH when the bucket
 * belongs to someone else (*out is filled then too). */
int object_bucket_owned(store *s, const char *name, int64_t owner, meta_bucket *out, orc_err *e);
/* Deletes owner's bucket name: ORC_ENOTFOUND, ORC_EAUTH (someone else's) or
 * ORC_ECONFLICT (it holds objects). */
int object_bucket_delete(store *s, const char *name, int64_t owner, orc_err *e);
/* Sets bucket name's default storage class (NULL or "": none, the server's
 * default then). The caller checks the class is configured; a class later
 * removed from the configuration falls back to the default.
 * ORC_ENOTFOUND: no such bucket. */
int object_bucket_set_class(store *s, const char *name, const char *storage_class, orc_err *e);

/* ---- users (user.c) ---- */
/* The user with access_key, into *user, and their secret, opened from its
 * sealed form, into secret (NUL-terminated; cap bytes with the NUL).
 * ORC_ENOTFOUND: no such key. ORC_ECORRUPT: the stored secret does not open
 * (a wrong master secret) or does not fit cap; the message names the user,
 * never the secret. The caller wipes secret after use. */
int object_user_secret(store *s, const char *access_key, meta_user *user, char *secret, size_t cap,
                       orc_err *e);
/* The limits on a user's keys: an access key of 1..OBJECT_ACCESS_KEY_MAX
 * bytes, a secret of OBJECT_SECRET_MIN..OBJECT_SECRET_MAX. */
#define OBJECT_ACCESS_KEY_MAX 127
#define OBJECT_SECRET_MIN 8
#define OBJECT_SECRET_MAX 200
/* Adds user name (its spelling checked by the caller) with access_key and
 * secret, the secret sealed under the master secret before it is stored.
 * ORC_EINVAL: a key out of the limits above; ORC_EEXISTS: the name or the
 * access key is taken. */
int object_user_add(store *s, const char *name, const char *access_key, const char *secret,
                    orc_err *e);
/* Makes secret (sealed, as for object_user_add) the one in force for user
 * name. ORC_ENOTFOUND: no such user; ORC_EINVAL: out of the limits. */
int object_user_set_secret(store *s, const char *name, const char *secret, orc_err *e);
/* The user with access_key, or named name: ORC_ENOTFOUND if none. The sealed
 * secret in *out is not for the caller (a plain value: nothing to dispose). */
int object_user_by_key(store *s, const char *access_key, meta_user *out, orc_err *e);
int object_user_by_name(store *s, const char *name, meta_user *out, orc_err *e);
/* Every user, ordered by name; *out is malloc'ed (free()). */
int object_user_list(store *s, meta_user **out, size_t *n, orc_err *e);
/* Removes user name: ORC_ENOTFOUND, or ORC_ECONFLICT while they own buckets. */
int object_user_remove(store *s, const char *name, orc_err *e);

/* ---- the admin view (admin.c) ---- */
/* One provider as the admin sees it: health and counters since the start,
 * and what the metadata says it stores. Plain values, copied. */
typedef struct object_provider_view {
    char name[64];
    char type[16]; /* "fs", "s3", "azure", ... */
    bool up;
    int consecutive_failures;
    uint64_t puts, gets, dels, errors, timeouts, corrupt, cancelled, bytes_in, bytes_out;
    double p50_ms, p90_ms, p99_ms; /* 0 before the first call */
    double get_p95_ms;             /* of recent gets; 0 without any */
    uint64_t chunks, bytes;        /* copies it holds; 0 when the metadata did not answer */
    int state;                     /* enum meta_provider_state: active, draining, removed */
    uint64_t capacity;             /* bytes; 0: no limit */
    uint64_t month_puts, month_gets, month_egress; /* this month (UTC), from the metadata */
    double month_cost; /* estimated: its bytes stored for a month, and this
                          month's requests and egress so far, at its prices */
} object_provider_view;

/* Redundancy of the chunks stored with one placement. */
typedef struct object_redundancy_view {
    char placement[32]; /* "replicate:N", "ec:K+M" */
    char classes[128];  /* the configured classes with this placement, ","-separated; may be "" */
    uint64_t chunks;    /* LIVE referenced chunks */
    uint64_t below;     /* of them, with fewer pieces than the placement's (repair's work) */
} object_redundancy_view;

typedef struct object_admin_view {
    object_provider_view *providers; /* in configuration order (owned) */
    size_t n;
    int copies;                         /* the default class's pieces per chunk */
    uint64_t under_replicated;          /* chunks below full redundancy, all placements */
    object_redundancy_view *placements; /* by placement in use (owned) */
    size_t nplacements;
    object_repair_view repair; /* the repair queue */
    double month_cost;         /* the providers' month_cost, summed */
    char month[8];             /* "YYYY-MM", UTC */
} object_admin_view;

/* Fills *out (dispose with object_admin_view_dispose, also on failure). Every
 * provider is listed even when the metadata fails to answer for one: its
 * counts are then 0 and the first such failure is returned (with e), so that
 * the view still shows health while the database is unwell. */
int object_admin_view_get(store *s, object_admin_view *out, orc_err *e);
void object_admin_view_dispose(object_admin_view *v);

/* ---- /metrics (metrics.c) ---- */
/* Appends the store's metric families to out (a buffer with no ceiling) in
 * the Prometheus text format (util/prom.h): each provider's counters,
 * latency histogram and health, read live; what each provider holds, the
 * store's totals (objects, logical and stored bytes, dedup ratio) and the
 * chunks below full redundancy, from the metadata, whose counts are re-read
 * at most once per period set by object_store_set_metrics_cache (default 0:
 * every call; they scan tables). A count the metadata failed to give is left
 * out and the first such failure returned (with e); the rest is still
 * written. A store with a placement only. Safe from many threads. */
int object_metrics_write(store *s, orc_buf *out, orc_err *e);
/* How long the metadata counts of object_metrics_write are kept (ms; 0:
 * not kept). */
void object_store_set_metrics_cache(store *s, int64_t ms);

#endif
