/* libmicrohttpd glue: daemon setup, request life cycle, responses. */
#include "http/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/parse.h"
#include "util/alloc.h"
#include "util/log.h"

#define STREAM_BLOCK (256u * 1024)

struct http_server {
    struct MHD_Daemon *d;
    http_app app;
    unsigned port;
};

enum { PHASE_NEW, PHASE_BODY, PHASE_DONE };

static _Atomic uint64_t request_seq;

/* The raw URI, before libmicrohttpd unescapes anything: SigV4 signs what the
 * client sent. Its return value becomes the request's context. */
static void *uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
    http_req *rq = orc_calloc(1, sizeof(*rq));
    rq->conn = conn;
    rq->uri = orc_strdup(uri);
    const char *q = strchr(rq->uri, '?');
    rq->path = q ? orc_strndup(rq->uri, (size_t)(q - rq->uri)) : orc_strdup(rq->uri);
    rq->query = q ? q + 1 : "";
    uint64_t seq = ++request_seq;
    snprintf(rq->request_id, sizeof(rq->request_id), "%016llX",
             (unsigned long long)(seq * 0x9E3779B97F4A7C15ull));
    return rq;
}

/* Keep arguments raw: the S3 layer decodes what it needs itself. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    return strlen(s);
}

static enum MHD_Result queue(http_req *rq)
{
    rq->phase = PHASE_DONE;
    MHD_add_response_header(rq->resp, "x-amz-request-id", rq->request_id);
    MHD_add_response_header(rq->resp, "Server", "Orchard");
    return MHD_queue_response(rq->conn, rq->status, rq->resp);
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    http_server *s = cls;
    http_req *rq = *con_cls;
    if (!rq) return MHD_NO;
    if (rq->phase == PHASE_NEW) {
        rq->method = method;
        rq->is_head = strcmp(method, "HEAD") == 0;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        rq->has_length = cl && parse_u64(cl, &rq->content_length) == 0;
        rq->phase = PHASE_BODY;
        s->app.begin(s->app.ctx, rq);
        return rq->resp ? queue(rq) : MHD_YES;
    }
    if (rq->phase == PHASE_DONE) { /* answered early: drop what still comes */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!rq->discard &&
            s->app.body(s->app.ctx, rq, (const uint8_t *)upload_data, *upload_data_size))
            rq->discard = true;
        *upload_data_size = 0;
        return MHD_YES;
    }
    s->app.end(s->app.ctx, rq);
    if (!rq->resp) { /* an application bug: still answer */
        LOG_ERROR("request %s: no response set", rq->request_id);
        http_respond(rq, 500, NULL, NULL, 0);
    }
    return queue(rq);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    http_server *s = cls;
    http_req *rq = *con_cls;
    if (!rq) return;
    s->app.done(s->app.ctx, rq);
    if (rq->resp) MHD_destroy_response(rq->resp);
    free(rq->uri);
    free(rq->path);
    free(rq);
    *con_cls = NULL;
}

static int parse_addr(const char *addr, struct sockaddr_in *sa, orc_err *e)
{
    const char *colon = strrchr(addr, ':');
    char host[64];
    uint64_t port;
    if (!colon || (size_t)(colon - addr) >= sizeof(host) || parse_u64(colon + 1, &port) ||
        port > 65535)
        return orc_fail(e, ORC_EINVAL, "listen address '%s': expected ADDR:PORT", addr);
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = 0;
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return orc_fail(e, ORC_EINVAL, "listen address '%s': '%s' is not an IPv4 address", addr,
                        host);
    return ORC_OK;
}

