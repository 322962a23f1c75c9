/* libmicrohttpd glue: daemon setup, the request life cycle, responses.
 *
 * A request moves through phases. The access handler runs on an event-loop
 * thread; whatever may block (the application's begin and end) is handed to
 * the worker pool with the connection suspended, and the worker resumes it.
 * libmicrohttpd calls the handler again after a resume in the same state
 * (headers processed, or the body complete), which is where the response the
 * worker set is queued. Body pieces and response reads stay on the event
 * loop; when the application cannot go on it pauses the connection and wakes
 * it later through http_resume. */
#include "http/http_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/time.h"

#define STREAM_BLOCK (256u * 1024)
#define STOP_WAIT_MS 30000 /* for running handlers at shutdown */

struct http_server {
    struct MHD_Daemon *d;
    http_app app;
    unsigned port;
    conn_table *conns;
    workers *work;
    char *tls_cert, *tls_key;
    pthread_mutex_t mu; /* guards the live list and the counters */
    http_req *live;
    unsigned jobs; /* begin or end handlers queued or running */
    atomic_bool stopping;
    /* libmicrohttpd's own messages, rate-limited (a flood of refused
     * connections must not flood the log). */
    pthread_mutex_t log_mu;
    int64_t log_window;
    unsigned log_count, log_dropped;
};

enum { PH_NEW, PH_BEGIN, PH_BODY, PH_END, PH_REPLY };
enum { JOB_BEGIN = 1, JOB_END, JOB_DONE };
/* rq->susp: running; suspended for a job or by a pause; a wake that came
 * while running (the next pause returns at once); request over. */
enum { S_RUN, S_JOB, S_PAUSE, S_WOKEN, S_DEAD };

struct http_stream {
    http_read_fn read;
    void *ctx;
    void (*free_fn)(void *);
    http_req *rq;
};

static _Atomic uint64_t request_seq;

/* ---- suspend and resume ---- */

/* Event loop: suspends rq for a job and queues it. */
static void start_job(http_server *s, http_req *rq, int job)
{
    pthread_mutex_lock(&s->mu);
    s->jobs++;
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_lock(&rq->mu);
    rq->susp = S_JOB;
    MHD_suspend_connection(rq->conn);
    pthread_mutex_unlock(&rq->mu);
    rq->job = job;
    workers_push(s->work, rq);
}

/* Worker: the job is done; hand the connection back to the event loop. */
static void job_done(http_server *s, http_req *rq)
{
    pthread_mutex_lock(&rq->mu);
    if (rq->susp == S_JOB) {
        rq->susp = S_RUN;
        MHD_resume_connection(rq->conn);
    }
    pthread_mutex_unlock(&rq->mu);
    pthread_mutex_lock(&s->mu);
    s->jobs--;
    pthread_mutex_unlock(&s->mu);
}

/* Event loop: waits for an http_resume. False when one already came (then
 * the caller goes on at once). */
static bool pause_conn(http_req *rq)
{
    bool paused = false;
    pthread_mutex_lock(&rq->mu);
    if (rq->susp == S_WOKEN) {
        rq->susp = S_RUN;
    } else if (rq->susp == S_RUN) {
        rq->susp = S_PAUSE;
        MHD_suspend_connection(rq->conn);
        paused = true;
    }
    pthread_mutex_unlock(&rq->mu);
    return paused;
}

void http_resume(http_req *rq)
{
    pthread_mutex_lock(&rq->mu);
    if (rq->susp == S_PAUSE) {
        rq->susp = S_RUN;
        MHD_resume_connection(rq->conn);
    } else if (rq->susp == S_RUN) {
        rq->susp = S_WOKEN;
    }
    pthread_mutex_unlock(&rq->mu);
}

/* ---- request life cycle ---- */

/* The raw URI, before libmicrohttpd unescapes anything: SigV4 signs what the
 * client sent. Its return value becomes the request's context. */
