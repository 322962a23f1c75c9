/* The cloud providers' HTTP client: libcurl easy handles kept in a small pool
 * per pclient so each thread's request reuses a warm keep-alive connection,
 * with retries (capped exponential backoff, full jitter) on what is worth
 * retrying. One request is one easy handle, reset between uses, so no option
 * from one request leaks into the next.
 *
 * Why retries live here as well as in the retry decorator (retry.c): this
 * loop retries one HTTP request, which only it can do well: it knows the
 * statuses worth another try (429, 503 SlowDown) from final ones, rewinds the
 * body and the response buffer per request, and it covers each page of a
 * listing, which a whole-call retry cannot redo without repeating names.
 * The registry therefore gives the cloud kinds one decorator attempt by
 * default, so attempts do not multiply. Both honour the call's deadline and
 * its cancel flag: every wait here wakes every PCLIENT_CANCEL_POLL_MS. */
#include "provider/http_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"

/* How much of an error body is kept to find its <Code>. */
#define PCLIENT_ERRBODY_MAX 4096
/* Below this rate (bytes/s) for low_speed_time_s, a transfer is abandoned. */
#define PCLIENT_LOW_SPEED 1024
/* How long curl waits for "100 Continue" before sending the body anyway. */
#define PCLIENT_EXPECT_MS 200L

/* How often a transfer looks at its cancel flag (also while it waits for a
 * connection or the first byte). */
#define PCLIENT_CANCEL_POLL_MS 10

/* An easy handle and the multi handle it runs in: the multi keeps the
 * connection cache, so a pair reuses its keep-alive connection. The multi
 * interface lets a transfer wake every few ms to look at its cancel flag. */
typedef struct pair {
    CURL *h;
    CURLM *m;
} pair;

struct pclient {
    char name[64];
    pclient_opts opts;
    pthread_mutex_t mu; /* guards the pool */
    pair *pool;         /* idle pairs, a stack */
    size_t npool, cap;
};

