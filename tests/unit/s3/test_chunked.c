/* The aws-chunked decoder: vectors (vectors/chunked/, made by
 * vectors/gen_chunked.py, whose signer reproduces the S3 documentation's
 * worked example) decoded whole, split at every byte boundary and one byte at
 * a time; every signature and data byte tampered with; and hand-made framing
 * errors: bad hex, overflow, long lines, missing CRLF, lengths that do not
 * add up, trailers that were not declared. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "s3/chunked.h"
#include "util/buf.h"
#include "util/hex.h"

#define VECTOR_DIR "vectors/chunked"
#define EMPTY_SIG "0000000000000000000000000000000000000000000000000000000000000000"

static const char *const vector_files[] = {
    "01-aws-doc-example.txt",       "02-signed-trailer-crc32.txt", "03-unsigned-trailer-crc32c.txt",
    "04-signed-trailer-sha256.txt", "05-signed-empty-body.txt",
};

typedef struct vec {
    enum s3_chunked_trailers trailers;
    bool signed_chunks;
    unsigned char key[32];
    char seed[65], date[17], scope[160], tname[64], tvalue[128];
    bool pattern;
    uint8_t fill;
    uint64_t decoded_length;
    uint64_t sizes[8];
    char sigs[8][65];
    size_t nchunks;
    char tlines[4][160];
    size_t ntlines;
} vec;

/* ---- reading vectors (test input, trusted) ---- */

static void copy_to(char *dst, size_t cap, const char *v)
{
    assert_true(strlen(v) < cap);
    strcpy(dst, v);
}

static void load(const char *file, vec *v)
{
    char path[256], line[512];
    snprintf(path, sizeof(path), VECTOR_DIR "/%s", file);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    memset(v, 0, sizeof(*v));
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        char *sep = strstr(line, ": ");
        assert_non_null(sep);
        *sep = 0;
        const char *k = line, *val = sep + 2;
        if (!strcmp(k, "mode")) {
            v->signed_chunks = strcmp(val, "unsigned-trailer") != 0;
            v->trailers = !strcmp(val, "signed")           ? S3_CHUNKED_NO_TRAILER
                          : !strcmp(val, "signed-trailer") ? S3_CHUNKED_SIGNED_TRAILER
                                                           : S3_CHUNKED_TRAILER;
        } else if (!strcmp(k, "signing-key")) {
            assert_int_equal(hex_decode(val, 32, v->key), 0);
        } else if (!strcmp(k, "seed-signature")) {
            copy_to(v->seed, sizeof(v->seed), val);
        } else if (!strcmp(k, "amz-date")) {
            copy_to(v->date, sizeof(v->date), val);
        } else if (!strcmp(k, "scope")) {
            copy_to(v->scope, sizeof(v->scope), val);
        } else if (!strcmp(k, "trailer-name")) {
            copy_to(v->tname, sizeof(v->tname), val);
        } else if (!strcmp(k, "trailer-value")) {
            copy_to(v->tvalue, sizeof(v->tvalue), val);
        } else if (!strcmp(k, "data")) {
            v->pattern = !strcmp(val, "pattern");
            if (!v->pattern) v->fill = (uint8_t)strtoul(val + 5, NULL, 16);
        } else if (!strcmp(k, "decoded-length")) {
            v->decoded_length = strtoull(val, NULL, 10);
        } else if (!strcmp(k, "chunk")) {
            assert_true(v->nchunks < 8);
            char *sp;
            v->sizes[v->nchunks] = strtoull(val, &sp, 10);
            copy_to(v->sigs[v->nchunks++], 65, sp + 1);
        } else if (!strcmp(k, "trailer")) {
            assert_true(v->ntlines < 4);
            copy_to(v->tlines[v->ntlines++], 160, val);
        } else {
            fail_msg("unknown key %s in %s", k, file);
        }
    }
    fclose(f);
}

static uint8_t data_byte(const vec *v, uint64_t j)
{
    return v->pattern ? (uint8_t)((31 * j + 7) & 0xff) : v->fill;
}