static void *uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
    http_server *s = cls;
    http_req *rq = orc_calloc(1, sizeof(*rq));
    rq->srv = s;
    rq->conn = conn;
    pthread_mutex_init(&rq->mu, NULL);
    /* The target is handed over as a C string, in place in the request line
     * with the space before "HTTP/1.x" turned into its NUL: anything else
     * after that NUL means a raw NUL cut the target short. */
    rq->nul_in_target = memcmp(uri + strlen(uri) + 1, "HTTP/", 5) != 0;
    rq->uri = orc_strdup(uri);
    const char *q = strchr(rq->uri, '?');
    rq->path = q ? orc_strndup(rq->uri, (size_t)(q - rq->uri)) : orc_strdup(rq->uri);
    rq->query = q ? q + 1 : "";
    uint64_t seq = ++request_seq;
    snprintf(rq->request_id, sizeof(rq->request_id), "%016llX",
             (unsigned long long)(seq * 0x9E3779B97F4A7C15ull));
    pthread_mutex_lock(&s->mu);
    rq->next = s->live;
    if (s->live) s->live->prev = rq;
    s->live = rq;
    pthread_mutex_unlock(&s->mu);
    return rq;
}

/* Keep arguments raw: the S3 layer decodes what it needs itself. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    return strlen(s);
}

static enum MHD_Result queue(http_req *rq)
{
    rq->phase = PH_REPLY;
    http_add_header(rq, "x-amz-request-id", rq->request_id);
    http_add_header(rq, "Server", "Orchard");
    if (rq->close) http_add_header(rq, "Connection", "close");
    if (!rq->stream && !rq->is_head) rq->bytes_out += rq->resp_len; /* a stream counts as read */
    return MHD_queue_response(rq->conn, rq->status, rq->resp);
}

struct framing {
    unsigned ncl, nte;
    const char *cl, *te;
    bool nul;
    const char *prev_end; /* end of the previous header's value */
};

/* Whether the previous header's line ended right before next (the next
 * line's start, or NULL after the last header). libmicrohttpd 0.9.75 parses
 * headers in place and hands them over as C strings without their length:
 * it turns each line's CR LF into NULs and the colon into a NUL, and keeps
 * the lines in order. A raw NUL inside a value ends the string early, which
 * shows as bytes between the string's end and the line's end: after the
 * value's terminator comes the replaced LF (CR LF lines) or the next line
 * (bare LF lines); after the last header, the blank line's replaced LF. */
static bool line_ended(const char *end, const char *next)
{
    if (!end) return true;
    if (!next) return end[1] == 0;
    return next == end + 1 || (next == end + 2 && end[1] == 0);
}

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     size_t key_size, const char *value, size_t value_size)
{
    struct framing *f = cls;
    /* A header read cut short would be signed, stored or checked so. */
    if (!line_ended(f->prev_end, key)) f->nul = true;
    f->prev_end = value ? value + strlen(value) : NULL;
    if (!strcasecmp(key, "Content-Length")) {
        f->ncl++;
        f->cl = value ? value : "";
    } else if (!strcasecmp(key, "Transfer-Encoding")) {
        f->nte++;
        f->te = value ? value : "";
    }
    return MHD_YES;
}

/* The body's length must be unambiguous: behind a proxy that reads it
 * differently, an ambiguous one smuggles a second request. NULL when it is. */
static const char *framing_error(http_req *rq)
{
    struct framing f = {0};
    if (rq->nul_in_target) return "The request target contains a NUL byte.";
    MHD_get_connection_values_n(rq->conn, MHD_HEADER_KIND, count_framing, &f);
    if (f.nul || !line_ended(f.prev_end, NULL)) return "A request header contains a NUL byte.";
    if (f.ncl > 1) return "The request has more than one Content-Length header.";
    if (f.nte > 1) return "The request has more than one Transfer-Encoding header.";
    if (f.ncl && f.nte) return "The request has both Content-Length and Transfer-Encoding.";
    if (f.nte && strcasecmp(f.te, "chunked"))
        return "The only Transfer-Encoding accepted is chunked.";
    if (f.ncl && parse_u64(f.cl, &rq->content_length))
        return "The Content-Length header is not a decimal number.";
    rq->has_length = f.ncl == 1;
    return NULL;
}

static enum MHD_Result reject(http_server *s, http_req *rq, unsigned status, const char *msg)
{
    rq->close = true;
    s->app.reject(s->app.ctx, rq, status, msg);
    return queue(rq);
}

