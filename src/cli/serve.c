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

#include "http/http.h"
#include "object/object.h"
#include "s3/s3.h"
#include "util/log.h"

struct gc_loop {
    store *st;
    long interval;
    long multipart_expiry; /* seconds */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

static void *gc_main(void *arg)
{
    struct gc_loop *g = arg;
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += g->interval;
        while (!g->stop && pthread_cond_timedwait(&g->cv, &g->mu, &until) != ETIMEDOUT) {
        }
        if (g->stop) break;
        pthread_mutex_unlock(&g->mu);
        orc_err e = {0};
        /* Abandoned uploads first: their chunks are then collectable. */
        long n = object_mp_expire(g->st, g->multipart_expiry * 1000, &e);
        if (n < 0)
            LOG_WARN("multipart expiry: %s", e.msg);
        else if (n > 0)
            LOG_INFO("aborted %ld multipart uploads older than %ld s", n, g->multipart_expiry);
        n = object_gc_pass(g->st, &e);
        if (n < 0)
            LOG_WARN("gc: %s", e.msg);
        else if (n > 0)
            LOG_INFO("gc: collected %ld chunks", n);
        n = object_repair_pass(g->st, &e);
        if (n < 0)
            LOG_WARN("repair: %s", e.msg);
        else if (n > 0)
            LOG_INFO("repair: %ld chunks got their missing copies", n);
        pthread_mutex_lock(&g->mu);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

/* The first user: keys from the config/environment, or from DATA/credentials,
 * or generated now and written there. Prints what an operator needs. */
static int ensure_admin(const orc_config *c, meta *m, const seal_keys *keys, orc_err *e)
{
    char path[PATH_MAX + 16], ak[128], sk[128];
    meta_user u;
    snprintf(path, sizeof(path), "%s/credentials", c->data);
    if (c->access_key[0] || c->secret_key[0]) {
        if (!c->access_key[0] || !c->secret_key[0])
            return orc_fail(e, ORC_EINVAL,
                            "set both ORCHARD_ACCESS_KEY and ORCHARD_SECRET_KEY "
                            "(or access_key and secret_key)");
        if (meta_user_by_key(m, c->access_key, &u, NULL) == 0) {
            /* Known key: make the configured secret the one in force. */
            uint8_t sealed[256];
            size_t n = strlen(c->secret_key);
            if (n + SEAL_SECRET_OVERHEAD > sizeof(sealed))
                return orc_fail(e, ORC_EINVAL, "secret key too long");
            if (seal_secret(keys, (const uint8_t *)c->secret_key, n, sealed, e) ||
                meta_user_set_secret(m, u.name, sealed, n + SEAL_SECRET_OVERHEAD, e))
                return e->code;
        } else if (meta_user_by_name(m, "admin", &u, NULL) == 0) {
            return orc_fail(e, ORC_EINVAL,
                            "the admin user already has access key %s; the configured key %s is "
                            "unknown (add it with 'orchard user add')",
                            u.access_key, c->access_key);
        } else if (cli_user_add(m, keys, "admin", c->access_key, c->secret_key, ak, sk, e)) {
            return e->code;
        }
        printf("access_key: %s\n", c->access_key);
        return ORC_OK;
    }
    if (meta_user_by_name(m, "admin", &u, NULL) == 0) {
        printf("access_key: %s\n", u.access_key);
        printf("secret_key: (in %s)\n", path);
        return ORC_OK;
    }
    if (cli_user_add(m, keys, "admin", NULL, NULL, ak, sk, e)) return e->code;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        dprintf(fd, "access_key = %s\nsecret_key = %s\n", ak, sk);
        fsync(fd);
        close(fd);
    }
    printf("access_key: %s\nsecret_key: %s\n", ak, sk);
    printf("(first start: these keys are also in %s, mode 0600)\n", path);
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

static int log_level(const char *s)
{
    return !strcmp(s, "debug")   ? ORC_LOG_DEBUG
           : !strcmp(s, "warn")  ? ORC_LOG_WARN
           : !strcmp(s, "error") ? ORC_LOG_ERROR
                                 : ORC_LOG_INFO;
}

int cli_serve(int argc, char **argv)
{
    orc_config c;
    const char *pos[8];
    int npos, rc, status = 1;
    if ((rc = cli_config(argc, argv, 2, &c, pos, &npos, false))) return rc;
    if (npos) {
        fprintf(stderr, "orchard serve: unexpected argument '%s'\n", pos[0]);
        config_dispose(&c);
        return 2;
    }
    orc_log_set_level(log_level(c.log_level));
    /* Chunk-sized buffers are pooled per request; when a request ends they go
     * back to the system. A fixed mmap threshold stops glibc from raising it
     * after the first free and keeping those megabytes in per-thread arenas. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);

    /* Signals go to sigwait below, never to a worker thread. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    seal_keys keys;
    meta *m = NULL;
    provider *provs[PLACE_MAX_PROVIDERS] = {0};
    uint32_t ids[PLACE_MAX_PROVIDERS];
    place_policy pol = {.min_copies = (int)c.min_copies, .probe_interval = (int)c.probe_interval};
    place *pl = NULL;
    http_server *srv = NULL;
    orc_err e = {0};
    struct gc_loop gc = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    pthread_t gc_thread;
    bool gc_started = false;

    int lfd = -1;
    if (http_listen(c.listen, &lfd, &e)) goto fail;
    if (cli_open_data(&c, &keys, &m, &e) || ensure_admin(&c, m, &keys, &e) ||
        open_providers(&c, m, provs, ids, &e) || place_policy_parse(c.placement, &pol, &e) ||
        place_new(provs, ids, c.nproviders, &pol, &pl, &e))
        goto fail;

    store st = {m, pl, &keys, c.cdc, c.gc_grace * 1000};
    s3_service svc = {&st, c.region, c.domain[0] ? c.domain : NULL};
    http_app app;
    s3_http_app(&svc, &app);
    http_opts ho = {.listen_fd = lfd};
    if (http_server_start(&ho, &app, &srv, &e)) goto fail;
    lfd = -1; /* the server owns it now */

    gc.st = &st;
    gc.interval = c.gc_interval;
    gc.multipart_expiry = c.multipart_expiry;
    gc_started = pthread_create(&gc_thread, NULL, gc_main, &gc) == 0;

    char host[64];
    snprintf(host, sizeof(host), "%s", c.listen);
    char *colon = strrchr(host, ':');
    if (colon) *colon = 0;
    printf("endpoint: http://%s:%u\n", host, http_server_port(srv));
    printf("data: %s\n", c.data);
    fflush(stdout);
    LOG_INFO("serving S3 on %s:%u with %zu providers, placement %s", host, http_server_port(srv),
             c.nproviders, c.placement);

    int sig;
    sigwait(&sigs, &sig);
    LOG_INFO("signal %d: shutting down", sig);
    status = 0;
    goto done;
fail:
    fprintf(stderr, "orchard serve: %s\n", e.msg);
done:
    http_server_stop(srv);
    if (lfd >= 0) close(lfd);
    if (gc_started) {
        pthread_mutex_lock(&gc.mu);
        gc.stop = true;
        pthread_cond_signal(&gc.cv);
        pthread_mutex_unlock(&gc.mu);
        pthread_join(gc_thread, NULL);
    }
    place_free(pl);
    for (size_t i = 0; i < c.nproviders; i++)
        provider_free(provs[i]);
    meta_close(m);
    seal_keys_wipe(&keys);
    config_dispose(&c);
    return status;
}