/* The body as a client sends it, and the decoded bytes expected. */
static void build(const vec *v, orc_buf *body, orc_buf *plain)
{
    uint64_t off = 0;
    orc_buf_init(body, 0);
    orc_buf_init(plain, 0);
    for (size_t i = 0; i < v->nchunks; i++) {
        if (v->signed_chunks)
            orc_buf_printf(body, NULL, "%llx;chunk-signature=%s\r\n",
                           (unsigned long long)v->sizes[i], v->sigs[i]);
        else
            orc_buf_printf(body, NULL, "%llx\r\n", (unsigned long long)v->sizes[i]);
        for (uint64_t j = 0; j < v->sizes[i]; j++, off++) {
            uint8_t b = data_byte(v, off);
            orc_buf_append(body, &b, 1, NULL);
            orc_buf_append(plain, &b, 1, NULL);
        }
        if (v->sizes[i]) orc_buf_puts(body, "\r\n", NULL);
    }
    for (size_t i = 0; i < v->ntlines; i++)
        orc_buf_printf(body, NULL, "%s\r\n", v->tlines[i]);
    orc_buf_puts(body, "\r\n", NULL);
}

/* ---- decoding ---- */

typedef struct sink {
    orc_buf got;
    int fail_after; /* > 0: fail once this many bytes arrived */
} sink;

static int collect(void *ctx, const uint8_t *data, size_t len, orc_err *e)
{
    sink *s = ctx;
    orc_buf_append(&s->got, data, len, NULL);
    if (s->fail_after > 0 && s->got.len >= (size_t)s->fail_after)
        return orc_fail(e, ORC_EIO, "sink says no");
    return 0;
}

static s3_chunked *open_vec(const vec *v, sink *s)
{
    orc_buf_init(&s->got, 0);
    s3_chunked_opts o = {
        .signed_chunks = v->signed_chunks,
        .trailers = v->trailers,
        .trailer_name = v->tname[0] ? v->tname : NULL,
        .signing_key = v->key,
        .seed_signature = v->seed,
        .amz_date = v->date,
        .scope = v->scope,
        .decoded_length = v->decoded_length,
        .sink = collect,
        .sink_ctx = s,
    };
    return s3_chunked_new(&o);
}

/* Feeds body in pieces (cuts are offsets, ascending) and finishes. */
static int decode(const vec *v, const orc_buf *body, const size_t *cuts, size_t ncuts, sink *s,
                  enum s3_error *err, const char **trailer, s3_chunked **keep)
{
    orc_err e = {0};
    size_t at = 0;
    int rc = 0;
    s3_chunked *c = open_vec(v, s);
    for (size_t i = 0; i <= ncuts && !rc; i++) {
        size_t to = i < ncuts ? cuts[i] : body->len;
        rc = s3_chunked_feed(c, body->ptr + at, to - at, &e);
        at = to;
    }
    if (!rc) rc = s3_chunked_finish(c, &e);
    *err = s3_chunked_error(c);
    if (trailer) *trailer = s3_chunked_trailer(c);
    if (keep) {
        *keep = c;
    } else {
        s3_chunked_free(c);
    }
    return rc;
}

static void expect_decodes(const vec *v, const orc_buf *body, const orc_buf *plain,
                           const size_t *cuts, size_t ncuts)
{
    sink s = {0};
    enum s3_error err;
    const char *tv;
    s3_chunked *c;
    int rc = decode(v, body, cuts, ncuts, &s, &err, &tv, &c);
    if (rc) fail_msg("decode failed (rc %d, s3 error %d) with %zu cuts", rc, err, ncuts);
    assert_int_equal(s.got.len, plain->len);
    if (plain->len) assert_memory_equal(s.got.ptr, plain->ptr, plain->len);
    assert_int_equal(s3_chunked_decoded(c), v->decoded_length);
    if (v->tvalue[0]) {
        assert_non_null(tv);
        assert_string_equal(tv, v->tvalue);
    } else {
        assert_null(tv);
    }
    s3_chunked_free(c);
    orc_buf_dispose(&s.got);
}

