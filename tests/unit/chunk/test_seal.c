/* Convergent chunk sealing, chunk names and secret sealing: round trips,
 * padding, dedup, tamper detection, the old format v1 still opening, and
 * known answers that pin every derivation and both formats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "chunk/seal.h"
#include "util/alloc.h"
#include "util/hex.h"

static void master_bytes(uint8_t m[SEAL_MASTER_LEN], uint8_t first)
{
    for (int i = 0; i < SEAL_MASTER_LEN; i++)
        m[i] = (uint8_t)(first + i);
}

static void keys(seal_keys *k, uint8_t first, uint32_t version)
{
    uint8_t m[SEAL_MASTER_LEN];
    orc_err e = {0};
    master_bytes(m, first);
    assert_int_equal(seal_keys_init(k, m, version, &e), ORC_OK);
}

static uint8_t *pattern(size_t n)
{
    uint8_t *p = orc_malloc(n ? n : 1);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
    return p;
}

/* Seals plain with seal_chunk (format v2) into a fresh buffer of
 * seal_sealed_len(len) bytes. */
static uint8_t *seal_new(const seal_keys *k, const uint8_t *plain, size_t len, uint8_t h[32])
{
    orc_err e = {0};
    uint8_t *out = orc_malloc(seal_sealed_len(len));
    chunk_hash(plain, len, h);
    assert_int_equal(seal_chunk(k, h, plain, len, out, &e), ORC_OK);
    return out;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* An independent sealer for the documented formats, straight on OpenSSL:
 * out = hdr | AES-256-GCM(body, aad = hdr) | tag, with key and nonce from
 * HKDF-SHA256(master, salt, info = h). Tests use it to write v1 chunks (as
 * the old code did) and authentic v2 chunks with bad contents. */
static void raw_seal(const seal_keys *k, const uint8_t h[32], const char *salt,
                     const uint8_t hdr[SEAL_HEADER_LEN], const uint8_t *body, size_t len,
                     uint8_t *out)
{
    uint8_t okm[44];
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(kdf);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)k->master, 32),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, strlen(salt)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)h, 32),
        OSSL_PARAM_construct_end(),
    };
    assert_int_equal(EVP_KDF_derive(kctx, okm, sizeof(okm), params), 1);
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);

    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n;
    memcpy(out, hdr, SEAL_HEADER_LEN);
    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, okm, okm + 32), 1);
    assert_int_equal(EVP_EncryptUpdate(c, NULL, &n, hdr, SEAL_HEADER_LEN), 1);
    if (len) assert_int_equal(EVP_EncryptUpdate(c, out + SEAL_HEADER_LEN, &n, body, (int)len), 1);
    assert_int_equal(EVP_EncryptFinal_ex(c, out + SEAL_HEADER_LEN + len, &n), 1);
    assert_int_equal(
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, SEAL_TAG_LEN, out + SEAL_HEADER_LEN + len),
        1);
    EVP_CIPHER_CTX_free(c);
}

/* A chunk in format v1 exactly as the code before format v2 sealed it:
 * len + SEAL_FRAME_LEN bytes. */
static uint8_t *seal_v1(const seal_keys *k, const uint8_t *plain, size_t len, uint8_t h[32])
{
    uint8_t hdr[SEAL_HEADER_LEN] = {'O', 'R', 'C', SEAL_FORMAT_V1};
    put_be32(hdr + 4, k->key_version);
    put_be32(hdr + 8, (uint32_t)len);
    uint8_t *out = orc_malloc(len + SEAL_FRAME_LEN);
    chunk_hash(plain, len, h);
    raw_seal(k, h, "orchard chunk key v1", hdr, plain, len, out);
    return out;
}

