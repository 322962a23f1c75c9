/* Unit tests for the Azure Blob provider (src/provider/azure.c) that need no
 * network: the Shared Key string-to-sign and signature against known answers
 * (computed independently from the Azure spec with Python's hmac/base64),
 * account key decoding, and config validation at open. The requests
 * themselves are exercised against Azurite by test_azure_live.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "provider/azure_sign.h"
#include "provider/provider.h"

/* Azurite's well-known emulator key (public, in its README). */
#define EMU_KEY                                                                                    \
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define DATE "x-ms-date: Wed, 25 Nov 2026 15:01:30 GMT"

static uint8_t key[AZURE_KEY_MAX];
static size_t keylen;

static int setup_key(void **state)
{
    int n = azure_key_decode(EMU_KEY, key, sizeof(key));
    assert_int_equal(n, 64);
    keylen = (size_t)n;
    return 0;
}

/* Builds the string-to-sign and checks it and its signature. */
static void check(const char *method, const char *const *hdrs, uint64_t clen, const char *account,
                  const char *path, const azure_param *q, size_t nq, const char *want_sts,
                  const char *want_sig)
{
    orc_buf sts;
    orc_buf_init(&sts, 0);
    orc_err e = {0};
    assert_int_equal(azure_string_to_sign(method, hdrs, clen, account, path, q, nq, &sts, &e),
                     ORC_OK);
    assert_string_equal((const char *)sts.ptr, want_sts);
    char sig[AZURE_SIG_LEN + 1];
    assert_int_equal(azure_sign(key, keylen, (const char *)sts.ptr, sts.len, sig, &e), ORC_OK);
    assert_string_equal(sig, want_sig);
    orc_buf_dispose(&sts);
}

static void test_put_blob_string_to_sign_and_signature_match_spec(void **state)
{
    const char *hdrs[] = {DATE, "x-ms-version: 2021-08-06", "x-ms-blob-type: BlockBlob",
                          "Content-Type: application/octet-stream", NULL};
    check("PUT", hdrs, 11, "devstoreaccount1", "/devstoreaccount1/orchard/chunks/3fa2", NULL, 0,
          "PUT\n\n\n11\n\napplication/octet-stream\n\n\n\n\n\n\n"
          "x-ms-blob-type:BlockBlob\n"
          "x-ms-date:Wed, 25 Nov 2026 15:01:30 GMT\n"
          "x-ms-version:2021-08-06\n"
          "/devstoreaccount1/devstoreaccount1/orchard/chunks/3fa2",
          "R/IH2SSlAFxxSbGA8y0OtMmhZ43y3ih0h3kAqxM2+qI=");
}

static void test_list_params_are_lowercased_sorted_and_decoded(void **state)
{
    const char *hdrs[] = {"x-ms-version: 2021-08-06", DATE, NULL};
    azure_param q[] = {{"restype", "container"},
                       {"comp", "list"},
                       {"MaxResults", "2"},
                       {"marker", "2!80!MDAw/x y"}};
    check("GET", hdrs, 0, "myaccount", "/orchard", q, 4,
          "GET\n\n\n\n\n\n\n\n\n\n\n\n"
          "x-ms-date:Wed, 25 Nov 2026 15:01:30 GMT\n"
          "x-ms-version:2021-08-06\n"
          "/myaccount/orchard\ncomp:list\nmarker:2!80!MDAw/x y\nmaxresults:2\nrestype:container",
          "UhHCseJIUP/kJQa9r9udM0cMCFaAyzB7rELIacqW6u0=");
}

static void test_ms_header_names_lowercased_values_trimmed(void **state)
{
    const char *hdrs[] = {DATE, "X-MS-Range:   bytes=0-99  ", "x-ms-version:2021-08-06", NULL};
    check("GET", hdrs, 0, "myaccount", "/orchard/abc", NULL, 0,
          "GET\n\n\n\n\n\n\n\n\n\n\n\n"
          "x-ms-date:Wed, 25 Nov 2026 15:01:30 GMT\n"
          "x-ms-range:bytes=0-99\n"
          "x-ms-version:2021-08-06\n"
          "/myaccount/orchard/abc",
          "e5KqHVr1hUM6lgjZZKFkSMqLxwbLYLzRpgLOKDy3Gzo=");
}