static void expect_rejected(const vec *v, const orc_buf *body, int want_rc, enum s3_error want_err)
{
    sink s = {0};
    enum s3_error err;
    int rc = decode(v, body, NULL, 0, &s, &err, NULL, NULL);
    assert_int_equal(rc, want_rc);
    assert_int_equal(err, want_err);
    orc_buf_dispose(&s.got);
}

static void test_vectors_decode_whole(void **state)
{
    for (size_t f = 0; f < sizeof(vector_files) / sizeof(vector_files[0]); f++) {
        vec v;
        orc_buf body, plain;
        load(vector_files[f], &v);
        build(&v, &body, &plain);
        expect_decodes(&v, &body, &plain, NULL, 0);
        orc_buf_dispose(&body);
        orc_buf_dispose(&plain);
    }
}

static void test_vectors_decode_split_at_every_byte_boundary(void **state)
{
    for (size_t f = 0; f < sizeof(vector_files) / sizeof(vector_files[0]); f++) {
        vec v;
        orc_buf body, plain;
        load(vector_files[f], &v);
        build(&v, &body, &plain);
        /* two pieces at every cut; the 66 KB example in steps of 97 to stay quick */
        size_t step = body.len > 20000 ? 97 : 1;
        for (size_t cut = 0; cut <= body.len; cut += step)
            expect_decodes(&v, &body, &plain, &cut, 1);
        /* every piece one byte long */
        size_t *cuts = malloc(body.len * sizeof(*cuts));
        for (size_t i = 0; i < body.len; i++)
            cuts[i] = i + 1;
        expect_decodes(&v, &body, &plain, cuts, body.len);
        free(cuts);
        orc_buf_dispose(&body);
        orc_buf_dispose(&plain);
    }
}

static void test_vectors_any_changed_chunk_signature_is_rejected(void **state)
{
    for (size_t f = 0; f < sizeof(vector_files) / sizeof(vector_files[0]); f++) {
        vec v;
        load(vector_files[f], &v);
        if (!v.signed_chunks) continue;
        for (size_t i = 0; i < v.nchunks; i++) {
            vec bad = v;
            orc_buf body, plain;
            bad.sigs[i][10] = bad.sigs[i][10] == '0' ? '1' : '0';
            build(&bad, &body, &plain);
            expect_rejected(&bad, &body, ORC_EAUTH, S3E_SIGNATURE_DOES_NOT_MATCH);
            orc_buf_dispose(&body);
            orc_buf_dispose(&plain);
        }
        /* a different seed breaks the whole chain */
        vec bad = v;
        orc_buf body, plain;
        bad.seed[0] = bad.seed[0] == 'a' ? 'b' : 'a';
        build(&bad, &body, &plain);
        expect_rejected(&bad, &body, ORC_EAUTH, S3E_SIGNATURE_DOES_NOT_MATCH);
        orc_buf_dispose(&body);
        orc_buf_dispose(&plain);
    }
}

static void test_vectors_changed_data_byte_is_rejected(void **state)
{
    vec v;
    orc_buf body, plain;
    load("02-signed-trailer-crc32.txt", &v);
    build(&v, &body, &plain);
    const char *first = strstr((const char *)body.ptr, "\r\n") + 2;
    for (size_t k = 0; k < 117; k += 29) { /* bytes of both data chunks */
        size_t at = (size_t)(first - (const char *)body.ptr) + k + (k >= 100 ? 2 + 85 : 0);
        body.ptr[at] ^= 0x01;
        expect_rejected(&v, &body, ORC_EAUTH, S3E_SIGNATURE_DOES_NOT_MATCH);
        body.ptr[at] ^= 0x01;
    }
    expect_decodes(&v, &body, &plain, NULL, 0);
    orc_buf_dispose(&body);
    orc_buf_dispose(&plain);
}

