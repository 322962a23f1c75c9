/* Convergent AEAD for chunks (AES-256-GCM), chunk names, and sealing of small
 * secrets, all through OpenSSL 3 EVP.
 *
 * Derivations (pinned by a known-answer test; changing any of them orphans
 * every stored chunk):
 *   name_key   = HKDF-SHA256(ikm = master, salt = "", info = "orchard name v1", 32)
 *   secret_key = HKDF-SHA256(ikm = master, salt = "", info = "orchard secret v1", 32)
 *   key|nonce  = HKDF-SHA256(ikm = master, salt = "orchard chunk key vF", info = h, 44)
 *                for sealed format F (1 or 2): the first 32 bytes are the chunk
 *                key, the last 12 the GCM nonce (one expansion gives both, as
 *                TLS 1.3 derives key and iv). A salt per format: a plaintext
 *                sealed once as v1 and again as v2 (after the v1 chunk was
 *                collected) must not reuse a GCM key and nonce for two messages.
 *   name       = hex(HMAC-SHA256(name_key, h))
 * Secrets are nonce(12, random) | ciphertext | tag(16) under secret_key, with
 * AAD "orchard secret v1". */
#include "chunk/seal.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "util/hex.h"
#include "util/log.h"

#define NONCE_LEN 12
#define CHUNK_SALT_V1 "orchard chunk key v1"
#define CHUNK_SALT_V2 "orchard chunk key v2"
#define NAME_INFO "orchard name v1"
#define SECRET_INFO "orchard secret v1"
#define SECRET_AAD "orchard secret v1"
/* EVP update calls take an int length: feed big buffers in pieces. */
#define EVP_STEP (1u << 30)

static const uint8_t seal_magic[3] = {'O', 'R', 'C'};

/* Algorithms are fetched once per process: an implicit fetch on every chunk
 * would take the provider store's lock each time. Never freed. */
static pthread_once_t algs_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *alg_gcm;
static EVP_MD *alg_sha256;
static EVP_MAC *alg_hmac;
static EVP_KDF *alg_hkdf;

static void algs_fetch(void)
{
    alg_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    alg_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    alg_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    alg_hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
}

static bool algs_ready(void)
{
    pthread_once(&algs_once, algs_fetch);
    return alg_gcm && alg_sha256 && alg_hmac && alg_hkdf;
}

/* An OpenSSL failure that is not about the input: a broken library or
 * provider configuration. */
static int ssl_fail(orc_err *e, const char *what)
{
    char detail[160] = "no detail";
    unsigned long code = ERR_get_error();
    if (code) ERR_error_string_n(code, detail, sizeof(detail));
    ERR_clear_error();
    return orc_fail(e, ORC_EINTERNAL, "openssl: %s failed: %s", what, detail);
}

/* For the functions whose contract has no error path: failure here means
 * SHA-256 or HMAC itself is unavailable, and nothing can work. */
static void ssl_die(const char *what)
{
    LOG_ERROR("openssl: %s failed: cannot continue", what);
    abort();
}

static int hkdf(const uint8_t *ikm, size_t ikm_len, const void *salt, size_t salt_len,
                const void *info, size_t info_len, uint8_t *out, size_t out_len, orc_err *e)
{
    if (!algs_ready()) return ssl_fail(e, "fetching AES-256-GCM, SHA256, HMAC and HKDF");
    EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(alg_hkdf);
    if (!kctx) return ssl_fail(e, "HKDF context");
    OSSL_PARAM params[5], *p = params;
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    if (salt_len)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    *p = OSSL_PARAM_construct_end();
    int rc = ORC_OK;
    if (EVP_KDF_derive(kctx, out, out_len, params) != 1) rc = ssl_fail(e, "HKDF-SHA256");
    EVP_KDF_CTX_free(kctx);
    return rc;
}

int seal_keys_init(seal_keys *k, const uint8_t master[SEAL_MASTER_LEN], uint32_t key_version,
                   orc_err *e)
{
    memset(k, 0, sizeof(*k));
    k->key_version = key_version;
    memcpy(k->master, master, SEAL_MASTER_LEN);
    int rc = hkdf(master, SEAL_MASTER_LEN, NULL, 0, NAME_INFO, strlen(NAME_INFO), k->name_key,
                  sizeof(k->name_key), e);
    if (rc == ORC_OK)
        rc = hkdf(master, SEAL_MASTER_LEN, NULL, 0, SECRET_INFO, strlen(SECRET_INFO), k->secret_key,
                  sizeof(k->secret_key), e);
    if (rc != ORC_OK) seal_keys_wipe(k);
    return rc;
}

void seal_keys_wipe(seal_keys *k)
{
    OPENSSL_cleanse(k, sizeof(*k));
}

