/* Content-defined chunking (FastCDC, Xia et al. 2016/2020: gear rolling hash
 * with normalized chunking).
 *
 * Cut points depend only on the bytes near them, so inserting a byte at the
 * front of an object changes the first chunk or two and leaves the rest alone.
 * The chunker is stateless between chunks: give it the bytes from the start of
 * the current chunk and it says where the chunk ends. */
#ifndef ORC_CHUNK_CDC_H
#define ORC_CHUNK_CDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define CDC_MIN_DEFAULT (1u << 20) /* 1 MiB */
#define CDC_AVG_DEFAULT (4u << 20) /* 4 MiB: one cloud request per ~4 MiB */
#define CDC_MAX_DEFAULT (8u << 20) /* 8 MiB: bounds per-request memory */
#define CDC_LIMIT_MIN 64u          /* smallest min accepted */
#define CDC_LIMIT_MAX (64u << 20)  /* largest max accepted */

typedef struct cdc_params {
    uint32_t min, avg, max;
} cdc_params;

typedef struct cdc {
    cdc_params p;
    uint64_t mask_s, mask_l; /* stricter mask before avg, looser after */
} cdc;

/* min < avg < max, avg a power of two, all within the limits above. */
int cdc_params_check(const cdc_params *p, orc_err *e);
/* p must have passed cdc_params_check. */
void cdc_init(cdc *c, const cdc_params *p);

/* data[0..len) starts at the beginning of a chunk. Returns the length of that
 * chunk (1..max) if it is decided: a cut point was found, or len >= max, or eof
 * (then the remainder up to max is a chunk). Returns 0 when more data is needed
 * (no cut point found, len < max and !eof). len == 0 with eof returns 0. */
size_t cdc_cut(const cdc *c, const uint8_t *data, size_t len, bool eof);

#endif