/* The v2 body for plain: plain | zeros | len, sized for seal_sealed_len. */
static uint8_t *v2_body(const uint8_t *plain, size_t len, size_t *body_len)
{
    *body_len = seal_sealed_len(len) - SEAL_FRAME_LEN;
    uint8_t *b = orc_calloc(1, *body_len);
    if (len) memcpy(b, plain, len);
    put_be32(b + *body_len - SEAL_LEN_FIELD, (uint32_t)len);
    return b;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

/* Opens sealed[0..total) as format, expecting ORC_ECORRUPT with a message and
 * nothing decrypted left in the output. */
static void expect_corrupt(const seal_keys *k, const uint8_t h[32], uint8_t format,
                           const uint8_t *sealed, size_t total)
{
    size_t room = total > SEAL_FRAME_LEN ? total - SEAL_FRAME_LEN : 1;
    uint8_t *back = orc_malloc(room);
    memset(back, 0xAA, room);
    orc_err e = {0};
    size_t got = 99;
    assert_int_equal(seal_open(k, h, format, sealed, total, back, &got, &e), ORC_ECORRUPT);
    assert_int_equal(e.code, ORC_ECORRUPT);
    assert_true(e.msg[0] != '\0');
    assert_int_equal(got, 0);
    /* Untouched (refused before decrypting) or wiped. */
    assert_true(all_zero(back, room) || (back[0] == 0xAA && back[room - 1] == 0xAA));
    free(back);
}

static void test_seal_v2_round_trips_boundary_sizes(void **state)
{
    /* Empty, tiny, around the floor, around a power of two, the default
     * maximum chunk and the largest a configuration allows. */
    static const size_t sizes[] = {
        0,        1,        100, 4064, 4065, 4096, 1u << 20, (1u << 20) - 32, (4u << 20) + 3,
        8u << 20, 64u << 20};
    seal_keys k;
    keys(&k, 0, 1);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i], total = seal_sealed_len(n);
        uint8_t h[32];
        uint8_t *plain = pattern(n);
        uint8_t *sealed = seal_new(&k, plain, n, h);
        uint8_t *back = orc_malloc(total - SEAL_FRAME_LEN);
        size_t got = 12345;
        orc_err e = {0};
        assert_int_equal(sealed[3], SEAL_FORMAT_V2);
        assert_int_equal(seal_open(&k, h, SEAL_FORMAT_V2, sealed, total, back, &got, &e), ORC_OK);
        assert_int_equal(got, n);
        if (n) {
            assert_memory_equal(back, plain, n);
            /* The ciphertext is not the plaintext. */
            assert_memory_not_equal(sealed + SEAL_HEADER_LEN, plain, n);
        }
        /* In place, as GET and UploadPartCopy open a copy. */
        got = 0;
        assert_int_equal(
            seal_open(&k, h, SEAL_FORMAT_V2, sealed, total, sealed + SEAL_HEADER_LEN, &got, &e),
            ORC_OK);
        assert_int_equal(got, n);
        if (n) assert_memory_equal(sealed + SEAL_HEADER_LEN, plain, n);
        free(back);
        free(sealed);
        free(plain);
    }
    seal_keys_wipe(&k);
}

static void test_seal_v2_header_holds_no_length(void **state)
{
    seal_keys k;
    keys(&k, 0, 0x01020304);
    static const uint8_t want[SEAL_HEADER_LEN] = {'O', 'R', 'C', 2, 1, 2, 3, 4, 0, 0, 0, 0};
    static const size_t sizes[] = {1000, 1001, 300, (3u << 20), (3u << 20) + 4321};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t h[32];
        uint8_t *plain = pattern(sizes[i]);
        uint8_t *sealed = seal_new(&k, plain, sizes[i], h);
        assert_memory_equal(sealed, want, SEAL_HEADER_LEN);
        free(sealed);
        free(plain);
    }
    /* Lengths near each other give one sealed size. */
    assert_int_equal(seal_sealed_len(1000), seal_sealed_len(1001));
    assert_int_equal(seal_sealed_len(300), seal_sealed_len(1000));
    assert_int_equal(seal_sealed_len(3u << 20), seal_sealed_len((3u << 20) + 4321));
}

/* Padme's bounds: at least the floor and the frame, at most 12% (in fact
 * 1/16, and 1/32 from 64 KiB) above that, never decreasing. */
static void check_padding(size_t n, size_t *prev)
{
    size_t s = seal_sealed_len(n), need = n + SEAL_FRAME_LEN + SEAL_LEN_FIELD;
    size_t base = need < SEAL_PAD_FLOOR ? SEAL_PAD_FLOOR : need;
    assert_true(s >= base);
    assert_true((s - base) * 100 <= base * 12);
    assert_true((s - base) * 16 < base);
    if (need >= 65536) assert_true((s - base) * 32 < base);
    assert_true(s >= *prev);
    *prev = s;
}