static void test_signed_trailer_is_checked(void **state)
{
    vec v;
    orc_buf body, plain;
    load("02-signed-trailer-crc32.txt", &v);
    /* a changed trailer value no longer matches the trailer signature */
    vec bad = v;
    bad.tlines[0][strlen(bad.tlines[0]) - 3] ^= 0x01;
    build(&bad, &body, &plain);
    expect_rejected(&bad, &body, ORC_EAUTH, S3E_SIGNATURE_DOES_NOT_MATCH);
    orc_buf_dispose(&body);
    orc_buf_dispose(&plain);
    /* nor does a changed signature */
    bad = v;
    bad.tlines[1][30] = bad.tlines[1][30] == '0' ? '1' : '0';
    build(&bad, &body, &plain);
    expect_rejected(&bad, &body, ORC_EAUTH, S3E_SIGNATURE_DOES_NOT_MATCH);
    orc_buf_dispose(&body);
    orc_buf_dispose(&plain);
    /* a trailer without its signature is refused */
    bad = v;
    bad.ntlines = 1;
    build(&bad, &body, &plain);
    expect_rejected(&bad, &body, ORC_EINVAL, S3E_MALFORMED_TRAILER);
    orc_buf_dispose(&body);
    orc_buf_dispose(&plain);
}

static void test_unsigned_trailer_value_is_returned_as_sent(void **state)
{
    vec v;
    orc_buf body, plain;
    load("03-unsigned-trailer-crc32c.txt", &v);
    /* blanks around the value are dropped; the name may come in any case */
    snprintf(v.tlines[0], sizeof(v.tlines[0]), "X-Amz-Checksum-CRC32C: \t%s ", v.tvalue);
    build(&v, &body, &plain);
    expect_decodes(&v, &body, &plain, NULL, 0);
    orc_buf_dispose(&body);
    orc_buf_dispose(&plain);
}

/* ---- framing, by hand, unsigned ---- */

static int feed_text(const char *text, uint64_t decoded_length, const char *trailer_name,
                     enum s3_error *err, orc_buf *got)
{
    sink s = {0};
    orc_err e = {0};
    orc_buf_init(&s.got, 0);
    s.fail_after = 0;
    s3_chunked_opts o = {.trailers = S3_CHUNKED_TRAILER,
                         .trailer_name = trailer_name,
                         .decoded_length = decoded_length,
                         .sink = collect,
                         .sink_ctx = &s};
    s3_chunked *c = s3_chunked_new(&o);
    int rc = s3_chunked_feed(c, (const uint8_t *)text, strlen(text), &e);
    if (!rc) rc = s3_chunked_finish(c, &e);
    if (rc) assert_true(e.msg[0] != 0); /* a reason for the client */
    *err = s3_chunked_error(c);
    s3_chunked_free(c);
    if (got) {
        *got = s.got;
    } else {
        orc_buf_dispose(&s.got);
    }
    return rc;
}

static void expect_framing(const char *text, uint64_t len, int want_rc, enum s3_error want_err)
{
    enum s3_error err;
    int rc = feed_text(text, len, "x-amz-checksum-crc32", &err, NULL);
    if (rc != want_rc || err != want_err)
        fail_msg("'%s': rc %d err %d, wanted rc %d err %d", text, rc, err, want_rc, want_err);
}

static void test_well_formed_unsigned_body_decodes(void **state)
{
    enum s3_error err;
    orc_buf got;
    int rc = feed_text("5\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\n", 15, NULL, &err, &got);
    assert_int_equal(rc, 0);
    assert_int_equal(got.len, 15);
    assert_memory_equal(got.ptr, "hello0123456789", 15);
    orc_buf_dispose(&got);
    /* upper- and lowercase hex, leading zeros */
    expect_framing("000B\r\nhello world\r\n0\r\n\r\n", 11, 0, S3E_NONE);
    expect_framing("b\r\nhello world\r\n0\r\n\r\n", 11, 0, S3E_NONE);
    /* the closing empty line may be missing */
    expect_framing("2\r\nhi\r\n0\r\n", 2, 0, S3E_NONE);
    expect_framing("2\r\nhi\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n", 2, 0, S3E_NONE);
}

