/* S3 additional checksums: CRCs from util/crc.c, SHAs from OpenSSL, values as
 * big-endian bytes in base64, which is how S3 and the SDKs write them. */
#include "s3/checksum.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/crc.h"

static const struct {
    const char *name, *header;
    size_t size;
} algs[] = {
    [S3_CK_CRC32] = {"CRC32", "x-amz-checksum-crc32", 4},
    [S3_CK_CRC32C] = {"CRC32C", "x-amz-checksum-crc32c", 4},
    [S3_CK_CRC64NVME] = {"CRC64NVME", "x-amz-checksum-crc64nvme", 8},
    [S3_CK_SHA1] = {"SHA1", "x-amz-checksum-sha1", 20},
    [S3_CK_SHA256] = {"SHA256", "x-amz-checksum-sha256", 32},
};
#define NALGS (sizeof(algs) / sizeof(algs[0]))

enum s3_checksum_alg s3_checksum_by_header(const char *name)
{
    for (size_t i = 1; i < NALGS; i++)
        if (strcasecmp(name, algs[i].header) == 0) return (enum s3_checksum_alg)i;
    return S3_CK_NONE;
}

enum s3_checksum_alg s3_checksum_by_name(const char *name)
{
    for (size_t i = 1; i < NALGS; i++)
        if (strcasecmp(name, algs[i].name) == 0) return (enum s3_checksum_alg)i;
    return S3_CK_NONE;
}

const char *s3_checksum_header(enum s3_checksum_alg alg)
{
    return algs[alg].header;
}

const char *s3_checksum_name(enum s3_checksum_alg alg)
{
    return algs[alg].name;
}

size_t s3_checksum_size(enum s3_checksum_alg alg)
{
    return algs[alg].size;
}

static bool b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

int s3_checksum_decode(enum s3_checksum_alg alg, const char *b64, uint8_t raw[S3_CHECKSUM_MAX])
{
    if (alg == S3_CK_NONE || (size_t)alg >= NALGS) return -1;
    size_t size = algs[alg].size, want = (size + 2) / 3 * 4, pad = (3 - size % 3) % 3;
    uint8_t tmp[S3_CHECKSUM_MAX + 3];
    if (strlen(b64) != want) return -1;
    for (size_t i = 0; i < want; i++)
        if (!(i < want - pad ? b64_char(b64[i]) : b64[i] == '=')) return -1;
    if (EVP_DecodeBlock(tmp, (const unsigned char *)b64, (int)want) != (int)(size + pad)) return -1;
    /* Non-canonical spellings (stray bits in the last character) are refused
     * so that one value has one text, as stored and compared. */
    char again[S3_CHECKSUM_B64_MAX];
    EVP_EncodeBlock((unsigned char *)again, tmp, (int)size);
    if (strcmp(again, b64) != 0) return -1;
    memcpy(raw, tmp, size);
    return 0;
}

void s3_checksum_init(s3_checksum *c, enum s3_checksum_alg alg)
{
    memset(c, 0, sizeof(*c));
    c->alg = alg;
    if (alg == S3_CK_SHA1 || alg == S3_CK_SHA256) {
        c->md = EVP_MD_CTX_new();
        if (!c->md) abort();
        EVP_DigestInit_ex(c->md, alg == S3_CK_SHA1 ? EVP_sha1() : EVP_sha256(), NULL);
    }
}

void s3_checksum_update(s3_checksum *c, const void *data, size_t len)
{
    switch (c->alg) {
    case S3_CK_CRC32:
        c->crc32 = crc_crc32(c->crc32, data, len);
        break;
    case S3_CK_CRC32C:
        c->crc32 = crc_crc32c(c->crc32, data, len);
        break;
    case S3_CK_CRC64NVME:
        c->crc64 = crc_crc64nvme(c->crc64, data, len);
        break;
    case S3_CK_SHA1:
    case S3_CK_SHA256:
        EVP_DigestUpdate(c->md, data, len);
        break;
    case S3_CK_NONE:
        break;
    }
}

size_t s3_checksum_final(s3_checksum *c, uint8_t raw[S3_CHECKSUM_MAX],
                         char b64[S3_CHECKSUM_B64_MAX])
{
    size_t n = c->alg == S3_CK_NONE ? 0 : algs[c->alg].size;
    unsigned mdlen = 0;
    if (c->alg == S3_CK_CRC32 || c->alg == S3_CK_CRC32C) {
        for (size_t i = 0; i < 4; i++)
            raw[i] = (uint8_t)(c->crc32 >> (24 - 8 * i));
    } else if (c->alg == S3_CK_CRC64NVME) {
        for (size_t i = 0; i < 8; i++)
            raw[i] = (uint8_t)(c->crc64 >> (56 - 8 * i));
    } else if (c->md) {
        EVP_DigestFinal_ex(c->md, raw, &mdlen);
    }
    if (b64) EVP_EncodeBlock((unsigned char *)b64, raw, (int)n);
    s3_checksum_dispose(c);
    return n;
}