static void body_piece(http_server *s, http_req *rq, const char *data, size_t len)
{
    if (rq->discard) return;
    if (atomic_load(&s->stopping)) {
        rq->discard = true;
        return;
    }
    int rc = s->app.body(s->app.ctx, rq, (const uint8_t *)data, len);
    if (rc == HTTP_BODY_PAUSE)
        pause_conn(rq);
    else if (rc != HTTP_BODY_OK)
        rq->discard = true;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    http_server *s = cls;
    http_req *rq = *con_cls;
    const char *bad;
    if (!rq) return MHD_NO;
    switch (rq->phase) {
    case PH_NEW: /* headers are in */
        conn_headers_in(s->conns, conn);
        rq->method = method;
        rq->is_head = strcmp(method, "HEAD") == 0;
        rq->start_ms = orc_now_ms();
        rq->start_us = orc_monotonic_us();
        if ((bad = framing_error(rq))) return reject(s, rq, 400, bad);
        if (atomic_load(&s->stopping)) return reject(s, rq, 503, "The server is shutting down.");
        rq->phase = PH_BEGIN;
        start_job(s, rq, JOB_BEGIN);
        return MHD_YES;
    case PH_BEGIN: /* resumed after begin */
        if (rq->resp) return queue(rq);
        rq->phase = PH_BODY;
        return MHD_YES;
    case PH_BODY:
        if (*upload_data_size) {
            rq->bytes_in += *upload_data_size;
            body_piece(s, rq, upload_data, *upload_data_size);
            *upload_data_size = 0;
            return MHD_YES;
        }
        if (atomic_load(&s->stopping)) return reject(s, rq, 503, "The server is shutting down.");
        rq->phase = PH_END;
        start_job(s, rq, JOB_END);
        return MHD_YES;
    case PH_END:         /* resumed after end */
        if (!rq->resp) { /* an application bug: still answer */
            LOG_ERROR("request %s: no response set", rq->request_id);
            http_respond(rq, 500, NULL, NULL, 0);
        }
        return queue(rq);
    default: /* answered early: drop what still comes */
        rq->bytes_in += *upload_data_size;
        *upload_data_size = 0;
        return MHD_YES;
    }
}

/* Worker: frees a request that is over. */
static void request_free(http_server *s, http_req *rq)
{
    if (rq->stream) {
        if (rq->stream->free_fn) rq->stream->free_fn(rq->stream->ctx);
        rq->stream->ctx = NULL;
        rq->stream->rq = NULL;
    }
    s->app.done(s->app.ctx, rq);
    if (rq->resp) MHD_destroy_response(rq->resp);
    pthread_mutex_lock(&s->mu);
    if (rq->prev)
        rq->prev->next = rq->next;
    else
        s->live = rq->next;
    if (rq->next) rq->next->prev = rq->prev;
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_destroy(&rq->mu);
    free(rq->uri);
    free(rq->path);
    free(rq);
}

static void run_job(void *ctx, http_req *rq)
{
    http_server *s = ctx;
    switch (rq->job) {
    case JOB_BEGIN:
        s->app.begin(s->app.ctx, rq);
        job_done(s, rq);
        break;
    case JOB_END:
        s->app.end(s->app.ctx, rq);
        job_done(s, rq);
        break;
    default:
        request_free(s, rq);
    }
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    http_server *s = cls;
    http_req *rq = *con_cls;
    if (!rq) return;
    *con_cls = NULL;
    pthread_mutex_lock(&rq->mu);
    rq->susp = S_DEAD; /* wakes from the application are no-ops from now on */
    rq->conn = NULL;
    pthread_mutex_unlock(&rq->mu);
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK) conn_request_over(s->conns, conn);
    /* Freeing may wait for pipeline threads: not on the event loop. */
    rq->job = JOB_DONE;
    workers_push(s->work, rq);
}

/* ---- libmicrohttpd's messages ---- */

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    http_server *s = cls;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = 0;
    /* A client that went away is routine, not a fault of the server. */
    static const char *const routine[] = {"reset by peer", "closed by", "disconnected",
                                          "Broken pipe",   "timed out", "Connection was closed"};
    for (size_t i = 0; i < sizeof(routine) / sizeof(routine[0]); i++)
        if (strstr(line, routine[i])) return LOG_DEBUG("http: %s", line);
    /* A malformed request is the client's problem: worth a line, not a warning. */
    int level = strstr(line, "request") || strstr(line, "header") ? ORC_LOG_INFO : ORC_LOG_WARN;
    pthread_mutex_lock(&s->log_mu);
    int64_t now = orc_monotonic_us() / 1000000;
    if (now != s->log_window) {
        if (s->log_dropped) LOG_WARN("http: %u more such messages", s->log_dropped);
        s->log_window = now;
        s->log_count = s->log_dropped = 0;
    }
    bool show = s->log_count++ < 5;
    if (!show) s->log_dropped++;
    pthread_mutex_unlock(&s->log_mu);
    if (show) orc_log(level, "http: %s", line);
}

