/* orchard providers: asks a running server for its providers' health,
 * latency, counters and usage (GET /_orchard/providers, signed as the admin
 * user with libcurl's SigV4) and prints it. */
#include "cli/cli.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/datadir.h"
#include "util/buf.h"

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

static const char usage[] =
    "usage: orchard providers [--endpoint URL] [--json] [--data DIR] [--config FILE]\n"
    "\n"
    "Asks a running server for its providers: up or down, latency, errors, chunks and bytes.\n"
    "Without --endpoint the server is found from DATA/endpoint (written by orchard serve),\n"
    "else the config's listen address. Keys: ORCHARD_ACCESS_KEY and ORCHARD_SECRET_KEY,\n"
    "or DATA/credentials.\n";

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

int cli_providers(int argc, char **argv)
{
    orc_config c;
    const char *pos[CLI_MAX_POS], *from;
    int npos, rc, status = 1;
    bool json = false;
    const char *endpoint = NULL;
    char *args[64];
    int nargs = 0;
    /* --json and --endpoint are ours; the rest are the common options. */
    for (int i = 0; i < argc && nargs < 63; i++) {
        if (i >= 2 && !strcmp(argv[i], "--json"))
            json = true;
        else if (i >= 2 && !strcmp(argv[i], "--endpoint") && i + 1 < argc)
            endpoint = argv[++i];
        else
            args[nargs++] = argv[i];
    }
    args[nargs] = NULL;
    if (cli_wants_help(nargs, args, 2)) {
        fputs(usage, stdout);
        return 0;
    }
    if ((rc = cli_config(nargs, args, 2, &c, pos, &npos, false, NULL))) return rc;
    if (npos) {
        fputs(usage, stderr);
        config_dispose(&c);
        return 2;
    }
    char ak[256], sk[256], url[512], userpwd[520], sigv4[96];
    if (admin_keys(&c, ak, sk, sizeof(ak))) {
        fprintf(stderr, "orchard providers: no admin keys: set ORCHARD_ACCESS_KEY and "
                        "ORCHARD_SECRET_KEY, or point --data at the server's data directory\n");
        config_dispose(&c);
        return 2;
    }
    server_url(&c, endpoint, url, sizeof(url), &from);
    size_t ul = strlen(url);
    while (ul && url[ul - 1] == '/')
        url[--ul] = 0;
    snprintf(url + ul, sizeof(url) - ul, "/_orchard/providers%s", json ? "" : "?format=text");
    snprintf(userpwd, sizeof(userpwd), "%s:%s", ak, sk);
    snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:s3", c.region);

    orc_buf body;
    orc_buf_init(&body, 1 << 20);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs =
        curl_slist_append(NULL, "x-amz-content-sha256: e3b0c44298fc1c149afb"
                                "f4c8996fb92427ae41e4649b934ca495991b7852b855");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4);
    curl_easy_setopt(h, CURLOPT_USERPWD, userpwd);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    CURLcode cc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (cc != CURLE_OK) {
        url[ul] = 0;
        fprintf(stderr, "orchard providers: %s (from %s): %s\n", url, from, curl_easy_strerror(cc));
    } else if (code != 200) {
        fprintf(stderr, "orchard providers: server answered %ld: %.*s\n", code, (int)body.len,
                body.ptr ? (const char *)body.ptr : "");
    } else {
        fwrite(body.ptr, 1, body.len, stdout);
        status = 0;
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    curl_global_cleanup();
    orc_buf_dispose(&body);
    memset(sk, 0, sizeof(sk));
    memset(userpwd, 0, sizeof(userpwd));
    config_dispose(&c);
    return status;
}
