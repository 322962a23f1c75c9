/* Azure Storage Shared Key signing (azure_sign.h): the string-to-sign of a
 * Blob service request, its HMAC-SHA256, and strict decoding of the account
 * key. Pure functions over their arguments, so the unit tests check them
 * against known answers without a network. */
#include "provider/azure_sign.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct ms_header {
    char name[64]; /* lowercased */
    const char *value;
    size_t vlen;
} ms_header;

static int cmp_ms_header(const void *a, const void *b)
{
    return strcmp(((const ms_header *)a)->name, ((const ms_header *)b)->name);
}

static int cmp_param(const void *a, const void *b)
{
    return strcasecmp(((const azure_param *)a)->name, ((const azure_param *)b)->name);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Appends value with surrounding whitespace dropped and inner runs of
 * whitespace folded to one space, as the canonical form asks. */
static int append_folded(orc_buf *out, const char *v, size_t n, orc_err *e)
{
    while (n && is_space(*v))
        v++, n--;
    while (n && is_space(v[n - 1]))
        n--;
    for (size_t i = 0; i < n; i++) {
        if (is_space(v[i]) && i > 0 && is_space(v[i - 1])) continue;
        char c = is_space(v[i]) ? ' ' : v[i];
        int rc = orc_buf_append(out, &c, 1, e);
        if (rc) return rc;
    }
    return ORC_OK;
}

/* The standard headers in string-to-sign order; Content-Length is special. */
static const char *const std_headers[] = {
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-MD5",
    "Content-Type",
    "Date",
    "If-Modified-Since",
    "If-Match",
    "If-None-Match",
    "If-Unmodified-Since",
    "Range",
};

/* Finds header name in headers; sets *v and *n to its raw value. */
static bool find_header(const char *const *headers, const char *name, const char **v, size_t *n)
{
    size_t nl = strlen(name);
    for (size_t i = 0; headers && headers[i]; i++) {
        if (strncasecmp(headers[i], name, nl) != 0 || headers[i][nl] != ':') continue;
        *v = headers[i] + nl + 1;
        *n = strlen(*v);
        return true;
    }
    return false;
}

static int collect_ms_headers(const char *const *headers, ms_header *ms, size_t *count, orc_err *e)
{
    size_t k = 0;
    for (size_t i = 0; headers && headers[i]; i++) {
        const char *h = headers[i], *colon = strchr(h, ':');
        if (!colon) return orc_fail(e, ORC_EINVAL, "azure sign: header without colon");
        size_t nl = (size_t)(colon - h);
        if (nl < 5 || strncasecmp(h, "x-ms-", 5) != 0) continue;
        if (k == AZURE_HEADERS_MAX || nl >= sizeof(ms[k].name))
            return orc_fail(e, ORC_EINVAL, "azure sign: too many or too long x-ms- headers");
        for (size_t j = 0; j < nl; j++) {
            char c = h[j];
            ms[k].name[j] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        ms[k].name[nl] = 0;
        ms[k].value = colon + 1;
        ms[k].vlen = strlen(colon + 1);
        k++;
    }
    qsort(ms, k, sizeof(ms[0]), cmp_ms_header);
    for (size_t i = 1; i < k; i++)
        if (strcmp(ms[i].name, ms[i - 1].name) == 0)
            return orc_fail(e, ORC_EINVAL, "azure sign: duplicate header %s", ms[i].name);
    *count = k;
    return ORC_OK;
}

int azure_string_to_sign(const char *method, const char *const *headers, uint64_t content_length,
                         const char *account, const char *path, const azure_param *params,
                         size_t nparams, orc_buf *out, orc_err *e)
{
    ms_header ms[AZURE_HEADERS_MAX];
    size_t nms = 0;
    int rc = collect_ms_headers(headers, ms, &nms, e);
    if (rc) return rc;
    if (nparams > AZURE_PARAMS_MAX) return orc_fail(e, ORC_EINVAL, "azure sign: too many params");
    rc = orc_buf_printf(out, e, "%s\n", method);
    for (size_t i = 0; !rc && i < sizeof(std_headers) / sizeof(std_headers[0]); i++) {
        const char *v;
        size_t n;
        if (strcmp(std_headers[i], "Content-Length") == 0) {
            /* Versions 2015-02-21 and later sign an empty string for 0. */
            if (content_length)
                rc = orc_buf_printf(out, e, "%llu", (unsigned long long)content_length);
        } else if (find_header(headers, std_headers[i], &v, &n)) {
            rc = append_folded(out, v, n, e);
        }
        if (!rc) rc = orc_buf_puts(out, "\n", e);
    }
    for (size_t i = 0; !rc && i < nms; i++) {
        rc = orc_buf_printf(out, e, "%s:", ms[i].name);
        if (!rc) rc = append_folded(out, ms[i].value, ms[i].vlen, e);
        if (!rc) rc = orc_buf_puts(out, "\n", e);
    }
    if (!rc) rc = orc_buf_printf(out, e, "/%s%s", account, path);
    azure_param sorted[AZURE_PARAMS_MAX];
    if (nparams) memcpy(sorted, params, nparams * sizeof(*params));
    qsort(sorted, nparams, sizeof(sorted[0]), cmp_param);
    for (size_t i = 0; !rc && i < nparams; i++) {
        rc = orc_buf_puts(out, "\n", e);
        for (const char *c = sorted[i].name; !rc && *c; c++) {
            char lc = (*c >= 'A' && *c <= 'Z') ? (char)(*c - 'A' + 'a') : *c;
            rc = orc_buf_append(out, &lc, 1, e);
        }
        if (!rc) rc = orc_buf_printf(out, e, ":%s", sorted[i].value);
    }
    return rc;
}

int azure_sign(const uint8_t *key, size_t keylen, const char *sts, size_t stslen,
               char sig[AZURE_SIG_LEN + 1], orc_err *e)
{
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    if (!HMAC(EVP_sha256(), key, (int)keylen, (const uint8_t *)sts, stslen, mac, &maclen) ||
        maclen != 32)
        return orc_fail(e, ORC_EINTERNAL, "azure sign: HMAC-SHA256 failed");
    EVP_EncodeBlock((unsigned char *)sig, mac, (int)maclen);
    return ORC_OK;
}

static bool b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

int azure_key_decode(const char *b64, uint8_t *out, size_t cap)
{
    size_t n = strlen(b64), pad = 0;
    if (n == 0 || n % 4 || n / 4 * 3 > AZURE_KEY_MAX + 3) return -1;
    for (size_t i = 0; i < n; i++) {
        if (b64[i] == '=' && i >= n - 2) {
            pad++;
        } else if (pad || !b64_char(b64[i])) {
            return -1;
        }
    }
    if (n / 4 * 3 - pad > cap) return -1;
    uint8_t tmp[AZURE_KEY_MAX + 3];
    int got = EVP_DecodeBlock(tmp, (const unsigned char *)b64, (int)n);
    if (got < 0) return -1;
    size_t len = (size_t)got - pad;
    memcpy(out, tmp, len);
    OPENSSL_cleanse(tmp, sizeof(tmp));
    return (int)len;
}
