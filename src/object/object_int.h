/* Shared between the object layer's files; not for other layers. */
#ifndef ORC_OBJECT_OBJECT_INT_H
#define ORC_OBJECT_OBJECT_INT_H

/* The smallest key greater than every key that starts with p: p with its
 * trailing 0xff bytes dropped and the last byte incremented (malloc'ed), or
 * NULL when there is none. Listings skip a common prefix in one step with it. */
char *object_key_successor(const char *p);

#include "object/object.h"

/* What a store holds (object_store_new, store.c). Only object/ reads the
 * fields; nothing above builds one. */
struct store {
    meta *m;
    place *pl;
    const seal_keys *keys;
    cdc_params cdc;
    int64_t gc_grace_ms;
};

/* A place_intent that records the copies of chunk_id as PENDING in m before
 * they are sent (put.c). */
struct pending_ctx {
    meta *m;
    int64_t chunk_id;
};
int object_record_pending(void *ctx, const uint32_t *ids, int n, orc_err *e);

/* ORC_ECANCELED when cm's client is gone (put.c); call right before a commit. */
int object_commit_check(const object_commit *cm, orc_err *e);

#endif
