/* The worker pool that runs request handlers off the event loop: one FIFO of
 * requests (linked through the request itself, so queueing never allocates)
 * and a fixed set of threads. A request has at most one job at a time, so
 * the queue is bounded by the connection cap. */
#include "http/http_int.h"

#include <stdlib.h>

#include "util/alloc.h"
#include "util/log.h"

struct workers {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    http_req *head, *tail;
    bool stop;
    worker_fn fn;
    void *ctx;
    unsigned n;
    pthread_t *threads;
};

static void *worker_main(void *arg)
{
    workers *w = arg;
    pthread_setname_np(pthread_self(), "orc-http-work");
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->head && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        http_req *rq = w->head;
        if (!rq) break; /* stopping, and nothing left */
        w->head = rq->job_next;
        if (!w->head) w->tail = NULL;
        pthread_mutex_unlock(&w->mu);
        w->fn(w->ctx, rq);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

workers *workers_new(unsigned n, worker_fn fn, void *ctx)
{
    workers *w = orc_calloc(1, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->fn = fn;
    w->ctx = ctx;
    w->threads = orc_calloc(n, sizeof(*w->threads));
    for (unsigned i = 0; i < n; i++)
        if (pthread_create(&w->threads[w->n], NULL, worker_main, w) == 0) w->n++;
    if (!w->n) {
        LOG_ERROR("cannot start any HTTP worker thread");
        abort();
    }
    return w;
}

void workers_push(workers *w, http_req *rq)
{
    rq->job_next = NULL;
    pthread_mutex_lock(&w->mu);
    if (w->tail)
        w->tail->job_next = rq;
    else
        w->head = rq;
    w->tail = rq;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void workers_free(workers *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (unsigned i = 0; i < w->n; i++)
        pthread_join(w->threads[i], NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->threads);
    free(w);
}
