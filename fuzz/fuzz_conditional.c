/* Fuzz target: HTTP-date and entity tag list parsing, and the conditional
 * precedence built on them (If-* headers come from the network). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3/conditional.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = 0;
    int64_t t;
    if (s3_http_date_parse(s, &t) == 0 && (t < -62167219200LL || t > 253402300800LL))
        abort(); /* four-digit years only: 0000..9999 */
    (void)s3_etag_list_matches(s, "9b2cf535f27731c974343645a3985328");
    s3_cond c = {s, s, s, s};
    enum s3_cond_result r = s3_cond_eval(&c, "abc", 784111777000LL, 1800000000);
    if (r != S3_COND_PASS && r != S3_COND_NOT_MODIFIED && r != S3_COND_FAILED) abort();
    free(s);
    return 0;
}
