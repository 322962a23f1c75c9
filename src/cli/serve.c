/* orchard serve: opens the data directory, the providers and the metadata
 * store, makes sure the admin user exists, serves S3 until SIGTERM/SIGINT,
 * and runs the garbage collector in the background. */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/background.h"
#include "cli/datadir.h"
#include "http/http.h"
#include "object/object.h"
#include "s3/s3.h"
#include "util/buf.h"
#include "util/log.h"

/* The first user: keys from the config/environment, or from DATA/credentials,
 * or generated now and written there. What an operator needs to know goes to
 * banner, printed once the start has succeeded. */
static int ensure_admin(const orc_config *c, store *st, char *banner, size_t cap, orc_err *e)
{
    char path[PATH_MAX + 16], ak[128], sk[128];
    meta_user u;
    snprintf(path, sizeof(path), "%s/credentials", c->data);
    if (c->access_key[0]) { /* check_config: the secret is there too */
        if (object_user_by_key(st, c->access_key, &u, NULL) == 0) {
            /* Known key: make the configured secret the one in force. */
            if (object_user_set_secret(st, u.name, c->secret_key, e)) return e->code;
        } else if (object_user_by_name(st, "admin", &u, NULL) == 0) {
            return orc_fail(e, ORC_EINVAL,
                            "the admin user already has access key %s; the configured key %s is "
                            "unknown (add it with 'orchard user add')",
                            u.access_key, c->access_key);
        } else if (cli_user_add(st, "admin", c->access_key, c->secret_key, ak, sk, e)) {
            return e->code;
        }
        snprintf(banner, cap, "access_key: %s\n", c->access_key);
        return ORC_OK;
    }
    if (object_user_by_name(st, "admin", &u, NULL) == 0) {
        /* The banner is for the operator's eyes: a very long data path is cut. */
        if (snprintf(banner, cap, "access_key: %s\nsecret_key: (in %s)\n", u.access_key, path) >=
            (int)cap)
            LOG_DEBUG("start banner cut to %zu bytes", cap);
        return ORC_OK;
    }
    if (cli_user_add(st, "admin", NULL, NULL, ak, sk, e)) return e->code;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        dprintf(fd, "access_key = %s\nsecret_key = %s\n", ak, sk);
        fsync(fd);
        close(fd);
    }
    if (snprintf(banner, cap,
                 "access_key: %s\nsecret_key: %s\n(first start: these keys are also in %s, mode "
                 "0600)\n",
                 ak, sk, path) >= (int)cap)
        LOG_DEBUG("start banner cut to %zu bytes", cap);
    OPENSSL_cleanse(sk, sizeof(sk));
    return ORC_OK;
}

static int open_providers(const orc_config *c, meta *m, provider **provs, uint32_t *ids, orc_err *e)
{
    for (size_t i = 0; i < c->nproviders; i++) {
        const config_provider *cp = &c->providers[i];
        int rc = provider_open(cp->type, cp->name, cp->kv, cp->nkv, &provs[i], e);
        if (!rc) rc = meta_provider_id(m, cp->name, &ids[i], e);
        if (rc) return rc;
        provider_set_down_after(provs[i], (int)c->down_after);
        provider_set_deadline(provs[i], c->deadline_base_ms, c->deadline_per_mib_ms);
    }
    return ORC_OK;
}

