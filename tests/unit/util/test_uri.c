/* uri_encode / uri_decode: the AWS flavour of percent-encoding that SigV4's
 * canonical URI and canonical query depend on byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/uri.h"

static void expect_encode(const char *in, size_t n, bool keep_slash, const char *want)
{
    orc_buf b;
    orc_err e;
    orc_buf_init(&b, 0);
    assert_int_equal(uri_encode(&b, in, n, keep_slash, &e), ORC_OK);
    assert_int_equal(b.len, strlen(want));
    assert_string_equal((const char *)b.ptr, want);
    orc_buf_dispose(&b);
}

static void expect_decode(const char *in, const char *want, size_t want_len)
{
    orc_buf b;
    orc_err e;
    orc_buf_init(&b, 0);
    assert_int_equal(uri_decode(&b, in, strlen(in), &e), ORC_OK);
    assert_int_equal(b.len, want_len);
    assert_memory_equal(b.ptr, want, want_len);
    orc_buf_dispose(&b);
}

static void expect_decode_rejected(const char *in)
{
    orc_buf b;
    orc_err e = {0};
    orc_buf_init(&b, 0);
    assert_int_equal(orc_buf_puts(&b, "kept", &e), ORC_OK);
    assert_int_equal(uri_decode(&b, in, strlen(in), &e), ORC_EINVAL);
    assert_int_equal(e.code, ORC_EINVAL);
    /* a rejected input leaves what was there untouched */
    assert_int_equal(b.len, 4);
    assert_string_equal((const char *)b.ptr, "kept");
    orc_buf_dispose(&b);
}

static void test_encode_keeps_unreserved_characters(void **state)
{
    const char *u = "ABCXYZabcxyz0189-._~";
    expect_encode(u, strlen(u), false, u);
}

static void test_encode_escapes_reserved_with_uppercase_hex(void **state)
{
    const char *in = " !\"#$&'()*+,:;<=>?@[]^`{|}%";
    expect_encode(in, strlen(in), false,
                  "%20%21%22%23%24%26%27%28%29%2A%2B%2C%3A%3B%3C%3D%3E%3F%40%5B%5D%5E%60%7B%7C"
                  "%7D%25");
}

static void test_encode_escapes_each_utf8_byte(void **state)
{
    expect_encode("caf\xc3\xa9 \xe2\x82\xac", 9, false, "caf%C3%A9%20%E2%82%AC");
}

static void test_encode_slash_kept_only_with_keep_slash(void **state)
{
    expect_encode("/a/b c/", 7, true, "/a/b%20c/");
    expect_encode("/a/b c/", 7, false, "%2Fa%2Fb%20c%2F");
}

static void test_encode_handles_nul_and_high_bytes(void **state)
{
    expect_encode("a\0b\xff\x7f", 5, false, "a%00b%FF%7F");
}

static void test_encode_empty_input_gives_empty_string(void **state)
{
    expect_encode("", 0, true, "");
}

static void test_encode_appends_after_existing_content(void **state)
{
    orc_buf b;
    orc_err e;
    orc_buf_init(&b, 0);
    assert_int_equal(orc_buf_puts(&b, "x=", &e), ORC_OK);
    assert_int_equal(uri_encode(&b, "a b", 3, false, &e), ORC_OK);
    assert_string_equal((const char *)b.ptr, "x=a%20b");
    orc_buf_dispose(&b);
}

static void test_encode_over_buffer_ceiling_fails_and_leaves_buffer(void **state)
{
    orc_buf b;
    orc_err e;
    orc_buf_init(&b, 8);
    assert_int_equal(orc_buf_puts(&b, "ab", &e), ORC_OK);
    /* 3 bytes of input, 9 of output: past the 8-byte ceiling */
    assert_int_equal(uri_encode(&b, "   ", 3, false, &e), ORC_ENOSPC);
    assert_int_equal(b.len, 2);
    assert_string_equal((const char *)b.ptr, "ab");
    orc_buf_dispose(&b);
}

static void test_decode_accepts_either_hex_case(void **state)
{
    expect_decode("%41%62%2f%2F", "Ab//", 4);
}

static void test_decode_keeps_plus_as_plus(void **state)
{
    expect_decode("a+b%2Bc", "a+b+c", 5);
}

