/* Unit tests for the HTTP server glue (src/http/): the server runs on an
 * ephemeral port of 127.0.0.1 with a tiny application (it answers
 * "METHOD PATH BODY-LENGTH") and is spoken to over raw sockets, with short
 * deadlines and caps set through http_opts. The end-to-end behaviour with
 * the S3 front is in tests/integration/test_08_connections.py; this covers
 * the glue itself, quickly. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "http/http.h"
#include "util/alloc.h"
#include "util/time.h"

/* ---- the application ---- */

typedef struct app_stats {
    _Atomic int begins, ends, rejects;
    _Atomic int dones;                    /* of requests that began (they have an app_req) */
    _Atomic uint64_t bytes_in, bytes_out; /* as done() saw them */
    _Atomic int timed;                    /* done() calls with a start time in the past */
} app_stats;

typedef struct app_req {
    uint64_t body_len;
} app_req;

static void app_begin(void *ctx, http_req *rq)
{
    app_stats *st = ctx;
    st->begins++;
    rq->app = orc_calloc(1, sizeof(app_req));
    if (strcmp(rq->path, "/early") == 0) /* answered before any body */
        http_respond(rq, 403, "text/plain", (uint8_t *)orc_strdup("early"), 5);
}

static int app_body(void *ctx, http_req *rq, const uint8_t *data, size_t len)
{
    app_req *a = rq->app;
    a->body_len += len;
    return HTTP_BODY_OK;
}

static void app_end(void *ctx, http_req *rq)
{
    app_stats *st = ctx;
    app_req *a = rq->app;
    char text[256];
    st->ends++;
    int n = snprintf(text, sizeof(text), "%s %s %llu", rq->method, rq->path,
                     (unsigned long long)a->body_len);
    http_respond(rq, 200, "text/plain", (uint8_t *)orc_strdup(text), (size_t)n);
}

static void app_done(void *ctx, http_req *rq)
{
    app_stats *st = ctx;
    /* Also called for requests that never began (headers cut short). */
    if (rq->app) st->dones++;
    st->bytes_in += rq->bytes_in;
    st->bytes_out += rq->bytes_out;
    if (rq->start_us > 0 && rq->start_us <= orc_monotonic_us()) st->timed++;
    free(rq->app);
    rq->app = NULL;
}

static void app_reject(void *ctx, http_req *rq, unsigned status, const char *msg)
{
    app_stats *st = ctx;
    st->rejects++;
    http_respond(rq, status, "text/plain", (uint8_t *)orc_strdup(msg), strlen(msg));
}

/* ---- fixture ---- */

typedef struct fixture {
    http_server *srv;
    app_stats st;
    unsigned port;
} fixture;

static fixture *start(unsigned header_timeout, unsigned max_per_ip)
{
    fixture *f = orc_calloc(1, sizeof(*f));
    orc_err e = {0};
    http_opts o = {.threads = 2,
                   .workers = 2,
                   .header_timeout = header_timeout,
                   .idle_timeout = 10,
                   .max_per_ip = max_per_ip};
    assert_int_equal(http_listen("127.0.0.1:0", &o.listen_fd, &e), ORC_OK);
    http_app app = {&f->st, app_begin, app_body, app_end, app_done, app_reject};
    assert_int_equal(http_server_start(&o, &app, &f->srv, &e), ORC_OK);
    f->port = http_server_port(f->srv);
    assert_true(f->port > 0);
    return f;
}

static void stop(fixture *f)
{
    http_server_stop(f->srv);
    /* Every request that began is over and freed by now. */
    assert_int_equal(f->st.dones, f->st.begins);
    free(f);
}

/* ---- raw sockets ---- */

