/* Unit tests for the S3/GCS provider (src/provider/s3.c) and its HTTP client
 * (src/provider/http_client.c), against the scripted HTTP listener of
 * support/http_script.h: it records each request (method, path, query,
 * headers, body) and answers from a script the test sets up. Signatures are checked with the
 * server-side verifier (s3/sigv4.h), so curl's signing is checked too. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "provider/http_client.h"
#include "provider/provider.h"
#include "support/http_script.h"
#include "s3/sigv4.h"
#include "util/alloc.h"
#include "util/hex.h"

/* ---- helpers ---- */

#define AK "AKIDEXAMPLE"
#define SK "wJalrXUtnFEMI-very-secret-key"
#define NAME "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

typedef struct fixture {
    http_script *srv;
    provider *p;
    char endpoint[64];
} fixture;

static int open_provider(const char *type, const fixture *f, const provider_kv *extra, size_t nx,
                         provider **p, orc_err *e)
{
    provider_kv kv[12] = {{"endpoint", f->endpoint},
                          {"bucket", "bkt"},
                          {"access_key", AK},
                          {"secret_key", SK},
                          {"prefix", "orchard/"}};
    size_t n = 5;
    for (size_t i = 0; i < nx; i++)
        kv[n++] = extra[i];
    return provider_open(type, "cloud1", kv, n, p, e);
}

static int setup_with(void **state, bool keep_alive)
{
    fixture *f = orc_calloc(1, sizeof(*f));
    f->srv = http_script_start(keep_alive);
    snprintf(f->endpoint, sizeof(f->endpoint), "http://127.0.0.1:%d", f->srv->port);
    orc_err e = {0};
    assert_int_equal(open_provider("s3", f, NULL, 0, &f->p, &e), ORC_OK);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, false);
}

static int setup_keepalive(void **state)
{
    return setup_with(state, true);
}

static int teardown(void **state)
{
    fixture *f = *state;
    provider_free(f->p); /* closes pooled connections, so the listener sees EOF */
    http_script_stop(f->srv);
    free(f);
    return 0;
}

static const char *secret_for_test;

static int lookup_secret(void *ctx, const char *access_key, char *secret, size_t cap)
{
    if (strcmp(access_key, AK) != 0) return ORC_ENOTFOUND;
    snprintf(secret, cap, "%s", secret_for_test);
    return 0;
}

/* Verifies r's signature with the server-side verifier, as a strict S3 would. */
static enum s3_error verify_with(const http_script_rec *r, const char *secret, sigv4_result *out,
                                 orc_err *e)
{
    s3_header hs[32];
    char names[32][64], values[32][512];
    size_t n = 0;
    for (const char *l = r->head; *l && n < 32;) {
        const char *end = strstr(l, "\r\n");
        const char *colon = memchr(l, ':', (size_t)(end - l));
        assert_non_null(colon);
        snprintf(names[n], sizeof(names[n]), "%.*s", (int)(colon - l), l);
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        snprintf(values[n], sizeof(values[n]), "%.*s", (int)(end - v), v);
        hs[n] = (s3_header){names[n], values[n]};
        n++;
        l = end + 2;
    }
    sigv4_request rq = {r->method, r->path, r->query, hs, n, time(NULL)};
    secret_for_test = secret;
    return sigv4_verify(&rq, lookup_secret, NULL, out, e);
}

static void assert_signed_with(const http_script_rec *r, const char *secret, const char *region)
{
    sigv4_result out;
    orc_err e = {0};
    enum s3_error err = verify_with(r, secret, &out, &e);
    if (err != S3E_NONE) fail_msg("signature rejected: %s", e.msg);
    assert_false(out.anonymous);
    assert_string_equal(out.region, region);
}

static void sha256_hex(const void *p, size_t n, char out[65])
{
    uint8_t md[32];
    assert_true(EVP_Digest(p, n, md, NULL, EVP_sha256(), NULL));
    hex_encode(md, sizeof(md), out);
}

/* ---- provider requests ---- */

