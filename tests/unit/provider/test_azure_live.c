/* The Azure Blob provider against a real Azurite (which verifies Shared Key
 * signatures): round trips, ranges, missing blobs, listing past one page,
 * refused credentials and, when given one, a SAS token.
 *
 * Needs AZURITE_ENDPOINT (http://127.0.0.1:PORT/devstoreaccount1); every test
 * skips without it, so plain ctest passes with no Node around.
 * tests/integration/test_20_azure_provider.py starts Azurite and runs this
 * binary with the variable set; AZURITE_SAS (an account SAS) is optional. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/provider_contract.h"

#include "provider/provider.h"
#include "util/alloc.h"
#include "util/hex.h"

/* Azurite's well-known emulator key (public, in its README). */
#define EMU_KEY                                                                                    \
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
/* Valid base64 of the right size, but not the account's key. */
#define WRONG_KEY                                                                                  \
    "AAAAvdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define SIZE 1000

typedef struct fixture {
    char container[40];
    char prefix[48];
    provider *p;
} fixture;

static const char *endpoint(void)
{
    const char *v = getenv("AZURITE_ENDPOINT");
    return v && *v ? v : NULL;
}

static int open_az(const fixture *f, const char *key, const char *sas, const char *page,
                   provider **p, orc_err *e)
{
    provider_kv kv[8] = {{"account", "devstoreaccount1"},
                         {"container", f->container},
                         {"endpoint", endpoint()},
                         {"prefix", f->prefix},
                         {"create_container", "true"}};
    size_t n = 5;
    if (key) kv[n++] = (provider_kv){"key", key};
    if (sas) kv[n++] = (provider_kv){"sas", sas};
    if (page) kv[n++] = (provider_kv){"list_page_size", page};
    return provider_open("azure", "azure-west", kv, n, p, e);
}

/* One container per process, one prefix per test: tests cannot see each
 * other's blobs. */
static int setup(void **state)
{
    static unsigned seq;
    if (!endpoint()) return 0;
    fixture *f = orc_calloc(1, sizeof(*f));
    snprintf(f->container, sizeof(f->container), "orc-live-%ld", (long)getpid());
    snprintf(f->prefix, sizeof(f->prefix), "t%u-%ld/", ++seq, (long)time(NULL));
    orc_err e = {0};
    int rc = open_az(f, EMU_KEY, NULL, "2", &f->p, &e);
    if (rc) fprintf(stderr, "open: %s\n", e.msg);
    assert_int_equal(rc, ORC_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f) {
        provider_free(f->p);
        free(f);
    }
    return 0;
}

#define NEED_AZURITE()                                                                             \
    do {                                                                                           \
        if (!endpoint()) skip();                                                                   \
    } while (0)

static void test_put_get_round_trip_and_overwrite(void **state)
{
    NEED_AZURITE();
    contract_round_trip(((fixture *)*state)->p);
}

static void test_empty_blob_round_trips(void **state)
{
    NEED_AZURITE();
    fixture *f = *state;
    contract_empty(f->p);
    char name[65];
    orc_buf out;
    orc_err e = {0};
    contract_name("empty", 0, name);
    orc_buf_init(&out, 0);
    assert_int_equal(provider_get(f->p, name, 0, 10, &out, &e), ORC_OK); /* 416 on Azure */
    assert_int_equal(out.len, 0);
    orc_buf_dispose(&out);
}

static void test_ranged_reads_return_exactly_the_range(void **state)
{
    NEED_AZURITE();
    contract_ranges(((fixture *)*state)->p);
}

static void test_missing_blob_is_enotfound_everywhere(void **state)
{
    NEED_AZURITE();
    contract_missing(((fixture *)*state)->p, true);
}

static void test_delete_removes_and_head_reports_size(void **state)
{
    NEED_AZURITE();
    contract_delete_head(((fixture *)*state)->p, true);
}

typedef struct seen {
    char names[8][65];
    uint64_t sizes[8];
    int n, stop_after;
} seen;

static int collect(void *ctx, const char *name, uint64_t size)
{
    seen *s = ctx;
    if (s->n >= 8) return -100;
    snprintf(s->names[s->n], 65, "%s", name);
    s->sizes[s->n++] = size;
    return s->stop_after && s->n == s->stop_after ? 42 : 0;
}

