/* What every provider must do, as cmocka checks shared by the live suites of
 * each provider type (test_s3_live.c, test_azure_live.c): a new provider type
 * gets the same contract by calling these from its own live test. Each check
 * expects a fresh provider with its own name prefix. */
#ifndef ORC_TEST_PROVIDER_CONTRACT_H
#define ORC_TEST_PROVIDER_CONTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provider/provider.h"

#define CONTRACT_SIZE 1000

/* A valid chunk name (64 hex) unique to tag, i and this process. */
void contract_name(const char *tag, unsigned i, char out[65]);
/* Deterministic bytes that differ by seed. */
void contract_pattern(uint8_t *buf, size_t n, unsigned seed);
void contract_put_ok(provider *p, const char *name, const uint8_t *d, size_t n);

/* get(off, len) appended to a buffer holding "X" is exactly data[off..]
 * (want bytes). */
void contract_check_range(provider *p, const char *name, const uint8_t *data, uint64_t off,
                          uint64_t len, size_t want);

/* put twice, get whole; the byte counters move. */
void contract_round_trip(provider *p);
/* A zero-byte object: head 0, get empty. */
void contract_empty(provider *p);
/* Ranged gets return exactly the range, appended; past the end, 0 bytes. */
void contract_ranges(provider *p);
/* A missing name: ENOTFOUND on get (the message names the provider and the
 * status) and head; on delete too when strict_delete (S3 answers 204). */
void contract_missing(provider *p, bool strict_delete);
/* head reports the size; after delete, head and get say ENOTFOUND. */
void contract_delete_head(provider *p, bool strict_delete);

#endif