static void test_seal_sealed_len_is_padme_with_a_floor(void **state)
{
    /* Known answers, cross-checked with a Python Padme. */
    assert_int_equal(seal_sealed_len(0), 4096);
    assert_int_equal(seal_sealed_len(4064), 4096);
    assert_int_equal(seal_sealed_len(4065), 4352);
    assert_int_equal(seal_sealed_len(5000), 5120);
    assert_int_equal(seal_sealed_len(1u << 20), 1081344);
    assert_int_equal(seal_sealed_len(3u << 20), 3211264);
    assert_int_equal(seal_sealed_len(8u << 20), 8650752);
    /* Every length up to 1 MiB, then a stride to the largest chunk. */
    size_t prev = 0;
    for (size_t n = 0; n <= (1u << 20); n++)
        check_padding(n, &prev);
    for (size_t n = (1u << 20); n <= (64u << 20); n += 4099)
        check_padding(n, &prev);
    /* Every length from 1 MiB to 8 MiB (the default chunk bounds): over 7
     * million lengths show as at most 97 sizes (under 7 bits), and all of
     * [0, 4064] as one. */
    size_t distinct = 1, last = seal_sealed_len(1u << 20);
    for (size_t n = (1u << 20) + 1; n <= (8u << 20); n++) {
        size_t s = seal_sealed_len(n);
        if (s != last) distinct++;
        last = s;
    }
    assert_true(distinct <= 97);
    assert_int_equal(seal_sealed_len(SEAL_PAD_FLOOR - 32), SEAL_PAD_FLOOR);
    /* The largest chunk still fits in 32 bits (chunks.sealed_len). */
    assert_true(seal_sealed_len(SEAL_MAX_PLAIN) <= UINT32_MAX);
}

static void test_seal_same_plaintext_same_ciphertext_and_name(void **state)
{
    seal_keys k1, k2;
    keys(&k1, 0, 1);
    keys(&k2, 0, 1);
    static const size_t sizes[] = {0, 1000, 4096, (1u << 20) + 7};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i];
        uint8_t h1[32], h2[32];
        uint8_t *plain = pattern(n);
        uint8_t *a = seal_new(&k1, plain, n, h1);
        uint8_t *b = seal_new(&k2, plain, n, h2);
        assert_memory_equal(h1, h2, 32);
        assert_memory_equal(a, b, seal_sealed_len(n)); /* padding included */
        char na[SEAL_NAME_LEN + 1], nb[SEAL_NAME_LEN + 1];
        seal_name(&k1, h1, na);
        seal_name(&k2, h2, nb);
        assert_string_equal(na, nb);
        free(a);
        free(b);
        free(plain);
    }
}

static void test_seal_different_master_different_ciphertext_and_name(void **state)
{
    seal_keys k1, k2;
    keys(&k1, 0, 1);
    keys(&k2, 1, 1);
    size_t n = 4096, total = seal_sealed_len(n);
    uint8_t h[32];
    uint8_t *plain = pattern(n);
    uint8_t *a = seal_new(&k1, plain, n, h);
    uint8_t *b = seal_new(&k2, plain, n, h);
    assert_memory_not_equal(a + SEAL_HEADER_LEN, b + SEAL_HEADER_LEN, total - SEAL_HEADER_LEN);
    char na[SEAL_NAME_LEN + 1], nb[SEAL_NAME_LEN + 1];
    seal_name(&k1, h, na);
    seal_name(&k2, h, nb);
    assert_string_not_equal(na, nb);

    /* And the other master cannot open it. */
    expect_corrupt(&k2, h, SEAL_FORMAT_V2, a, total);
    free(a);
    free(b);
    free(plain);
}

