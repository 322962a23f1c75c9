/* aws-chunked decoder: a byte-driven state machine. Lines (chunk headers,
 * trailers) are gathered into a fixed buffer of S3_CHUNKED_MAX_LINE bytes;
 * chunk data passes straight through to the sink while SHA-256 runs over it,
 * and each chunk's signature is checked when its last byte has gone by. */
#include "s3/chunked.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/hex.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIG_EXT ";chunk-signature="
#define TRAILER_SIG "x-amz-trailer-signature"

enum state {
    ST_SIZE,    /* reading a chunk header line */
    ST_DATA,    /* passing chunk data through */
    ST_DATA_CR, /* the CRLF after chunk data */
    ST_DATA_LF,
    ST_TRAILER, /* reading trailer lines, up to an empty one */
    ST_DONE,
    ST_FAILED,
};

struct s3_chunked {
    bool signed_chunks;
    enum s3_chunked_trailers trailers;
    char *trailer_name;
    unsigned char key[32];
    char prev[65]; /* the signature the next chunk chains from */
    char *amz_date, *scope;
    uint64_t decoded_length, decoded;
    s3_chunked_sink sink;
    void *sink_ctx;

    enum state st;
    char line[S3_CHUNKED_MAX_LINE + 1];
    size_t line_len;
    bool line_cr;        /* the line's CR came; LF must follow */
    uint64_t remaining;  /* of the current chunk's data */
    char chunk_sig[65];  /* the current chunk's claimed signature */
    EVP_MD_CTX *sha;     /* chunk data, then the canonical trailers */
    char *trailer_value; /* of trailer_name, once received */
    bool trailer_signed; /* x-amz-trailer-signature seen (and checked) */
    int rc;              /* the failure every later call returns */
    orc_err err;
    enum s3_error s3err;
};

