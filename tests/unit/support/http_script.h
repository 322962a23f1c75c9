/* A scripted HTTP/1.1 listener on 127.0.0.1 for tests: it records each
 * request (method, path, query, headers, body) and answers from a script the
 * test sets up, one reply per request in order (past the script: 400
 * NoScript). One connection at a time; keep-alive or one request per
 * connection. */
#ifndef ORC_TEST_HTTP_SCRIPT_H
#define ORC_TEST_HTTP_SCRIPT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_SCRIPT_MAX_REQS 32
#define HTTP_SCRIPT_HEAD_MAX 16384

typedef struct http_script_reply {
    int status;
    const char *headers; /* extra "Name: value\r\n" lines, may be NULL */
    const char *body;    /* may be NULL; for HEAD only its length is sent */
} http_script_reply;

typedef struct http_script_rec {
    char method[16];
    char path[1536];
    char query[1536];
    char head[HTTP_SCRIPT_HEAD_MAX]; /* header lines, as received */
    uint8_t *body;
    size_t body_len;
} http_script_rec;

typedef struct http_script {
    int lfd, port;
    pthread_t th;
    pthread_mutex_t mu; /* guards nreqs, reqs and conns against the listener thread */
    bool keep_alive;
    http_script_reply script[HTTP_SCRIPT_MAX_REQS];
    size_t nscript;
    http_script_rec reqs[HTTP_SCRIPT_MAX_REQS];
    size_t nreqs;
    int conns;                          /* connections accepted */
    char buf[HTTP_SCRIPT_HEAD_MAX * 2]; /* the listener thread's receive buffer */
} http_script;

/* Listens on an ephemeral port of 127.0.0.1 (s->port) and serves on a thread.
 * Fails the test if it cannot. */
http_script *http_script_start(bool keep_alive);
/* Stops the thread, closes the socket, frees the recorded bodies and s. */
void http_script_stop(http_script *s);
/* Appends a reply to the script (strings are not copied: keep them alive). */
void http_script_add(http_script *s, int status, const char *headers, const char *body);
/* Requests received so far. */
size_t http_script_nreqs(http_script *s);
/* Connections accepted so far. */
int http_script_conns(http_script *s);
/* Value of header name in a recorded header block, copied to out; false if absent. */
bool http_script_header(const char *head, const char *name, char *out, size_t cap);

#endif
