/* Fuzz target: the aws-chunked decoder. The first input byte picks the mode
 * and how the rest is sliced, so framing split across feeds is covered; the
 * decoded length is what the input itself would need, give or take. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3/chunked.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct count {
    uint64_t n;
};

static int count_sink(void *ctx, const uint8_t *d, size_t len, orc_err *e)
{
    ((struct count *)ctx)->n += len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned char key[32] = {1, 2, 3};
    if (size < 1) return 0;
    uint8_t ctl = data[0];
    data++;
    size--;
    struct count cnt = {0};
    s3_chunked_opts o = {
        .signed_chunks = ctl & 1,
        .trailers = (enum s3_chunked_trailers)((ctl >> 1) % 3),
        .trailer_name = (ctl & 8) ? "x-amz-checksum-crc32" : NULL,
        .signing_key = key,
        .seed_signature = "0000000000000000000000000000000000000000000000000000000000000000",
        .amz_date = "20130524T000000Z",
        .scope = "20130524/us-east-1/s3/aws4_request",
        .decoded_length = (ctl & 16) ? UINT64_MAX : size,
        .sink = count_sink,
        .sink_ctx = &cnt,
    };
    s3_chunked *c = s3_chunked_new(&o);
    size_t step = 1 + (ctl >> 5) * 7, at = 0; /* slices of 1, 8, 15, ... bytes */
    orc_err e;
    int rc = 0;
    while (!rc && at < size) {
        size_t n = size - at < step ? size - at : step;
        rc = s3_chunked_feed(c, data + at, n, &e);
        at += n;
    }
    if (!rc) rc = s3_chunked_finish(c, &e);
    if (cnt.n != s3_chunked_decoded(c) || cnt.n > o.decoded_length) abort();
    if (!rc && cnt.n != o.decoded_length) abort();      /* success means every byte came */
    if (rc && s3_chunked_error(c) == S3E_NONE) abort(); /* the sink never fails here */
    s3_chunked_free(c);
    return 0;
}