static void test_seal_v2_rejects_any_flipped_byte(void **state)
{
    seal_keys k;
    keys(&k, 0, 1);
    size_t n = 5000, total = seal_sealed_len(n), body = total - SEAL_FRAME_LEN;
    uint8_t h[32];
    uint8_t *plain = pattern(n);
    uint8_t *sealed = seal_new(&k, plain, n, h);
    assert_true(body - SEAL_LEN_FIELD > n + 2); /* there is padding to damage */
    /* Every header byte; the first, middle and last plaintext bytes; the
     * first, middle and last padding bytes; each length byte; the tag. */
    size_t spots[SEAL_HEADER_LEN + 12];
    size_t ns = 0, c = SEAL_HEADER_LEN;
    for (size_t i = 0; i < SEAL_HEADER_LEN; i++)
        spots[ns++] = i;
    spots[ns++] = c;
    spots[ns++] = c + n / 2;
    spots[ns++] = c + n - 1;
    spots[ns++] = c + n;
    spots[ns++] = c + (n + body - SEAL_LEN_FIELD) / 2;
    spots[ns++] = c + body - SEAL_LEN_FIELD - 1;
    for (size_t i = 0; i < SEAL_LEN_FIELD; i++)
        spots[ns++] = c + body - SEAL_LEN_FIELD + i;
    spots[ns++] = c + body;
    spots[ns++] = total - 1;
    assert_int_equal(ns, sizeof(spots) / sizeof(spots[0]));
    for (size_t i = 0; i < ns; i++) {
        sealed[spots[i]] ^= 0x01;
        expect_corrupt(&k, h, SEAL_FORMAT_V2, sealed, total);
        sealed[spots[i]] ^= 0x01;
    }
    /* Undamaged again: it opens. */
    uint8_t *back = orc_malloc(body);
    orc_err e = {0};
    size_t got;
    assert_int_equal(seal_open(&k, h, SEAL_FORMAT_V2, sealed, total, back, &got, &e), ORC_OK);
    assert_int_equal(got, n);
    free(back);
    free(sealed);
    free(plain);
}

static void test_seal_v2_failed_tag_leaves_no_plaintext(void **state)
{
    seal_keys k;
    keys(&k, 0, 1);
    size_t n = 4096, total = seal_sealed_len(n), body = total - SEAL_FRAME_LEN;
    uint8_t h[32];
    uint8_t *plain = pattern(n);
    uint8_t *sealed = seal_new(&k, plain, n, h);
    uint8_t *back = orc_malloc(body);
    sealed[total - 1] ^= 0x80; /* tag only: the ciphertext decrypts */
    memset(back, 0xAA, body);
    size_t got;
    orc_err e = {0};
    assert_int_equal(seal_open(&k, h, SEAL_FORMAT_V2, sealed, total, back, &got, &e), ORC_ECORRUPT);
    assert_true(all_zero(back, body));
    free(back);
    free(sealed);
    free(plain);
}

static void test_seal_v2_rejects_truncated_or_extended_input(void **state)
{
    seal_keys k;
    keys(&k, 0, 1);
    size_t n = 5000, total = seal_sealed_len(n);
    uint8_t h[32];
    uint8_t *plain = pattern(n);
    uint8_t *sealed = seal_new(&k, plain, n, h);
    uint8_t *longer = orc_calloc(1, total + 256);
    memcpy(longer, sealed, total);
    /* Shorter than any chunk, than the floor, a smaller padded size, one
     * byte short, the tag cut off; then one and 256 extra bytes. */
    const size_t lens[] = {0,
                           1,
                           SEAL_HEADER_LEN,
                           SEAL_FRAME_LEN - 1,
                           SEAL_FRAME_LEN,
                           SEAL_PAD_FLOOR - 1,
                           SEAL_PAD_FLOOR,
                           total - 1,
                           total - SEAL_TAG_LEN,
                           total + 1,
                           total + 256};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
        expect_corrupt(&k, h, SEAL_FORMAT_V2, longer, lens[i]);
    free(longer);
    free(sealed);
    free(plain);
}

static void test_seal_v2_rejects_wrong_hash_and_names_unknown_key_version(void **state)
{
    seal_keys k1, k7;
    keys(&k1, 0, 1);
    keys(&k7, 0, 7);
    size_t n = 100, total = seal_sealed_len(n);
    uint8_t h[32];
    uint8_t *plain = pattern(n);
    uint8_t *sealed = seal_new(&k1, plain, n, h);
    h[31] ^= 1;
    expect_corrupt(&k1, h, SEAL_FORMAT_V2, sealed, total);
    free(sealed);

    sealed = seal_new(&k7, plain, n, h);
    uint8_t *back = orc_malloc(total);
    orc_err e = {0};
    size_t got;
    assert_int_equal(seal_open(&k1, h, SEAL_FORMAT_V2, sealed, total, back, &got, &e),
                     ORC_ECORRUPT);
    assert_non_null(strstr(e.msg, "key version 7"));
    free(back);
    free(sealed);
    free(plain);
}

