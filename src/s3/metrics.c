/* GET /metrics: the Prometheus text exposition (version 0.0.4) of the
 * front's request counters, kept here, and of the store's families
 * (object_metrics_write). The counters are process-wide atomics, one slot
 * per operation and status, so counting a request takes a few atomic adds
 * and no lock. Served on the S3 port to the admin user, and, when
 * [server] metrics_listen is set, without authentication on a listener of
 * its own (s3_metrics_app). */
#include "s3/s3_int.h"

#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/log.h"
#include "util/prom.h"
#include "util/time.h"

static const char *const op_names[S3_OP_N] = {
#define S3_OP_NAME(id, name) name,
    S3_OPS(S3_OP_NAME)
#undef S3_OP_NAME
};

/* HTTP statuses 100 to 599, one counter each: exact, whatever status a
 * future error adds, for 160 KiB of (mostly untouched) memory. */
#define STATUS_MIN 100
#define STATUS_N 500

static _Atomic uint64_t answered[S3_OP_N][STATUS_N];
static _Atomic uint64_t abandoned[S3_OP_N]; /* over with no answer: the client left */
static prom_hist durations[S3_OP_N];
static _Atomic uint64_t bytes_in, bytes_out;

void s3_metrics_count(enum s3_op op, const http_req *rq)
{
    if ((unsigned)op >= S3_OP_N) op = S3_OP_UNKNOWN;
    atomic_fetch_add_explicit(&bytes_in, rq->bytes_in, memory_order_relaxed);
    atomic_fetch_add_explicit(&bytes_out, rq->bytes_out, memory_order_relaxed);
    if (rq->status < STATUS_MIN || rq->status >= STATUS_MIN + STATUS_N) {
        atomic_fetch_add_explicit(&abandoned[op], 1, memory_order_relaxed);
        return;
    }
    atomic_fetch_add_explicit(&answered[op][rq->status - STATUS_MIN], 1, memory_order_relaxed);
    int64_t us = orc_monotonic_us() - rq->start_us;
    prom_hist_observe_us(&durations[op], us > 0 ? (uint64_t)us : 0);
}

static void request_families(orc_buf *b)
{
    char status[8];
    prom_family(b, "orchard_requests_total", "counter",
                "S3 requests answered, by operation and HTTP status.");
    for (int op = 0; op < S3_OP_N; op++)
        for (int i = 0; i < STATUS_N; i++) {
            uint64_t n = atomic_load_explicit(&answered[op][i], memory_order_relaxed);
            if (!n) continue;
            snprintf(status, sizeof(status), "%d", STATUS_MIN + i);
            prom_label l[2] = {{"operation", op_names[op]}, {"status", status}};
            prom_sample_u64(b, "orchard_requests_total", l, 2, n);
        }
    prom_family(b, "orchard_requests_abandoned_total", "counter",
                "S3 requests that ended with no answer (the client went away first), by "
                "operation.");
    for (int op = 0; op < S3_OP_N; op++) {
        uint64_t n = atomic_load_explicit(&abandoned[op], memory_order_relaxed);
        prom_label l = {"operation", op_names[op]};
        if (n) prom_sample_u64(b, "orchard_requests_abandoned_total", &l, 1, n);
    }
    prom_family(b, "orchard_request_duration_seconds", "histogram",
                "Time from a request's headers to the end of its answer, by operation.");
    for (int op = 0; op < S3_OP_N; op++) {
        prom_hist_counts c;
        prom_hist_read(&durations[op], &c);
        prom_label l = {"operation", op_names[op]};
        if (prom_hist_count(&c)) prom_histogram(b, "orchard_request_duration_seconds", &l, 1, &c);
    }
    prom_family(b, "orchard_request_bytes_total", "counter",
                "Request body bytes received (in) and response body bytes sent (out).");
    prom_label in = {"direction", "in"}, out = {"direction", "out"};
    prom_sample_u64(b, "orchard_request_bytes_total", &in, 1,
                    atomic_load_explicit(&bytes_in, memory_order_relaxed));
    prom_sample_u64(b, "orchard_request_bytes_total", &out, 1,
                    atomic_load_explicit(&bytes_out, memory_order_relaxed));
}

/* Answers rq with the whole exposition. */
static void respond(s3_service *svc, http_req *rq)
{
    orc_buf b;
    orc_buf_init(&b, 0);
    request_families(&b);
    orc_err e = {0};
    /* What the metadata could not count is left out; the rest still helps. */
    if (object_metrics_write(svc->st, &b, &e)) LOG_WARN("metrics: %s", e.msg);
    size_t len;
    uint8_t *body = orc_buf_take(&b, &len);
    http_respond(rq, 200, PROM_CONTENT_TYPE, body, len);
}

void s3_metrics(s3_req *r)
{
    if (strcmp(r->user.name, "admin") != 0) return s3_error(r, S3E_ACCESS_DENIED, NULL);
    if (strcmp(r->rq->method, "GET") != 0) return s3_error(r, S3E_METHOD_NOT_ALLOWED, NULL);
    respond(r->svc, r->rq);
}

/* ---- the listener of [server] metrics_listen: /metrics, no auth ---- */

static void plain(http_req *rq, unsigned status, const char *msg)
{
    http_respond(rq, status, "text/plain; charset=utf-8", (uint8_t *)orc_strdup(msg), strlen(msg));
}

static void listener_begin(void *ctx, http_req *rq)
{
    if (strcmp(rq->path, "/metrics") != 0)
        return plain(rq, 404, "Not found: the metrics are at /metrics\n");
    if (strcmp(rq->method, "GET") != 0 && !rq->is_head) {
        plain(rq, 405, "Only GET and HEAD\n");
        return http_add_header(rq, "Allow", "GET, HEAD");
    }
    respond(ctx, rq);
}

static int listener_body(void *ctx, http_req *rq, const uint8_t *data, size_t len)
{
    return HTTP_BODY_STOP; /* begin has answered every request */
}

static void listener_end(void *ctx, http_req *rq)
{
    if (!rq->resp) plain(rq, 500, "No answer\n");
}

static void listener_done(void *ctx, http_req *rq) {}

static void listener_reject(void *ctx, http_req *rq, unsigned status, const char *msg)
{
    plain(rq, status, msg);
}

void s3_metrics_app(s3_service *svc, http_app *app)
{
    app->ctx = svc;
    app->begin = listener_begin;
    app->body = listener_body;
    app->end = listener_end;
    app->done = listener_done;
    app->reject = listener_reject;
}