/* Per-attempt state the curl callbacks see. */
typedef struct xfer {
    CURL *h;
    const pclient_req *rq;
    size_t sent;      /* read position in rq->body */
    size_t out_base;  /* out->len before the request: a retry rewinds to it */
    orc_buf errbody;  /* first bytes of a non-2xx body */
    char ms_code[64]; /* x-ms-error-code */
    int write_rc;     /* our own write failure (out's ceiling), not curl's */
    orc_err write_err;
} xfer;

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int pclient_new(const char *name, const pclient_opts *opts, pclient **out, orc_err *e)
{
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return orc_fail(e, ORC_EINTERNAL, "provider %s: curl_global_init: %s", name,
                        curl_easy_strerror(global_rc));
    pclient *c = orc_calloc(1, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->opts = (pclient_opts){5000, 30, 4, 100, 5000};
    if (opts) {
        if (opts->connect_timeout_ms > 0) c->opts.connect_timeout_ms = opts->connect_timeout_ms;
        if (opts->low_speed_time_s > 0) c->opts.low_speed_time_s = opts->low_speed_time_s;
        if (opts->max_attempts > 0) c->opts.max_attempts = opts->max_attempts;
        if (opts->backoff_base_ms > 0) c->opts.backoff_base_ms = opts->backoff_base_ms;
        if (opts->backoff_cap_ms > 0) c->opts.backoff_cap_ms = opts->backoff_cap_ms;
    }
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return ORC_OK;
}

void pclient_free(pclient *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->npool; i++) {
        curl_multi_cleanup(c->pool[i].m);
        curl_easy_cleanup(c->pool[i].h);
    }
    free(c->pool);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* An idle pair, or a new one; both handles NULL if curl cannot make them. */
static pair handle_take(pclient *c)
{
    pair hp = {0};
    pthread_mutex_lock(&c->mu);
    if (c->npool) hp = c->pool[--c->npool];
    pthread_mutex_unlock(&c->mu);
    if (hp.h) return hp;
    hp.h = curl_easy_init();
    hp.m = curl_multi_init();
    if (!hp.h || !hp.m) {
        curl_easy_cleanup(hp.h);
        curl_multi_cleanup(hp.m);
        hp = (pair){0};
    }
    return hp;
}

static void handle_give(pclient *c, pair hp)
{
    pthread_mutex_lock(&c->mu);
    if (c->npool == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->pool = orc_realloc(c->pool, c->cap * sizeof(*c->pool));
    }
    c->pool[c->npool++] = hp;
    pthread_mutex_unlock(&c->mu);
}

/* Copies url without its query (SAS tokens live there) into out. */
static void url_for_msg(const char *url, char *out, size_t cap)
{
    size_t n = strcspn(url, "?#");
    snprintf(out, cap, "%.*s", (int)(n > 160 ? 160 : n), url);
}

static long http_status(CURL *h)
{
    long st = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
    return st;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    size_t n = size * nmemb;
    long st = http_status(x->h);
    if (st >= 200 && st < 300) {
        if (!x->rq->out) return n;
        x->write_rc = orc_buf_append(x->rq->out, ptr, n, &x->write_err);
        return x->write_rc ? 0 : n;
    }
    size_t room = PCLIENT_ERRBODY_MAX - x->errbody.len;
    if (room) orc_buf_append(&x->errbody, ptr, n < room ? n : room, NULL);
    return n;
}

static size_t on_read(char *ptr, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    size_t n = size * nmemb, left = x->rq->body_len - x->sent;
    if (n > left) n = left;
    if (n) memcpy(ptr, x->rq->body + x->sent, n);
    x->sent += n;
    return n;
}

/* curl rewinds the body when it resends it (a reused connection that died,
 * a 100-continue that came late). */
static int on_seek(void *ud, curl_off_t off, int origin)
{
    xfer *x = ud;
    if (origin != SEEK_SET || off < 0 || (uint64_t)off > x->rq->body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    x->sent = (size_t)off;
    return CURL_SEEKFUNC_OK;
}

/* Keeps x-ms-error-code (Azure's error code, also sent on HEAD, which has no
 * body). Copies only printable characters. */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    size_t n = size * nmemb;
    static const char key[] = "x-ms-error-code:";
    if (n > sizeof(key) - 1 && strncasecmp(ptr, key, sizeof(key) - 1) == 0) {
        size_t i = sizeof(key) - 1, k = 0;
        while (i < n && (ptr[i] == ' ' || ptr[i] == '\t'))
            i++;
        for (; i < n && k + 1 < sizeof(x->ms_code); i++) {
            if (ptr[i] <= ' ' || ptr[i] > '~') break;
            x->ms_code[k++] = ptr[i];
        }
        x->ms_code[k] = 0;
    }
    return n;
}

/* Finds <Code>...</Code> in the first bytes of an S3/GCS/Azure XML error. */
static void extract_code(const orc_buf *body, char *out, size_t cap)
{
    if (!body->len) return;
    const char *s = (const char *)body->ptr;
    const char *open = strstr(s, "<Code>");
    if (!open) return;
    open += 6;
    const char *close = strstr(open, "</Code>");
    if (!close) return;
    size_t k = 0;
    for (const char *p = open; p < close && k + 1 < cap; p++) {
        if (*p <= ' ' || *p > '~' || *p == '<' || *p == '>') break;
        out[k++] = *p;
    }
    out[k] = 0;
}

static void set_method(CURL *h, const pclient_req *rq, xfer *x)
{
    if (strcmp(rq->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(rq->method, "PUT") == 0 || rq->body) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, x);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, x);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->body_len);
        if (strcmp(rq->method, "PUT") != 0) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
    } else if (strcmp(rq->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
    }
}

/* Sets every option a request needs on a freshly reset handle. */
static void set_options(pclient *c, CURL *h, const pclient_req *rq, struct curl_slist *hdrs,
                        xfer *x, char *errbuf)
{
    curl_easy_setopt(h, CURLOPT_URL, rq->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->opts.connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, (long)PCLIENT_LOW_SPEED);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->opts.low_speed_time_s);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    /* Keep "Expect: 100-continue" (curl signs what it sends; blanking it
     * breaks SigV4 in 7.88) but do not wait long for the interim reply. */
    curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, PCLIENT_EXPECT_MS);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    if (hdrs) curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (rq->aws_sigv4) {
        curl_easy_setopt(h, CURLOPT_AWS_SIGV4, rq->aws_sigv4);
        curl_easy_setopt(h, CURLOPT_USERPWD, rq->userpwd);
    }
    set_method(h, rq, x);
}

static bool status_retryable(long st)
{
    return st == 408 || st == 429 || st == 500 || st == 502 || st == 503 || st == 504;
}

/* Transport failures that another attempt cannot fix. */
static bool curl_final(CURLcode cc)
{
    switch (cc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
    case CURLE_LOGIN_DENIED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_PEER_FAILED_VERIFICATION:
        return true;
    default:
        return false;
    }
}