/* Chunks that authenticate (made with the right key) but whose body breaks
 * the format are refused too: the length must be the one the size was
 * padded for, and the padding zeros. */
static void test_seal_v2_rejects_authentic_malformed_bodies(void **state)
{
    seal_keys k;
    keys(&k, 0, 1);
    size_t n = 5000, total = seal_sealed_len(n), body_len;
    uint8_t h[32];
    uint8_t *plain = pattern(n);
    chunk_hash(plain, n, h);
    const uint8_t hdr[SEAL_HEADER_LEN] = {'O', 'R', 'C', 2, 0, 0, 0, 1, 0, 0, 0, 0};
    uint8_t *body = v2_body(plain, n, &body_len);
    uint8_t *sealed = orc_malloc(total);
    uint8_t *ours = seal_new(&k, plain, n, h);

    /* The independent sealer agrees with seal_chunk on a good body. */
    raw_seal(&k, h, "orchard chunk key v2", hdr, body, body_len, sealed);
    assert_memory_equal(sealed, ours, total);

    body[n + 10] = 1; /* padding not zero */
    raw_seal(&k, h, "orchard chunk key v2", hdr, body, body_len, sealed);
    expect_corrupt(&k, h, SEAL_FORMAT_V2, sealed, total);
    body[n + 10] = 0;

    /* Lengths padded to another size, one that is (4999) but would leave the
     * nonzero byte 4999 as padding, one running into the length field, and
     * the largest. */
    static const uint32_t bad_lens[] = {100, 4999, 6000, 5089, 0xFFFFFFFFu};
    assert_int_equal(seal_sealed_len(4999), total);
    assert_int_equal(body_len, 5092);
    assert_true(plain[4999] != 0);
    for (size_t i = 0; i < sizeof(bad_lens) / sizeof(bad_lens[0]); i++) {
        put_be32(body + body_len - SEAL_LEN_FIELD, bad_lens[i]);
        raw_seal(&k, h, "orchard chunk key v2", hdr, body, body_len, sealed);
        expect_corrupt(&k, h, SEAL_FORMAT_V2, sealed, total);
    }
    put_be32(body + body_len - SEAL_LEN_FIELD, (uint32_t)n);

    uint8_t hdr2[SEAL_HEADER_LEN];
    memcpy(hdr2, hdr, sizeof(hdr2));
    hdr2[11] = 1; /* reserved bytes, authenticated but not zero */
    raw_seal(&k, h, "orchard chunk key v2", hdr2, body, body_len, sealed);
    expect_corrupt(&k, h, SEAL_FORMAT_V2, sealed, total);

    /* The v1 key for a v2 chunk does not authenticate. */
    raw_seal(&k, h, "orchard chunk key v1", hdr, body, body_len, sealed);
    expect_corrupt(&k, h, SEAL_FORMAT_V2, sealed, total);

    /* And the good body still opens: the refusals were for these reasons. */
    raw_seal(&k, h, "orchard chunk key v2", hdr, body, body_len, sealed);
    size_t got;
    orc_err e = {0};
    assert_int_equal(
        seal_open(&k, h, SEAL_FORMAT_V2, sealed, total, sealed + SEAL_HEADER_LEN, &got, &e),
        ORC_OK);
    assert_int_equal(got, n);
    free(ours);
    free(sealed);
    free(body);
    free(plain);
}

/* Chunks stored before format v2 still open, with format 1 as the metadata
 * records them, and are checked as strictly as before. */