static void test_zero_content_length_and_unsigned_headers_leave_fields_empty(void **state)
{
    /* curl's own headers (Expect, User-Agent) are not part of the signature. */
    const char *hdrs[] = {DATE, "Expect: 100-continue", "User-Agent: orchard", NULL};
    orc_buf sts;
    orc_buf_init(&sts, 0);
    orc_err e = {0};
    assert_int_equal(azure_string_to_sign("PUT", hdrs, 0, "acct", "/c/b", NULL, 0, &sts, &e),
                     ORC_OK);
    assert_string_equal((const char *)sts.ptr, "PUT\n\n\n\n\n\n\n\n\n\n\n\n"
                                               "x-ms-date:Wed, 25 Nov 2026 15:01:30 GMT\n"
                                               "/acct/c/b");
    orc_buf_dispose(&sts);
}

static void test_duplicate_ms_header_is_rejected(void **state)
{
    const char *hdrs[] = {DATE, "x-ms-date: Thu, 26 Nov 2026 15:01:30 GMT", NULL};
    orc_buf sts;
    orc_buf_init(&sts, 0);
    orc_err e = {0};
    assert_int_equal(azure_string_to_sign("GET", hdrs, 0, "acct", "/c", NULL, 0, &sts, &e),
                     ORC_EINVAL);
    orc_buf_dispose(&sts);
}

static void test_key_decode_is_strict(void **state)
{
    uint8_t out[AZURE_KEY_MAX];
    assert_int_equal(azure_key_decode("AAECAw==", out, sizeof(out)), 4);
    assert_memory_equal(out, "\x00\x01\x02\x03", 4);
    assert_int_equal(azure_key_decode("AAECAwQ=", out, sizeof(out)), 5);
    assert_int_equal(azure_key_decode("", out, sizeof(out)), -1);
    assert_int_equal(azure_key_decode("AAECA", out, sizeof(out)), -1);    /* length */
    assert_int_equal(azure_key_decode("AA=CAw==", out, sizeof(out)), -1); /* inner '=' */
    assert_int_equal(azure_key_decode("AAEC Aw=", out, sizeof(out)), -1); /* space */
    assert_int_equal(azure_key_decode("AAECAw==", out, 3), -1);           /* too long */
}

/* ---- config validation at open (no network without create_container) ---- */

static int open_kv(const provider_kv *kv, size_t n, orc_err *e)
{
    provider *p = NULL;
    int rc = provider_open("azure", "azure-west", kv, n, &p, e);
    if (rc == ORC_OK) {
        assert_non_null(p);
        assert_string_equal(provider_name(p), "azure-west");
        assert_true(provider_caps(p) & PROVIDER_CAP_RANGE);
        provider_free(p);
    }
    return rc;
}

static void test_open_accepts_key_or_sas_without_network(void **state)
{
    orc_err e = {0};
    provider_kv k[] = {{"account", "devstoreaccount1"},
                       {"container", "orchard-chunks"},
                       {"key", EMU_KEY},
                       {"endpoint", "http://127.0.0.1:1/devstoreaccount1/"},
                       {"prefix", "store/a/"}};
    assert_int_equal(open_kv(k, 5, &e), ORC_OK);
    provider_kv s[] = {{"account", "myaccount"}, {"container", "abc"}, {"sas", "?sv=x&sig=y"}};
    assert_int_equal(open_kv(s, 3, &e), ORC_OK);
}

static void test_open_rejects_missing_or_bad_account_and_container(void **state)
{
    orc_err e = {0};
    provider_kv k[] = {{"container", "abc"}, {"key", EMU_KEY}, {"account", "acct"}};
    assert_int_equal(open_kv(k, 2, &e), ORC_EINVAL);
    assert_non_null(strstr(e.msg, "'account'"));
    static const char *const bad[] = {"ab", "Abc", "a--b", "-ab", "ab-", "a_b", NULL};
    for (size_t i = 0; bad[i]; i++) {
        k[0].value = bad[i];
        e.msg[0] = 0;
        assert_int_equal(open_kv(k, 3, &e), ORC_EINVAL);
        assert_non_null(strstr(e.msg, "'container'"));
    }
    char longname[70];
    memset(longname, 'a', 64);
    longname[64] = 0;
    k[0].value = longname;
    assert_int_equal(open_kv(k, 3, &e), ORC_EINVAL);
    longname[63] = 0;
    assert_int_equal(open_kv(k, 3, &e), ORC_OK);
}