void chunk_hash(const uint8_t *data, size_t len, uint8_t h[32])
{
    unsigned int n = 0;
    if (!algs_ready() || EVP_Digest(data, len, h, &n, alg_sha256, NULL) != 1 || n != 32)
        ssl_die("SHA-256");
}

/* HMAC-SHA256 under the naming key of the n parts, in hex. */
static void name_mac(const seal_keys *k, const uint8_t *const *part, const size_t *len, int n,
                     char name[SEAL_NAME_LEN + 1])
{
    uint8_t mac[32];
    size_t got = 0;
    EVP_MAC_CTX *mctx = algs_ready() ? EVP_MAC_CTX_new(alg_hmac) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    bool ok = mctx && EVP_MAC_init(mctx, k->name_key, sizeof(k->name_key), params) == 1;
    for (int i = 0; ok && i < n; i++)
        ok = EVP_MAC_update(mctx, part[i], len[i]) == 1;
    if (!ok || EVP_MAC_final(mctx, mac, &got, sizeof(mac)) != 1 || got != sizeof(mac))
        ssl_die("HMAC-SHA256");
    EVP_MAC_CTX_free(mctx);
    hex_encode(mac, sizeof(mac), name);
}

void seal_name(const seal_keys *k, const uint8_t h[32], char name[SEAL_NAME_LEN + 1])
{
    const uint8_t *part[] = {h};
    const size_t len[] = {32};
    name_mac(k, part, len, 1, name);
}

void seal_fragment_name(const seal_keys *k, const uint8_t h[32], uint8_t index,
                        char name[SEAL_NAME_LEN + 1])
{
    static const char tag[] = "orchard-fragment";
    const uint8_t *part[] = {(const uint8_t *)tag, h, &index};
    const size_t len[] = {sizeof(tag) - 1, 32, 1};
    name_mac(k, part, len, 3, name);
}

static void put_u32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_u32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One contiguous piece of a GCM message: in[0..len) becomes out[0..len). */
struct seg {
    const uint8_t *in;
    uint8_t *out;
    size_t len;
};

static int gcm_update(EVP_CIPHER_CTX *cctx, const struct seg *sg, orc_err *e)
{
    int n;
    for (size_t off = 0; off < sg->len;) {
        size_t step = sg->len - off < EVP_STEP ? sg->len - off : EVP_STEP;
        if (EVP_CipherUpdate(cctx, sg->out + off, &n, sg->in + off, (int)step) != 1)
            return ssl_fail(e, "AES-256-GCM update");
        off += step;
    }
    return ORC_OK;
}

/* AES-256-GCM over the segments in order (one message), with aad
 * authenticated. Encrypting writes the tag to tag; decrypting checks it and
 * returns ORC_ECORRUPT on a mismatch, after zeroing every out so no
 * unauthenticated plaintext is left. */
static int gcm(bool enc, const uint8_t key[32], const uint8_t nonce[NONCE_LEN], const uint8_t *aad,
               size_t aad_len, const struct seg *segs, size_t nsegs, uint8_t *tag, const char *what,
               orc_err *e)
{
    if (!algs_ready()) return ssl_fail(e, "fetching AES-256-GCM, SHA256, HMAC and HKDF");
    EVP_CIPHER_CTX *cctx = EVP_CIPHER_CTX_new();
    if (!cctx) return ssl_fail(e, "cipher context");
    int rc = ORC_OK, n;
    uint8_t fin[16]; /* GCM's final step writes no bytes; this keeps it off out */
    /* GCM's default IV length is 12 bytes, so no IVLEN parameter is needed. */
    if (EVP_CipherInit_ex2(cctx, alg_gcm, key, nonce, enc, NULL) != 1) {
        rc = ssl_fail(e, "AES-256-GCM init");
        goto done;
    }
    if (aad_len && EVP_CipherUpdate(cctx, NULL, &n, aad, (int)aad_len) != 1) {
        rc = ssl_fail(e, "AES-256-GCM aad");
        goto done;
    }
    for (size_t i = 0; i < nsegs && !rc; i++)
        rc = gcm_update(cctx, &segs[i], e);
    if (rc) goto done;
    if (enc) {
        if (EVP_CipherFinal_ex(cctx, fin, &n) != 1 ||
            EVP_CIPHER_CTX_ctrl(cctx, EVP_CTRL_AEAD_GET_TAG, SEAL_TAG_LEN, tag) != 1)
            rc = ssl_fail(e, "AES-256-GCM final");
        goto done;
    }
    if (EVP_CIPHER_CTX_ctrl(cctx, EVP_CTRL_AEAD_SET_TAG, SEAL_TAG_LEN, tag) != 1) {
        rc = ssl_fail(e, "AES-256-GCM set tag");
        goto done;
    }
    if (EVP_CipherFinal_ex(cctx, fin, &n) != 1) {
        ERR_clear_error();
        rc = orc_fail(e, ORC_ECORRUPT,
                      "%s failed authentication (tampered, truncated or wrong key)", what);
    }
done:
    if (rc && !enc)
        for (size_t i = 0; i < nsegs; i++)
            OPENSSL_cleanse(segs[i].out, segs[i].len);
    EVP_CIPHER_CTX_free(cctx);
    return rc;
}

