/* What every metadata store must do, as cmocka groups any implementation runs:
 * users, buckets, provider ids, the chunk life cycle and the collector,
 * object versions, listing, conditions, CopyObject, multipart uploads,
 * pending copies and the repair views. Every check goes through meta.h only,
 * so a new implementation (PostgreSQL) gets the whole contract by one test
 * file like tests/unit/meta/test_contract_sqlite.c that opens fresh stores
 * of its type and calls meta_contract_run. */
#ifndef ORC_TEST_META_CONTRACT_H
#define ORC_TEST_META_CONTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meta/meta.h"

typedef struct meta_contract_impl {
    const char *name; /* the type, for the group names */
    /* Opens a fresh, empty store into *m (and *ctx, for close); fails the
     * running test on any error. */
    void (*open)(meta **m, void **ctx);
    /* Closes m and removes everything open made. */
    void (*close)(meta *m, void *ctx);
} meta_contract_impl;

/* Runs every group against impl; returns the number of failed tests (0: the
 * implementation keeps the contract). */
int meta_contract_run(const meta_contract_impl *impl);

/* ---- for the groups (meta_contract_*.c) ---- */

/* A fresh store of the implementation being run. */
void meta_contract_open(meta **m, void **ctx);
void meta_contract_close(meta *m, void *ctx);

/* Deterministic distinct 32-byte hashes, by i. */
void meta_contract_hash(uint64_t i, uint8_t out[32]);
/* Total references held on chunks (meta_stats.chunk_refs). */
uint64_t meta_contract_refs(meta *m);
/* Whether chunk id is LIVE and referenced (by an object or a part): it is in
 * the repair view that asks for more copies than any chunk can have. */
bool meta_contract_referenced(meta *m, int64_t id);
/* A wall-clock time strictly after every chunk touched so far and at or
 * before any touched from now on, for gc_mark cutoffs (sleeps a few ms). */
int64_t meta_contract_cutoff(void);

typedef struct meta_contract_group {
    const char *name;
    const struct CMUnitTest *tests;
    size_t n;
} meta_contract_group;

extern const meta_contract_group meta_contract_store;     /* users ... listing, threads */
extern const meta_contract_group meta_contract_copy;      /* CopyObject, conditions */
extern const meta_contract_group meta_contract_multipart; /* uploads and parts */
extern const meta_contract_group meta_contract_pending;   /* pending copies, start times */
extern const meta_contract_group meta_contract_extents;   /* ranged manifest reads */
extern const meta_contract_group meta_contract_repair;    /* the repair queue, settings */

#endif