static int fail(s3_chunked *c, enum s3_error se, orc_err *e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(s3_chunked *c, enum s3_error se, orc_err *e, const char *fmt, ...)
{
    va_list ap;
    c->st = ST_FAILED;
    c->s3err = se;
    c->rc = se == S3E_SIGNATURE_DOES_NOT_MATCH ? ORC_EAUTH : ORC_EINVAL;
    c->err.code = c->rc;
    va_start(ap, fmt);
    vsnprintf(c->err.msg, sizeof(c->err.msg), fmt, ap);
    va_end(ap);
    if (e) *e = c->err;
    return c->rc;
}

static int failed(const s3_chunked *c, orc_err *e)
{
    if (e) *e = c->err;
    return c->rc;
}

s3_chunked *s3_chunked_new(const s3_chunked_opts *o)
{
    s3_chunked *c = orc_calloc(1, sizeof(*c));
    c->signed_chunks = o->signed_chunks;
    c->trailers = o->trailers;
    c->trailer_name = o->trailer_name ? orc_strdup(o->trailer_name) : NULL;
    for (char *p = c->trailer_name; p && *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    if (o->signed_chunks) {
        memcpy(c->key, o->signing_key, 32);
        snprintf(c->prev, sizeof(c->prev), "%s", o->seed_signature);
    }
    c->amz_date = orc_strdup(o->amz_date ? o->amz_date : "");
    c->scope = orc_strdup(o->scope ? o->scope : "");
    c->decoded_length = o->decoded_length;
    c->sink = o->sink;
    c->sink_ctx = o->sink_ctx;
    c->sha = EVP_MD_CTX_new();
    if (!c->sha) abort();
    c->st = ST_SIZE;
    return c;
}

void s3_chunked_free(s3_chunked *c)
{
    if (!c) return;
    EVP_MD_CTX_free(c->sha);
    OPENSSL_cleanse(c->key, sizeof(c->key));
    free(c->trailer_name);
    free(c->trailer_value);
    free(c->amz_date);
    free(c->scope);
    free(c);
}

enum s3_error s3_chunked_error(const s3_chunked *c)
{
    return c->st == ST_FAILED ? c->s3err : S3E_NONE;
}

const char *s3_chunked_trailer(const s3_chunked *c)
{
    return c->trailer_value;
}

uint64_t s3_chunked_decoded(const s3_chunked *c)
{
    return c->decoded;
}

/* ---- signatures ---- */

/* HMAC-SHA256(key, kind \n date \n scope \n prev \n [EMPTY_SHA256 \n] hash), hex. */
static void sign(const s3_chunked *c, const char *kind, bool with_empty, const char *hash,
                 char out[65])
{
    char sts[512];
    unsigned char mac[32];
    unsigned mlen = 0;
    int n = snprintf(sts, sizeof(sts), "%s\n%s\n%s\n%s\n%s%s%s", kind, c->amz_date, c->scope,
                     c->prev, with_empty ? EMPTY_SHA256 : "", with_empty ? "\n" : "", hash);
    if (n < 0 || (size_t)n >= sizeof(sts) ||
        !HMAC(EVP_sha256(), c->key, 32, (const unsigned char *)sts, (size_t)n, mac, &mlen))
        abort(); /* scope and date are bounded by sigv4.c */
    hex_encode(mac, 32, out);
}

static void sha_hex(EVP_MD_CTX *sha, char out[65])
{
    unsigned char d[32];
    EVP_DigestFinal_ex(sha, d, NULL);
    hex_encode(d, 32, out);
}

/* Checks the current chunk's signature over the data hashed so far and
 * advances the chain. */
static int check_chunk(s3_chunked *c, orc_err *e)
{
    char hash[65], want[65];
    sha_hex(c->sha, hash);
    sign(c, "AWS4-HMAC-SHA256-PAYLOAD", true, hash, want);
    if (CRYPTO_memcmp(want, c->chunk_sig, 64) != 0)
        return fail(c, S3E_SIGNATURE_DOES_NOT_MATCH, e,
                    "The chunk signature of the chunk ending at decoded byte %llu does not "
                    "match: check the signing key and the chunk chaining.",
                    (unsigned long long)c->decoded);
    memcpy(c->prev, want, 65);
    return ORC_OK;
}

/* ---- lines ---- */

/* Gathers a CRLF-terminated line from *p. 1: c->line holds a whole line (NUL
 * terminated, CRLF dropped); 0: all input used, more needed; <0: failed. */
static int take_line(s3_chunked *c, const uint8_t **p, size_t *n, orc_err *e)
{
    while (*n) {
        char ch = (char)**p;
        (*p)++;
        (*n)--;
        if (c->line_cr) {
            if (ch != '\n')
                return fail(c, S3E_INVALID_REQUEST, e,
                            "aws-chunked body: a CR not followed by LF in a chunk header or "
                            "trailer line");
            c->line_cr = false;
            c->line[c->line_len] = 0;
            return 1;
        }
        if (ch == '\r') {
            c->line_cr = true;
        } else if (ch == '\n') {
            return fail(c, S3E_INVALID_REQUEST, e, "aws-chunked body: a line ends with a bare LF");
        } else if (c->line_len == S3_CHUNKED_MAX_LINE) {
            return fail(c, c->st == ST_TRAILER ? S3E_MALFORMED_TRAILER : S3E_INVALID_REQUEST, e,
                        "aws-chunked body: a %s line is longer than %u bytes",
                        c->st == ST_TRAILER ? "trailer" : "chunk header", S3_CHUNKED_MAX_LINE);
        } else {
            c->line[c->line_len++] = ch;
        }
    }
    return 0;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Copies 64 hex digits (either case) to out in lowercase; -1 if s is not that. */
static int sig_copy(const char *s, size_t n, char out[65])
{
    if (n != 64) return -1;
    for (size_t i = 0; i < 64; i++) {
        if (hexval(s[i]) < 0) return -1;
        out[i] = (s[i] >= 'A' && s[i] <= 'F') ? (char)(s[i] - 'A' + 'a') : s[i];
    }
    out[64] = 0;
    return 0;
}

/* "SIZE-HEX[;chunk-signature=SIG]": sets remaining and chunk_sig. */
static int parse_header(s3_chunked *c, orc_err *e)
{
    const char *s = c->line;
    size_t i = 0, n = c->line_len;
    uint64_t v = 0;
    int d;
    for (; i < n && (d = hexval(s[i])) >= 0; i++) {
        if (v > (UINT64_MAX >> 4))
            return fail(c, S3E_INVALID_REQUEST, e, "aws-chunked body: chunk size overflows");
        v = v << 4 | (uint64_t)d;
    }
    if (i == 0)
        return fail(c, S3E_INVALID_REQUEST, e,
                    "aws-chunked body: a chunk header does not start with a hex size");
    if (c->signed_chunks) {
        size_t el = sizeof(SIG_EXT) - 1;
        if (n - i < el || memcmp(s + i, SIG_EXT, el) != 0 ||
            sig_copy(s + i + el, n - i - el, c->chunk_sig))
            return fail(c, S3E_INVALID_REQUEST, e,
                        "aws-chunked body: a chunk header lacks ;chunk-signature=<64 hex>");
    } else if (i != n) {
        return fail(c, S3E_INVALID_REQUEST, e,
                    "aws-chunked body: unexpected text after the chunk size of an unsigned "
                    "chunk");
    }
    if (v > c->decoded_length - c->decoded)
        return fail(c, S3E_INCOMPLETE_BODY, e,
                    "aws-chunked body: the chunks add up to more than "
                    "x-amz-decoded-content-length (%llu)",
                    (unsigned long long)c->decoded_length);
    c->remaining = v;
    return ORC_OK;
}

/* After the final (zero-length) chunk's header. */
static int final_chunk(s3_chunked *c, orc_err *e)
{
    if (c->decoded != c->decoded_length)
        return fail(c, S3E_INCOMPLETE_BODY, e,
                    "aws-chunked body: the chunks add up to %llu bytes, "
                    "x-amz-decoded-content-length says %llu",
                    (unsigned long long)c->decoded, (unsigned long long)c->decoded_length);
    if (c->signed_chunks) {
        int rc = check_chunk(c, e); /* over empty data: sha was reset for it */
        if (rc) return rc;
    }
    EVP_DigestInit_ex(c->sha, EVP_sha256(), NULL); /* now for the canonical trailers */
    c->st = ST_TRAILER;
    return ORC_OK;
}

static int start_chunk(s3_chunked *c, orc_err *e)
{
    int rc = parse_header(c, e);
    if (rc) return rc;
    c->line_len = 0;
    if (c->signed_chunks) EVP_DigestInit_ex(c->sha, EVP_sha256(), NULL);
    if (c->remaining == 0) return final_chunk(c, e);
    c->st = ST_DATA;
    return ORC_OK;
}

/* ---- trailers ---- */

static bool token_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
}

/* The empty line after the trailers. */
static int end_trailers(s3_chunked *c, orc_err *e)
{
    if (c->trailers == S3_CHUNKED_SIGNED_TRAILER && c->trailer_value && !c->trailer_signed)
        return fail(c, S3E_MALFORMED_TRAILER, e,
                    "aws-chunked body: the trailers lack x-amz-trailer-signature");
    c->st = ST_DONE;
    return ORC_OK;
}

static int trailer_signature(s3_chunked *c, const char *v, size_t vl, orc_err *e)
{
    char got[65], hash[65], want[65];
    if (c->trailers != S3_CHUNKED_SIGNED_TRAILER || c->trailer_signed)
        return fail(c, S3E_MALFORMED_TRAILER, e,
                    "aws-chunked body: unexpected x-amz-trailer-signature");
    if (sig_copy(v, vl, got))
        return fail(c, S3E_MALFORMED_TRAILER, e,
                    "aws-chunked body: x-amz-trailer-signature is not 64 hex digits");
    sha_hex(c->sha, hash);
    sign(c, "AWS4-HMAC-SHA256-TRAILER", false, hash, want);
    if (CRYPTO_memcmp(want, got, 64) != 0)
        return fail(c, S3E_SIGNATURE_DOES_NOT_MATCH, e,
                    "The trailer signature does not match: check the signing key and the "
                    "canonical trailer (name:value\\n).");
    c->trailer_signed = true;
    return ORC_OK;
}

/* "name:value" (the value trimmed of blanks). Only the declared trailer and,
 * last, its signature are accepted. */
static int trailer_line(s3_chunked *c, orc_err *e)
{
    char *s = c->line, *colon = strchr(s, ':');
    if (!colon || colon == s)
        return fail(c, S3E_MALFORMED_TRAILER, e, "aws-chunked body: a trailer is not name:value");
    for (char *p = s; p < colon; p++) {
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
        if (!token_char(*p))
            return fail(c, S3E_MALFORMED_TRAILER, e, "aws-chunked body: a bad trailer name");
    }
    *colon = 0;
    char *v = colon + 1, *end = s + c->line_len;
    while (*v == ' ' || *v == '\t')
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *end = 0;
    for (char *p = v; p < end; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
            return fail(c, S3E_MALFORMED_TRAILER, e,
                        "aws-chunked body: a control character in a trailer value");
    if (strcmp(s, TRAILER_SIG) == 0) return trailer_signature(c, v, (size_t)(end - v), e);
    if (c->trailers == S3_CHUNKED_NO_TRAILER || !c->trailer_name ||
        strcmp(s, c->trailer_name) != 0 || c->trailer_value || c->trailer_signed)
        return fail(c, S3E_MALFORMED_TRAILER, e,
                    "aws-chunked body: trailer '%.64s' was not declared in x-amz-trailer (or "
                    "came twice, or after the trailer signature)",
                    s);
    c->trailer_value = orc_strdup(v);
    EVP_DigestUpdate(c->sha, s, strlen(s));
    EVP_DigestUpdate(c->sha, ":", 1);
    EVP_DigestUpdate(c->sha, v, (size_t)(end - v));
    EVP_DigestUpdate(c->sha, "\n", 1);
    return ORC_OK;
}

/* ---- the machine ---- */

static int data_step(s3_chunked *c, const uint8_t **p, size_t *n, orc_err *e)
{
    size_t take = c->remaining < *n ? (size_t)c->remaining : *n;
    if (c->signed_chunks) EVP_DigestUpdate(c->sha, *p, take);
    int rc = c->sink(c->sink_ctx, *p, take, e);
    if (rc) {
        c->st = ST_FAILED;
        c->s3err = S3E_NONE;
        c->rc = rc;
        if (e) c->err = *e;
        return rc;
    }
    c->decoded += take;
    c->remaining -= take;
    *p += take;
    *n -= take;
    if (c->remaining) return ORC_OK;
    c->st = ST_DATA_CR;
    return c->signed_chunks ? check_chunk(c, e) : ORC_OK;
}

int s3_chunked_feed(s3_chunked *c, const uint8_t *data, size_t len, orc_err *e)
{
    const uint8_t *p = data;
    size_t n = len;
    int rc = ORC_OK;
    while (!rc && n) {
        switch (c->st) {
        case ST_SIZE:
            if ((rc = take_line(c, &p, &n, e)) == 1) rc = start_chunk(c, e);
            break;
        case ST_DATA:
            rc = data_step(c, &p, &n, e);
            break;
        case ST_DATA_CR:
        case ST_DATA_LF:
            if (*p != (c->st == ST_DATA_CR ? '\r' : '\n'))
                return fail(c, S3E_INVALID_REQUEST, e,
                            "aws-chunked body: chunk data is not followed by CRLF (a chunk "
                            "longer than its size?)");
            p++;
            n--;
            c->st = c->st == ST_DATA_CR ? ST_DATA_LF : ST_SIZE;
            break;
        case ST_TRAILER:
            if ((rc = take_line(c, &p, &n, e)) == 1) {
                rc = c->line_len ? trailer_line(c, e) : end_trailers(c, e);
                c->line_len = 0;
            }
            break;
        case ST_DONE:
            return fail(c, S3E_INVALID_REQUEST, e,
                        "aws-chunked body: data after the final chunk and trailers");
        case ST_FAILED:
            return failed(c, e);
        }
    }
    return rc; /* take_line's 1 never survives an iteration */
}

int s3_chunked_finish(s3_chunked *c, orc_err *e)
{
    if (c->st == ST_FAILED) return failed(c, e);
    /* Some clients end the body right after the last trailer line (or the
     * final chunk) without the closing empty line; nothing is lost. */
    if (c->st == ST_TRAILER && c->line_len == 0 && !c->line_cr) return end_trailers(c, e);
    if (c->st != ST_DONE)
        return fail(c, S3E_INCOMPLETE_BODY, e,
                    "aws-chunked body: the body ended before the final chunk (%llu of %llu "
                    "decoded bytes)",
                    (unsigned long long)c->decoded, (unsigned long long)c->decoded_length);
    return ORC_OK;
}
