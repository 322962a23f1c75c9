/* Convergent chunk sealing, chunk names and secret sealing: round trips,
 * dedup, tamper detection, and known answers that pin every derivation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

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

/* Seals plain and returns a fresh buffer of len + SEAL_OVERHEAD bytes. */
static uint8_t *seal_new(const seal_keys *k, const uint8_t *plain, size_t len, uint8_t h[32])
{
    orc_err e = {0};
    uint8_t *out = orc_malloc(len + SEAL_OVERHEAD);
    chunk_hash(plain, len, h);
    assert_int_equal(seal_chunk(k, h, plain, len, out, &e), ORC_OK);
    return out;
}

static void test_seal_round_trips_boundary_sizes(void **state)
{
    static const size_t sizes[] = {0, 1, 4096, (4u << 20) + 3};
    seal_keys k;
    keys(&k, 0, 1);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i];
        uint8_t h[32];
        uint8_t *plain = pattern(n);
        uint8_t *sealed = seal_new(&k, plain, n, h);
        uint8_t *back = orc_malloc(n ? n : 1);
        size_t got = 12345;
        orc_err e = {0};
        assert_int_equal(seal_open(&k, h, sealed, n + SEAL_OVERHEAD, back, &got, &e), ORC_OK);
        assert_int_equal(got, n);
        if (n) {
            assert_memory_equal(back, plain, n);
            /* The ciphertext is not the plaintext. */
            assert_memory_not_equal(sealed + SEAL_HEADER_LEN, plain, n);
        }
        free(back);
        free(sealed);
        free(plain);
    }
    seal_keys_wipe(&k);
}

static void test_seal_header_is_format_v1(void **state)
{
    seal_keys k;
    keys(&k, 0, 0x01020304);
    uint8_t h[32];
    uint8_t *plain = pattern(300);
    uint8_t *sealed = seal_new(&k, plain, 300, h);
    static const uint8_t want[SEAL_HEADER_LEN] = {'O', 'R', 'C', 1, 1, 2, 3, 4, 0, 0, 1, 44};
    assert_memory_equal(sealed, want, SEAL_HEADER_LEN);
    free(sealed);
    free(plain);
}

static void test_seal_same_plaintext_same_ciphertext_and_name(void **state)
{
    seal_keys k1, k2;
    keys(&k1, 0, 1);
    keys(&k2, 0, 1);
    size_t n = 4096;
    uint8_t h1[32], h2[32];
    uint8_t *plain = pattern(n);
    uint8_t *a = seal_new(&k1, plain, n, h1);
    uint8_t *b = seal_new(&k2, plain, n, h2);
    assert_memory_equal(h1, h2, 32);
    assert_memory_equal(a, b, n + SEAL_OVERHEAD);
    char na[SEAL_NAME_LEN + 1], nb[SEAL_NAME_LEN + 1];
    seal_name(&k1, h1, na);
    seal_name(&k2, h2, nb);
    assert_string_equal(na, nb);
    free(a);
    free(b);
    free(plain);
}

static void test_seal_different_master_different_ciphertext_and_name(void **state)
{
    seal_keys k1, k2;
    keys(&k1, 0, 1);
    keys(&k2, 1, 1);
    size_t n = 4096;
    uint8_t h[32];
    uint8_t *plain = pattern(n);
    uint8_t *a = seal_new(&k1, plain, n, h);
    uint8_t *b = seal_new(&k2, plain, n, h);
    assert_memory_not_equal(a + SEAL_HEADER_LEN, b + SEAL_HEADER_LEN, n + SEAL_TAG_LEN);
    char na[SEAL_NAME_LEN + 1], nb[SEAL_NAME_LEN + 1];
    seal_name(&k1, h, na);
    seal_name(&k2, h, nb);
    assert_string_not_equal(na, nb);

    /* And the other master cannot open it. */
    uint8_t *back = orc_malloc(n);
    size_t got;
    orc_err e = {0};
    assert_int_equal(seal_open(&k2, h, a, n + SEAL_OVERHEAD, back, &got, &e), ORC_ECORRUPT);
    free(back);
    free(a);
    free(b);
    free(plain);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

static void test_seal_open_rejects_any_flipped_byte(void **state)
{
    seal_keys k;
    keys(&k, 0, 1);
    size_t n = 1000, total = n + SEAL_OVERHEAD;
    uint8_t h[32];
    uint8_t *plain = pattern(n);
    uint8_t *sealed = seal_new(&k, plain, n, h);
    uint8_t *back = orc_malloc(n);
    /* Every header byte, the first, middle and last ciphertext bytes, and
     * the first and last tag bytes. */
    size_t spots[SEAL_HEADER_LEN + 5];
    for (size_t i = 0; i < SEAL_HEADER_LEN; i++)
        spots[i] = i;
    spots[SEAL_HEADER_LEN + 0] = SEAL_HEADER_LEN;
    spots[SEAL_HEADER_LEN + 1] = SEAL_HEADER_LEN + n / 2;
    spots[SEAL_HEADER_LEN + 2] = SEAL_HEADER_LEN + n - 1;
    spots[SEAL_HEADER_LEN + 3] = SEAL_HEADER_LEN + n;
    spots[SEAL_HEADER_LEN + 4] = total - 1;
    for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
        orc_err e = {0};
        size_t got = 99;
        memset(back, 0xAA, n);
        sealed[spots[i]] ^= 0x01;
        assert_int_equal(seal_open(&k, h, sealed, total, back, &got, &e), ORC_ECORRUPT);
        assert_int_equal(e.code, ORC_ECORRUPT);
        assert_true(e.msg[0] != '\0');
        assert_int_equal(got, 0);
        /* Nothing decrypted from a bad copy may be left behind. */
        assert_true(all_zero(back, n) || (back[0] == 0xAA && back[n - 1] == 0xAA));
        sealed[spots[i]] ^= 0x01;
    }
    /* Undamaged again: it opens. */
    orc_err e = {0};
    size_t got;
    assert_int_equal(seal_open(&k, h, sealed, total, back, &got, &e), ORC_OK);
    free(back);
    free(sealed);
    free(plain);
}

