/* Keyed convergent encryption of chunks, and chunk naming.
 *
 * h = SHA-256(plaintext). The chunk key is HKDF-SHA256(master, info = h), so
 * equal plaintext under one master gives equal ciphertext (dedup) and nobody
 * without the master can derive a key or confirm a guess of the content. The
 * GCM nonce is derived from h too, which is safe because a key is only ever
 * used for the one plaintext it was derived from. The name a chunk is stored
 * under is HMAC-SHA256(naming key, h) in hex: it says nothing about the user,
 * the object or the content.
 *
 * Sealed chunk format v2 (what seal_chunk writes; docs/architecture.md):
 *   "ORC" 0x02 | key_version u32 BE | 4 zero bytes |
 *   GCM(plaintext | zero padding | plain_len u32 BE) | GCM tag (16)
 * The total is seal_sealed_len(plain_len): Padme padding (Nikitin et al.,
 * "Reducing Metadata Leakage from Encrypted Files and Communication with
 * PURBs", 2019) of plain_len + 32, and never less than SEAL_PAD_FLOOR. A
 * provider sees that padded size and nothing of the exact length, which lives
 * only inside the authenticated ciphertext (and in the metadata, chunks.plain_len).
 * The padding is zeros, so sealing stays deterministic (convergent).
 *
 * Sealed chunk format v1 (still read, never written):
 *   "ORC" 0x01 | key_version u32 BE | plain_len u32 BE | ciphertext | GCM tag (16)
 *
 * Both headers are 12 bytes and are the GCM additional data, so they are
 * authenticated too; both formats decrypt in place at sealed + SEAL_HEADER_LEN.
 * Each format has its own key derivation, so a key and nonce are never used
 * for two different messages even if one plaintext is sealed in both. */
#ifndef ORC_CHUNK_SEAL_H
#define ORC_CHUNK_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define SEAL_FORMAT_V1 1
#define SEAL_FORMAT_V2 2
#define SEAL_FORMAT SEAL_FORMAT_V2 /* what seal_chunk writes and metadata records */
#define SEAL_HEADER_LEN 12
#define SEAL_TAG_LEN 16
#define SEAL_FRAME_LEN (SEAL_HEADER_LEN + SEAL_TAG_LEN) /* header and tag, in every format */
#define SEAL_LEN_FIELD 4 /* v2: the plaintext length, encrypted, after the padding */
/* v2: the smallest sealed chunk. Tiny chunks (small objects, the tails of
 * objects) all look alike, and a 4 KiB file costs an fs provider no more disk
 * than a 1000-byte one: both take one block. */
#define SEAL_PAD_FLOOR 4096
/* The largest chunk seal_chunk accepts: its sealed size fits in 32 bits
 * (chunks are at most CDC_LIMIT_MAX, 64 MiB). */
#define SEAL_MAX_PLAIN (1u << 30)
#define SEAL_NAME_LEN 64 /* hex chars, without the NUL */
#define SEAL_MASTER_LEN 32

/* Keys derived once from the master secret. Immutable after seal_keys_init,
 * so one instance is shared by all threads. */
typedef struct seal_keys {
    uint32_t key_version;
    uint8_t master[SEAL_MASTER_LEN];
    uint8_t name_key[32];   /* for chunk names */
    uint8_t secret_key[32]; /* for user secrets at rest */
} seal_keys;

int seal_keys_init(seal_keys *k, const uint8_t master[SEAL_MASTER_LEN], uint32_t key_version,
                   orc_err *e);
/* Overwrites the key material. */
void seal_keys_wipe(seal_keys *k);

/* SHA-256 of plaintext. */
void chunk_hash(const uint8_t *data, size_t len, uint8_t h[32]);

/* The provider object name for chunk h: SEAL_NAME_LEN hex chars and a NUL. */
void seal_name(const seal_keys *k, const uint8_t h[32], char name[SEAL_NAME_LEN + 1]);
/* The provider object name of erasure-code fragment index of chunk
 * h: HMAC-SHA256(naming key, "orchard-fragment" | h | index) in hex, so a
 * provider cannot tell which chunk a fragment belongs to, which fragment it
 * is, or that two fragments are of one chunk; and no fragment's name is a
 * chunk's name. */
void seal_fragment_name(const seal_keys *k, const uint8_t h[32], uint8_t index,
                        char name[SEAL_NAME_LEN + 1]);

/* The sealed size (format SEAL_FORMAT) of a chunk of plain_len bytes: what
 * seal_chunk writes, providers store and chunks.sealed_len records. Never
 * decreasing in plain_len, so the size for the largest chunk bounds them all.
 * Less than 6.25% above max(plain_len + 32, SEAL_PAD_FLOOR), and less than
 * 3.125% once plain_len + 32 >= 64 KiB. plain_len <= SEAL_MAX_PLAIN. */
size_t seal_sealed_len(size_t plain_len);

/* Encrypts plain[0..len) (whose hash is h) into out in format SEAL_FORMAT.
 * out must hold seal_sealed_len(len) bytes. len <= SEAL_MAX_PLAIN. */
int seal_chunk(const seal_keys *k, const uint8_t h[32], const uint8_t *plain, size_t len,
               uint8_t *out, orc_err *e);

/* Decrypts and authenticates a sealed chunk of the given format (the one the
 * metadata recorded for it: a copy in another format is refused). out must
 * hold sealed_len - SEAL_FRAME_LEN bytes (padding included), and may be
 * sealed + SEAL_HEADER_LEN to decrypt in place; the plaintext is out[0..
 * *plain_len). ORC_ECORRUPT if the format, length, padding or tag is wrong (a
 * bad or foreign copy); nothing decrypted is left in out then. Keys for other
 * key versions are not known yet: ORC_ECORRUPT names it. */
int seal_open(const seal_keys *k, const uint8_t h[32], uint8_t format, const uint8_t *sealed,
              size_t sealed_len, uint8_t *out, size_t *plain_len, orc_err *e);

/* Encrypt/decrypt a small secret (a user's S3 secret key) for storage in the
 * metadata store, with a random nonce. out holds len + SEAL_SECRET_OVERHEAD. */
#define SEAL_SECRET_OVERHEAD (12 + 16)
int seal_secret(const seal_keys *k, const uint8_t *plain, size_t len, uint8_t *out, orc_err *e);
int seal_secret_open(const seal_keys *k, const uint8_t *sealed, size_t len, uint8_t *out,
                     orc_err *e);

#endif