static void test_bad_hex_sizes_are_rejected(void **state)
{
    expect_framing("x\r\nhello\r\n0\r\n\r\n", 5, ORC_EINVAL, S3E_INVALID_REQUEST);
    expect_framing("\r\n", 5, ORC_EINVAL, S3E_INVALID_REQUEST);
    expect_framing(" 5\r\nhello\r\n0\r\n\r\n", 5, ORC_EINVAL, S3E_INVALID_REQUEST);
    expect_framing("5 \r\nhello\r\n0\r\n\r\n", 5, ORC_EINVAL, S3E_INVALID_REQUEST);
    expect_framing("-5\r\nhello\r\n0\r\n\r\n", 5, ORC_EINVAL, S3E_INVALID_REQUEST);
    expect_framing("5g\r\nhello\r\n0\r\n\r\n", 5, ORC_EINVAL, S3E_INVALID_REQUEST);
    /* an unsigned chunk has no extension */
    expect_framing("5;chunk-signature=00\r\nhello\r\n0\r\n\r\n", 5, ORC_EINVAL,
                   S3E_INVALID_REQUEST);
    /* 2^64 does not wrap around to 0 */
    expect_framing("10000000000000000\r\n", UINT64_MAX, ORC_EINVAL, S3E_INVALID_REQUEST);
    /* 2^64 - 1 parses, then is more than announced */
    expect_framing("ffffffffffffffff\r\n", 5, ORC_EINVAL, S3E_INCOMPLETE_BODY);
}

static void test_oversize_header_line_is_rejected_without_buffering_it(void **state)
{
    char text[S3_CHUNKED_MAX_LINE + 16];
    memset(text, '0', S3_CHUNKED_MAX_LINE);
    strcpy(text + S3_CHUNKED_MAX_LINE, "5\r\n"); /* 257 hex digits */
    expect_framing(text, 5, ORC_EINVAL, S3E_INVALID_REQUEST);
    /* exactly the limit is fine: leading zeros */
    memset(text, '0', S3_CHUNKED_MAX_LINE - 1);
    strcpy(text + S3_CHUNKED_MAX_LINE - 1, "5\r\nhello\r\n0\r\n\r\n");
    expect_framing(text, 5, 0, S3E_NONE);
    /* a trailer line too long */
    char tl[S3_CHUNKED_MAX_LINE + 64];
    strcpy(tl, "0\r\nx-amz-checksum-crc32:");
    size_t n = strlen(tl);
    memset(tl + n, 'A', S3_CHUNKED_MAX_LINE);
    strcpy(tl + n + S3_CHUNKED_MAX_LINE, "\r\n\r\n"); /* 278 bytes */
    expect_framing(tl, 0, ORC_EINVAL, S3E_MALFORMED_TRAILER);
}

static void test_line_endings_must_be_crlf(void **state)
{
    expect_framing("5\nhello\r\n0\r\n\r\n", 5, ORC_EINVAL, S3E_INVALID_REQUEST);
    expect_framing("5\rhello\r\n0\r\n\r\n", 5, ORC_EINVAL, S3E_INVALID_REQUEST);
    /* chunk data longer than its size: no CRLF where it must be */
    expect_framing("5\r\nhello!\r\n0\r\n\r\n", 6, ORC_EINVAL, S3E_INVALID_REQUEST);
    expect_framing("5\r\nhello\n0\r\n\r\n", 5, ORC_EINVAL, S3E_INVALID_REQUEST);
    expect_framing("5\r\nhello\r\r0\r\n\r\n", 5, ORC_EINVAL, S3E_INVALID_REQUEST);
}