static void test_decode_utf8_and_nul_bytes(void **state)
{
    expect_decode("%E2%82%AC%00x", "\xe2\x82\xac\0x", 5);
}

static void test_decode_passes_unescaped_bytes_through(void **state)
{
    expect_decode("/a b/~c", "/a b/~c", 7);
}

static void test_decode_rejects_non_hex_escape(void **state)
{
    expect_decode_rejected("%zz");
    expect_decode_rejected("a%4gb");
    expect_decode_rejected("%G0");
}

static void test_decode_rejects_truncated_escape(void **state)
{
    expect_decode_rejected("%4");
    expect_decode_rejected("abc%");
    expect_decode_rejected("%");
}

static void test_decode_of_encode_roundtrips_every_byte(void **state)
{
    char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (char)i;
    orc_buf enc, dec;
    orc_err e;
    orc_buf_init(&enc, 0);
    orc_buf_init(&dec, 0);
    assert_int_equal(uri_encode(&enc, all, sizeof(all), false, &e), ORC_OK);
    assert_int_equal(uri_decode(&dec, (const char *)enc.ptr, enc.len, &e), ORC_OK);
    assert_int_equal(dec.len, 256);
    assert_memory_equal(dec.ptr, all, 256);
    orc_buf_dispose(&enc);
    orc_buf_dispose(&dec);
}

/* A key or query value with %00 would be cut short as a C string and name
 * another object ("victim%00evil" -> "victim"): the text variant refuses it. */
static void test_decode_text_refuses_encoded_nul(void **state)
{
    const char *bad[] = {"victim%00evil", "%00", "a%00", "%E2%82%AC%00x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        orc_buf b;
        orc_err e = {0};
        orc_buf_init(&b, 0);
        assert_int_equal(orc_buf_puts(&b, "kept", &e), ORC_OK);
        assert_int_equal(uri_decode_text(&b, bad[i], strlen(bad[i]), &e), ORC_EINVAL);
        assert_int_equal(b.len, 4);
        orc_buf_dispose(&b);
    }
}

static void test_decode_text_refuses_raw_nul(void **state)
{
    orc_buf b;
    orc_err e = {0};
    orc_buf_init(&b, 0);
    assert_int_equal(uri_decode_text(&b, "ab\0c", 4, &e), ORC_EINVAL);
    orc_buf_dispose(&b);
}

static void test_decode_text_accepts_what_decode_accepts_without_nul(void **state)
{
    orc_buf b;
    orc_err e = {0};
    orc_buf_init(&b, 0);
    assert_int_equal(uri_decode_text(&b, "%E2%82%AC%01%10x%2F", 19, &e), ORC_OK);
    assert_int_equal(b.len, 7);
    assert_memory_equal(b.ptr, "\xe2\x82\xac\x01\x10x/", 7);
    orc_buf_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_keeps_unreserved_characters),
        cmocka_unit_test(test_encode_escapes_reserved_with_uppercase_hex),
        cmocka_unit_test(test_encode_escapes_each_utf8_byte),
        cmocka_unit_test(test_encode_slash_kept_only_with_keep_slash),
        cmocka_unit_test(test_encode_handles_nul_and_high_bytes),
        cmocka_unit_test(test_encode_empty_input_gives_empty_string),
        cmocka_unit_test(test_encode_appends_after_existing_content),
        cmocka_unit_test(test_encode_over_buffer_ceiling_fails_and_leaves_buffer),
        cmocka_unit_test(test_decode_accepts_either_hex_case),
        cmocka_unit_test(test_decode_keeps_plus_as_plus),
        cmocka_unit_test(test_decode_utf8_and_nul_bytes),
        cmocka_unit_test(test_decode_passes_unescaped_bytes_through),
        cmocka_unit_test(test_decode_rejects_non_hex_escape),
        cmocka_unit_test(test_decode_rejects_truncated_escape),
        cmocka_unit_test(test_decode_of_encode_roundtrips_every_byte),
        cmocka_unit_test(test_decode_text_refuses_encoded_nul),
        cmocka_unit_test(test_decode_text_refuses_raw_nul),
        cmocka_unit_test(test_decode_text_accepts_what_decode_accepts_without_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