static int chunk_key(const seal_keys *k, const uint8_t h[32], uint8_t format,
                     uint8_t okm[32 + NONCE_LEN], orc_err *e)
{
    const char *salt = format == SEAL_FORMAT_V1 ? CHUNK_SALT_V1 : CHUNK_SALT_V2;
    return hkdf(k->master, sizeof(k->master), salt, strlen(salt), h, 32, okm, 32 + NONCE_LEN, e);
}

/* Padme (PURBs, section 4): keep the top floor(log2 E) + 1 bits of L after
 * its leading one, where E = floor(log2 L), and round the rest up. Sizes of
 * one power-of-two range [2^E, 2^(E+1)) collapse onto at most 2^S values, so
 * a size leaks about log2 E + S = O(log log L) bits. */
static uint64_t padme(uint64_t L)
{
    if (L < 2) return L;
    int E = 63 - __builtin_clzll(L);
    int S = 32 - __builtin_clz((unsigned)E); /* floor(log2 E) + 1 */
    uint64_t mask = (UINT64_C(1) << (E - S)) - 1;
    return (L + mask) & ~mask;
}

size_t seal_sealed_len(size_t plain_len)
{
    uint64_t L = (uint64_t)plain_len + SEAL_FRAME_LEN + SEAL_LEN_FIELD;
    return (size_t)padme(L < SEAL_PAD_FLOOR ? SEAL_PAD_FLOOR : L);
}

/* Format v2: header, then plain | zeros | plain_len encrypted as one message.
 * The zeros and the length are written into out first and encrypted in
 * place, so no scratch buffer is needed. */
int seal_chunk(const seal_keys *k, const uint8_t h[32], const uint8_t *plain, size_t len,
               uint8_t *out, orc_err *e)
{
    if (len > SEAL_MAX_PLAIN)
        return orc_fail(e, ORC_EINVAL, "chunk of %zu bytes is too large to seal", len);
    size_t total = seal_sealed_len(len);
    size_t tail = total - SEAL_FRAME_LEN - len; /* padding and length field */
    uint8_t *body = out + SEAL_HEADER_LEN;
    uint8_t okm[32 + NONCE_LEN];
    int rc = chunk_key(k, h, SEAL_FORMAT_V2, okm, e);
    if (rc != ORC_OK) goto done;
    memcpy(out, seal_magic, sizeof(seal_magic));
    out[3] = SEAL_FORMAT_V2;
    put_u32be(out + 4, k->key_version);
    memset(out + 8, 0, 4);
    memset(body + len, 0, tail - SEAL_LEN_FIELD);
    put_u32be(body + len + tail - SEAL_LEN_FIELD, (uint32_t)len);
    struct seg segs[2] = {{plain, body, len}, {body + len, body + len, tail}};
    rc = gcm(true, okm, okm + 32, out, SEAL_HEADER_LEN, segs, 2, body + len + tail, "chunk", e);
done:
    OPENSSL_cleanse(okm, sizeof(okm));
    return rc;
}

