/* The HTTP server: libmicrohttpd glue. It owns connections and the request
 * life cycle, streams request bodies to the application in pieces (so memory
 * per request stays bounded), and sends buffered or streamed responses.
 *
 * Connection model: a few event-loop threads (epoll) own every connection, so
 * an idle or slow client costs no thread; a pool of worker threads runs the
 * application's begin and end handlers, which may block (metadata, providers).
 * While a handler runs, or while the application can take no more body bytes
 * or has no response bytes ready, the connection is suspended: libmicrohttpd
 * stops reading it and TCP pushes back on the client. Request headers must be
 * complete within a deadline; connections are capped per client address and
 * in all, and the oldest idle or slow-header connections are shed first. */
#ifndef ORC_HTTP_HTTP_H
#define ORC_HTTP_HTTP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define HTTP_CONN_MEMORY (64u * 1024) /* per-connection pool: see DEVELOPERS/issue 2 */

#define HTTP_DEFAULT_WORKERS 32
#define HTTP_DEFAULT_HEADER_TIMEOUT 20 /* s: accept (or last response) to complete headers */
#define HTTP_DEFAULT_IDLE_TIMEOUT 60   /* s: no byte moved in a request */
#define HTTP_DEFAULT_MAX_CONNECTIONS 4096
#define HTTP_DEFAULT_MAX_PER_IP 256

typedef struct http_server http_server;

typedef struct http_req {
    struct MHD_Connection *conn; /* not valid any more in done() */
    const char *method;
    char *uri;         /* raw request target as sent (owned) */
    char *path;        /* raw path, percent-encoded (owned) */
    const char *query; /* raw query after '?', or "" (points into uri) */
    bool has_length;
    uint64_t content_length;
    bool is_head;
    int64_t start_ms; /* when the request's headers were complete (wall clock) */
    int64_t start_us; /* the same on the monotonic clock (orc_monotonic_us), for durations */
    /* Body bytes received (those drained after an early answer included) and
     * response body bytes handed to libmicrohttpd (a client that went away
     * may not have got them all; none for HEAD). Final in done(). */
    uint64_t bytes_in, bytes_out;
    char request_id[17];
    struct MHD_Response *resp; /* set by the application */
    unsigned status;
    void *app; /* the application's per-request state */

    /* The server's own (server.c). */
    struct http_server *srv;
    int phase, job, susp;
    bool discard; /* the application refused the body: drain it */
    bool close;   /* close the connection after the response */
    bool nul_in_target;
    size_t resp_len; /* a buffered response's body */
    pthread_mutex_t mu;
    struct http_stream *stream;
    struct http_req *job_next, *prev, *next;
} http_req;

/* What the application (the S3 front) implements. Each request gets begin,
 * then body zero or more times, then end unless begin already set a
 * response, then done. begin and end run on a worker thread and may block;
 * body runs on an event-loop thread and must not. */
typedef struct http_app {
    void *ctx;
    /* Headers are in. Set a response (http_respond*) to answer at once. */
    void (*begin)(void *ctx, http_req *rq);
    /* A piece of the body, all of it taken. HTTP_BODY_PAUSE: taken, but call
     * http_resume(rq) once more can be taken; HTTP_BODY_STOP: the rest is
     * drained and end() still runs so the application can answer its error. */
    int (*body)(void *ctx, http_req *rq, const uint8_t *data, size_t len);
    /* The body is complete (or was drained). Must set a response. */
    void (*end)(void *ctx, http_req *rq);
    /* The request is over (sent, or the client went away): free rq->app. */
    void (*done)(void *ctx, http_req *rq);
    /* A request the server refuses before begin (bad framing, shutting
     * down): set a response with this status and message. Runs on an
     * event-loop thread; must not block. */
    void (*reject)(void *ctx, http_req *rq, unsigned status, const char *msg);
} http_app;

enum { HTTP_BODY_OK = 0, HTTP_BODY_PAUSE = 1, HTTP_BODY_STOP = 2 };

/* Binds and listens on addr ("127.0.0.1:9000"; port 0 picks a free one):
 * *fd is the listening socket. Done apart from http_server_start so that a
 * start whose address is taken fails before anything else is created.
 * ORC_EINVAL: not ADDR:PORT; ORC_EIO: in use or not an address of this host
 * (the message says which). */
int http_listen(const char *addr, int *fd, orc_err *e);

typedef struct http_opts {
    int listen_fd;            /* from http_listen; the server takes it over */
    unsigned threads;         /* event-loop threads; 0: one per core */
    unsigned workers;         /* handler threads; 0: HTTP_DEFAULT_WORKERS */
    unsigned header_timeout;  /* s; 0: HTTP_DEFAULT_HEADER_TIMEOUT */
    unsigned idle_timeout;    /* s; 0: HTTP_DEFAULT_IDLE_TIMEOUT */
    unsigned max_connections; /* 0: HTTP_DEFAULT_MAX_CONNECTIONS */
    unsigned max_per_ip;      /* 0: HTTP_DEFAULT_MAX_PER_IP */
    const char *tls_cert_pem; /* with tls_key_pem: serve HTTPS; NULL: HTTP */
    const char *tls_key_pem;
} http_opts;

/* Starts serving on o->listen_fd (the PEM strings are copied). The app is
 * copied. ORC_EINVAL: TLS asked for but the certificate or key is refused. */
int http_server_start(const http_opts *o, const http_app *app, http_server **out, orc_err *e);
/* The port actually bound. */
unsigned http_server_port(const http_server *s);
/* Stops accepting, lets running handlers finish, closes every connection. */
void http_server_stop(http_server *s);

/* ---- request ---- */
/* Header value (case-insensitive name) or NULL. */
const char *http_header(http_req *rq, const char *name);
/* Calls fn for every request header in order; stops when fn returns non-zero. */
typedef int (*http_header_fn)(void *ctx, const char *name, const char *value);
void http_headers_each(http_req *rq, http_header_fn fn, void *ctx);
/* False once the client has closed or reset the connection (checked on the
 * socket now, without reading). A handler calls it right before making a
 * write visible: a client that gave up must not have its write committed. */
bool http_client_alive(http_req *rq);
/* Wakes a request paused by HTTP_BODY_PAUSE or HTTP_READ_AGAIN. Safe from
 * any thread, at any time until done() has returned; a wake that comes
 * before the pause is kept, so none is lost. */
void http_resume(http_req *rq);

/* ---- responses ---- */
/* A buffered response; body (may be NULL) is taken over (freed with free()). */
void http_respond(http_req *rq, unsigned status, const char *content_type, uint8_t *body,
                  size_t len);
/* A streamed response of size bytes: read fills buf with up to max bytes and
 * returns the count, HTTP_READ_AGAIN when nothing is ready yet (it must then
 * arrange an http_resume(rq)), or HTTP_READ_ERROR to cut the connection. It
 * runs on an event-loop thread and must not block. free_fn runs when the
 * request is over, on a worker thread. For HEAD, read is never called. */
#define HTTP_READ_ERROR (-1)
#define HTTP_READ_AGAIN (-2)
typedef long (*http_read_fn)(void *ctx, uint64_t pos, uint8_t *buf, size_t max);
void http_respond_stream(http_req *rq, unsigned status, uint64_t size, http_read_fn read, void *ctx,
                         void (*free_fn)(void *));
/* Adds a header to the response set by the last http_respond*. An empty
 * value is sent as an empty header. */
void http_add_header(http_req *rq, const char *name, const char *value);

#endif