static void test_put_sends_prefixed_path_payload_hash_and_valid_signature(void **state)
{
    fixture *f = *state;
    http_script_add(f->srv, 200, "ETag: \"x\"\r\n", NULL);
    const char body[] = "sealed chunk bytes \x01\x02\x03";
    orc_err e = {0};
    assert_int_equal(provider_put(f->p, NAME, (const uint8_t *)body, sizeof(body), &e), ORC_OK);

    assert_int_equal(http_script_nreqs(f->srv), 1);
    http_script_rec *r = &f->srv->reqs[0];
    assert_string_equal(r->method, "PUT");
    assert_string_equal(r->path, "/bkt/orchard/" NAME);
    assert_string_equal(r->query, "");
    assert_int_equal(r->body_len, sizeof(body));
    assert_memory_equal(r->body, body, sizeof(body));

    char want[65], got[128], auth[1024], date[32], cred[128];
    sha256_hex(body, sizeof(body), want);
    assert_true(http_script_header(r->head, "x-amz-content-sha256", got, sizeof(got)));
    assert_string_equal(got, want);
    assert_true(http_script_header(r->head, "authorization", auth, sizeof(auth)));
    assert_true(http_script_header(r->head, "x-amz-date", date, sizeof(date)));
    snprintf(cred, sizeof(cred), "Credential=" AK "/%.8s/us-east-1/s3/aws4_request", date);
    assert_non_null(strstr(auth, cred));
    assert_non_null(strstr(auth, "SignedHeaders="));
    assert_non_null(strstr(auth, "host;"));
    assert_non_null(strstr(auth, "x-amz-content-sha256;x-amz-date"));
    assert_null(strstr(auth, SK));
    assert_signed_with(r, SK, "us-east-1");
    /* The verifier is not a rubber stamp: another secret fails. */
    sigv4_result out;
    assert_int_equal(verify_with(r, "other-secret", &out, &e), S3E_SIGNATURE_DOES_NOT_MATCH);
}

static void test_large_put_arrives_whole_and_signed(void **state)
{
    fixture *f = *state;
    http_script_add(f->srv, 200, NULL, NULL);
    size_t n = (2u << 20) + 3;
    uint8_t *body = orc_malloc(n);
    for (size_t i = 0; i < n; i++)
        body[i] = (uint8_t)(i * 131 + (i >> 9));
    orc_err e = {0};
    assert_int_equal(provider_put(f->p, NAME, body, n, &e), ORC_OK);
    http_script_rec *r = &f->srv->reqs[0];
    assert_int_equal(r->body_len, n);
    assert_memory_equal(r->body, body, n);
    char want[65], got[128];
    sha256_hex(body, n, want);
    assert_true(http_script_header(r->head, "x-amz-content-sha256", got, sizeof(got)));
    assert_string_equal(got, want);
    assert_signed_with(r, SK, "us-east-1");
    free(body);
}

