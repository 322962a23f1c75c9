/* SigV4 verification: golden vectors signed by botocore (vectors/sigv4/, made by
 * vectors/gen_sigv4.py) replayed byte for byte, each also mutated into the
 * failures S3 must report, plus hand-written cases for the parsing rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "s3/sigv4.h"
#include "util/hex.h"

#define VECTOR_DIR "vectors/sigv4"
#define MAX_H 32

/* One parsed vector file; see gen_sigv4.py for the format. */
typedef struct vcase {
    char file[128];
    char *text; /* the file, cut in place into the strings below */
    const char *method, *path, *query, *access_key, *secret, *region, *auth;
    const char *signed_headers, *payload_hash, *signature;
    const char *canonical, *sts;
    s3_header headers[MAX_H];
    size_t nheaders;
    time_t now;
    long expires;
} vcase;

typedef struct keyring {
    const char *access_key;
    const char *secret;
    int calls;
} keyring;

static int lookup(void *ctx, const char *access_key, char *secret, size_t cap)
{
    keyring *k = ctx;
    k->calls++;
    if (strcmp(access_key, k->access_key) != 0) return ORC_ENOTFOUND;
    snprintf(secret, cap, "%s", k->secret);
    return 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char tmp[65536];
    size_t n = fread(tmp, 1, sizeof(tmp) - 1, f);
    fclose(f);
    tmp[n] = 0;
    return strdup(tmp);
}

/* Cuts text at marker (which must be present) and returns what follows it. */
static char *cut(char *text, const char *marker)
{
    char *m = strstr(text, marker);
    assert_non_null(m);
    *m = 0;
    return m + strlen(marker);
}

static void vcase_load(vcase *c, const char *name)
{
    char path[512];
    memset(c, 0, sizeof(*c));
    snprintf(c->file, sizeof(c->file), "%s", name);
    snprintf(path, sizeof(path), VECTOR_DIR "/%s", name);
    c->text = slurp(path);
    char *cr = cut(c->text, "\n--- canonical-request\n");
    char *sts = cut(cr, "\n--- string-to-sign\n");
    cut(sts, "\n--- end\n");
    c->canonical = cr;
    c->sts = sts;
    c->query = "";
    for (char *line = c->text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        char *colon = strstr(line, ": ");
        const char *v = colon ? colon + 2 : "";
        if (line[0] == '#' || !colon) {
            if (!colon && strcmp(line, "query:") == 0) c->query = "";
        } else if (strncmp(line, "header: ", 8) == 0) {
            char *hc = strchr(line + 8, ':');
            assert_non_null(hc);
            assert_true(c->nheaders < MAX_H);
            *hc = 0;
            c->headers[c->nheaders++] = (s3_header){line + 8, hc + 1};
        } else {
            *colon = 0;
            if (!strcmp(line, "method")) c->method = v;
            if (!strcmp(line, "path")) c->path = v;
            if (!strcmp(line, "query")) c->query = v;
            if (!strcmp(line, "access-key")) c->access_key = v;
            if (!strcmp(line, "secret")) c->secret = v;
            if (!strcmp(line, "region")) c->region = v;
            if (!strcmp(line, "auth")) c->auth = v;
            if (!strcmp(line, "signed-headers")) c->signed_headers = v;
            if (!strcmp(line, "payload-hash")) c->payload_hash = v;
            if (!strcmp(line, "signature")) c->signature = v;
            if (!strcmp(line, "now")) c->now = (time_t)strtoll(v, NULL, 10);
            if (!strcmp(line, "expires")) c->expires = strtol(v, NULL, 10);
        }
        line = nl ? nl + 1 : NULL;
    }
    assert_non_null(c->method);
    assert_non_null(c->path);
    assert_non_null(c->signature);
    assert_non_null(c->auth);
    assert_true(c->now > 0);
}

static bool is_query(const vcase *c)
{
    return strcmp(c->auth, "query") == 0;
}

static sigv4_request vcase_request(const vcase *c)
{
    return (sigv4_request){c->method, c->path, c->query, c->headers, c->nheaders, c->now};
}

/* Verifies rq against the case's keyring; checks the secret never reaches e->msg
 * and the lookup happened at most once. */
