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
 * Sealed chunk format v1 (what a provider stores):
 *   "ORC" 0x01 | key_version u32 BE | plain_len u32 BE | ciphertext | GCM tag (16)
 * The 12-byte header is the GCM additional data, so it is authenticated too. */
#ifndef ORC_CHUNK_SEAL_H
#define ORC_CHUNK_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define SEAL_FORMAT_V1 1
#define SEAL_HEADER_LEN 12
#define SEAL_TAG_LEN 16
#define SEAL_OVERHEAD (SEAL_HEADER_LEN + SEAL_TAG_LEN)
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

/* Encrypts plain[0..len) (whose hash is h) into out, which must hold
 * len + SEAL_OVERHEAD bytes. len <= UINT32_MAX. */
int seal_chunk(const seal_keys *k, const uint8_t h[32], const uint8_t *plain, size_t len,
               uint8_t *out, orc_err *e);

/* Decrypts and authenticates a sealed chunk. out must hold
 * sealed_len - SEAL_OVERHEAD bytes, and may be sealed + SEAL_HEADER_LEN to
 * decrypt in place; *plain_len gets the length.
 * ORC_ECORRUPT if the format, length or tag is wrong (a bad or foreign copy).
 * Keys for other key versions are not known yet: ORC_ECORRUPT names it. */
int seal_open(const seal_keys *k, const uint8_t h[32], const uint8_t *sealed, size_t sealed_len,
              uint8_t *out, size_t *plain_len, orc_err *e);

/* Encrypt/decrypt a small secret (a user's S3 secret key) for storage in the
 * metadata store, with a random nonce. out holds len + SEAL_SECRET_OVERHEAD. */
#define SEAL_SECRET_OVERHEAD (12 + 16)
int seal_secret(const seal_keys *k, const uint8_t *plain, size_t len, uint8_t *out, orc_err *e);
int seal_secret_open(const seal_keys *k, const uint8_t *sealed, size_t len, uint8_t *out,
                     orc_err *e);

#endif
