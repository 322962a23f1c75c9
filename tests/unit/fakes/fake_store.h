/* A store for object-layer tests: a real SQLite metadata store in a temporary
 * directory (support/meta_tmp.h), a placement over fake providers
 * (fakes/fake_provider.h), test keys, small chunking parameters (so a few
 * hundred KiB make many chunks), and one bucket. */
#ifndef ORC_TEST_FAKE_STORE_H
#define ORC_TEST_FAKE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "object/object_int.h" /* struct store: the fake builds one directly */

#define FAKE_STORE_MAX_PROVIDERS 8
/* The chunking fake stores use: min, avg, max. */
#define FAKE_CDC_MIN (16u * 1024)
#define FAKE_CDC_AVG (32u * 1024)
#define FAKE_CDC_MAX (64u * 1024)

typedef struct fake_store {
    char dir[64], path[128];
    meta *m;
    provider *provs[FAKE_STORE_MAX_PROVIDERS]; /* fake providers "fake0".. */
    uint32_t ids[FAKE_STORE_MAX_PROVIDERS];
    size_t nprovs;
    place *pl;
    seal_keys keys;
    store st;          /* what the object layer is given */
    int64_t bucket_id; /* bucket "fakes" */
} fake_store;

/* Opens a store over nprovs fake providers with replicate:copies (min_copies
 * of them needed for a write to succeed). Each provider's calls have a
 * deadline of deadline_ms (0: the default). Fails the test on any error. */
void fake_store_open(fake_store *fs, size_t nprovs, int copies, int min_copies, long deadline_ms);
/* Frees everything and removes the temporary directory. */
void fake_store_close(fake_store *fs);

/* Stores body under key with one object_put_write per piece bytes (0: one
 * write); returns object_put_finish's code (e filled). cm may be NULL. */
int fake_store_put(fake_store *fs, const char *key, const uint8_t *body, size_t len, size_t piece,
                   const object_commit *cm, orc_err *e);
/* Reads [first, last] of key's current version into out (room for the
 * range); returns the code of the first step that failed, and the byte count
 * in *got. */
int fake_store_get(fake_store *fs, const char *key, uint64_t first, uint64_t last, uint8_t *out,
                   size_t *got, orc_err *e);
/* Chunks the metadata counts (meta_stats). */
uint64_t fake_store_chunks(fake_store *fs);
/* Fills buf with bytes from a fixed pseudo-random sequence (seed picks it):
 * content that chunks the same way every run. */
void fake_fill(uint8_t *buf, size_t len, uint32_t seed);

#endif