/* Milliseconds left before deadline_us (0: none, LONG_MAX); <= 0 when past. */
static long time_left_ms(int64_t deadline_us)
{
    if (!deadline_us) return 0x7fffffffL;
    return (long)((deadline_us - orc_monotonic_us()) / 1000);
}

/* Full jitter: a uniform sleep in [0, min(cap, base * 2^attempt)] ms, never
 * past left_ms. */
static bool cancelled(const pclient_req *rq)
{
    return rq->cancel && atomic_load(rq->cancel);
}

/* Runs the transfer on hp as curl_easy_perform would, but wakes at least
 * every PCLIENT_CANCEL_POLL_MS to look at the cancel flag: a request blocked
 * on connect or on the first byte is abandoned as soon as one raised.
 * CURLE_ABORTED_BY_CALLBACK when cancelled. */
static CURLcode perform(pair hp, const pclient_req *rq)
{
    if (curl_multi_add_handle(hp.m, hp.h) != CURLM_OK) return CURLE_OUT_OF_MEMORY;
    CURLcode cc = CURLE_OK;
    int running = 1;
    for (;;) {
        if (cancelled(rq)) {
            cc = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        if (curl_multi_perform(hp.m, &running) != CURLM_OK) {
            cc = CURLE_OUT_OF_MEMORY;
            break;
        }
        if (!running) {
            int q = 0;
            CURLMsg *msg;
            cc = CURLE_RECV_ERROR; /* no DONE message: should not happen */
            while ((msg = curl_multi_info_read(hp.m, &q)))
                if (msg->msg == CURLMSG_DONE && msg->easy_handle == hp.h) cc = msg->data.result;
            break;
        }
        curl_multi_poll(hp.m, NULL, 0, PCLIENT_CANCEL_POLL_MS, NULL);
    }
    curl_multi_remove_handle(hp.m, hp.h);
    return cc;
}

static void backoff(const pclient_opts *o, int attempt, long left_ms, const pclient_req *rq)
{
    long ms = o->backoff_base_ms;
    for (int i = 0; i < attempt && ms < o->backoff_cap_ms; i++)
        ms *= 2;
    if (ms > o->backoff_cap_ms) ms = o->backoff_cap_ms;
    if (ms > left_ms) ms = left_ms;
    if (ms <= 0) return;
    long pick = (long)arc4random_uniform((uint32_t)ms + 1);
    /* In steps, so a cancel ends the sleep within a step. */
    for (long slept = 0; slept < pick && !cancelled(rq); slept += PCLIENT_CANCEL_POLL_MS) {
        long step = pick - slept < PCLIENT_CANCEL_POLL_MS ? pick - slept : PCLIENT_CANCEL_POLL_MS;
        struct timespec ts = {0, step * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static struct curl_slist *make_headers(const pclient_req *rq)
{
    struct curl_slist *l = NULL;
    for (size_t i = 0; rq->headers && rq->headers[i]; i++) {
        struct curl_slist *n = curl_slist_append(l, rq->headers[i]);
        if (!n) {
            curl_slist_free_all(l);
            return NULL;
        }
        l = n;
    }
    return l;
}

int pclient_do(pclient *c, const pclient_req *rq, pclient_resp *resp, orc_err *e)
{
    memset(resp, 0, sizeof(*resp));
    char shown[192];
    url_for_msg(rq->url, shown, sizeof(shown));
    pair hp = handle_take(c);
    CURL *h = hp.h;
    struct curl_slist *hdrs = make_headers(rq);
    if (!h || (rq->headers && rq->headers[0] && !hdrs)) {
        curl_slist_free_all(hdrs);
        if (h) handle_give(c, hp);
        return orc_fail(e, ORC_EINTERNAL, "provider %s: cannot set up curl for %s %s", c->name,
                        rq->method, shown);
    }
    xfer x = {.h = h, .rq = rq, .out_base = rq->out ? rq->out->len : 0};
    orc_buf_init(&x.errbody, PCLIENT_ERRBODY_MAX);
    char errbuf[CURL_ERROR_SIZE] = "";
    CURLcode cc = CURLE_OK;
    int rc = ORC_OK;

    for (int attempt = 0; attempt < c->opts.max_attempts; attempt++) {
        if (attempt) backoff(&c->opts, attempt - 1, time_left_ms(rq->deadline_us), rq);
        if (cancelled(rq)) {
            /* After a failed attempt the call has failed: that is its
             * answer (a provider that refuses connections must count as
             * failing, not as cancelled, when a hedge ends its retries). */
            if (!attempt) cc = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        /* The call's deadline bounds every attempt: a provider that reads
         * requests and never answers costs one deadline, not attempts x the
         * low-speed timeout. */
        long left = time_left_ms(rq->deadline_us);
        if (left <= 0) {
            if (!attempt) cc = CURLE_OPERATION_TIMEDOUT;
            break;
        }
        curl_easy_reset(h);
        x.sent = 0;
        x.ms_code[0] = 0;
        x.write_rc = 0;
        orc_buf_reset(&x.errbody);
        if (rq->out) {
            rq->out->len = x.out_base;
            if (rq->out->ptr) rq->out->ptr[x.out_base] = 0;
        }
        errbuf[0] = 0;
        set_options(c, h, rq, hdrs, &x, errbuf);
        if (rq->deadline_us) {
            curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, left);
            if (left < c->opts.connect_timeout_ms)
                curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, left);
        }
        resp->attempts = attempt + 1;
        cc = perform(hp, rq);
        if (x.write_rc) {
            rc = orc_fail(e, x.write_rc, "provider %s: %s %s: %s", c->name, rq->method, shown,
                          x.write_err.msg);
            goto done;
        }
        if (cc == CURLE_OK) {
            resp->status = http_status(h);
            if (!status_retryable(resp->status)) break;
        } else {
            resp->status = 0;
            if (curl_final(cc) || cc == CURLE_ABORTED_BY_CALLBACK) break;
        }
        LOG_DEBUG("provider %s: %s %s attempt %d: %s %ld", c->name, rq->method, shown, attempt + 1,
                  cc ? curl_easy_strerror(cc) : "status", resp->status);
    }

    if (cc == CURLE_ABORTED_BY_CALLBACK && resp->attempts > 1) {
        rc = orc_fail(e, ORC_ETRANSIENT, "provider %s: %s %s: failed %d attempts, then cancelled",
                      c->name, rq->method, shown, resp->attempts - 1);
        goto done;
    }
    if (cc == CURLE_ABORTED_BY_CALLBACK) {
        rc =
            orc_fail(e, ORC_ECANCELED, "provider %s: %s %s: cancelled", c->name, rq->method, shown);
        goto done;
    }
    if (cc != CURLE_OK) {
        /* The error buffer may quote the URL; drop anything from '?' on. */
        errbuf[strcspn(errbuf, "?")] = 0;
        rc = orc_fail(e, curl_final(cc) ? ORC_EINVAL : ORC_ETRANSIENT,
                      "provider %s: %s %s: %s (after %d attempts)", c->name, rq->method, shown,
                      errbuf[0] ? errbuf : curl_easy_strerror(cc), resp->attempts);
        goto done;
    }
    curl_off_t cl = -1;
    curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    resp->content_length = cl > 0 ? (uint64_t)cl : 0;
    if (x.ms_code[0])
        snprintf(resp->error_code, sizeof(resp->error_code), "%s", x.ms_code);
    else
        extract_code(&x.errbody, resp->error_code, sizeof(resp->error_code));

done:
    if (rc && rq->out) {
        rq->out->len = x.out_base;
        if (rq->out->ptr) rq->out->ptr[x.out_base] = 0;
    }
    /* Options point at stack memory (errbuf, x) and at hdrs: clear them before
     * the handle sits in the pool. */
    curl_easy_reset(h);
    curl_slist_free_all(hdrs);
    orc_buf_dispose(&x.errbody);
    handle_give(c, hp);
    return rc;
}

int pclient_status(const pclient *c, const pclient_resp *resp, const char *method, const char *what,
                   orc_err *e)
{
    long st = resp->status;
    if ((st >= 200 && st < 300) || st == 416) return ORC_OK;
    int code;
    if (st == 404)
        code = ORC_ENOTFOUND;
    else if (st == 401 || st == 403)
        code = ORC_EAUTH;
    else if (st == 408 || st == 429 || st >= 500 || st == 0)
        code = ORC_ETRANSIENT;
    else if (st >= 400)
        code = ORC_EINVAL;
    else
        code = ORC_EIO; /* 1xx/3xx as a final answer: not something S3 does */
    return orc_fail(e, code, "provider %s: %ld %s on %s of %.80s", c->name, st,
                    resp->error_code[0] ? resp->error_code : "(no code)", method, what);
}
