/* The scripted HTTP listener for tests (see http_script.h). */
#include "support/http_script.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/alloc.h"

static bool send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0) return false;
        c += w;
        n -= (size_t)w;
    }
    return true;
}

/* Value of header name in a recorded header block, copied to out; false if absent. */
bool http_script_header(const char *head, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *l = head; *l;) {
        const char *end = strstr(l, "\r\n");
        if (!end) break;
        if ((size_t)(end - l) > nl && strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
            const char *v = l + nl + 1;
            while (*v == ' ')
                v++;
            snprintf(out, cap, "%.*s", (int)(end - v), v);
            return true;
        }
        l = end + 2;
    }
    return false;
}

/* Reads one request from fd into r, given leftover bytes in buf[0..*have).
 * Returns false on EOF or a malformed request. */
static bool read_request(int fd, char *buf, size_t cap, size_t *have, http_script_rec *r)
{
    char *eoh;
    while (!(eoh = memmem(buf, *have, "\r\n\r\n", 4))) {
        if (*have == cap) return false;
        ssize_t n = recv(fd, buf + *have, cap - *have, 0);
        if (n <= 0) return false;
        *have += (size_t)n;
    }
    size_t hlen = (size_t)(eoh - buf) + 4;
    const char *line_end = strstr(buf, "\r\n");
    char target[1536];
    *eoh = 0;
    if (sscanf(buf, "%15s %1535s", r->method, target) != 2) return false;
    char *q = strchr(target, '?');
    if (q) *q++ = 0;
    snprintf(r->path, sizeof(r->path), "%s", target);
    snprintf(r->query, sizeof(r->query), "%s", q ? q : "");
    snprintf(r->head, sizeof(r->head), "%s\r\n", line_end + 2);

    char v[64];
    size_t clen =
        http_script_header(r->head, "content-length", v, sizeof(v)) ? strtoul(v, NULL, 10) : 0;
    if (http_script_header(r->head, "expect", v, sizeof(v)) && strcasecmp(v, "100-continue") == 0)
        send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    r->body = malloc(clen + 1);
    r->body_len = clen;
    size_t got = *have - hlen < clen ? *have - hlen : clen;
    memcpy(r->body, buf + hlen, got);
    while (got < clen) {
        ssize_t n = recv(fd, r->body + got, clen - got, 0);
        if (n <= 0) return false;
        got += (size_t)n;
    }
    size_t used = hlen + (*have - hlen < clen ? *have - hlen : clen);
    memmove(buf, buf + used, *have - used);
    *have -= used;
    return true;
}

static void send_reply(http_script *s, int fd, const http_script_rec *r,
                       const http_script_reply *rp)
{
    const char *body = rp->body ? rp->body : "";
    char head[2048];
    int n = snprintf(head, sizeof(head), "HTTP/1.1 %d Scripted\r\nContent-Length: %zu\r\n%s%s\r\n",
                     rp->status, strlen(body), rp->headers ? rp->headers : "",
                     s->keep_alive ? "" : "Connection: close\r\n");
    send_all(fd, head, (size_t)n);
    if (strcmp(r->method, "HEAD") != 0) send_all(fd, body, strlen(body));
}

/* Serves one connection until the client closes it (or after one request
 * without keep-alive). */
static void serve_conn(http_script *s, int fd, char *buf, size_t cap)
{
    size_t have = 0;
    for (;;) {
        http_script_rec r = {0};
        if (!read_request(fd, buf, cap, &have, &r)) {
            free(r.body);
            return;
        }
        pthread_mutex_lock(&s->mu);
        size_t i = s->nreqs;
        http_script_reply rp =
            i < s->nscript ? s->script[i] : (http_script_reply){400, NULL, "<Code>NoScript</Code>"};
        if (i < HTTP_SCRIPT_MAX_REQS) {
            s->reqs[i] = r;
            s->nreqs++;
        } else {
            free(r.body);
        }
        pthread_mutex_unlock(&s->mu);
        send_reply(s, fd, &r, &rp);
        if (!s->keep_alive) return;
    }
}

static void *server_main(void *arg)
{
    http_script *s = arg;
    for (;;) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0) return NULL;
        struct timeval tv = {5, 0}; /* never hang the suite on a confused client */
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        pthread_mutex_lock(&s->mu);
        s->conns++;
        pthread_mutex_unlock(&s->mu);
        serve_conn(s, fd, s->buf, sizeof(s->buf));
        close(fd);
    }
}

http_script *http_script_start(bool keep_alive)
{
    http_script *s = orc_calloc(1, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    s->keep_alive = keep_alive;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->lfd, 16), 0);
    socklen_t al = sizeof(a);
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->th, NULL, server_main, s), 0);
    return s;
}

void http_script_stop(http_script *s)
{
    shutdown(s->lfd, SHUT_RDWR); /* wakes accept() */
    pthread_join(s->th, NULL);
    close(s->lfd);
    for (size_t i = 0; i < s->nreqs; i++)
        free(s->reqs[i].body);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void http_script_add(http_script *s, int status, const char *headers, const char *body)
{
    assert_true(s->nscript < HTTP_SCRIPT_MAX_REQS);
    s->script[s->nscript++] = (http_script_reply){status, headers, body};
}

size_t http_script_nreqs(http_script *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->nreqs;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int http_script_conns(http_script *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->conns;
    pthread_mutex_unlock(&s->mu);
    return n;
}