static void test_list_walks_every_page_and_only_our_prefix(void **state)
{
    NEED_AZURITE();
    fixture *f = *state;
    uint8_t data[SIZE];
    contract_pattern(data, SIZE, 4);
    char names[5][65];
    for (unsigned i = 0; i < 5; i++) {
        contract_name("list", i, names[i]);
        contract_put_ok(f->p, names[i], data, 10 + i);
    }
    /* A neighbour under a longer prefix and a blob whose name is not a chunk
     * name: neither is ours to list. */
    fixture other = *f;
    snprintf(other.prefix, sizeof(other.prefix), "%.40sx/", f->prefix);
    provider *q = NULL;
    orc_err e = {0};
    assert_int_equal(open_az(&other, EMU_KEY, NULL, NULL, &q, &e), ORC_OK);
    char stray[65];
    contract_name("stray", 0, stray);
    contract_put_ok(q, stray, data, 5);

    seen s = {0};
    assert_int_equal(provider_list(f->p, collect, &s, &e), ORC_OK); /* page size 2: 3 pages */
    assert_int_equal(s.n, 5);
    for (unsigned i = 0; i < 5; i++) {
        int found = 0;
        for (int k = 0; k < s.n; k++)
            if (strcmp(s.names[k], names[i]) == 0) {
                found++;
                assert_int_equal(s.sizes[k], 10 + i);
            }
        assert_int_equal(found, 1);
    }
    seen stop = {.stop_after = 3};
    assert_int_equal(provider_list(f->p, collect, &stop, &e), 42);
    assert_int_equal(stop.n, 3);

    seen mine = {0};
    assert_int_equal(provider_list(q, collect, &mine, &e), ORC_OK);
    assert_int_equal(mine.n, 1);
    assert_string_equal(mine.names[0], stray);
    provider_free(q);
}

static void test_wrong_key_is_eauth_with_a_message_naming_the_fix(void **state)
{
    NEED_AZURITE();
    fixture *f = *state;
    provider *bad = NULL;
    orc_err e = {0};
    fixture g = *f;
    /* create_container would already fail: open must report the refusal. */
    assert_int_equal(open_az(&g, WRONG_KEY, NULL, NULL, &bad, &e), ORC_EAUTH);
    assert_non_null(strstr(e.msg, "403"));
    assert_non_null(strstr(e.msg, "check the account key"));

    provider_kv kv[] = {{"account", "devstoreaccount1"},
                        {"container", f->container},
                        {"endpoint", endpoint()},
                        {"key", WRONG_KEY}};
    assert_int_equal(provider_open("azure", "azure-west", kv, 4, &bad, &e), ORC_OK);
    uint8_t data[16] = {0};
    char name[65];
    contract_name("auth", 0, name);
    memset(&e, 0, sizeof(e));
    assert_int_equal(provider_put(bad, name, data, sizeof(data), &e), ORC_EAUTH);
    char want[80];
    snprintf(want, sizeof(want), "on PUT of chunk %.16s...: check the account key", name);
    assert_non_null(strstr(e.msg, "provider azure-west: 403 "));
    assert_non_null(strstr(e.msg, want));
    assert_null(strstr(e.msg, "AAAAvdM"));
    assert_null(strstr(e.msg, "SharedKey"));
    orc_buf out;
    orc_buf_init(&out, 0);
    assert_int_equal(provider_get(bad, name, 0, UINT64_MAX, &out, &e), ORC_EAUTH);
    seen s = {0};
    assert_int_equal(provider_list(bad, collect, &s, &e), ORC_EAUTH);
    orc_buf_dispose(&out);
    provider_free(bad);
}

static void test_sas_token_authorizes_without_a_key(void **state)
{
    NEED_AZURITE();
    const char *sas = getenv("AZURITE_SAS");
    if (!sas || !*sas) skip();
    fixture *f = *state;
    provider *p = NULL;
    orc_err e = {0};
    int rc = open_az(f, NULL, sas, "2", &p, &e);
    if (rc) fprintf(stderr, "open: %s\n", e.msg);
    assert_int_equal(rc, ORC_OK);
    uint8_t data[SIZE];
    contract_pattern(data, SIZE, 5);
    char name[65];
    contract_name("sas", 0, name);
    contract_put_ok(p, name, data, SIZE);
    contract_check_range(p, name, data, 10, 20, 20);
    uint64_t size = 0;
    assert_int_equal(provider_head(p, name, &size, &e), ORC_OK);
    assert_int_equal(size, SIZE);
    seen s = {0};
    assert_int_equal(provider_list(p, collect, &s, &e), ORC_OK);
    assert_int_equal(s.n, 1);
    assert_int_equal(provider_del(p, name, &e), ORC_OK);
    provider_free(p);

    /* A tampered token is refused, and the message carries none of it. */
    char *bad = orc_strdup(sas);
    char *sig = strstr(bad, "sig=");
    assert_non_null(sig);
    sig[4] = sig[4] == 'A' ? 'B' : 'A';
    memset(&e, 0, sizeof(e));
    assert_int_equal(open_az(f, NULL, bad, NULL, &p, &e), ORC_EAUTH);
    assert_non_null(strstr(e.msg, "403"));
    assert_non_null(strstr(e.msg, "check the SAS token"));
    assert_null(strstr(e.msg, "sig="));
    assert_null(strstr(e.msg, "sv="));
    free(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_round_trip_and_overwrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_blob_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranged_reads_return_exactly_the_range, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_missing_blob_is_enotfound_everywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_removes_and_head_reports_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_walks_every_page_and_only_our_prefix, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key_is_eauth_with_a_message_naming_the_fix,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sas_token_authorizes_without_a_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
