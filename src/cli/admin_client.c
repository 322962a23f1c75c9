/* What the subcommands that ask a running server share (orchard providers,
 * scrub, repair): the admin's keys, the server's address, one SigV4-signed
 * request with libcurl, and reading a number out of the server's JSON. */
#include "cli/cli.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/datadir.h"

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
    return orc_buf_append(arg, data, size * n, NULL) ? 0 : size * n;
}

/* Admin keys: config or environment first, else DATA/credentials. */
static int admin_keys(const orc_config *c, char *ak, char *sk, size_t cap)
{
    if (c->access_key[0] && c->secret_key[0]) {
        snprintf(ak, cap, "%s", c->access_key);
        snprintf(sk, cap, "%s", c->secret_key);
        return 0;
    }
    char path[PATH_MAX + 16], line[512];
    snprintf(path, sizeof(path), "%s/credentials", c->data);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    ak[0] = sk[0] = 0;
    while (fgets(line, sizeof(line), f)) {
        char *v = strstr(line, " = ");
        if (!v) continue;
        v[strcspn(v, "\r\n")] = 0;
        if (!strncmp(line, "access_key", 10)) snprintf(ak, cap, "%s", v + 3);
        if (!strncmp(line, "secret_key", 10)) snprintf(sk, cap, "%s", v + 3);
    }
    fclose(f);
    return ak[0] && sk[0] ? 0 : -1;
}

/* --endpoint, else DATA/endpoint (the running server wrote it), else the
 * config's listen address. from says which, for the error message. */
static void server_url(const orc_config *c, const char *endpoint, char *url, size_t cap,
                       const char **from)
{
    *from = "--endpoint";
    if (endpoint) {
        snprintf(url, cap, "%s", endpoint);
    } else if (cli_endpoint_read(c->data, url, cap) == 0) {
        *from = "DATA/endpoint";
    } else {
        snprintf(url, cap, "http://%s", c->listen);
        *from = "the listen address; no server has written DATA/endpoint";
    }
}

int cli_admin_call(const char *cmd, const orc_config *c, const char *endpoint, const char *method,
                   const char *path, orc_buf *body)
{
    char ak[256], sk[256], url[768], userpwd[520], sigv4[96];
    const char *from;
    if (admin_keys(c, ak, sk, sizeof(ak))) {
        fprintf(stderr,
                "orchard %s: no admin keys: set ORCHARD_ACCESS_KEY and "
                "ORCHARD_SECRET_KEY, or point --data at the server's data directory\n",
                cmd);
        return 2;
    }
    server_url(c, endpoint, url, 512, &from);
    size_t ul = strlen(url);
    while (ul && url[ul - 1] == '/')
        url[--ul] = 0;
    snprintf(url + ul, sizeof(url) - ul, "%s", path);
    snprintf(userpwd, sizeof(userpwd), "%s:%s", ak, sk);
    snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:s3", c->region);
    int status = 1;
    body->len = 0;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs =
        curl_slist_append(NULL, "x-amz-content-sha256: e3b0c44298fc1c149afb"
                                "f4c8996fb92427ae41e4649b934ca495991b7852b855");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "POST")) curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4);
    curl_easy_setopt(h, CURLOPT_USERPWD, userpwd);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    CURLcode cc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (cc != CURLE_OK) {
        url[ul] = 0;
        fprintf(stderr, "orchard %s: %s (from %s): %s\n", cmd, url, from, curl_easy_strerror(cc));
    } else if (code != 200) {
        /* An S3 error document: its code and message, on one line. */
        const char *b = body->ptr ? (const char *)body->ptr : "";
        const char *ec = memmem(b, body->len, "<Code>", 6),
                   *em = memmem(b, body->len, "<Message>", 9);
        const char *ece = ec ? memmem(ec, body->len - (size_t)(ec - b), "</Code>", 7) : NULL;
        const char *eme = em ? memmem(em, body->len - (size_t)(em - b), "</Message>", 10) : NULL;
        if (ece && eme)
            fprintf(stderr, "orchard %s: server answered %ld %.*s: %.*s\n", cmd, code,
                    (int)(ece - ec - 6), ec + 6, (int)(eme - em - 9), em + 9);
        else
            fprintf(stderr, "orchard %s: server answered %ld: %.*s\n", cmd, code, (int)body->len,
                    b);
    } else {
        status = 0;
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    curl_global_cleanup();
    memset(sk, 0, sizeof(sk));
    memset(userpwd, 0, sizeof(userpwd));
    return status;
}

double cli_json_num(const orc_buf *body, const char *field)
{
    double v = 0;
    return cli_json_number(body, field, &v) ? v : 0;
}

void cli_human_bytes(double bytes, char *out, size_t cap)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (bytes >= 1024 && i < 4)
        bytes /= 1024, i++;
    snprintf(out, cap, "%.1f %s", bytes, u[i]);
}

bool cli_json_number(const orc_buf *body, const char *field, double *out)
{
    char pat[72];
    snprintf(pat, sizeof(pat), "\"%s\":", field);
    /* The server's own JSON, NUL-terminated by the caller's buffer use. */
    const char *p = body->ptr ? memmem(body->ptr, body->len, pat, strlen(pat)) : NULL;
    if (!p) return false;
    p += strlen(pat);
    if (!strncmp(p, "true", 4)) return *out = 1, true;
    if (!strncmp(p, "false", 5)) return *out = 0, true;
    char *end;
    *out = strtod(p, &end);
    return end != p;
}
