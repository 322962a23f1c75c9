/* The HTTP server: libmicrohttpd glue. It owns connections and the request
 * life cycle, streams request bodies to the application in pieces (so memory
 * per request stays bounded), and sends buffered or streamed responses.
 *
 * Thread per connection: a body callback may block (a full pipeline), which
 * stops reading from the socket and so pushes back on the client. */
#ifndef ORC_HTTP_HTTP_H
#define ORC_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define HTTP_CONN_MEMORY (64u * 1024) /* per-connection pool: see DEVELOPERS/issue 2 */

typedef struct http_server http_server;

typedef struct http_req {
    struct MHD_Connection *conn;
    const char *method;
    char *uri;         /* raw request target as sent (owned) */
    char *path;        /* raw path, percent-encoded (owned) */
    const char *query; /* raw query after '?', or "" (points into uri) */
    bool has_length;
    uint64_t content_length;
    bool is_head;
    char request_id[17];
    struct MHD_Response *resp; /* set by the application */
    unsigned status;
    bool discard; /* the application refused the body: drain it */
    void *app;    /* the application's per-request state */
    int phase;
} http_req;

/* What the application (the S3 front) implements. Each request gets begin,
 * then body zero or more times, then end unless begin or body already set a
 * response, then done. */
typedef struct http_app {
    void *ctx;
    /* Headers are in. Set a response (http_respond*) to answer at once. */
    void (*begin)(void *ctx, http_req *rq);
    /* A piece of the body. Non-zero: stop, the rest is drained and end() still
     * runs so the application can answer with its error. */
    int (*body)(void *ctx, http_req *rq, const uint8_t *data, size_t len);
    /* The body is complete (or was drained). Must set a response. */
    void (*end)(void *ctx, http_req *rq);
    /* The request is over (sent, or the client went away): free rq->app. */
    void (*done)(void *ctx, http_req *rq);
} http_app;

/* Binds and listens on addr ("127.0.0.1:9000"; port 0 picks a free one):
 * *fd is the listening socket. Done apart from http_server_start so that a
 * start whose address is taken fails before anything else is created.
 * ORC_EINVAL: not ADDR:PORT; ORC_EIO: in use or not an address of this host
 * (the message says which). */
int http_listen(const char *addr, int *fd, orc_err *e);

typedef struct http_opts {
    int listen_fd; /* from http_listen; the server takes it over */
} http_opts;

/* Starts serving on o->listen_fd. The app is copied. */
int http_server_start(const http_opts *o, const http_app *app, http_server **out, orc_err *e);
/* The port actually bound. */
unsigned http_server_port(const http_server *s);
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

/* ---- responses ---- */
/* A buffered response; body (may be NULL) is taken over (freed with free()). */
void http_respond(http_req *rq, unsigned status, const char *content_type, uint8_t *body,
                  size_t len);
/* A streamed response of size bytes: read fills buf with up to max bytes and
 * returns the count, or a negative value to abort the connection. free_fn runs
 * when the response is done. For HEAD, read is never called. */
typedef long (*http_read_fn)(void *ctx, uint64_t pos, uint8_t *buf, size_t max);
void http_respond_stream(http_req *rq, unsigned status, uint64_t size, http_read_fn read, void *ctx,
                         void (*free_fn)(void *));
/* Adds a header to the response set by the last http_respond*. */
void http_add_header(http_req *rq, const char *name, const char *value);

#endif