/* Checks the header of a sealed chunk before any decryption. */
static int check_header(const seal_keys *k, uint8_t format, const uint8_t *sealed,
                        size_t sealed_len, const char *hex, orc_err *e)
{
    if (sealed_len < SEAL_FRAME_LEN)
        return orc_fail(e, ORC_ECORRUPT, "sealed chunk %s... is %zu bytes, shorter than %d", hex,
                        sealed_len, SEAL_FRAME_LEN);
    if (memcmp(sealed, seal_magic, sizeof(seal_magic)) != 0)
        return orc_fail(e, ORC_ECORRUPT, "sealed chunk %s... has a bad magic", hex);
    if (sealed[3] != format || (format != SEAL_FORMAT_V1 && format != SEAL_FORMAT_V2))
        return orc_fail(e, ORC_ECORRUPT,
                        "sealed chunk %s... has format %u where format %u is expected", hex,
                        sealed[3], format);
    uint32_t version = get_u32be(sealed + 4);
    if (version != k->key_version)
        return orc_fail(e, ORC_ECORRUPT, "sealed chunk %s... uses key version %u, only %u is known",
                        hex, version, k->key_version);
    size_t body = sealed_len - SEAL_FRAME_LEN;
    if (format == SEAL_FORMAT_V1 && get_u32be(sealed + 8) != body)
        return orc_fail(e, ORC_ECORRUPT,
                        "sealed chunk %s... says %u plaintext bytes but carries %zu", hex,
                        get_u32be(sealed + 8), body);
    if (format == SEAL_FORMAT_V2 && get_u32be(sealed + 8) != 0)
        return orc_fail(e, ORC_ECORRUPT, "sealed chunk %s... has nonzero reserved bytes", hex);
    if (format == SEAL_FORMAT_V2 && (sealed_len < SEAL_PAD_FLOOR || body > UINT32_MAX))
        return orc_fail(e, ORC_ECORRUPT, "sealed chunk %s... of %zu bytes cannot be format 2", hex,
                        sealed_len);
    return ORC_OK;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* After a v2 body authenticated: the plaintext length from its end, which must
 * be the one whose padded size this is, and zero padding. Only a writer that
 * holds the key can get here with a bad body, but then it is still refused. */
static int check_v2_body(const uint8_t *body, size_t body_len, size_t *plain_len, const char *hex,
                         orc_err *e)
{
    size_t n = get_u32be(body + body_len - SEAL_LEN_FIELD);
    if (n > body_len - SEAL_LEN_FIELD || seal_sealed_len(n) != body_len + SEAL_FRAME_LEN)
        return orc_fail(e, ORC_ECORRUPT,
                        "sealed chunk %s... says %zu plaintext bytes, which is not padded to %zu",
                        hex, n, body_len + SEAL_FRAME_LEN);
    if (!all_zero(body + n, body_len - SEAL_LEN_FIELD - n))
        return orc_fail(e, ORC_ECORRUPT, "sealed chunk %s... has nonzero padding", hex);
    *plain_len = n;
    return ORC_OK;
}

int seal_open(const seal_keys *k, const uint8_t h[32], uint8_t format, const uint8_t *sealed,
              size_t sealed_len, uint8_t *out, size_t *plain_len, orc_err *e)
{
    char hex[17];
    hex_encode(h, 8, hex); /* the first 64 bits are enough to find the chunk in logs */
    *plain_len = 0;
    int rc = check_header(k, format, sealed, sealed_len, hex, e);
    if (rc) return rc;
    size_t body = sealed_len - SEAL_FRAME_LEN;
    uint8_t okm[32 + NONCE_LEN];
    uint8_t tag[SEAL_TAG_LEN];
    memcpy(tag, sealed + SEAL_HEADER_LEN + body, SEAL_TAG_LEN);
    rc = chunk_key(k, h, format, okm, e);
    if (rc == ORC_OK) {
        char what[40];
        snprintf(what, sizeof(what), "sealed chunk %s...", hex);
        struct seg sg = {sealed + SEAL_HEADER_LEN, out, body};
        rc = gcm(false, okm, okm + 32, sealed, SEAL_HEADER_LEN, &sg, 1, tag, what, e);
    }
    OPENSSL_cleanse(okm, sizeof(okm));
    if (rc) return rc;
    if (format == SEAL_FORMAT_V1) {
        *plain_len = body;
        return ORC_OK;
    }
    rc = check_v2_body(out, body, plain_len, hex, e);
    if (rc) OPENSSL_cleanse(out, body);
    return rc;
}

int seal_secret(const seal_keys *k, const uint8_t *plain, size_t len, uint8_t *out, orc_err *e)
{
    if (len > INT_MAX - SEAL_SECRET_OVERHEAD)
        return orc_fail(e, ORC_EINVAL, "secret of %zu bytes is too large to seal", len);
    if (RAND_bytes(out, NONCE_LEN) != 1) return ssl_fail(e, "RAND_bytes for a secret's nonce");
    struct seg sg = {plain, out + NONCE_LEN, len};
    return gcm(true, k->secret_key, out, (const uint8_t *)SECRET_AAD, strlen(SECRET_AAD), &sg, 1,
               out + NONCE_LEN + len, "secret", e);
}

int seal_secret_open(const seal_keys *k, const uint8_t *sealed, size_t len, uint8_t *out,
                     orc_err *e)
{
    if (len < SEAL_SECRET_OVERHEAD)
        return orc_fail(e, ORC_ECORRUPT, "sealed secret is %zu bytes, shorter than %d", len,
                        SEAL_SECRET_OVERHEAD);
    if (len > INT_MAX)
        return orc_fail(e, ORC_ECORRUPT, "sealed secret of %zu bytes is too large", len);
    size_t n = len - SEAL_SECRET_OVERHEAD;
    uint8_t tag[SEAL_TAG_LEN];
    memcpy(tag, sealed + NONCE_LEN + n, SEAL_TAG_LEN);
    struct seg sg = {sealed + NONCE_LEN, out, n};
    return gcm(false, k->secret_key, sealed, (const uint8_t *)SECRET_AAD, strlen(SECRET_AAD), &sg,
               1, tag, "sealed secret", e);
}