static enum s3_error verify_as(const vcase *c, const sigv4_request *rq, const char *secret,
                               sigv4_result *out, orc_err *e)
{
    keyring k = {c->access_key, secret, 0};
    memset(e, 0, sizeof(*e));
    enum s3_error r = sigv4_verify(rq, lookup, &k, out, e);
    assert_true(k.calls <= 1);
    assert_null(strstr(e->msg, c->secret));
    assert_null(strstr(e->msg, secret));
    return r;
}

static enum s3_error verify_case(const vcase *c, time_t now, sigv4_result *out, orc_err *e)
{
    sigv4_request rq = vcase_request(c);
    rq.now = now;
    return verify_as(c, &rq, c->secret, out, e);
}

static char **dir_vectors(size_t *n)
{
    DIR *d = opendir(VECTOR_DIR);
    assert_non_null(d);
    char **names = calloc(256, sizeof(char *));
    *n = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        size_t len = strlen(de->d_name);
        if (len > 4 && strcmp(de->d_name + len - 4, ".txt") == 0 && *n < 256)
            names[(*n)++] = strdup(de->d_name);
    }
    closedir(d);
    return names;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* ---- vector checks, one per behaviour ---------------------------------------- */

static void check_canonical_and_signature(const vcase *c)
{
    sigv4_request rq = vcase_request(c);
    orc_buf b;
    orc_err e;
    orc_buf_init(&b, 0);
    int rc = sigv4_canonical_request(&rq, c->signed_headers, c->payload_hash, is_query(c), &b, &e);
    if (rc) fail_msg("%s: %s", c->file, e.msg);
    if (strcmp((const char *)b.ptr, c->canonical) != 0)
        fail_msg("%s: canonical request differs:\n--- got\n%s\n--- want\n%s", c->file,
                 (const char *)b.ptr, c->canonical);

    /* string to sign ends in the hash of our canonical request */
    unsigned char h[32];
    char hh[65];
    SHA256(b.ptr, b.len, h);
    hex_encode(h, 32, hh);
    const char *last = strrchr(c->sts, '\n');
    assert_non_null(last);
    assert_string_equal(last + 1, hh);

    /* and the signing key signs the string to sign into botocore's signature */
    char date8[9];
    memcpy(date8, c->sts + strlen("AWS4-HMAC-SHA256\n"), 8);
    date8[8] = 0;
    unsigned char key[32], sig[32];
    unsigned int slen = 32;
    char sighex[65];
    sigv4_signing_key(c->secret, date8, c->region, "s3", key);
    HMAC(EVP_sha256(), key, 32, (const unsigned char *)c->sts, strlen(c->sts), sig, &slen);
    hex_encode(sig, 32, sighex);
    assert_string_equal(sighex, c->signature);
    orc_buf_dispose(&b);
}

static void check_accepted(const vcase *c)
{
    sigv4_result out;
    orc_err e;
    enum s3_error r = verify_case(c, c->now, &out, &e);
    if (r != S3E_NONE) fail_msg("%s: rejected with %d: %s", c->file, r, e.msg);
    assert_false(out.anonymous);
    assert_string_equal(out.access_key, c->access_key);
    assert_string_equal(out.region, c->region);
    assert_memory_equal(out.amz_date, c->sts + strlen("AWS4-HMAC-SHA256\n"), 16);
    const char *ph = c->payload_hash;
    if (strlen(ph) == 64) {
        assert_string_equal(out.payload_sha256, ph);
        assert_false(out.payload_unsigned || out.payload_streaming);
    } else if (strcmp(ph, "UNSIGNED-PAYLOAD") == 0) {
        assert_true(out.payload_unsigned);
        assert_false(out.payload_streaming);
        assert_string_equal(out.payload_sha256, "");
    } else {
        assert_true(out.payload_streaming);
        assert_string_equal(out.seed_signature, c->signature);
        unsigned char key[32];
        char date8[9];
        memcpy(date8, out.amz_date, 8);
        date8[8] = 0;
        sigv4_signing_key(c->secret, date8, c->region, "s3", key);
        assert_memory_equal(out.signing_key, key, 32);
        char scope[160];
        snprintf(scope, sizeof(scope), "%s/%s/s3/aws4_request", date8, c->region);
        assert_string_equal(out.scope, scope);
    }
    /* the result must not carry the key when it has no use for it */
    if (!out.payload_streaming) {
        static const unsigned char zero[32];
        assert_memory_equal(out.signing_key, zero, 32);
    }
}

