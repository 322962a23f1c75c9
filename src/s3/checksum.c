/* S3 additional checksums: CRCs from util/crc.c, SHAs from OpenSSL, values as
 * big-endian bytes in base64, which is how S3 and the SDKs write them. */
#include "s3/checksum.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