static void test_seal_v1_chunks_still_open(void **state)
{
    seal_keys k;
    keys(&k, 0, 1);
    static const size_t sizes[] = {0, 1, 4096, (4u << 20) + 3};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i], total = n + SEAL_FRAME_LEN;
        uint8_t h[32];
        uint8_t *plain = pattern(n);
        uint8_t *sealed = seal_v1(&k, plain, n, h);
        size_t got = 12345;
        orc_err e = {0};
        assert_int_equal(
            seal_open(&k, h, SEAL_FORMAT_V1, sealed, total, sealed + SEAL_HEADER_LEN, &got, &e),
            ORC_OK);
        assert_int_equal(got, n);
        if (n) assert_memory_equal(sealed + SEAL_HEADER_LEN, plain, n);
        free(sealed);
        free(plain);
    }

    size_t n = 1000, total = n + SEAL_FRAME_LEN;
    uint8_t h[32];
    uint8_t *plain = pattern(n);
    uint8_t *sealed = seal_v1(&k, plain, n, h);
    static const size_t spots[] = {0, 3, 4, 8, 11, 12, 500, 1011, 1012, 1027};
    for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
        sealed[spots[i]] ^= 0x01;
        expect_corrupt(&k, h, SEAL_FORMAT_V1, sealed, total);
        sealed[spots[i]] ^= 0x01;
    }
    expect_corrupt(&k, h, SEAL_FORMAT_V1, sealed, total - 1);
    expect_corrupt(&k, h, SEAL_FORMAT_V1, sealed, SEAL_FRAME_LEN - 1);
    free(sealed);
    free(plain);
}

/* The format a copy carries must be the one its chunk was recorded with: a
 * copy is never read as another format, and unknown formats are refused. */
static void test_seal_open_checks_the_recorded_format(void **state)
{
    seal_keys k;
    keys(&k, 0, 1);
    size_t n = 5000;
    uint8_t h[32];
    uint8_t *plain = pattern(n);
    uint8_t *v1 = seal_v1(&k, plain, n, h);
    uint8_t *v2 = seal_new(&k, plain, n, h);
    size_t v1_len = n + SEAL_FRAME_LEN, v2_len = seal_sealed_len(n);
    uint8_t *back = orc_malloc(v2_len);
    orc_err e = {0};
    size_t got;
    assert_int_equal(seal_open(&k, h, SEAL_FORMAT_V2, v1, v1_len, back, &got, &e), ORC_ECORRUPT);
    assert_non_null(strstr(e.msg, "format 1 where format 2"));
    assert_int_equal(seal_open(&k, h, SEAL_FORMAT_V1, v2, v2_len, back, &got, &e), ORC_ECORRUPT);
    assert_non_null(strstr(e.msg, "format 2 where format 1"));
    expect_corrupt(&k, h, 3, v2, v2_len);
    v2[3] = 3;
    expect_corrupt(&k, h, 3, v2, v2_len);
    v2[3] = 1; /* relabelled as v1: the header check or GCM refuses it */
    expect_corrupt(&k, h, SEAL_FORMAT_V1, v2, v2_len);
    v1[3] = 2; /* relabelled as v2 */
    expect_corrupt(&k, h, SEAL_FORMAT_V2, v1, v1_len);
    free(back);
    free(v1);
    free(v2);
    free(plain);
}

static void test_seal_name_is_lowercase_hex_not_the_hash(void **state)
{
    seal_keys k;
    keys(&k, 0, 1);
    uint8_t h[32];
    chunk_hash((const uint8_t *)"x", 1, h);
    char name[SEAL_NAME_LEN + 1], hh[65];
    memset(name, 'Z', sizeof(name));
    seal_name(&k, h, name);
    assert_int_equal(strlen(name), SEAL_NAME_LEN);
    for (size_t i = 0; i < SEAL_NAME_LEN; i++)
        assert_non_null(strchr("0123456789abcdef", name[i]));
    hex_encode(h, 32, hh);
    assert_string_not_equal(name, hh);
}

/* Fragment names: one per index, none equal to another or to the chunk's
 * name, none showing the hash; and the known answer (Python's hmac over
 * "orchard-fragment" | SHA-256("x") | 3 under the name key of
 * test_seal_derivations_match_known_answers). */