/* Flips the first hex digit of the signature wherever the request carries it. */
static void check_flipped_signature_rejected(const vcase *c)
{
    vcase m = *c;
    char query[4096], authz[1024];
    sigv4_result out;
    orc_err e;
    char *p;
    if (is_query(c)) {
        snprintf(query, sizeof(query), "%s", c->query);
        p = strstr(query, "X-Amz-Signature=");
        assert_non_null(p);
        p += strlen("X-Amz-Signature=");
        m.query = query;
    } else {
        size_t i;
        for (i = 0; i < m.nheaders && strcmp(m.headers[i].name, "Authorization"); i++) {
        }
        assert_true(i < m.nheaders);
        snprintf(authz, sizeof(authz), "%s", m.headers[i].value);
        p = strstr(authz, "Signature=");
        assert_non_null(p);
        p += strlen("Signature=");
        m.headers[i].value = authz;
    }
    *p = *p == '0' ? '1' : '0';
    assert_int_equal(verify_case(&m, c->now, &out, &e), S3E_SIGNATURE_DOES_NOT_MATCH);
    assert_false(out.anonymous);
    assert_string_equal(out.access_key, ""); /* nothing of a failed request is reported */
}

static void check_wrong_secret_rejected(const vcase *c)
{
    sigv4_request rq = vcase_request(c);
    sigv4_result out;
    orc_err e;
    assert_int_equal(verify_as(c, &rq, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ", &out, &e),
                     S3E_SIGNATURE_DOES_NOT_MATCH);
}

static void check_unknown_key_rejected(const vcase *c)
{
    sigv4_request rq = vcase_request(c);
    sigv4_result out;
    orc_err e;
    keyring k = {"AKIDSOMEONEELSE", c->secret, 0};
    assert_int_equal(sigv4_verify(&rq, lookup, &k, &out, &e), S3E_INVALID_ACCESS_KEY_ID);
    assert_int_equal(k.calls, 1);
}

static void check_clock_skew(const vcase *c)
{
    sigv4_result out;
    orc_err e;
    /* 16 minutes before the request time is too early for either style */
    assert_int_equal(verify_case(c, c->now - 16 * 60, &out, &e), S3E_REQUEST_TIME_TOO_SKEWED);
    if (is_query(c)) {
        /* a presigned URL is good until date + expires, and not a second longer */
        time_t signed_at = c->now - 7;
        assert_int_equal(verify_case(c, signed_at + c->expires, &out, &e), S3E_NONE);
        assert_int_equal(verify_case(c, signed_at + c->expires + 1, &out, &e), S3E_ACCESS_DENIED);
        assert_string_equal(e.msg, "Request has expired");
    } else {
        assert_int_equal(verify_case(c, c->now + 16 * 60, &out, &e), S3E_REQUEST_TIME_TOO_SKEWED);
        /* 15 minutes either way is still fine */
        assert_int_equal(verify_case(c, c->now - 7 + SIGV4_MAX_SKEW, &out, &e), S3E_NONE);
        assert_int_equal(verify_case(c, c->now - 7 - SIGV4_MAX_SKEW, &out, &e), S3E_NONE);
    }
}

static void for_each_vector(void (*check)(const vcase *))
{
    size_t n;
    char **names = dir_vectors(&n);
    assert_true(n >= 12);
    for (size_t i = 0; i < n; i++) {
        vcase c;
        vcase_load(&c, names[i]);
        check(&c);
        free(c.text);
    }
    free_names(names, n);
}

static void test_vectors_canonical_request_string_to_sign_and_signature_match_botocore(void **s)
{
    for_each_vector(check_canonical_and_signature);
}

static void test_vectors_verify_accepts_botocore_signed_requests(void **s)
{
    for_each_vector(check_accepted);
}

static void test_vectors_one_changed_signature_digit_is_rejected(void **s)
{
    for_each_vector(check_flipped_signature_rejected);
}

static void test_vectors_wrong_secret_is_signature_mismatch(void **s)
{
    for_each_vector(check_wrong_secret_rejected);
}

static void test_vectors_unknown_access_key_is_invalid_access_key_id(void **s)
{
    for_each_vector(check_unknown_key_rejected);
}

static void test_vectors_clock_skew_and_presign_expiry(void **s)
{
    for_each_vector(check_clock_skew);
}

/* ---- hand-written cases, built on vector 01 and 09 ------------------------------ */

static void load(vcase *c, const char *name)
{
    vcase_load(c, name);
}

static size_t header_index(const vcase *c, const char *name)
{
    for (size_t i = 0; i < c->nheaders; i++)
        if (strcmp(c->headers[i].name, name) == 0) return i;
    fail_msg("%s has no %s header", c->file, name);
    return 0;
}

static enum s3_error verify_with_header(vcase *c, const char *name, const char *value, orc_err *e)
{
    sigv4_result out;
    c->headers[header_index(c, name)].value = value;
    return verify_case(c, c->now, &out, e);
}

static void test_aws_documentation_example_get_object(void **s)
{
    /* The GET Object example from the S3 SigV4 documentation: no spaces after the
     * commas, a Range header, signed by AWS rather than by botocore. */
    s3_header h[] = {
        {"Host", "examplebucket.s3.amazonaws.com"},
        {"Range", "bytes=0-9"},
        {"x-amz-content-sha256",
         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"x-amz-date", "20130524T000000Z"},
        {"Authorization",
         "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
         "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
         "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"},
    };
    sigv4_request rq = {"GET", "/test.txt", "", h, 5, 1369353600 + 60};
    keyring k = {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", 0};
    sigv4_result out;
    orc_err e;
    enum s3_error r = sigv4_verify(&rq, lookup, &k, &out, &e);
    if (r) fail_msg("rejected: %s", e.msg);
    assert_string_equal(out.region, "us-east-1");
    assert_string_equal(out.payload_sha256,
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_request_without_credentials_is_anonymous(void **s)
{
    s3_header h[] = {{"Host", "s3.example.com"}, {"X-Amz-Meta-A", "unsigned is fine here"}};
    sigv4_request rq = {"GET", "/b/k", "X-Amz-Credential=x&versionId=3", h, 2, 1000};
    keyring k = {"AK", "SECRET", 0};
    sigv4_result out;
    orc_err e;
    assert_int_equal(sigv4_verify(&rq, lookup, &k, &out, &e), S3E_NONE);
    assert_true(out.anonymous);
    assert_int_equal(k.calls, 0);
}

static void test_header_and_query_auth_together_is_invalid_argument(void **s)
{
    vcase c;
    load(&c, "01-get-bucket-root.txt");
    c.query = "X-Amz-Algorithm=AWS4-HMAC-SHA256";
    sigv4_result out;
    orc_err e;
    assert_int_equal(verify_case(&c, c.now, &out, &e), S3E_INVALID_ARGUMENT);
    free(c.text);
}

static void test_missing_content_sha256_is_invalid_request(void **s)
{
    vcase c;
    load(&c, "01-get-bucket-root.txt");
    /* renaming the header removes it; the unsigned x-amz-other is not the check hit */
    c.headers[header_index(&c, "X-Amz-Content-SHA256")].name = "X-Unrelated";
    sigv4_result out;
    orc_err e;
    assert_int_equal(verify_case(&c, c.now, &out, &e), S3E_INVALID_REQUEST);
    assert_string_equal(e.msg, "Missing required header for this request: x-amz-content-sha256");
    free(c.text);
}

static void test_bad_content_sha256_value_is_invalid_argument(void **s)
{
    const char *bad[] = {"abc",
                         "UNSIGNED-PAYLOAD ",
                         "unsigned-payload",
                         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g",
                         "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
                         ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vcase c;
        orc_err e;
        load(&c, "01-get-bucket-root.txt");
        assert_int_equal(verify_with_header(&c, "X-Amz-Content-SHA256", bad[i], &e),
                         S3E_INVALID_ARGUMENT);
        assert_non_null(strstr(e.msg, "x-amz-content-sha256 must be"));
        free(c.text);
    }
}

static void test_uppercase_content_sha256_is_reported_lowercase(void **s)
{
    /* the value is signed as sent, the body check compares lowercase */
    s3_header h[] = {
        {"Host", "h"},
        {"X-Amz-Date", "20261125T150130Z"},
        {"X-Amz-Content-SHA256",
         "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"},
        {"Authorization", ""},
    };
    sigv4_request rq = {"GET", "/", "", h, 4, 1795618890};
    orc_buf b;
    orc_err e;
    orc_buf_init(&b, 0);
    assert_int_equal(sigv4_canonical_request(&rq, "host;x-amz-content-sha256;x-amz-date",
                                             h[2].value, false, &b, &e),
                     ORC_OK);
    unsigned char hash[32], key[32], sig[32];
    char hh[65], sts[256], sighex[65], authz[512];
    unsigned int slen = 32;
    SHA256(b.ptr, b.len, hash);
    hex_encode(hash, 32, hh);
    snprintf(sts, sizeof(sts),
             "AWS4-HMAC-SHA256\n20261125T150130Z\n"
             "20261125/eu-west-1/s3/aws4_request\n%s",
             hh);
    sigv4_signing_key("S", "20261125", "eu-west-1", "s3", key);
    HMAC(EVP_sha256(), key, 32, (const unsigned char *)sts, strlen(sts), sig, &slen);
    hex_encode(sig, 32, sighex);
    snprintf(authz, sizeof(authz),
             "AWS4-HMAC-SHA256   Credential=AK/20261125/eu-west-1/s3/aws4_request,"
             "SignedHeaders=host;x-amz-content-sha256;x-amz-date,   Signature=%s",
             sighex);
    h[3].value = authz;
    keyring k = {"AK", "S", 0};
    sigv4_result out;
    enum s3_error r = sigv4_verify(&rq, lookup, &k, &out, &e);
    if (r) fail_msg("rejected: %s", e.msg);
    assert_string_equal(out.region, "eu-west-1");
    assert_string_equal(out.payload_sha256,
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    orc_buf_dispose(&b);
}

static void test_other_algorithms_are_invalid_argument(void **s)
{
    const char *bad[] = {"AWS AKIDEXAMPLE:c2lnbmF0dXJl", "AWS4-HMAC-SHA1 Credential=x",
                         "Bearer abc", "AWS4-HMAC-SHA256X Credential=x", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vcase c;
        orc_err e;
        load(&c, "01-get-bucket-root.txt");
        assert_int_equal(verify_with_header(&c, "Authorization", bad[i], &e), S3E_INVALID_ARGUMENT);
        free(c.text);
    }
}

static void test_malformed_authorization_headers(void **s)
{
    const char *sig = "Signature=e9a24f0fcc5f7bfc81d043f60a208323998207312f3a665a4402a59a152e2e5a";
    const char *cred = "Credential=AKIDEXAMPLE/20261125/us-east-1/s3/aws4_request";
    const char *sh = "SignedHeaders=host;x-amz-content-sha256;x-amz-date";
    char bad[10][512];
    int n = 0;
    snprintf(bad[n++], 512, "AWS4-HMAC-SHA256 %s, %s", cred, sh); /* no signature */
    snprintf(bad[n++], 512, "AWS4-HMAC-SHA256 %s, %s, %s, %s", cred, sh, sig, sig); /* twice */
    snprintf(bad[n++], 512, "AWS4-HMAC-SHA256 %s, %s, %s, Extra=1", cred, sh, sig);
    snprintf(bad[n++], 512, "AWS4-HMAC-SHA256 %s, %s, Signature=abc", cred, sh);
    snprintf(bad[n++], 512, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/s3, %s, %s",
             sh, sig);
    snprintf(bad[n++], 512,
             "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/ec2/aws4_request, %s, %s",
             sh, sig);
    snprintf(bad[n++], 512,
             "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/s3/aws5_request, %s, %s",
             sh, sig);
    snprintf(bad[n++], 512,
             "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261124/us-east-1/s3/aws4_request, %s, %s",
             sh, sig); /* scope date is not the x-amz-date's */
    snprintf(bad[n++], 512, "AWS4-HMAC-SHA256 %s, SignedHeaders=host;;x-amz-date, %s", cred, sig);
    snprintf(bad[n++], 512, "AWS4-HMAC-SHA256 %s, SignedHeaders=host;host, %s", cred, sig);
    for (int i = 0; i < n; i++) {
        vcase c;
        orc_err e;
        load(&c, "02-list-v2-query.txt");
        enum s3_error r = verify_with_header(&c, "Authorization", bad[i], &e);
        if (r != S3E_AUTHORIZATION_HEADER_MALFORMED)
            fail_msg("case %d (%s): got %d: %s", i, bad[i], r, e.msg);
        free(c.text);
    }
}

static void test_unsigned_amz_header_is_access_denied(void **s)
{
    vcase c;
    load(&c, "01-get-bucket-root.txt");
    c.headers[c.nheaders++] = (s3_header){"x-amz-acl", "public-read"};
    sigv4_result out;
    orc_err e;
    assert_int_equal(verify_case(&c, c.now, &out, &e), S3E_ACCESS_DENIED);
    assert_non_null(strstr(e.msg, "not signed: x-amz-acl"));
    free(c.text);
}

static void test_host_left_out_of_signed_headers_is_access_denied(void **s)
{
    vcase c;
    orc_err e;
    load(&c, "01-get-bucket-root.txt");
    assert_int_equal(
        verify_with_header(&c, "Authorization",
                           "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/s3/"
                           "aws4_request, SignedHeaders=x-amz-content-sha256;x-amz-date, "
                           "Signature=e9a24f0fcc5f7bfc81d043f60a208323998207312f3a665a4402a59a"
                           "152e2e5a",
                           &e),
        S3E_ACCESS_DENIED);
    assert_non_null(strstr(e.msg, "not signed: host"));
    free(c.text);
}

static void test_unsigned_ordinary_header_is_allowed(void **s)
{
    vcase c;
    load(&c, "01-get-bucket-root.txt");
    c.headers[c.nheaders++] = (s3_header){"User-Agent", "curl/8"};
    sigv4_result out;
    orc_err e;
    assert_int_equal(verify_case(&c, c.now, &out, &e), S3E_NONE);
    free(c.text);
}

static void test_signed_header_missing_from_request_names_it(void **s)
{
    vcase c;
    load(&c, "07-put-hex-payload.txt");
    c.headers[header_index(&c, "Content-Type")].name = "X-Gone";
    sigv4_result out;
    orc_err e;
    assert_int_equal(verify_case(&c, c.now, &out, &e), S3E_SIGNATURE_DOES_NOT_MATCH);
    assert_non_null(strstr(e.msg, "content-type"));
    free(c.text);
}

static void test_changed_signed_header_value_is_signature_mismatch(void **s)
{
    vcase c;
    orc_err e;
    load(&c, "11-header-space-runs.txt");
    assert_int_equal(verify_with_header(&c, "X-Amz-Meta-Note", "hello big  world!", &e),
                     S3E_SIGNATURE_DOES_NOT_MATCH);
    free(c.text);
    /* while whitespace the canonical form folds away is not a change */
    load(&c, "11-header-space-runs.txt");
    assert_int_equal(verify_with_header(&c, "X-Amz-Meta-Note", "\thello big world", &e), S3E_NONE);
    free(c.text);
}

static void test_changed_path_or_query_is_signature_mismatch(void **s)
{
    vcase c;
    sigv4_result out;
    orc_err e;
    load(&c, "03-key-with-spaces.txt");
    c.path = "/mybucket/my%20file%20name.txT";
    assert_int_equal(verify_case(&c, c.now, &out, &e), S3E_SIGNATURE_DOES_NOT_MATCH);
    free(c.text);
    load(&c, "02-list-v2-query.txt");
    c.query = "list-type=2&prefix=a%2Fc&delimiter=/";
    assert_int_equal(verify_case(&c, c.now, &out, &e), S3E_SIGNATURE_DOES_NOT_MATCH);
    free(c.text);
    /* equivalent spellings of the same request still verify */
    load(&c, "02-list-v2-query.txt");
    c.query = "delimiter=%2f&prefix=a/b&list-type=%32";
    assert_int_equal(verify_case(&c, c.now, &out, &e), S3E_NONE);
    free(c.text);
}

static void test_bad_amz_date_is_access_denied(void **s)
{
    const char *bad[] = {"20261125T150130", "2026-11-25T15:01:30Z", "20261325T150130Z", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vcase c;
        orc_err e;
        load(&c, "01-get-bucket-root.txt");
        assert_int_equal(verify_with_header(&c, "X-Amz-Date", bad[i], &e), S3E_ACCESS_DENIED);
        free(c.text);
    }
}

static void test_bad_date_header_is_access_denied(void **s)
{
    vcase c;
    orc_err e;
    load(&c, "15-date-header.txt");
    assert_int_equal(verify_with_header(&c, "Date", "Wed, 25 Nov 2026 15:01:30 CET", &e),
                     S3E_ACCESS_DENIED);
    free(c.text);
    load(&c, "15-date-header.txt");
    assert_int_equal(verify_with_header(&c, "Date", "Xyz, 25 Nov 2026 15:01:30 GMT", &e),
                     S3E_ACCESS_DENIED);
    free(c.text);
}

static void test_presigned_parameter_errors_are_invalid_argument(void **s)
{
    const char *base = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F"
                       "20261125%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261125T150130Z"
                       "&X-Amz-SignedHeaders=host&X-Amz-Signature=2453afe93bdeeb9568f1e011c462"
                       "16eda7fe46324fa2071b8a3f6ae5082196c8";
    const char *expires[] = {"&X-Amz-Expires=0",
                             "&X-Amz-Expires=604801",
                             "&X-Amz-Expires=-5",
                             "&X-Amz-Expires=",
                             "&X-Amz-Expires=1e3",
                             "&X-Amz-Expires=99999999999999999999999",
                             "",
                             "&X-Amz-Expires=60&X-Amz-Expires=60"};
    for (size_t i = 0; i < sizeof(expires) / sizeof(expires[0]); i++) {
        vcase c;
        char q[1024];
        sigv4_result out;
        orc_err e;
        load(&c, "09-presigned-get.txt");
        snprintf(q, sizeof(q), "%s%s", base, expires[i]);
        c.query = q;
        enum s3_error r = verify_case(&c, c.now, &out, &e);
        if (r != S3E_INVALID_ARGUMENT) fail_msg("%s: got %d: %s", expires[i], r, e.msg);
        free(c.text);
    }
    vcase c;
    char q[1024];
    sigv4_result out;
    orc_err e;
    load(&c, "09-presigned-get.txt");
    snprintf(q, sizeof(q), "%s", c.query);
    memcpy(strstr(q, "AWS4-HMAC-SHA256"), "AWS4-HMAC-SHA257", 16);
    c.query = q;
    assert_int_equal(verify_case(&c, c.now, &out, &e), S3E_INVALID_ARGUMENT);
    free(c.text);
}

static void test_presigned_url_signs_content_sha256_header_when_listed(void **s)
{
    /* an x-amz-* header next to a presigned URL must be covered by it */
    vcase c;
    load(&c, "09-presigned-get.txt");
    c.headers[c.nheaders++] = (s3_header){"x-amz-content-sha256", "UNSIGNED-PAYLOAD"};
    sigv4_result out;
    orc_err e;
    assert_int_equal(verify_case(&c, c.now, &out, &e), S3E_ACCESS_DENIED);
    free(c.text);
}

static void expect_canonical_parts(const char *path, const char *query, const char *want_uri,
                                   const char *want_query)
{
    s3_header h[] = {{"Host", "h"}};
    sigv4_request rq = {"GET", path, query, h, 1, 0};
    orc_buf b;
    orc_err e;
    char want[1024];
    orc_buf_init(&b, 0);
    assert_int_equal(sigv4_canonical_request(&rq, "host", "UNSIGNED-PAYLOAD", true, &b, &e),
                     ORC_OK);
    snprintf(want, sizeof(want), "GET\n%s\n%s\nhost:h\n\nhost\nUNSIGNED-PAYLOAD", want_uri,
             want_query);
    assert_string_equal((const char *)b.ptr, want);
    orc_buf_dispose(&b);
}

static void test_canonical_uri_rules(void **s)
{
    expect_canonical_parts("", "", "/", "");
    expect_canonical_parts("/b/%7Ekey%2fx", "", "/b/~key/x", "");
    expect_canonical_parts("/a//b/./c/../d", "", "/a//b/./c/../d", ""); /* not normalized */
    expect_canonical_parts("/b/a+b!'()*", "", "/b/a%2Bb%21%27%28%29%2A", "");
    expect_canonical_parts("/b/caf%c3%a9", "", "/b/caf%C3%A9", "");
}

static void test_canonical_query_rules(void **s)
{
    expect_canonical_parts("/", "q=a+b", "/", "q=a%2Bb");
    expect_canonical_parts("/", "b=2&a=1&&a=0&", "/", "a=0&a=1&b=2");
    expect_canonical_parts("/", "uploads&x=", "/", "uploads=&x=");
    expect_canonical_parts("/", "k=a=b", "/", "k=a%3Db");
    expect_canonical_parts("/", "X-Amz-Signature=ab&z=1", "/", "z=1");
    expect_canonical_parts("/", "%41=%7e&a=%20", "/", "A=~&a=%20");
}

static void test_canonical_rejects_bad_escapes_and_oversize_input(void **s)
{
    s3_header h[] = {{"Host", "h"}};
    orc_buf b;
    orc_err e;
    orc_buf_init(&b, 0);
    sigv4_request rq = {"GET", "/b/%zz", "", h, 1, 0};
    assert_int_equal(sigv4_canonical_request(&rq, "host", "x", false, &b, &e), ORC_EINVAL);
    rq.raw_path = "/b";
    rq.raw_query = "a=%4";
    assert_int_equal(sigv4_canonical_request(&rq, "host", "x", false, &b, &e), ORC_EINVAL);

    static char big[40000];
    memset(big, 'a', sizeof(big) - 1);
    rq.raw_query = big;
    assert_int_equal(sigv4_canonical_request(&rq, "host", "x", false, &b, &e), ORC_ENOSPC);
    rq.raw_query = "";
    rq.raw_path = big;
    assert_int_equal(sigv4_canonical_request(&rq, "host", "x", false, &b, &e), ORC_ENOSPC);
    orc_buf_dispose(&b);
}

static void test_oversize_requests_are_rejected_not_overflowed(void **s)
{
    static s3_header many[300];
    static char big[40000];
    for (size_t i = 0; i < 300; i++)
        many[i] = (s3_header){"X-Pad", "1"};
    keyring k = {"AK", "S", 0};
    sigv4_result out;
    orc_err e;
    sigv4_request rq = {"GET", "/", "", many, 300, 0};
    assert_int_equal(sigv4_verify(&rq, lookup, &k, &out, &e), S3E_INVALID_REQUEST);

    memset(big, 'a', sizeof(big) - 1);
    s3_header h[] = {{"Host", "h"}, {"Authorization", big}};
    rq = (sigv4_request){"GET", "/", "", h, 2, 0};
    assert_int_equal(sigv4_verify(&rq, lookup, &k, &out, &e), S3E_INVALID_REQUEST);

    memcpy(big, "AWS4-HMAC-SHA256 ", 17);
    big[8000] = 0;
    assert_int_equal(sigv4_verify(&rq, lookup, &k, &out, &e), S3E_AUTHORIZATION_HEADER_MALFORMED);
    assert_int_equal(k.calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_vectors_canonical_request_string_to_sign_and_signature_match_botocore),
        cmocka_unit_test(test_vectors_verify_accepts_botocore_signed_requests),
        cmocka_unit_test(test_vectors_one_changed_signature_digit_is_rejected),
        cmocka_unit_test(test_vectors_wrong_secret_is_signature_mismatch),
        cmocka_unit_test(test_vectors_unknown_access_key_is_invalid_access_key_id),
        cmocka_unit_test(test_vectors_clock_skew_and_presign_expiry),
        cmocka_unit_test(test_aws_documentation_example_get_object),
        cmocka_unit_test(test_request_without_credentials_is_anonymous),
        cmocka_unit_test(test_header_and_query_auth_together_is_invalid_argument),
        cmocka_unit_test(test_missing_content_sha256_is_invalid_request),
        cmocka_unit_test(test_bad_content_sha256_value_is_invalid_argument),
        cmocka_unit_test(test_uppercase_content_sha256_is_reported_lowercase),
        cmocka_unit_test(test_other_algorithms_are_invalid_argument),
        cmocka_unit_test(test_malformed_authorization_headers),
        cmocka_unit_test(test_unsigned_amz_header_is_access_denied),
        cmocka_unit_test(test_host_left_out_of_signed_headers_is_access_denied),
        cmocka_unit_test(test_unsigned_ordinary_header_is_allowed),
        cmocka_unit_test(test_signed_header_missing_from_request_names_it),
        cmocka_unit_test(test_changed_signed_header_value_is_signature_mismatch),
        cmocka_unit_test(test_changed_path_or_query_is_signature_mismatch),
        cmocka_unit_test(test_bad_amz_date_is_access_denied),
        cmocka_unit_test(test_bad_date_header_is_access_denied),
        cmocka_unit_test(test_presigned_parameter_errors_are_invalid_argument),
        cmocka_unit_test(test_presigned_url_signs_content_sha256_header_when_listed),
        cmocka_unit_test(test_canonical_uri_rules),
        cmocka_unit_test(test_canonical_query_rules),
        cmocka_unit_test(test_canonical_rejects_bad_escapes_and_oversize_input),
        cmocka_unit_test(test_oversize_requests_are_rejected_not_overflowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