/* A PEM file for TLS, read whole (they are a few KiB; 1 MiB is far too much). */
static int read_pem(const char *what, const char *path, char **out, orc_err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) return orc_fail(e, ORC_EINVAL, "%s %s: %s", what, path, strerror(errno));
    orc_buf b;
    orc_buf_init(&b, 1u << 20);
    char tmp[4096];
    size_t n;
    int rc = ORC_OK;
    while (!rc && (n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        rc = orc_buf_append(&b, tmp, n, e);
    if (!rc && ferror(f)) rc = orc_fail(e, ORC_EIO, "%s %s: read error", what, path);
    fclose(f);
    if (!rc && (b.len == 0 || !memmem(b.ptr, b.len, "-----BEGIN ", 11)))
        rc = orc_fail(e, ORC_EINVAL, "%s %s: not a PEM file", what, path);
    if (!rc) rc = orc_buf_append(&b, "", 1, e); /* NUL-terminated for libmicrohttpd */
    if (rc) {
        if (rc == ORC_ENOSPC)
            orc_fail(e, ORC_EINVAL, "%s %s: too large for a PEM file", what, path);
        orc_buf_dispose(&b);
        return e->code;
    }
    *out = (char *)orc_buf_take(&b, NULL);
    return ORC_OK;
}

/* The HTTP front's options from the config; the TLS files are read now, so
 * that a bad one fails the start before anything is created. */
static int http_options(const orc_config *c, http_opts *o, orc_err *e)
{
    *o = (http_opts){
        .listen_fd = -1,
        .threads = (unsigned)c->threads,
        .workers = (unsigned)c->workers,
        .header_timeout = (unsigned)c->header_timeout,
        .idle_timeout = (unsigned)c->idle_timeout,
        .max_connections = (unsigned)c->max_connections,
        .max_per_ip = (unsigned)c->max_per_ip,
    };
    if (!c->tls_cert[0] && !c->tls_key[0]) return ORC_OK;
    if (!c->tls_cert[0] || !c->tls_key[0])
        return orc_fail(e, ORC_EINVAL, "TLS needs both tls_cert and tls_key in [server]");
    char *cert = NULL, *key = NULL;
    if (read_pem("tls_cert", c->tls_cert, &cert, e) || read_pem("tls_key", c->tls_key, &key, e)) {
        free(cert);
        return e->code;
    }
    o->tls_cert_pem = cert;
    o->tls_key_pem = key;
    return ORC_OK;
}

static void http_options_dispose(http_opts *o)
{
    if (o->tls_key_pem) OPENSSL_cleanse((char *)o->tls_key_pem, strlen(o->tls_key_pem));
    free((char *)o->tls_cert_pem);
    free((char *)o->tls_key_pem);
}

static int log_level(const char *s)
{
    return !strcmp(s, "debug")   ? ORC_LOG_DEBUG
           : !strcmp(s, "warn")  ? ORC_LOG_WARN
           : !strcmp(s, "error") ? ORC_LOG_ERROR
                                 : ORC_LOG_INFO;
}

static const char usage[] =
    "usage: orchard serve [--config FILE] [--listen ADDR:PORT] [--data DIR]\n"
    "\n"
    "Serves the S3 API until SIGTERM or SIGINT (Ctrl-C). Defaults: listen 127.0.0.1:9000,\n"
    "data in ./orchard-data. Without --config it reads ./orchard.ini, else DATA/orchard.ini,\n"
    "if one exists. One server per data directory (DATA/lock); DATA/endpoint holds the URL\n"
    "while it runs. A start that fails creates nothing.\n";

/* Everything a running server holds, so that start and stop are one place each. */
struct serve {
    orc_config c;
    seal_keys keys;
    meta *m;
    provider *provs[PLACE_MAX_PROVIDERS];
    uint32_t ids[PLACE_MAX_PROVIDERS];
    place_policy pol; /* the default class's */
    object_class_def classes[CONFIG_MAX_CLASSES];
    place *pl;
    store *st;
    s3_service svc;
    http_server *srv;
    int lfd;
    http_server *msrv; /* [server] metrics_listen, or NULL */
    int mlfd;
    http_opts ho;
    cli_datadir dd;
    bool locked, endpoint_written;
    char url[96];
    char banner[512];
    /* Providers brought in by a reload (reload_config), after the config's. */
    char cfg_path[PATH_MAX]; /* the config file read at start; "" if none */
    pthread_mutex_t reload_mu;
    provider *added[PLACE_MAX_PROVIDERS];
    char added_names[PLACE_MAX_PROVIDERS][64];
    size_t nadded;
};

static bool provider_known(const struct serve *s, const char *name)
{
    for (size_t i = 0; i < s->c.nproviders; i++)
        if (!strcmp(s->c.providers[i].name, name)) return true;
    for (size_t i = 0; i < s->nadded; i++)
        if (!strcmp(s->added_names[i], name)) return true;
    return false;
}

/* Re-reads the config file and brings in the provider sections that are
 * new; other changes (existing providers, classes, [server]) need a
 * restart and are left as they are. Runs on a SIGHUP and for POST
 * /_orchard/reload (s3_service.reload). */
static int reload_config(void *ctx, char *msg, size_t cap)
{
    struct serve *s = ctx;
    orc_config nc;
    orc_err e = {0};
    int rc = 1;
    size_t added = 0;
    char names[256] = "";
    pthread_mutex_lock(&s->reload_mu);
    config_defaults(&nc);
    if (!s->cfg_path[0]) {
        snprintf(msg, cap, "the server started without a config file: nothing to reload");
        goto out;
    }
    if (config_load(&nc, s->cfg_path, &e) || config_finish(&nc, &e)) {
        snprintf(msg, cap, "%s", e.msg);
        goto out;
    }
    rc = 0;
    for (size_t i = 0; i < nc.nproviders && !rc; i++) {
        const config_provider *cp = &nc.providers[i];
        if (provider_known(s, cp->name)) continue;
        provider *p = NULL;
        uint32_t id;
        if (s->nadded + s->c.nproviders >= PLACE_MAX_PROVIDERS) {
            snprintf(msg, cap, "at most %d providers", PLACE_MAX_PROVIDERS);
            rc = 1;
            break;
        }
        rc = provider_open(cp->type, cp->name, cp->kv, cp->nkv, &p, &e);
        if (!rc) rc = meta_provider_id(s->m, cp->name, &id, &e);
        if (!rc) {
            provider_set_down_after(p, (int)s->c.down_after);
            provider_set_deadline(p, s->c.deadline_base_ms, s->c.deadline_per_mib_ms);
            rc = place_add(s->pl, p, id, &e);
        }
        if (rc) {
            provider_free(p);
            snprintf(msg, cap, "provider %s: %s", cp->name, e.msg);
            break;
        }
        s->added[s->nadded] = p;
        snprintf(s->added_names[s->nadded++], sizeof(s->added_names[0]), "%s", cp->name);
        object_costs oc = {(uint64_t)cp->capacity, cp->price_gb_month, cp->price_put_1k,
                           cp->price_get_1k, cp->price_egress_gb};
        object_provider_costs(s->st, cp->name, &oc, s->c.egress_weight_ms, NULL);
        size_t at = strlen(names);
        snprintf(names + at, sizeof(names) - at, "%s%s", added++ ? ", " : "", cp->name);
    }
    if (added) {
        object_providers_load_states(s->st, NULL); /* one removed before stays out */
        object_usage_refresh(s->st, NULL);
    }
    if (!rc)
        snprintf(msg, cap, "%zu providers added%s%s; changes to other sections need a restart",
                 added, added ? ": " : "", names);
    LOG_INFO("config reload: %s", msg);
out:
    config_dispose(&nc);
    pthread_mutex_unlock(&s->reload_mu);
    return rc;
}

/* Parses every storage class's placement into s->classes; s->pol gets the
 * default class's, which the place is made with. */
static int parse_classes(struct serve *s, orc_err *e)
{
    const orc_config *c = &s->c;
    for (size_t i = 0; i < c->nclasses; i++) {
        object_class_def *d = &s->classes[i];
        orc_err pe = {0};
        d->name = c->classes[i].name;
        d->pol = s->pol; /* min_copies, probe_interval, hedge_ms */
        if (place_policy_parse(c->classes[i].placement, &d->pol, &pe))
            return orc_fail(e, ORC_EINVAL, "storage class %s: %s", d->name, pe.msg);
        d->pol.write_quorum = (int)c->classes[i].write_quorum;
        if (place_quorum_check(&d->pol, &pe))
            return orc_fail(e, ORC_EINVAL, "storage class %s: %s", d->name, pe.msg);
        bool dflt = !strcmp(d->name, c->storage_class);
        /* min_copies is the default class's floor; another class with fewer
         * copies (replicate:1 for scratch data) takes its own N as floor. */
        if (!dflt && d->pol.kind == PLACE_REPLICATE && d->pol.min_copies > d->pol.copies)
            d->pol.min_copies = d->pol.copies;
        if (dflt) s->pol = d->pol;
    }
    return ORC_OK;
}

/* What a start can check before it touches the disk or the network. */
static int check_config(struct serve *s, orc_err *e)
{
    const orc_config *c = &s->c;
    if (!c->access_key[0] != !c->secret_key[0])
        return orc_fail(e, ORC_EINVAL,
                        "set both ORCHARD_ACCESS_KEY and ORCHARD_SECRET_KEY "
                        "(or access_key and secret_key)");
    return parse_classes(s, e);
}

/* The unauthenticated /metrics listener ([server] metrics_listen): plain
 * HTTP, a small server (a scraper is one client), over the store the S3
 * server serves. */
static int metrics_start(struct serve *s, orc_err *e)
{
    http_opts o = {.listen_fd = s->mlfd, .threads = 1, .workers = 2, .max_connections = 64};
    http_app app;
    s3_metrics_app(&s->svc, &app);
    if (http_server_start(&o, &app, &s->msrv, e)) return e->code;
    s->mlfd = -1;
    return ORC_OK;
}

/* The order matters: nothing that can be checked first may fail after
 * something was created, and nothing in DATA is touched before the lock. */
static int serve_start(struct serve *s, orc_err *e)
{
    orc_config *c = &s->c;
    s->pol = (place_policy){.min_copies = (int)c->min_copies,
                            .probe_interval = (int)c->probe_interval,
                            .hedge_ms = (int)c->hedge_floor_ms};
    if (check_config(s, e) || http_options(c, &s->ho, e) || http_listen(c->listen, &s->lfd, e))
        return e->code;
    orc_err le = {0};
    if (c->metrics_listen[0] && http_listen(c->metrics_listen, &s->mlfd, &le))
        return orc_fail(e, le.code, "metrics_listen: %s", le.msg);
    if (cli_data_lock(c->data, &s->dd, e)) return e->code;
    s->locked = true;
    if (cli_open_data(c, &s->keys, &s->m, e) || open_providers(c, s->m, s->provs, s->ids, e) ||
        place_new(s->provs, s->ids, c->nproviders, &s->pol, &s->pl, e))
        return e->code;
    s->st = object_store_new(s->m, s->pl, &s->keys, &c->cdc, c->gc_grace * 1000);
    object_store_set_metrics_cache(s->st, c->metrics_cache * 1000);
    if (object_store_set_classes(s->st, s->classes, c->nclasses, c->storage_class, e) ||
        object_providers_load_states(s->st, e))
        return e->code;
    for (size_t i = 0; i < c->nproviders; i++) {
        const config_provider *cp = &c->providers[i];
        object_costs oc = {(uint64_t)cp->capacity, cp->price_gb_month, cp->price_put_1k,
                           cp->price_get_1k, cp->price_egress_gb};
        if (object_provider_costs(s->st, cp->name, &oc, c->egress_weight_ms, e)) return e->code;
    }
    if (object_usage_refresh(s->st, e)) return e->code;
    if (ensure_admin(c, s->st, s->banner, sizeof(s->banner), e)) return e->code;
    s->svc = (s3_service){s->st, c->region, c->domain[0] ? c->domain : NULL, reload_config, s};
    http_app app;
    s3_http_app(&s->svc, &app);
    s->ho.listen_fd = s->lfd;
    if (http_server_start(&s->ho, &app, &s->srv, e)) return e->code;
    s->lfd = -1; /* the server owns it now */
    if (s->mlfd >= 0 && metrics_start(s, e)) return e->code;

    char host[64];
    snprintf(host, sizeof(host), "%s", c->listen);
    char *colon = strrchr(host, ':');
    if (colon) *colon = 0;
    snprintf(s->url, sizeof(s->url), "%s://%s:%u", s->ho.tls_cert_pem ? "https" : "http", host,
             http_server_port(s->srv));
    if (cli_endpoint_write(c->data, s->url, e)) return e->code;
    s->endpoint_written = true;
    return ORC_OK;
}

/* Frees what serve_start made. A failed start also removes what it created
 * in DATA; a clean stop only removes DATA/endpoint. */
static void serve_stop(struct serve *s, bool failed)
{
    http_server_stop(s->msrv);
    http_server_stop(s->srv);
    if (s->lfd >= 0) close(s->lfd);
    if (s->mlfd >= 0) close(s->mlfd);
    http_options_dispose(&s->ho);
    object_store_free(s->st); /* before what it points at */
    place_free(s->pl);
    for (size_t i = 0; i < s->nadded; i++)
        provider_free(s->added[i]);
    for (size_t i = 0; i < s->c.nproviders; i++)
        provider_free(s->provs[i]);
    meta_close(s->m);
    seal_keys_wipe(&s->keys);
    OPENSSL_cleanse(s->banner, sizeof(s->banner));
    if (s->endpoint_written) cli_endpoint_remove(s->c.data);
    if (s->locked && failed) cli_data_undo(&s->dd);
    if (s->locked && !failed) cli_data_release(&s->dd);
    config_dispose(&s->c);
}

int cli_serve(int argc, char **argv)
{
    if (cli_wants_help(argc, argv, 2)) {
        fputs(usage, stdout);
        return 0;
    }
    static struct serve s; /* large (paths, providers): not on the stack */
    const char *pos[CLI_MAX_POS];
    char cfg_used[PATH_MAX];
    int npos, rc;
    memset(&s, 0, sizeof(s));
    s.lfd = s.mlfd = -1;
    if ((rc = cli_config(argc, argv, 2, &s.c, pos, &npos, false, cfg_used))) return rc;
    snprintf(s.cfg_path, sizeof(s.cfg_path), "%s", cfg_used);
    pthread_mutex_init(&s.reload_mu, NULL);
    if (npos) {
        fprintf(stderr, "orchard serve: unexpected argument '%s' (see orchard serve --help)\n",
                pos[0]);
        config_dispose(&s.c);
        return 2;
    }
    orc_log_set_level(log_level(s.c.log_level));
    /* Chunk-sized buffers are pooled per request; when a request ends they go
     * back to the system. A fixed mmap threshold stops glibc from raising it
     * after the first free and keeping those megabytes in per-thread arenas. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);

    /* Signals go to sigwait below, never to a worker thread. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    orc_err e = {0};
    if (serve_start(&s, &e)) {
        fprintf(stderr, "orchard serve: %s\n", e.msg);
        serve_stop(&s, true);
        return 1;
    }
    bg_config bc = {.gc_interval = s.c.gc_interval,
                    .multipart_expiry = s.c.multipart_expiry,
                    .repair_rate = s.c.repair_rate,
                    .scrub_rate = s.c.scrub_rate,
                    .scrub_interval = s.c.scrub_interval,
                    .drain_rate = s.c.drain_rate};
    background *bg = NULL;
    if (bg_start(s.st, &bc, &bg, &e)) {
        fprintf(stderr, "orchard serve: %s\n", e.msg);
        serve_stop(&s, true);
        return 1;
    }

    fputs(s.banner, stdout);
    printf("endpoint: %s\n", s.url);
    if (s.msrv) {
        const char *colon = strrchr(s.c.metrics_listen, ':');
        printf("metrics: http://%.*s:%u/metrics\n", (int)(colon - s.c.metrics_listen),
               s.c.metrics_listen, http_server_port(s.msrv));
    }
    printf("data: %s\n", s.c.data);
    if (cfg_used[0]) printf("config: %s\n", cfg_used);
    fflush(stdout);
    char classes[CONFIG_MAX_CLASSES * 72] = "";
    for (size_t i = 0, at = 0; i < s.c.nclasses && at < sizeof(classes); i++)
        at += (size_t)snprintf(classes + at, sizeof(classes) - at, "%s%s%s=%s", i ? " " : "",
                               s.c.classes[i].name,
                               strcmp(s.c.classes[i].name, s.c.storage_class) ? "" : "(default)",
                               s.c.classes[i].placement);
    LOG_INFO("serving S3 on %s with %zu providers, storage classes %s, data %s",
             strstr(s.url, "://") + 3, s.c.nproviders, classes, s.c.data);

    int sig;
    for (;;) {
        sigwait(&sigs, &sig);
        if (sig != SIGHUP) break;
        char msg[512];
        reload_config(&s, msg, sizeof(msg)); /* it logs what it did */
    }
    LOG_INFO("signal %d: shutting down", sig);
    http_server_stop(s.msrv);
    s.msrv = NULL;
    http_server_stop(s.srv); /* no request is running when the GC stops */
    s.srv = NULL;
    bg_stop(bg);
    serve_stop(&s, false);
    return 0;
}