static void test_fragment_names_are_distinct_and_blind(void **state)
{
    (void)state;
    seal_keys k;
    keys(&k, 0, 1);
    uint8_t h[32];
    chunk_hash((const uint8_t *)"x", 1, h);
    char chunk[SEAL_NAME_LEN + 1], frag[16][SEAL_NAME_LEN + 1], hh[65], again[SEAL_NAME_LEN + 1];
    seal_name(&k, h, chunk);
    hex_encode(h, 32, hh);
    for (int i = 0; i < 16; i++) {
        seal_fragment_name(&k, h, (uint8_t)i, frag[i]);
        assert_int_equal(strlen(frag[i]), SEAL_NAME_LEN);
        for (size_t j = 0; j < SEAL_NAME_LEN; j++)
            assert_non_null(strchr("0123456789abcdef", frag[i][j]));
        assert_string_not_equal(frag[i], chunk);
        assert_string_not_equal(frag[i], hh);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(frag[i], frag[j]);
    }
    seal_fragment_name(&k, h, 3, again);
    assert_string_equal(again, frag[3]);
    assert_string_equal(frag[3],
                        "0cc1da84fd930baccc0e89893071b5e112cd34ee780bec4073aace2f47c6b7f1");
    seal_keys_wipe(&k);
}

/* Computed once, and cross-checked against an independent implementation
 * (Python's hashlib, hmac and cryptography's HKDF and AESGCM, with a Python
 * Padme for v2). If any of these
 * change, every stored chunk and secret becomes unreadable or unfindable. */
static void test_seal_derivations_match_known_answers(void **state)
{
    seal_keys k;
    keys(&k, 0, 1); /* master 00 01 .. 1f */
    char hex[2 * 64 + 1];
    hex_encode(k.name_key, 32, hex);
    assert_string_equal(hex, "5b47008ed2a0fcdc02e508417916a4b2b199259557c2718ef1a3a781b2b3a96c");
    hex_encode(k.secret_key, 32, hex);
    assert_string_equal(hex, "6419631d29442bbc8eeaf491be872dff4cb79014809b78ed83dd6f9d96e48b97");

    const char *pt = "orchard chunk";
    size_t n = strlen(pt);
    uint8_t h[32];
    chunk_hash((const uint8_t *)pt, n, h);
    hex_encode(h, 32, hex);
    assert_string_equal(hex, "dda3609e2d8372373fc1917d4b6bd3e2a3358aa0fdd856ee06d90f49a329ceef");
    char name[SEAL_NAME_LEN + 1];
    seal_name(&k, h, name);
    assert_string_equal(name, "22466fed42076092caf0a3932fb7170e65a2ab63224f28d20a0f4e982e1bea14");

    /* Format v1, as the code before v2 sealed it: the test's v1 sealer
     * reproduces it, and it opens. */
    static const char v1_hex[] =
        "4f524301000000010000000d3f9a2dc50c8299b2010a6681b7fa446b52997b9b64"
        "ffd406ca5e7b9c0c";
    uint8_t v1[13 + SEAL_FRAME_LEN], back[64];
    assert_int_equal(strlen(v1_hex), 2 * sizeof(v1));
    assert_int_equal(hex_decode(v1_hex, sizeof(v1), v1), 0);
    uint8_t h1[32];
    uint8_t *ours = seal_v1(&k, (const uint8_t *)pt, n, h1);
    assert_memory_equal(ours, v1, sizeof(v1));
    free(ours);
    size_t got;
    orc_err e = {0};
    assert_int_equal(seal_open(&k, h, SEAL_FORMAT_V1, v1, sizeof(v1), back, &got, &e), ORC_OK);
    assert_int_equal(got, n);
    assert_memory_equal(back, pt, n);

    /* Format v2: 4096 bytes, pinned by its start, its tag and its SHA-256. */
    uint8_t *sealed = seal_new(&k, (const uint8_t *)pt, n, h);
    assert_int_equal(seal_sealed_len(n), 4096);
    hex_encode(sealed, 32, hex);
    assert_string_equal(hex, "4f524302000000010000000006ba6ec25c2fb3d45e69287762bb182a4538235d");
    hex_encode(sealed + 4096 - 16, 16, hex);
    assert_string_equal(hex, "cff66298ef7cfb55374a0fe60785e614");
    uint8_t digest[32];
    chunk_hash(sealed, 4096, digest);
    hex_encode(digest, 32, hex);
    assert_string_equal(hex, "b25f46dd567025ae233816f772700fe3ac306082a91480955d877a29d390c21f");
    free(sealed);
}

static void test_seal_keys_wipe_clears_key_material(void **state)
{
    seal_keys k;
    keys(&k, 1, 1);
    seal_keys_wipe(&k);
    assert_true(all_zero((const uint8_t *)&k, sizeof(k)));
}

