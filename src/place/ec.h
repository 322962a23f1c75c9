/* Erasure coding of one sealed chunk: a systematic Reed-Solomon code over
 * GF(2^8) (ISA-L), K data fragments and M parity fragments, any K of which
 * rebuild the chunk. The matrix is Cauchy, so every K x K submatrix is
 * invertible: any K fragments do, whichever they are.
 *
 * A chunk of len bytes is cut into K fragments of ec_frag_len(c, len) bytes,
 * the last one padded with zeros; the caller keeps len (the chunk's sealed
 * length is in its metadata) and hands it back to ec_decode. Fragments carry
 * no header: which fragment a stored blob is, and of which chunk, lives in the
 * metadata, never on the provider.
 *
 * An ec_code is immutable once made and may be shared between threads. */
#ifndef ORC_PLACE_EC_H
#define ORC_PLACE_EC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* K + M at most: as many fragments as a chunk may have copies. */
#define EC_MAX_FRAGMENTS 16

typedef struct ec_code ec_code;

/* A code with k data and m parity fragments: 1 <= k, 1 <= m, k + m <=
 * EC_MAX_FRAGMENTS; ORC_EINVAL otherwise. */
int ec_new(int k, int m, ec_code **out, orc_err *e);
void ec_free(ec_code *c); /* accepts NULL */
int ec_k(const ec_code *c);
int ec_m(const ec_code *c);

/* Bytes in each fragment of a chunk of len bytes: ceil(len / k), at least 1. */
size_t ec_frag_len(const ec_code *c, size_t len);

/* Cuts data[0, len) into k + m fragments: frags[i] (room for
 * ec_frag_len(c, len) bytes each) gets fragment i; 0..k-1 are the data
 * itself, k..k+m-1 parity. ORC_EINVAL if len is 0 or over INT32_MAX. */
int ec_encode(const ec_code *c, const uint8_t *data, size_t len, uint8_t *const *frags, orc_err *e);

/* Rebuilds the len bytes of a chunk into out from the fragments whose
 * have[i] is true (frags[i] holds ec_frag_len(c, len) bytes; the others are
 * not read). ORC_ENOTFOUND with fewer than k fragments. The result is only
 * as good as the fragments: the caller verifies it (the sealed chunk's GCM
 * tag), and a wrong fragment makes it fail there, never pass. */
int ec_decode(const ec_code *c, const uint8_t *const *frags, const bool *have, size_t len,
              uint8_t *out, orc_err *e);

#endif