int http_listen(const char *addr, int *fd, orc_err *e)
{
    struct sockaddr_in sa;
    int rc = parse_addr(addr, &sa, e);
    if (rc) return rc;
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return orc_fail(e, ORC_EIO, "cannot listen on %s: %s", addr, strerror(errno));
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int err = errno;
        close(s);
        if (err == EADDRINUSE)
            return orc_fail(e, ORC_EIO,
                            "cannot listen on %s: the address is in use (another "
                            "server on that port?)",
                            addr);
        if (err == EADDRNOTAVAIL)
            return orc_fail(e, ORC_EIO, "cannot listen on %s: not an address of this host", addr);
        return orc_fail(e, ORC_EIO, "cannot listen on %s: %s", addr, strerror(err));
    }
    if (listen(s, 1024) != 0) {
        int err = errno;
        close(s);
        return orc_fail(e, ORC_EIO, "cannot listen on %s: %s", addr, strerror(err));
    }
    *fd = s;
    return ORC_OK;
}

int http_server_start(const http_opts *o, const http_app *app, http_server **out, orc_err *e)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    if (getsockname(o->listen_fd, (struct sockaddr *)&sa, &sl) != 0)
        return orc_fail(e, ORC_EINVAL, "not a listening socket: %s", strerror(errno));
    http_server *s = orc_calloc(1, sizeof(*s));
    s->app = *app;
    s->d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
            MHD_USE_ERROR_LOG,
        0, NULL, NULL, access_handler, s, MHD_OPTION_LISTEN_SOCKET, o->listen_fd,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)300, MHD_OPTION_URI_LOG_CALLBACK, uri_log, s, MHD_OPTION_UNESCAPE_CALLBACK,
        no_unescape, s, MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_END);
    if (!s->d) {
        free(s);
        return orc_fail(e, ORC_EINTERNAL, "the HTTP server did not start");
    }
    s->port = ntohs(sa.sin_port);
    *out = s;
    return ORC_OK;
}

unsigned http_server_port(const http_server *s)
{
    return s->port;
}

void http_server_stop(http_server *s)
{
    if (!s) return;
    MHD_stop_daemon(s->d);
    free(s);
}

const char *http_header(http_req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

bool http_client_alive(http_req *rq)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) return true;
    char c;
    ssize_t n = recv(ci->connect_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return true;   /* a pipelined request, or TLS records: still there */
    if (n == 0) return false; /* orderly close */
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

struct each_ctx {
    http_header_fn fn;
    void *ctx;
};

static enum MHD_Result each_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    struct each_ctx *c = cls;
    return c->fn(c->ctx, key, value ? value : "") ? MHD_NO : MHD_YES;
}

void http_headers_each(http_req *rq, http_header_fn fn, void *ctx)
{
    struct each_ctx c = {fn, ctx};
    MHD_get_connection_values(rq->conn, MHD_HEADER_KIND, each_cb, &c);
}

void http_respond(http_req *rq, unsigned status, const char *content_type, uint8_t *body,
                  size_t len)
{
    if (rq->resp) MHD_destroy_response(rq->resp);
    rq->resp = MHD_create_response_from_buffer(
        len, body ? body : (void *)"", body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    rq->status = status;
    if (content_type) MHD_add_response_header(rq->resp, "Content-Type", content_type);
}

struct stream {
    http_read_fn read;
    void *ctx;
    void (*free_fn)(void *);
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *st = cls;
    long n = st->read(st->ctx, pos, (uint8_t *)buf, max);
    if (n < 0) return MHD_CONTENT_READER_END_WITH_ERROR;
    if (n == 0) return MHD_CONTENT_READER_END_OF_STREAM;
    return n;
}

static void stream_free(void *cls)
{
    struct stream *st = cls;
    if (st->free_fn) st->free_fn(st->ctx);
    free(st);
}

void http_respond_stream(http_req *rq, unsigned status, uint64_t size, http_read_fn read, void *ctx,
                         void (*free_fn)(void *))
{
    struct stream *st = orc_malloc(sizeof(*st));
    st->read = read;
    st->ctx = ctx;
    st->free_fn = free_fn;
    if (rq->resp) MHD_destroy_response(rq->resp);
    rq->resp = MHD_create_response_from_callback(size, STREAM_BLOCK, stream_read, st, stream_free);
    rq->status = status;
}

void http_add_header(http_req *rq, const char *name, const char *value)
{
    if (rq->resp) MHD_add_response_header(rq->resp, name, value);
}