/* ---- the server ---- */

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
    if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(s, 1024) != 0) {
        int err = errno;
        close(s);
        if (err == EADDRINUSE)
            return orc_fail(e, ORC_EIO,
                            "cannot listen on %s: the address is in use (another server on that "
                            "port?)",
                            addr);
        if (err == EADDRNOTAVAIL)
            return orc_fail(e, ORC_EIO, "cannot listen on %s: not an address of this host", addr);
        return orc_fail(e, ORC_EIO, "cannot listen on %s: %s", addr, strerror(err));
    }
    *fd = s;
    return ORC_OK;
}

static unsigned or_default(unsigned v, unsigned def)
{
    return v ? v : def;
}

static unsigned event_threads(const http_opts *o)
{
    if (o->threads) return o->threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 16 ? 16 : (unsigned)n;
}

/* Every connection is a descriptor: raise the soft limit towards the cap
 * (the hard limit is the operator's to set). */
static void raise_fd_limit(unsigned max_connections)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)max_connections + 256; /* files, providers, the database */
    if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= need) return;
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need ? rl.rlim_max : need;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < need)
        LOG_WARN("http: only %llu file descriptors (ulimit -n); max_connections = %u needs %llu",
                 (unsigned long long)rl.rlim_cur, max_connections, (unsigned long long)need);
}

