/* Fuzz target: SigV4 verification of hostile requests. The input is split
 * into a method-less request: path, query, Authorization and x-amz-date
 * values, separated by newlines; nothing may crash, and nothing without the
 * secret may verify. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3/sigv4.h"

static int secret(void *ctx, const char *ak, char *out, size_t cap)
{
    strncpy(out, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", cap - 1);
    out[cap - 1] = 0;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = 0;
    char *part[5] = {"/", "", "", "20261125T150130Z", "host"};
    char *p = s;
    for (int i = 0; i < 5 && p; i++) {
        part[i] = p;
        p = strchr(p, '\n');
        if (p) *p++ = 0;
    }
    s3_header h[] = {{"Authorization", part[2]},
                     {"x-amz-date", part[3]},
                     {"Host", part[4]},
                     {"x-amz-content-sha256", "UNSIGNED-PAYLOAD"}};
    sigv4_request rq = {"GET", part[0], part[1], h, 4, 1795618890};
    sigv4_result res;
    enum s3_error err = sigv4_verify(&rq, secret, NULL, &res, NULL);
    if (err == S3E_NONE && !res.anonymous && size < 40) abort(); /* too short to be signed */
    free(s);
    return 0;
}