static void test_empty_put_sends_empty_body_hash(void **state)
{
    fixture *f = *state;
    http_script_add(f->srv, 200, NULL, NULL);
    orc_err e = {0};
    assert_int_equal(provider_put(f->p, NAME, NULL, 0, &e), ORC_OK);
    char got[128];
    assert_true(http_script_header(f->srv->reqs[0].head, "x-amz-content-sha256", got, sizeof(got)));
    assert_string_equal(got, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(f->srv->reqs[0].body_len, 0);
    assert_signed_with(&f->srv->reqs[0], SK, "us-east-1");
}

static void test_ranged_get_sends_range_header_and_keeps_asked_bytes(void **state)
{
    fixture *f = *state;
    http_script_add(f->srv, 206, "Content-Range: bytes 1-3/10\r\n", "bcd");
    http_script_add(f->srv, 206, "Content-Range: bytes 7-9/10\r\n", "hij");
    /* A server that ignores Range sends the whole object: only the range is kept. */
    http_script_add(f->srv, 200, NULL, "abcdefghij");
    orc_buf out;
    orc_buf_init(&out, 0);
    orc_err e = {0};
    char v[64];

    assert_int_equal(provider_get(f->p, NAME, 1, 3, &out, &e), ORC_OK);
    assert_int_equal(out.len, 3);
    assert_memory_equal(out.ptr, "bcd", 3);
    http_script_rec *r = &f->srv->reqs[0];
    assert_string_equal(r->method, "GET");
    assert_string_equal(r->path, "/bkt/orchard/" NAME);
    assert_true(http_script_header(r->head, "range", v, sizeof(v)));
    assert_string_equal(v, "bytes=1-3");
    assert_signed_with(r, SK, "us-east-1");

    assert_int_equal(provider_get(f->p, NAME, 7, UINT64_MAX, &out, &e), ORC_OK);
    assert_int_equal(out.len, 6);
    assert_memory_equal(out.ptr, "bcdhij", 6);
    assert_true(http_script_header(f->srv->reqs[1].head, "range", v, sizeof(v)));
    assert_string_equal(v, "bytes=7-");

    orc_buf_reset(&out);
    assert_int_equal(provider_get(f->p, NAME, 2, 4, &out, &e), ORC_OK);
    assert_int_equal(out.len, 4);
    assert_memory_equal(out.ptr, "cdef", 4);
    orc_buf_dispose(&out);
}

static void test_full_get_sends_no_range_and_unsigned_empty_hash(void **state)
{
    fixture *f = *state;
    http_script_add(f->srv, 200, NULL, "whole");
    orc_buf out;
    orc_buf_init(&out, 0);
    orc_err e = {0};
    assert_int_equal(provider_get(f->p, NAME, 0, UINT64_MAX, &out, &e), ORC_OK);
    assert_string_equal((char *)out.ptr, "whole");
    char v[128];
    assert_false(http_script_header(f->srv->reqs[0].head, "range", v, sizeof(v)));
    assert_true(http_script_header(f->srv->reqs[0].head, "x-amz-content-sha256", v, sizeof(v)));
    assert_string_equal(v, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    orc_buf_dispose(&out);
}

static void test_range_past_end_416_is_zero_bytes(void **state)
{
    fixture *f = *state;
    http_script_add(f->srv, 416, NULL, "<Error><Code>InvalidRange</Code></Error>");
    orc_buf out;
    orc_buf_init(&out, 0);
    orc_err e = {0};
    assert_int_equal(provider_get(f->p, NAME, 100, 10, &out, &e), ORC_OK);
    assert_int_equal(out.len, 0);
    orc_buf_dispose(&out);
}

static void test_missing_chunk_is_enotfound_on_get_and_head(void **state)
{
    fixture *f = *state;
    http_script_add(f->srv, 404, NULL,
                    "<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>");
    http_script_add(f->srv, 404, NULL, NULL);
    orc_buf out;
    orc_buf_init(&out, 0);
    orc_err e = {0};
    assert_int_equal(provider_get(f->p, NAME, 0, UINT64_MAX, &out, &e), ORC_ENOTFOUND);
    assert_int_equal(out.len, 0); /* the error body never lands in out */
    assert_non_null(strstr(e.msg, "cloud1"));
    assert_non_null(strstr(e.msg, "NoSuchKey"));
    uint64_t size = 7;
    assert_int_equal(provider_head(f->p, NAME, &size, &e), ORC_ENOTFOUND);
    assert_int_equal(http_script_nreqs(f->srv), 2); /* 404 is final */
    orc_buf_dispose(&out);
}

static void test_head_returns_content_length(void **state)
{
    fixture *f = *state;
    http_script_add(f->srv, 200, NULL, "0123456789012");
    orc_err e = {0};
    uint64_t size = 0;
    assert_int_equal(provider_head(f->p, NAME, &size, &e), ORC_OK);
    assert_int_equal(size, 13);
    assert_string_equal(f->srv->reqs[0].method, "HEAD");
    assert_signed_with(&f->srv->reqs[0], SK, "us-east-1");
}

static void test_delete_sends_delete_and_accepts_204(void **state)
{
    fixture *f = *state;
    http_script_add(f->srv, 204, NULL, NULL);
    orc_err e = {0};
    assert_int_equal(provider_del(f->p, NAME, &e), ORC_OK);
    assert_string_equal(f->srv->reqs[0].method, "DELETE");
    assert_string_equal(f->srv->reqs[0].path, "/bkt/orchard/" NAME);
    assert_signed_with(&f->srv->reqs[0], SK, "us-east-1");
}

static void test_bad_chunk_name_is_einval_without_request(void **state)
{
    fixture *f = *state;
    orc_err e = {0};
    assert_int_equal(provider_put(f->p, "../x", (const uint8_t *)"a", 1, &e), ORC_EINVAL);
    assert_int_equal(provider_del(f->p, "", &e), ORC_EINVAL);
    assert_int_equal(http_script_nreqs(f->srv), 0);
}

static void test_slowdown_503_twice_then_200_succeeds_on_third_attempt(void **state)
{
    fixture *f = *state;
    const char *slow = "<Error><Code>SlowDown</Code><Message>Reduce your rate</Message></Error>";
    http_script_add(f->srv, 503, NULL, slow);
    http_script_add(f->srv, 503, NULL, slow);
    http_script_add(f->srv, 200, NULL, NULL);
    orc_err e = {0};
    assert_int_equal(provider_put(f->p, NAME, (const uint8_t *)"data", 4, &e), ORC_OK);
    assert_int_equal(http_script_nreqs(f->srv), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(f->srv->reqs[i].body_len, 4); /* each retry resends the body */
        assert_memory_equal(f->srv->reqs[i].body, "data", 4);
    }
}

static void test_403_is_final_and_message_names_provider_without_secret(void **state)
{
    fixture *f = *state;
    http_script_add(f->srv, 403, NULL, "<Error><Code>SignatureDoesNotMatch</Code></Error>");
    orc_err e = {0};
    assert_int_equal(provider_put(f->p, NAME, (const uint8_t *)"data", 4, &e), ORC_EAUTH);
    assert_int_equal(http_script_nreqs(f->srv), 1);
    assert_non_null(strstr(e.msg, "cloud1"));
    assert_non_null(strstr(e.msg, "403"));
    assert_non_null(strstr(e.msg, "SignatureDoesNotMatch"));
    assert_non_null(strstr(e.msg, "check access_key and secret_key"));
    assert_null(strstr(e.msg, SK));
}

static void test_other_4xx_is_final_einval(void **state)
{
    fixture *f = *state;
    http_script_add(f->srv, 400, NULL, "<Error><Code>InvalidArgument</Code></Error>");
    orc_err e = {0};
    assert_int_equal(provider_put(f->p, NAME, (const uint8_t *)"d", 1, &e), ORC_EINVAL);
    assert_int_equal(http_script_nreqs(f->srv), 1);
}

static void test_get_respects_buffer_ceiling_without_retry(void **state)
{
    fixture *f = *state;
    http_script_add(f->srv, 200, NULL, "0123456789");
    orc_buf out;
    orc_buf_init(&out, 4);
    orc_err e = {0};
    assert_int_equal(provider_get(f->p, NAME, 0, UINT64_MAX, &out, &e), ORC_ENOSPC);
    assert_int_equal(out.len, 0);
    assert_int_equal(http_script_nreqs(f->srv), 1);
    orc_buf_dispose(&out);
}

typedef struct listed {
    char names[8][80];
    uint64_t sizes[8];
    int n;
} listed;

static int collect(void *ctx, const char *name, uint64_t size)
{
    listed *l = ctx;
    if (l->n >= 8) return -100;
    snprintf(l->names[l->n], sizeof(l->names[0]), "%s", name);
    l->sizes[l->n++] = size;
    return 0;
}

static void test_list_follows_continuation_token_across_two_pages(void **state)
{
    fixture *f = *state;
    http_script_add(
        f->srv, 200, NULL,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Name>bkt</Name><Prefix>orchard/</Prefix><KeyCount>2</KeyCount>"
        "<IsTruncated>true</IsTruncated><NextContinuationToken>tok/1+=</NextContinuationToken>"
        "<Contents><Key>orchard/aaaa</Key><Size>10</Size></Contents>"
        "<Contents><Key>orchard/not-a-chunk.txt</Key><Size>3</Size></Contents>"
        "</ListBucketResult>");
    http_script_add(f->srv, 200, NULL,
                    "<ListBucketResult><IsTruncated>false</IsTruncated>"
                    "<Contents><Key>orchard/bbbb</Key><Size>1048576</Size></Contents>"
                    "</ListBucketResult>");
    listed l = {0};
    orc_err e = {0};
    assert_int_equal(provider_list(f->p, collect, &l, &e), ORC_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.names[0], "aaaa");
    assert_int_equal(l.sizes[0], 10);
    assert_string_equal(l.names[1], "bbbb");
    assert_int_equal(l.sizes[1], 1048576);

    assert_int_equal(http_script_nreqs(f->srv), 2);
    assert_string_equal(f->srv->reqs[0].path, "/bkt");
    assert_string_equal(f->srv->reqs[0].query, "list-type=2&prefix=orchard%2F");
    assert_string_equal(f->srv->reqs[1].query,
                        "continuation-token=tok%2F1%2B%3D&list-type=2&prefix=orchard%2F");
    assert_signed_with(&f->srv->reqs[0], SK, "us-east-1");
    assert_signed_with(&f->srv->reqs[1], SK, "us-east-1");
}

static void test_list_callback_stop_value_is_returned(void **state)
{
    fixture *f = *state;
    http_script_add(
        f->srv, 200, NULL,
        "<ListBucketResult><IsTruncated>true</IsTruncated>"
        "<NextContinuationToken>t</NextContinuationToken>"
        "<Contents><Key>orchard/aaaa</Key><Size>1</Size></Contents></ListBucketResult>");
    listed l = {.n = 8}; /* full: collect stops at once */
    orc_err e = {0};
    assert_int_equal(provider_list(f->p, collect, &l, &e), -100);
    assert_int_equal(http_script_nreqs(f->srv), 1);
}

static void test_list_rejects_bad_xml_and_bad_size(void **state)
{
    fixture *f = *state;
    http_script_add(f->srv, 200, NULL, "<ListBucketResult><Contents>");
    http_script_add(f->srv, 200, NULL,
                    "<ListBucketResult><Contents><Key>orchard/aa</Key><Size>-1</Size></Contents>"
                    "</ListBucketResult>");
    listed l = {0};
    orc_err e = {0};
    assert_int_equal(provider_list(f->p, collect, &l, &e), ORC_EIO);
    assert_int_equal(provider_list(f->p, collect, &l, &e), ORC_EIO);
    assert_int_equal(l.n, 0);
}

static void test_pooled_handle_reuses_one_connection(void **state)
{
    fixture *f = *state;
    http_script_add(f->srv, 200, NULL, "a");
    http_script_add(f->srv, 200, NULL, NULL);
    http_script_add(f->srv, 204, NULL, NULL);
    orc_buf out;
    orc_buf_init(&out, 0);
    orc_err e = {0};
    assert_int_equal(provider_get(f->p, NAME, 0, UINT64_MAX, &out, &e), ORC_OK);
    assert_int_equal(provider_put(f->p, NAME, (const uint8_t *)"b", 1, &e), ORC_OK);
    assert_int_equal(provider_del(f->p, NAME, &e), ORC_OK);
    assert_int_equal(http_script_nreqs(f->srv), 3);
    pthread_mutex_lock(&f->srv->mu);
    assert_int_equal(f->srv->conns, 1);
    pthread_mutex_unlock(&f->srv->mu);
    orc_buf_dispose(&out);
}

typedef struct putter {
    provider *p;
    int failures;
} putter;

static void *put_five(void *arg)
{
    putter *t = arg;
    for (int i = 0; i < 5; i++) {
        orc_err e = {0};
        if (provider_put(t->p, NAME, (const uint8_t *)"c", 1, &e)) t->failures++;
    }
    return NULL;
}

static void test_concurrent_requests_share_the_handle_pool(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 20; i++)
        http_script_add(f->srv, 200, NULL, NULL);
    pthread_t th[4];
    putter t[4];
    for (int i = 0; i < 4; i++) {
        t[i] = (putter){f->p, 0};
        assert_int_equal(pthread_create(&th[i], NULL, put_five, &t[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(t[i].failures, 0);
    }
    assert_int_equal(http_script_nreqs(f->srv), 20);
}

/* ---- open ---- */

static void test_secret_key_env_is_resolved_at_open(void **state)
{
    fixture *f = *state;
    setenv("ORC_TEST_S3_SECRET", "secret-from-env", 1);
    provider_kv kv[] = {{"endpoint", f->endpoint},
                        {"bucket", "bkt"},
                        {"access_key", AK},
                        {"secret_key_env", "ORC_TEST_S3_SECRET"}};
    provider *p = NULL;
    orc_err e = {0};
    assert_int_equal(provider_open("s3", "envcloud", kv, 4, &p, &e), ORC_OK);
    unsetenv("ORC_TEST_S3_SECRET"); /* resolved at open: later changes do not matter */
    http_script_add(f->srv, 200, NULL, NULL);
    assert_int_equal(provider_put(p, NAME, (const uint8_t *)"x", 1, &e), ORC_OK);
    assert_string_equal(f->srv->reqs[0].path, "/bkt/" NAME); /* no prefix configured */
    assert_signed_with(&f->srv->reqs[0], "secret-from-env", "us-east-1");
    provider_free(p);

    e = (orc_err){0};
    assert_int_equal(provider_open("s3", "envcloud", kv, 4, &p, &e), ORC_EINVAL);
    assert_non_null(strstr(e.msg, "envcloud"));
    assert_non_null(strstr(e.msg, "secret_key_env"));
    assert_non_null(strstr(e.msg, "ORC_TEST_S3_SECRET"));
}

static void test_open_without_bucket_or_keys_is_einval(void **state)
{
    provider_kv kv[] = {{"endpoint", "http://127.0.0.1:1"},
                        {"access_key", AK},
                        {"secret_key", SK},
                        {"bucket", "bkt"}};
    provider *p = NULL;
    orc_err e = {0};
    assert_int_equal(provider_open("s3", "c2", kv, 3, &p, &e), ORC_EINVAL);
    assert_non_null(strstr(e.msg, "c2"));
    assert_non_null(strstr(e.msg, "bucket"));
    provider_kv nosecret[] = {{"bucket", "bkt"}, {"access_key", AK}};
    assert_int_equal(provider_open("gcs", "c3", nosecret, 2, &p, &e), ORC_EINVAL);
    assert_non_null(strstr(e.msg, "secret_key"));
    provider_kv badbucket[] = {{"bucket", "a/b"}, {"access_key", AK}, {"secret_key", SK}};
    assert_int_equal(provider_open("s3", "c4", badbucket, 3, &p, &e), ORC_EINVAL);
    provider_kv badep[] = {
        {"bucket", "bkt"}, {"access_key", AK}, {"secret_key", SK}, {"endpoint", "ftp://x"}};
    assert_int_equal(provider_open("s3", "c5", badep, 4, &p, &e), ORC_EINVAL);
    assert_null(strstr(e.msg, SK));
    provider_kv badstyle[] = {
        {"bucket", "bkt"}, {"access_key", AK}, {"secret_key", SK}, {"path_style", "yes"}};
    assert_int_equal(provider_open("s3", "c6", badstyle, 4, &p, &e), ORC_EINVAL);
    assert_non_null(strstr(e.msg, "path_style"));
}

static void test_gcs_signs_with_auto_region(void **state)
{
    fixture *f = *state;
    provider_kv kv[] = {
        {"endpoint", f->endpoint}, {"bucket", "gbkt"}, {"access_key", AK}, {"secret_key", SK}};
    provider *p = NULL;
    orc_err e = {0};
    assert_int_equal(provider_open("gcs", "gcs1", kv, 4, &p, &e), ORC_OK);
    assert_int_equal(provider_caps(p) & PROVIDER_CAP_RANGE, PROVIDER_CAP_RANGE);
    http_script_add(f->srv, 200, NULL, NULL);
    assert_int_equal(provider_put(p, NAME, (const uint8_t *)"x", 1, &e), ORC_OK);
    char auth[1024];
    assert_true(http_script_header(f->srv->reqs[0].head, "authorization", auth, sizeof(auth)));
    assert_non_null(strstr(auth, "/auto/s3/aws4_request"));
    assert_string_equal(f->srv->reqs[0].path, "/gbkt/" NAME);
    assert_signed_with(&f->srv->reqs[0], SK, "auto");
    provider_free(p);
}

/* ---- the HTTP client directly ---- */

static void test_client_counts_attempts_and_extracts_error_code(void **state)
{
    fixture *f = *state;
    const char *slow = "<Error><Code>SlowDown</Code></Error>";
    for (int i = 0; i < 3; i++)
        http_script_add(f->srv, 503, NULL, slow);
    http_script_add(f->srv, 200, NULL, "ok");
    pclient_opts o = {.max_attempts = 3, .backoff_base_ms = 1, .backoff_cap_ms = 2};
    pclient *c = NULL;
    orc_err e = {0};
    assert_int_equal(pclient_new("direct", &o, &c, &e), ORC_OK);
    char url[128];
    snprintf(url, sizeof(url), "%s/x", f->endpoint);
    pclient_req rq = {.method = "GET", .url = url};
    pclient_resp resp;
    /* Out of attempts: the last response is returned for the caller to map. */
    assert_int_equal(pclient_do(c, &rq, &resp, &e), ORC_OK);
    assert_int_equal(resp.attempts, 3);
    assert_int_equal(resp.status, 503);
    assert_string_equal(resp.error_code, "SlowDown");
    assert_int_equal(pclient_status(c, &resp, "GET", "chunk x", &e), ORC_ETRANSIENT);
    assert_non_null(strstr(e.msg, "provider direct: 503 SlowDown on GET of chunk x"));

    orc_buf out;
    orc_buf_init(&out, 0);
    rq.out = &out;
    assert_int_equal(pclient_do(c, &rq, &resp, &e), ORC_OK);
    assert_int_equal(resp.attempts, 1);
    assert_int_equal(resp.status, 200);
    assert_string_equal((char *)out.ptr, "ok");
    assert_int_equal(pclient_status(c, &resp, "GET", "chunk x", &e), ORC_OK);
    orc_buf_dispose(&out);
    pclient_free(c);
}

static void test_client_reports_x_ms_error_code_header(void **state)
{
    fixture *f = *state;
    http_script_add(f->srv, 409, "x-ms-error-code: BlobAlreadyExists\r\n", NULL);
    pclient *c = NULL;
    orc_err e = {0};
    assert_int_equal(pclient_new("az", NULL, &c, &e), ORC_OK);
    char url[128];
    snprintf(url, sizeof(url), "%s/x?sv=1&sig=SASSECRET", f->endpoint);
    pclient_req rq = {.method = "HEAD", .url = url};
    pclient_resp resp;
    assert_int_equal(pclient_do(c, &rq, &resp, &e), ORC_OK);
    assert_int_equal(resp.status, 409);
    assert_string_equal(resp.error_code, "BlobAlreadyExists");
    assert_int_equal(pclient_status(c, &resp, "HEAD", "chunk x", &e), ORC_EINVAL);
    pclient_free(c);
}

static void test_client_transport_error_is_etransient_and_hides_query(void **state)
{
    /* A port nobody listens on: bind, learn it, close. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t al = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);

    pclient_opts o = {.max_attempts = 2, .backoff_base_ms = 1, .backoff_cap_ms = 1};
    pclient *c = NULL;
    orc_err e = {0};
    assert_int_equal(pclient_new("down", &o, &c, &e), ORC_OK);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/c/x?sig=SASSECRET", ntohs(a.sin_port));
    pclient_req rq = {.method = "PUT", .url = url, .body = (const uint8_t *)"x", .body_len = 1};
    pclient_resp resp;
    assert_int_equal(pclient_do(c, &rq, &resp, &e), ORC_ETRANSIENT);
    assert_int_equal(resp.attempts, 2);
    assert_int_equal(resp.status, 0);
    assert_non_null(strstr(e.msg, "down"));
    assert_null(strstr(e.msg, "SASSECRET"));
    assert_null(strstr(e.msg, "sig="));
    pclient_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_put_sends_prefixed_path_payload_hash_and_valid_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_put_arrives_whole_and_signed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_put_sends_empty_body_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranged_get_sends_range_header_and_keeps_asked_bytes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_get_sends_no_range_and_unsigned_empty_hash, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_range_past_end_416_is_zero_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_chunk_is_enotfound_on_get_and_head, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_head_returns_content_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_sends_delete_and_accepts_204, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_chunk_name_is_einval_without_request, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_slowdown_503_twice_then_200_succeeds_on_third_attempt,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_403_is_final_and_message_names_provider_without_secret,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_4xx_is_final_einval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_respects_buffer_ceiling_without_retry, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_list_follows_continuation_token_across_two_pages,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_callback_stop_value_is_returned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_rejects_bad_xml_and_bad_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pooled_handle_reuses_one_connection, setup_keepalive,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_requests_share_the_handle_pool, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_secret_key_env_is_resolved_at_open, setup, teardown),
        cmocka_unit_test(test_open_without_bucket_or_keys_is_einval),
        cmocka_unit_test_setup_teardown(test_gcs_signs_with_auto_region, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_counts_attempts_and_extracts_error_code, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_client_reports_x_ms_error_code_header, setup,
                                        teardown),
        cmocka_unit_test(test_client_transport_error_is_etransient_and_hides_query),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