static void test_lengths_must_add_up(void **state)
{
    /* more than x-amz-decoded-content-length */
    expect_framing("5\r\nhello\r\n0\r\n\r\n", 4, ORC_EINVAL, S3E_INCOMPLETE_BODY);
    /* fewer */
    expect_framing("5\r\nhello\r\n0\r\n\r\n", 6, ORC_EINVAL, S3E_INCOMPLETE_BODY);
    /* the body stops early: in a header, in data, before the final chunk */
    expect_framing("5\r\nhel", 5, ORC_EINVAL, S3E_INCOMPLETE_BODY);
    expect_framing("5\r\nhello\r\n", 5, ORC_EINVAL, S3E_INCOMPLETE_BODY);
    expect_framing("5\r\nhello\r\n0", 5, ORC_EINVAL, S3E_INCOMPLETE_BODY);
    expect_framing("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r", 5, ORC_EINVAL,
                   S3E_INCOMPLETE_BODY);
    expect_framing("", 0, ORC_EINVAL, S3E_INCOMPLETE_BODY);
    /* nothing may follow the end */
    expect_framing("0\r\n\r\nX", 0, ORC_EINVAL, S3E_INVALID_REQUEST);
}

static void test_trailers_must_be_declared_and_well_formed(void **state)
{
    expect_framing("0\r\nx-amz-checksum-sha256:AAAA\r\n\r\n", 0, ORC_EINVAL, S3E_MALFORMED_TRAILER);
    expect_framing("0\r\nx-amz-checksum-crc32 AAAAAA==\r\n\r\n", 0, ORC_EINVAL,
                   S3E_MALFORMED_TRAILER);
    expect_framing("0\r\n:AAAAAA==\r\n\r\n", 0, ORC_EINVAL, S3E_MALFORMED_TRAILER);
    expect_framing("0\r\nx-amz-checksum-crc32:AAAAAA==\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n", 0,
                   ORC_EINVAL, S3E_MALFORMED_TRAILER);
    expect_framing("0\r\nx-amz-checksum-crc32:AA\x01\x41\r\n\r\n", 0, ORC_EINVAL,
                   S3E_MALFORMED_TRAILER);
    /* no trailer signature in an unsigned body */
    expect_framing("0\r\nx-amz-trailer-signature:" EMPTY_SIG "\r\n\r\n", 0, ORC_EINVAL,
                   S3E_MALFORMED_TRAILER);
}

static void test_sink_failure_is_passed_through(void **state)
{
    sink s = {0};
    orc_err e = {0};
    const char *text = "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n";
    orc_buf_init(&s.got, 0);
    s.fail_after = 7;
    s3_chunked_opts o = {
        .trailers = S3_CHUNKED_TRAILER, .decoded_length = 10, .sink = collect, .sink_ctx = &s};
    s3_chunked *c = s3_chunked_new(&o);
    assert_int_equal(s3_chunked_feed(c, (const uint8_t *)text, strlen(text), &e), ORC_EIO);
    assert_string_equal(e.msg, "sink says no");
    assert_int_equal(s3_chunked_error(c), S3E_NONE);
    /* and it stays failed */
    assert_int_equal(s3_chunked_feed(c, (const uint8_t *)"x", 1, &e), ORC_EIO);
    assert_int_equal(s3_chunked_finish(c, &e), ORC_EIO);
    s3_chunked_free(c);
    orc_buf_dispose(&s.got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_decode_whole),
        cmocka_unit_test(test_vectors_decode_split_at_every_byte_boundary),
        cmocka_unit_test(test_vectors_any_changed_chunk_signature_is_rejected),
        cmocka_unit_test(test_vectors_changed_data_byte_is_rejected),
        cmocka_unit_test(test_signed_trailer_is_checked),
        cmocka_unit_test(test_unsigned_trailer_value_is_returned_as_sent),
        cmocka_unit_test(test_well_formed_unsigned_body_decodes),
        cmocka_unit_test(test_bad_hex_sizes_are_rejected),
        cmocka_unit_test(test_oversize_header_line_is_rejected_without_buffering_it),
        cmocka_unit_test(test_line_endings_must_be_crlf),
        cmocka_unit_test(test_lengths_must_add_up),
        cmocka_unit_test(test_trailers_must_be_declared_and_well_formed),
        cmocka_unit_test(test_sink_failure_is_passed_through),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