void s3_checksum_dispose(s3_checksum *c)
{
    EVP_MD_CTX_free(c->md);
    c->md = NULL;
}

/* ---- multipart uploads ---- */

enum s3_error s3_checksum_create_args(const char *v, const char *type, enum s3_checksum_alg *alg,
                                      const char **msg)
{
    *alg = v ? s3_checksum_by_name(v) : S3_CK_NONE;
    *msg = NULL;
    if (v && *alg == S3_CK_NONE) {
        *msg = "Checksum algorithm provided is unsupported. Please try again with any of the "
               "valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]";
        return S3E_INVALID_REQUEST;
    }
    if (type && !v) {
        *msg = "The x-amz-checksum-type header can only be used with the "
               "x-amz-checksum-algorithm header.";
        return S3E_INVALID_REQUEST;
    }
    if ((type && strcasecmp(type, "COMPOSITE") != 0) || *alg == S3_CK_CRC64NVME) {
        *msg = "Only COMPOSITE checksums (CRC32, CRC32C, SHA1, SHA256) of multipart uploads "
               "are supported.";
        return S3E_NOT_IMPLEMENTED;
    }
    return S3E_NONE;
}

enum s3_checksum_alg s3_checksum_upload_alg(const char *headers)
{
    const size_t pl = sizeof(S3_CHECKSUM_UPLOAD_LINE) - 1;
    for (const char *l = headers; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) : strlen(l);
        if (n > pl && n - pl < 16 && memcmp(l, S3_CHECKSUM_UPLOAD_LINE, pl) == 0) {
            char name[16];
            memcpy(name, l + pl, n - pl);
            name[n - pl] = 0;
            return s3_checksum_by_name(name);
        }
        l += nl ? n + 1 : n;
    }
    return S3_CK_NONE;
}

char *s3_checksum_object_headers(const char *upload_headers, const char *line)
{
    const size_t pl = sizeof(S3_CHECKSUM_UPLOAD_LINE) - 1;
    orc_buf b;
    orc_buf_init(&b, 0);
    for (const char *l = upload_headers; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) + 1 : strlen(l);
        if (strncmp(l, S3_CHECKSUM_UPLOAD_LINE, pl) != 0) orc_buf_append(&b, l, n, NULL);
        l += n;
    }
    if (line && *line) orc_buf_append(&b, line, strlen(line), NULL);
    /* "" rather than NULL when the upload had lines: NULL keeps the upload's. */
    if (b.len || (upload_headers && *upload_headers)) {
        orc_buf_append(&b, "", 0, NULL);
        return (char *)orc_buf_take(&b, NULL);
    }
    orc_buf_dispose(&b);
    return NULL;
}

void s3_checksum_stored_text(const char *ckn, const char *ckv, char out[S3_CHECKSUM_STORED_MAX])
{
    snprintf(out, S3_CHECKSUM_STORED_MAX, "%s:%s", s3_checksum_name(s3_checksum_by_header(ckn)),
             ckv);
}

enum s3_checksum_alg s3_checksum_stored(const char *stored, uint8_t raw[S3_CHECKSUM_MAX])
{
    const char *colon = stored ? strchr(stored, ':') : NULL;
    char name[16];
    if (!colon || (size_t)(colon - stored) >= sizeof(name)) return S3_CK_NONE;
    memcpy(name, stored, (size_t)(colon - stored));
    name[colon - stored] = 0;
    enum s3_checksum_alg alg = s3_checksum_by_name(name);
    if (alg == S3_CK_NONE || s3_checksum_decode(alg, colon + 1, raw)) return S3_CK_NONE;
    return alg;
}

enum s3_checksum_alg s3_checksum_composite(const char *const *stored, size_t n,
                                           enum s3_checksum_alg want,
                                           char value[S3_CHECKSUM_COMPOSITE_MAX])
{
    s3_checksum ck = {0};
    enum s3_checksum_alg alg = S3_CK_NONE;
    for (size_t i = 0; i < n; i++) {
        uint8_t raw[S3_CHECKSUM_MAX];
        enum s3_checksum_alg a = s3_checksum_stored(stored[i], raw);
        /* CRC64NVME is full-object only in S3: no composite of it. */
        if (a == S3_CK_NONE || a == S3_CK_CRC64NVME || (alg && a != alg) || (want && a != want)) {
            if (alg) s3_checksum_dispose(&ck);
            return S3_CK_NONE;
        }
        if (!alg) s3_checksum_init(&ck, alg = a);
        s3_checksum_update(&ck, raw, s3_checksum_size(a));
    }
    if (!alg) return S3_CK_NONE;
    uint8_t sum[S3_CHECKSUM_MAX];
    char b64[S3_CHECKSUM_B64_MAX];
    s3_checksum_final(&ck, sum, b64);
    snprintf(value, S3_CHECKSUM_COMPOSITE_MAX, "%s-%zu", b64, n);
    return alg;
}
