/* Azure Storage Shared Key signing (Blob service, versions 2009-09-19 and
 * later), kept apart from azure.c so unit tests can check it against known
 * answers (azure_sign.c). Internal to the provider layer: only azure.c and its
 * tests use it. */
#ifndef ORC_PROVIDER_AZURE_SIGN_H
#define ORC_PROVIDER_AZURE_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

/* One query parameter, not percent-encoded. */
typedef struct azure_param {
    const char *name, *value;
} azure_param;

#define AZURE_KEY_MAX 128    /* decoded account key bytes (real keys are 64) */
#define AZURE_SIG_LEN 44     /* base64 of an HMAC-SHA256 */
#define AZURE_HEADERS_MAX 16 /* x-ms-* headers a request may carry */
#define AZURE_PARAMS_MAX 8   /* query parameters a request may carry */

/* Appends the string-to-sign for a request to out:
 *   VERB, the eleven standard headers (Content-Encoding ... Range), the
 *   canonicalized x-ms-* headers, the canonicalized resource.
 * headers are the "Name: value" lines that will be sent (NULL-terminated);
 * content_length is the body size, written as the empty string when 0, as
 * versions 2015-02-21 and later want. path is the URL path exactly as sent
 * (percent-encoded, starting with '/', account included for path-style
 * endpoints such as Azurite's); params are the query parameters, decoded.
 * ORC_EINVAL for a header without a colon, duplicate x-ms-* names, more
 * than AZURE_HEADERS_MAX x-ms-* headers or AZURE_PARAMS_MAX params;
 * ORC_ENOSPC past out's ceiling. */
int azure_string_to_sign(const char *method, const char *const *headers, uint64_t content_length,
                         const char *account, const char *path, const azure_param *params,
                         size_t nparams, orc_buf *out, orc_err *e);

/* Writes base64(HMAC-SHA256(key, sts)) and a NUL to sig. */
int azure_sign(const uint8_t *key, size_t keylen, const char *sts, size_t stslen,
               char sig[AZURE_SIG_LEN + 1], orc_err *e);

/* Decodes a base64 account key strictly (padding required, no whitespace).
 * Returns the decoded length, or -1 if b64 is not valid base64 or decodes to
 * more than cap bytes. */
int azure_key_decode(const char *b64, uint8_t *out, size_t cap);

#endif