static void test_seal_open_failed_tag_leaves_no_plaintext(void **state)
{
    seal_keys k;
    keys(&k, 0, 1);
    size_t n = 4096;
    uint8_t h[32];
    uint8_t *plain = pattern(n);
    uint8_t *sealed = seal_new(&k, plain, n, h);
    uint8_t *back = orc_malloc(n);
    sealed[n + SEAL_OVERHEAD - 1] ^= 0x80; /* tag only: the ciphertext decrypts */
    memset(back, 0xAA, n);
    size_t got;
    orc_err e = {0};
    assert_int_equal(seal_open(&k, h, sealed, n + SEAL_OVERHEAD, back, &got, &e), ORC_ECORRUPT);
    assert_true(all_zero(back, n));
    free(back);
    free(sealed);
    free(plain);
}

static void test_seal_open_rejects_truncated_input(void **state)
{
    seal_keys k;
    keys(&k, 0, 1);
    size_t n = 100;
    uint8_t h[32];
    uint8_t *plain = pattern(n);
    uint8_t *sealed = seal_new(&k, plain, n, h);
    uint8_t *back = orc_malloc(n);
    static const size_t lens[] = {
        0, 1, SEAL_HEADER_LEN, SEAL_OVERHEAD - 1, SEAL_OVERHEAD, SEAL_OVERHEAD + 99};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        orc_err e = {0};
        size_t got;
        assert_int_equal(seal_open(&k, h, sealed, lens[i], back, &got, &e), ORC_ECORRUPT);
        assert_true(e.msg[0] != '\0');
    }
    free(back);
    free(sealed);
    free(plain);
}

static void test_seal_open_rejects_wrong_hash(void **state)
{
    seal_keys k;
    keys(&k, 0, 1);
    size_t n = 100;
    uint8_t h[32];
    uint8_t *plain = pattern(n);
    uint8_t *sealed = seal_new(&k, plain, n, h);
    uint8_t *back = orc_malloc(n);
    h[31] ^= 1;
    orc_err e = {0};
    size_t got;
    assert_int_equal(seal_open(&k, h, sealed, n + SEAL_OVERHEAD, back, &got, &e), ORC_ECORRUPT);
    free(back);
    free(sealed);
    free(plain);
}

static void test_seal_open_names_unknown_key_version(void **state)
{
    seal_keys k1, k7;
    keys(&k1, 0, 1);
    keys(&k7, 0, 7);
    size_t n = 10;
    uint8_t h[32];
    uint8_t *plain = pattern(n);
    uint8_t *sealed = seal_new(&k7, plain, n, h);
    uint8_t back[10];
    orc_err e = {0};
    size_t got;
    assert_int_equal(seal_open(&k1, h, sealed, n + SEAL_OVERHEAD, back, &got, &e), ORC_ECORRUPT);
    assert_non_null(strstr(e.msg, "key version 7"));
    free(sealed);
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

/* Computed once, and cross-checked against an independent implementation
 * (Python's hashlib, hmac and cryptography's HKDF and AESGCM). If any of these
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
    uint8_t *sealed = seal_new(&k, (const uint8_t *)pt, n, h);
    hex_encode(h, 32, hex);
    assert_string_equal(hex, "dda3609e2d8372373fc1917d4b6bd3e2a3358aa0fdd856ee06d90f49a329ceef");
    char name[SEAL_NAME_LEN + 1];
    seal_name(&k, h, name);
    assert_string_equal(name, "22466fed42076092caf0a3932fb7170e65a2ab63224f28d20a0f4e982e1bea14");
    hex_encode(sealed, n + SEAL_OVERHEAD, hex);
    assert_string_equal(hex, "4f524301000000010000000d3f9a2dc50c8299b2010a6681b7fa446b52997b9b64"
                             "ffd406ca5e7b9c0c");
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
        cmocka_unit_test(test_seal_round_trips_boundary_sizes),
        cmocka_unit_test(test_seal_header_is_format_v1),
        cmocka_unit_test(test_seal_same_plaintext_same_ciphertext_and_name),
        cmocka_unit_test(test_seal_different_master_different_ciphertext_and_name),
        cmocka_unit_test(test_seal_open_rejects_any_flipped_byte),
        cmocka_unit_test(test_seal_open_failed_tag_leaves_no_plaintext),
        cmocka_unit_test(test_seal_open_rejects_truncated_input),
        cmocka_unit_test(test_seal_open_rejects_wrong_hash),
        cmocka_unit_test(test_seal_open_names_unknown_key_version),
        cmocka_unit_test(test_seal_name_is_lowercase_hex_not_the_hash),
        cmocka_unit_test(test_seal_derivations_match_known_answers),
        cmocka_unit_test(test_seal_keys_wipe_clears_key_material),
        cmocka_unit_test(test_seal_secret_round_trips_with_random_nonce),
        cmocka_unit_test(test_seal_secret_open_rejects_tamper_and_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
