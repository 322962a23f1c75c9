/* The HTTP client the cloud providers share (libcurl): a pool of easy handles
 * per provider so connections are kept alive and reused, one request per
 * thread at a time (the placement layer's I/O threads give the parallelism),
 * timeouts, and retries with capped exponential backoff and jitter on
 * transport errors, 5xx, 429 and 503 SlowDown -- never on other 4xx.
 *
 * Thread-safe. Never logs or returns credentials: URLs given here carry no
 * secret except a SAS token, which is stripped from any message. */
#ifndef ORC_PROVIDER_HTTP_CLIENT_H
#define ORC_PROVIDER_HTTP_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

typedef struct pclient pclient;

typedef struct pclient_opts {
    long connect_timeout_ms; /* default 5000 */
    long low_speed_time_s;   /* abort below 1 KiB/s for this long; default 30 */
    int max_attempts;        /* default 4 */
    long backoff_base_ms;    /* default 100, doubled per attempt, capped at backoff_cap_ms */
    long backoff_cap_ms;     /* default 5000 */
} pclient_opts;

typedef struct pclient_req {
    const char *method;         /* "GET", "PUT", "DELETE", "HEAD" */
    const char *url;            /* complete, already percent-encoded */
    const char *const *headers; /* "Name: value" strings, NULL-terminated; may be NULL */
    const uint8_t *body;        /* request body (PUT), may be NULL */
    size_t body_len;
    const char *aws_sigv4; /* e.g. "aws:amz:us-east-1:s3": curl signs; NULL: no signing */
    const char *userpwd;   /* "ACCESS:SECRET" for aws_sigv4 */
    orc_buf *out;          /* response body on 2xx (appended); NULL: discarded */
    /* Absolute deadline (orc_monotonic_us) for the whole call, every attempt
     * and backoff included; 0: none. An attempt gets what is left of it. */
    int64_t deadline_us;
    /* Raised: the call ends within ~10 ms with ORC_ECANCELED, no more
     * attempts (a hedged read's loser). NULL: never. */
    const _Atomic bool *cancel;
} pclient_req;

typedef struct pclient_resp {
    long status; /* final HTTP status, 0 if no response */
    uint64_t content_length;
    char error_code[64]; /* <Code> from an S3/Azure XML error body, or x-ms-error-code */
    int attempts;
} pclient_resp;

/* name is the provider name used in messages. opts may be NULL for defaults. */
int pclient_new(const char *name, const pclient_opts *opts, pclient **out, orc_err *e);
void pclient_free(pclient *c);

/* Performs the request, retrying as described above. Returns 0 when a
 * response arrived (any status: the caller maps it), ORC_ETRANSIENT when none
 * did after the last attempt or by rq->deadline_us, ORC_ECANCELED when
 * rq->cancel rose. Retries stop early for
 * statuses that are final. Also, never retried: ORC_ENOSPC when the body
 * would pass out's ceiling, ORC_EINVAL for a URL or TLS setup curl refuses.
 * On any error out is left as it was before the call. */
int pclient_do(pclient *c, const pclient_req *rq, pclient_resp *resp, orc_err *e);

/* Maps a final status to an orc code: 2xx 0, 404 ORC_ENOTFOUND, 401/403
 * ORC_EAUTH, 416 0 (empty range), 408/429/5xx ORC_ETRANSIENT, other 4xx ORC_EINVAL,
 * and fills e with "provider NAME: STATUS CODE on METHOD of WHAT" (what: a chunk
 * name, never a credential). */
int pclient_status(const pclient *c, const pclient_resp *resp, const char *method, const char *what,
                   orc_err *e);

#endif