static struct MHD_Daemon *daemon_start(http_server *s, const http_opts *o)
{
    unsigned flags =
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    struct MHD_OptionItem tls[3] = {{MHD_OPTION_END, 0, NULL}};
    if (s->tls_cert) {
        flags |= MHD_USE_TLS;
        tls[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert};
        tls[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key};
        tls[2] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    }
    return MHD_start_daemon(
        flags, 0, NULL, NULL, access_handler, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
        MHD_OPTION_LISTEN_SOCKET, o->listen_fd, MHD_OPTION_THREAD_POOL_SIZE, event_threads(o),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY, MHD_OPTION_CONNECTION_TIMEOUT,
        or_default(o->idle_timeout, HTTP_DEFAULT_IDLE_TIMEOUT), MHD_OPTION_CONNECTION_LIMIT,
        or_default(o->max_connections, HTTP_DEFAULT_MAX_CONNECTIONS),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, or_default(o->max_per_ip, HTTP_DEFAULT_MAX_PER_IP),
        MHD_OPTION_URI_LOG_CALLBACK, uri_log, s, MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, s,
        MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_NOTIFY_CONNECTION, conn_notify,
        s->conns, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
}

int http_server_start(const http_opts *o, const http_app *app, http_server **out, orc_err *e)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    if (getsockname(o->listen_fd, (struct sockaddr *)&sa, &sl) != 0)
        return orc_fail(e, ORC_EINVAL, "not a listening socket: %s", strerror(errno));
    if (!o->tls_cert_pem != !o->tls_key_pem)
        return orc_fail(e, ORC_EINVAL, "TLS needs both a certificate and a key");
    if (o->tls_cert_pem && !MHD_is_feature_supported(MHD_FEATURE_TLS))
        return orc_fail(e, ORC_EINVAL, "this libmicrohttpd was built without TLS");
    http_server *s = orc_calloc(1, sizeof(*s));
    s->app = *app;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->log_mu, NULL);
    if (o->tls_cert_pem) {
        s->tls_cert = orc_strdup(o->tls_cert_pem);
        s->tls_key = orc_strdup(o->tls_key_pem);
    }
    s->conns = conn_table_new(or_default(o->header_timeout, HTTP_DEFAULT_HEADER_TIMEOUT),
                              or_default(o->max_connections, HTTP_DEFAULT_MAX_CONNECTIONS));
    s->work = workers_new(or_default(o->workers, HTTP_DEFAULT_WORKERS), run_job, s);
    raise_fd_limit(or_default(o->max_connections, HTTP_DEFAULT_MAX_CONNECTIONS));
    if (!(s->d = daemon_start(s, o))) {
        workers_free(s->work);
        conn_table_free(s->conns);
        free(s->tls_cert);
        free(s->tls_key);
        free(s);
        if (o->tls_cert_pem)
            return orc_fail(e, ORC_EINVAL,
                            "the HTTP server did not start: is the TLS certificate and key "
                            "a matching PEM pair?");
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

/* Resumes every paused request (they see the server stopping and end);
 * returns whether any connection is still suspended or any job running. */
static bool stop_step(http_server *s)
{
    pthread_mutex_lock(&s->mu);
    bool busy = s->jobs > 0;
    /* Under s->mu no request is freed (it is unlinked under s->mu first). */
    for (http_req *rq = s->live; rq; rq = rq->next) {
        pthread_mutex_lock(&rq->mu);
        if (rq->susp == S_PAUSE) {
            rq->susp = S_RUN;
            MHD_resume_connection(rq->conn);
            busy = true;
        }
        busy = busy || rq->susp == S_JOB;
        pthread_mutex_unlock(&rq->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return busy;
}

void http_server_stop(http_server *s)
{
    if (!s) return;
    atomic_store(&s->stopping, true);
    MHD_socket lfd = MHD_quiesce_daemon(s->d);
    if (lfd != MHD_INVALID_SOCKET) close(lfd);
    conn_shutdown(s->conns, true);
    /* Handlers that are running finish and answer; paused bodies and
     * streams end. */
    for (int waited = 0; stop_step(s) && waited < STOP_WAIT_MS; waited += 10)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    conn_shutdown(s->conns, false);
    for (int waited = 0; stop_step(s) && waited < STOP_WAIT_MS; waited += 10)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    MHD_stop_daemon(s->d);
    workers_free(s->work); /* frees the requests the stop closed */
    conn_table_free(s->conns);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->log_mu);
    free(s->tls_cert);
    free(s->tls_key);
    free(s);
}

/* ---- request ---- */

const char *http_header(http_req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

bool http_client_alive(http_req *rq)
{
    const union MHD_ConnectionInfo *ci =
        rq->conn ? MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_CONNECTION_FD) : NULL;
    if (!ci) return false;
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

/* ---- responses ---- */

static void drop_response(http_req *rq)
{
    if (rq->stream) { /* replaced before it was sent */
        if (rq->stream->free_fn) rq->stream->free_fn(rq->stream->ctx);
        rq->stream->ctx = NULL;
        rq->stream->rq = NULL;
        rq->stream = NULL;
    }
    if (rq->resp) MHD_destroy_response(rq->resp);
    rq->resp = NULL;
}

void http_respond(http_req *rq, unsigned status, const char *content_type, uint8_t *body,
                  size_t len)
{
    drop_response(rq);
    rq->resp = MHD_create_response_from_buffer(
        len, body ? body : (void *)"", body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    rq->status = status;
    rq->resp_len = len;
    if (content_type) http_add_header(rq, "Content-Type", content_type);
}

/* Event loop: the next piece of a streamed body. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct http_stream *st = cls;
    http_req *rq = st->rq;
    if (!rq) return MHD_CONTENT_READER_END_WITH_ERROR;
    for (;;) {
        if (atomic_load(&rq->srv->stopping)) return MHD_CONTENT_READER_END_WITH_ERROR;
        long n = st->read(st->ctx, pos, (uint8_t *)buf, max);
        if (n == HTTP_READ_AGAIN) {
            if (pause_conn(rq)) return 0; /* called again once resumed */
            continue;                     /* the wake came already */
        }
        if (n < 0) return MHD_CONTENT_READER_END_WITH_ERROR;
        if (n == 0) return MHD_CONTENT_READER_END_OF_STREAM;
        rq->bytes_out += (uint64_t)n;
        return n;
    }
}

/* When libmicrohttpd lets go of the response; the application's context was
 * freed with the request already. */
static void stream_free(void *cls)
{
    free(cls);
}

void http_respond_stream(http_req *rq, unsigned status, uint64_t size, http_read_fn read, void *ctx,
                         void (*free_fn)(void *))
{
    drop_response(rq);
    struct http_stream *st = orc_malloc(sizeof(*st));
    st->read = read;
    st->ctx = ctx;
    st->free_fn = free_fn;
    st->rq = rq;
    rq->stream = st;
    rq->resp = MHD_create_response_from_callback(size, STREAM_BLOCK, stream_read, st, stream_free);
    rq->status = status;
}

void http_add_header(http_req *rq, const char *name, const char *value)
{
    if (!rq->resp) return;
    /* libmicrohttpd refuses an empty value; a field value is what is left
     * after leading and trailing white space (RFC 9110 5.5), so one space is
     * an empty value on the wire. */
    if (!MHD_add_response_header(rq->resp, name, *value ? value : " "))
        LOG_WARN("request %s: response header %s not sent (a value with CR or LF?)", rq->request_id,
                 name);
}