static void test_seal_secret_round_trips_with_random_nonce(void **state)
{
    seal_keys k;
    keys(&k, 0, 1);
    const char *secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    size_t n = strlen(secret), total = n + SEAL_SECRET_OVERHEAD;
    uint8_t a[128], b[128], back[128];
    orc_err e = {0};
    assert_int_equal(seal_secret(&k, (const uint8_t *)secret, n, a, &e), ORC_OK);
    assert_int_equal(seal_secret(&k, (const uint8_t *)secret, n, b, &e), ORC_OK);
    assert_memory_not_equal(a, b, total);
    assert_int_equal(seal_secret_open(&k, a, total, back, &e), ORC_OK);
    assert_memory_equal(back, secret, n);
    assert_int_equal(seal_secret_open(&k, b, total, back, &e), ORC_OK);
    assert_memory_equal(back, secret, n);

    /* Empty secrets work too. */
    assert_int_equal(seal_secret(&k, (const uint8_t *)"", 0, a, &e), ORC_OK);
    assert_int_equal(seal_secret_open(&k, a, SEAL_SECRET_OVERHEAD, back, &e), ORC_OK);
}

static void test_seal_secret_open_rejects_tamper_and_truncation(void **state)
{
    seal_keys k, other;
    keys(&k, 0, 1);
    keys(&other, 9, 1);
    const char *secret = "s3cr3t-key-material";
    size_t n = strlen(secret), total = n + SEAL_SECRET_OVERHEAD;
    uint8_t s[64], back[64];
    orc_err e = {0};
    assert_int_equal(seal_secret(&k, (const uint8_t *)secret, n, s, &e), ORC_OK);
    static const size_t spots[] = {0, 11, 12, 20, 30, 46};
    for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
        assert_true(spots[i] < total);
        s[spots[i]] ^= 0x40;
        memset(back, 0xAA, sizeof(back));
        assert_int_equal(seal_secret_open(&k, s, total, back, &e), ORC_ECORRUPT);
        assert_memory_not_equal(back, secret, n);
        s[spots[i]] ^= 0x40;
    }
    assert_int_equal(seal_secret_open(&k, s, total - 1, back, &e), ORC_ECORRUPT);
    assert_int_equal(seal_secret_open(&k, s, SEAL_SECRET_OVERHEAD - 1, back, &e), ORC_ECORRUPT);
    assert_int_equal(seal_secret_open(&k, s, 0, back, &e), ORC_ECORRUPT);
    assert_int_equal(seal_secret_open(&other, s, total, back, &e), ORC_ECORRUPT);
    assert_int_equal(seal_secret_open(&k, s, total, back, &e), ORC_OK);
    assert_memory_equal(back, secret, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seal_v2_round_trips_boundary_sizes),
        cmocka_unit_test(test_seal_v2_header_holds_no_length),
        cmocka_unit_test(test_seal_sealed_len_is_padme_with_a_floor),
        cmocka_unit_test(test_seal_same_plaintext_same_ciphertext_and_name),
        cmocka_unit_test(test_seal_different_master_different_ciphertext_and_name),
        cmocka_unit_test(test_seal_v2_rejects_any_flipped_byte),
        cmocka_unit_test(test_seal_v2_failed_tag_leaves_no_plaintext),
        cmocka_unit_test(test_seal_v2_rejects_truncated_or_extended_input),
        cmocka_unit_test(test_seal_v2_rejects_wrong_hash_and_names_unknown_key_version),
        cmocka_unit_test(test_seal_v2_rejects_authentic_malformed_bodies),
        cmocka_unit_test(test_seal_v1_chunks_still_open),
        cmocka_unit_test(test_seal_open_checks_the_recorded_format),
        cmocka_unit_test(test_seal_name_is_lowercase_hex_not_the_hash),
        cmocka_unit_test(test_fragment_names_are_distinct_and_blind),
        cmocka_unit_test(test_seal_derivations_match_known_answers),
        cmocka_unit_test(test_seal_keys_wipe_clears_key_material),
        cmocka_unit_test(test_seal_secret_round_trips_with_random_nonce),
        cmocka_unit_test(test_seal_secret_open_rejects_tamper_and_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