/* A connection to the server from local address src ("127.0.0.1" ...). */
static int dial(const fixture *f, const char *src)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &a.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    a.sin_port = htons((uint16_t)f->port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

static void send_str(int fd, const char *s, size_t n)
{
    assert_int_equal(send(fd, s, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Up to cap bytes, waiting at most ms for each; 0 at end of stream (or a
 * reset), -1 when nothing came in time. */
static ssize_t recv_wait(int fd, char *buf, size_t cap, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, ms) <= 0) return -1;
    ssize_t n = recv(fd, buf, cap, 0);
    return n < 0 ? 0 : n;
}

/* One response (headers and a Content-Length body) into out, NUL-ended;
 * false if the connection ended or stalled first. Reads the headers a byte
 * at a time and then exactly the body, so that a pipelined response after
 * it stays in the socket for the next call. */
static bool read_response(int fd, char *out, size_t cap)
{
    size_t have = 0;
    char *eoh = NULL;
    while (!eoh) {
        if (have + 1 >= cap || recv_wait(fd, out + have, 1, 3000) != 1) return false;
        out[++have] = 0;
        if (have >= 4 && memcmp(out + have - 4, "\r\n\r\n", 4) == 0) eoh = out + have - 4;
    }
    const char *cl = strcasestr(out, "\r\nContent-Length:");
    size_t body = cl ? strtoul(cl + 17, NULL, 10) : 0;
    if (have + body >= cap) return false;
    for (size_t got = 0; got < body;) {
        ssize_t n = recv_wait(fd, out + have + got, body - got, 3000);
        if (n <= 0) return false;
        got += (size_t)n;
    }
    out[have + body] = 0;
    return true;
}

/* Everything until the server closes; the count, or -1 if it did not close
 * within ms. */
static ssize_t read_to_close(int fd, char *out, size_t cap, int ms)
{
    size_t have = 0;
    int64_t until = orc_monotonic_us() + (int64_t)ms * 1000;
    for (;;) {
        int left = (int)((until - orc_monotonic_us()) / 1000);
        if (left <= 0) return -1;
        ssize_t n = recv_wait(fd, out + have, cap - 1 - have, left);
        if (n < 0) return -1;
        if (n == 0 || have + (size_t)n + 1 >= cap) break;
        have += (size_t)n;
    }
    out[have] = 0;
    return (ssize_t)have;
}

static const char *body_of(const char *resp)
{
    const char *b = strstr(resp, "\r\n\r\n");
    return b ? b + 4 : "";
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: x\r\n\r\n"

/* ---- tests ---- */

static void test_a_request_is_answered_by_the_application(void **state)
{
    fixture *f = start(5, 0);
    char resp[4096];
    int fd = dial(f, "127.0.0.1");
    send_str(fd, GET("/hello?x=1"), strlen(GET("/hello?x=1")));
    assert_true(read_response(fd, resp, sizeof(resp)));
    assert_true(strncmp(resp, "HTTP/1.1 200", 12) == 0);
    assert_string_equal(body_of(resp), "GET /hello 0"); /* path without the query */
    assert_non_null(strcasestr(resp, "\r\nx-amz-request-id: "));
    assert_non_null(strcasestr(resp, "\r\nServer: Orchard\r\n"));

    /* A body reaches the application, with a length or chunked. */
    const char put[] = "PUT /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
    send_str(fd, put, strlen(put));
    assert_true(read_response(fd, resp, sizeof(resp)));
    assert_string_equal(body_of(resp), "PUT /p 5");
    const char chunked[] = "PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n";
    send_str(fd, chunked, strlen(chunked));
    assert_true(read_response(fd, resp, sizeof(resp)));
    assert_string_equal(body_of(resp), "PUT /c 7");

    /* begin may answer at once: end does not run. */
    send_str(fd, GET("/early"), strlen(GET("/early")));
    assert_true(read_response(fd, resp, sizeof(resp)));
    assert_true(strncmp(resp, "HTTP/1.1 403", 12) == 0);
    assert_string_equal(body_of(resp), "early");
    close(fd);
    assert_int_equal(f->st.ends, 3);
    stop(f);
}

/* done() sees how many body bytes came in (after any chunked framing) and
 * went out: a HEAD sends none, however long its Content-Length. */
static void test_done_sees_the_body_bytes_of_each_way(void **state)
{
    fixture *f = start(5, 0);
    char resp[4096];
    int fd = dial(f, "127.0.0.1");
    const char put[] = "PUT /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
    send_str(fd, put, strlen(put));
    assert_true(read_response(fd, resp, sizeof(resp)));
    assert_string_equal(body_of(resp), "PUT /p 5"); /* 8 bytes out */
    const char chunked[] = "PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n";
    send_str(fd, chunked, strlen(chunked));
    assert_true(read_response(fd, resp, sizeof(resp)));
    assert_string_equal(body_of(resp), "PUT /c 7"); /* 8 more */
    const char head[] = "HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n";
    send_str(fd, head, strlen(head));
    size_t have = 0;
    while (have < 4 || memcmp(resp + have - 4, "\r\n\r\n", 4) != 0) {
        assert_true(have + 1 < sizeof(resp));
        assert_int_equal(recv_wait(fd, resp + have++, 1, 3000), 1);
    }
    close(fd);
    http_server_stop(f->srv);
    assert_int_equal(f->st.dones, 3);
    assert_int_equal(f->st.timed, 3);
    assert_int_equal(f->st.bytes_in, 5 + 7);
    assert_int_equal(f->st.bytes_out, 8 + 8);
    free(f);
}

/* Several requests on one connection, in order, and it stays open. */
static void test_keep_alive_serves_requests_in_order_on_one_connection(void **state)
{
    fixture *f = start(5, 0);
    char resp[4096];
    int fd = dial(f, "127.0.0.1");
    for (int i = 0; i < 3; i++) {
        char path[32], req[128];
        snprintf(path, sizeof(path), "/r%d", i);
        int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
        send_str(fd, req, (size_t)n);
        assert_true(read_response(fd, resp, sizeof(resp)));
        assert_null(strcasestr(resp, "Connection: close"));
        char want[64];
        snprintf(want, sizeof(want), "GET %s 0", path);
        assert_string_equal(body_of(resp), want);
    }
    /* Two pipelined requests in one write: both answered, in order. */
    const char two[] = GET("/a") GET("/b");
    send_str(fd, two, strlen(two));
    assert_true(read_response(fd, resp, sizeof(resp)));
    assert_string_equal(body_of(resp), "GET /a 0");
    assert_true(read_response(fd, resp, sizeof(resp)));
    assert_string_equal(body_of(resp), "GET /b 0");
    assert_int_equal(recv_wait(fd, resp, sizeof(resp), 200), -1); /* still open, quiet */
    close(fd);
    stop(f);
}

/* A client that sends no complete headers is closed at the header deadline
 * (1 s here), whether silent, trickling, or idle after a response. */
static void test_header_deadline_closes_a_silent_client(void **state)
{
    fixture *f = start(1, 0);
    char resp[4096];
    int silent = dial(f, "127.0.0.1"), partial = dial(f, "127.0.0.1"), idle = dial(f, "127.0.0.1");
    int64_t t0 = orc_monotonic_us();
    send_str(partial, "GET /slow HTTP/1.1\r\nHo", 22);
    send_str(idle, GET("/once"), strlen(GET("/once")));
    assert_true(read_response(idle, resp, sizeof(resp)));
    assert_int_equal(read_to_close(silent, resp, sizeof(resp), 4000), 0);
    int64_t took_ms = (orc_monotonic_us() - t0) / 1000;
    assert_true(took_ms >= 900);
    assert_true(took_ms < 3000);
    assert_true(read_to_close(partial, resp, sizeof(resp), 2000) >= 0);
    assert_int_equal(read_to_close(idle, resp, sizeof(resp), 2000), 0);
    assert_int_equal(f->st.begins, 1); /* the partial request never began */
    close(silent);
    close(partial);
    close(idle);
    /* A new client is served as usual. */
    int fd = dial(f, "127.0.0.1");
    send_str(fd, GET("/after"), strlen(GET("/after")));
    assert_true(read_response(fd, resp, sizeof(resp)));
    assert_string_equal(body_of(resp), "GET /after 0");
    close(fd);
    stop(f);
}

/* With 3 connections per address, a fourth from the same address is closed
 * unanswered; the three keep working and another address is not affected. */
static void test_the_per_address_cap_sheds_extra_connections(void **state)
{
    fixture *f = start(5, 3);
    char resp[4096];
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = dial(f, "127.0.0.1");
        send_str(fds[i], GET("/in"), strlen(GET("/in")));
        assert_true(read_response(fds[i], resp, sizeof(resp))); /* accepted and counted */
    }
    int extra = dial(f, "127.0.0.1");
    send(extra, GET("/extra"), strlen(GET("/extra")), MSG_NOSIGNAL);     /* may fail: closed */
    assert_int_equal(read_to_close(extra, resp, sizeof(resp), 2000), 0); /* nothing answered */
    close(extra);

    send_str(fds[1], GET("/still"), strlen(GET("/still")));
    assert_true(read_response(fds[1], resp, sizeof(resp)));
    assert_string_equal(body_of(resp), "GET /still 0");
    int other = dial(f, "127.0.0.2");
    send_str(other, GET("/other"), strlen(GET("/other")));
    assert_true(read_response(other, resp, sizeof(resp)));
    assert_string_equal(body_of(resp), "GET /other 0");
    close(other);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    stop(f);
}

/* Sends req (n bytes, may hold NULs) on a new connection and expects one 400
 * with reason in its body, the connection then closed, and nothing after it
 * (the second request in req) served. */
static void assert_refused(fixture *f, const char *req, size_t n, const char *reason)
{
    char resp[8192];
    int fd = dial(f, "127.0.0.1");
    send_str(fd, req, n);
    ssize_t got = read_to_close(fd, resp, sizeof(resp), 3000);
    close(fd);
    assert_true(got > 0);
    assert_true(strncmp(resp, "HTTP/1.1 400", 12) == 0);
    assert_non_null(strcasestr(resp, "\r\nConnection: close\r\n"));
    if (reason) assert_non_null(strstr(resp, reason));
    assert_null(strstr(resp, "/second"));
}

static void test_nul_in_target_or_bad_framing_is_400_and_closed(void **state)
{
    fixture *f = start(5, 0);
    static const char nul[] = "GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n" GET("/second");
    assert_refused(f, nul, sizeof(nul) - 1, "NUL");
    static const char nul_hdr[] = "GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n" GET("/second");
    assert_refused(f, nul_hdr, sizeof(nul_hdr) - 1, "NUL");
    static const char *const framing[][2] = {
        {"Content-Length: 3\r\nContent-Length: 30\r\n", "more than one Content-Length"},
        {"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", "both Content-Length and"},
        {"Transfer-Encoding: gzip\r\n", "only Transfer-Encoding accepted is chunked"},
        {"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
         "more than one Transfer-Encoding"},
    };
    for (size_t i = 0; i < sizeof(framing) / sizeof(framing[0]); i++) {
        char req[512];
        int n = snprintf(req, sizeof(req), "PUT /x HTTP/1.1\r\nHost: x\r\n%s\r\nabc" GET("/second"),
                         framing[i][0]);
        assert_refused(f, req, (size_t)n, framing[i][1]);
    }
    assert_int_equal(f->st.begins, 0); /* the application never saw them */
    assert_int_equal(f->st.rejects, 6);
    stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_request_is_answered_by_the_application),
        cmocka_unit_test(test_done_sees_the_body_bytes_of_each_way),
        cmocka_unit_test(test_keep_alive_serves_requests_in_order_on_one_connection),
        cmocka_unit_test(test_header_deadline_closes_a_silent_client),
        cmocka_unit_test(test_the_per_address_cap_sheds_extra_connections),
        cmocka_unit_test(test_nul_in_target_or_bad_framing_is_400_and_closed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