static void test_open_wants_exactly_one_credential(void **state)
{
    orc_err e = {0};
    provider_kv none[] = {{"account", "acct"}, {"container", "abc"}};
    assert_int_equal(open_kv(none, 2, &e), ORC_EINVAL);
    assert_non_null(strstr(e.msg, "exactly one"));
    provider_kv both[] = {
        {"account", "acct"}, {"container", "abc"}, {"key", EMU_KEY}, {"sas", "sv=x&sig=y"}};
    assert_int_equal(open_kv(both, 4, &e), ORC_EINVAL);
}

static void test_open_bad_key_message_holds_no_secret(void **state)
{
    orc_err e = {0};
    provider_kv k[] = {{"account", "acct"}, {"container", "abc"}, {"key", "SECRETVALUE!"}};
    assert_int_equal(open_kv(k, 3, &e), ORC_EINVAL);
    assert_non_null(strstr(e.msg, "not valid base64"));
    assert_null(strstr(e.msg, "SECRETVALUE"));
}

static void test_open_reads_key_env_and_names_unset_variable(void **state)
{
    orc_err e = {0};
    provider_kv k[] = {{"account", "acct"}, {"container", "abc"}, {"key_env", "ORC_TEST_AZ_KEY"}};
    unsetenv("ORC_TEST_AZ_KEY");
    assert_int_equal(open_kv(k, 3, &e), ORC_EINVAL);
    assert_non_null(strstr(e.msg, "ORC_TEST_AZ_KEY"));
    setenv("ORC_TEST_AZ_KEY", EMU_KEY, 1);
    assert_int_equal(open_kv(k, 3, &e), ORC_OK);
    provider_kv s[] = {
        {"account", "acct"}, {"container", "abc"}, {"sas_env", "ORC_TEST_AZ_KEY"}, {"sas", "sv=1"}};
    assert_int_equal(open_kv(s, 4, &e), ORC_EINVAL); /* sas and sas_env */
    assert_int_equal(open_kv(s, 3, &e), ORC_OK);
    unsetenv("ORC_TEST_AZ_KEY");
}

static void test_open_rejects_bad_endpoint_prefix_and_options(void **state)
{
    orc_err e = {0};
    provider_kv k[] = {{"account", "acct"}, {"container", "abc"}, {"key", EMU_KEY}, {NULL, NULL}};
    static const char *const bad[][2] = {
        {"endpoint", "ftp://host"},  {"endpoint", "http://"},   {"endpoint", "http://h/p?x=1"},
        {"prefix", "/abs"},          {"prefix", "sp ace/"},     {"list_page_size", "0"},
        {"list_page_size", "5001"},  {"list_page_size", "12x"}, {"list_page_size", ""},
        {"create_container", "yes"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        k[3] = (provider_kv){bad[i][0], bad[i][1]};
        e.msg[0] = 0;
        assert_int_equal(open_kv(k, 4, &e), ORC_EINVAL);
        assert_non_null(strstr(e.msg, bad[i][0]));
    }
    k[3] = (provider_kv){"list_page_size", "5000"};
    assert_int_equal(open_kv(k, 4, &e), ORC_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_blob_string_to_sign_and_signature_match_spec),
        cmocka_unit_test(test_list_params_are_lowercased_sorted_and_decoded),
        cmocka_unit_test(test_ms_header_names_lowercased_values_trimmed),
        cmocka_unit_test(test_zero_content_length_and_unsigned_headers_leave_fields_empty),
        cmocka_unit_test(test_duplicate_ms_header_is_rejected),
        cmocka_unit_test(test_key_decode_is_strict),
        cmocka_unit_test(test_open_accepts_key_or_sas_without_network),
        cmocka_unit_test(test_open_rejects_missing_or_bad_account_and_container),
        cmocka_unit_test(test_open_wants_exactly_one_credential),
        cmocka_unit_test(test_open_bad_key_message_holds_no_secret),
        cmocka_unit_test(test_open_reads_key_env_and_names_unset_variable),
        cmocka_unit_test(test_open_rejects_bad_endpoint_prefix_and_options),
    };
    return cmocka_run_group_tests(tests, setup_key, NULL);
}
