/* Bounded blocking queue (mutex + two condition variables, ring buffer). */
#include "util/queue.h"

#include <stdlib.h>

#include "util/alloc.h"

void orc_queue_init(orc_queue *q, size_t cap)
{
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    pthread_cond_init(&q->not_full, NULL);
    q->items = orc_calloc(cap, sizeof(void *));
    q->cap = cap;
    q->head = q->len = 0;
    q->closed = false;
    q->notify = NULL;
    q->notify_arg = NULL;
}

/* Takes the try_pop waiter, if any, for calling outside the lock. */
static void take_notify(orc_queue *q, void (**fn)(void *), void **arg)
{
    *fn = q->notify;
    *arg = q->notify_arg;
    q->notify = NULL;
}

void orc_queue_dispose(orc_queue *q)
{
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    free(q->items);
    q->items = NULL;
}

bool orc_queue_push(orc_queue *q, void *item)
{
    void (*fn)(void *) = NULL;
    void *arg = NULL;
    pthread_mutex_lock(&q->mu);
    while (q->len == q->cap && !q->closed)
        pthread_cond_wait(&q->not_full, &q->mu);
    bool ok = !q->closed;
    if (ok) {
        q->items[(q->head + q->len) % q->cap] = item;
        q->len++;
        pthread_cond_signal(&q->not_empty);
        take_notify(q, &fn, &arg);
    }
    pthread_mutex_unlock(&q->mu);
    if (fn) fn(arg);
    return ok;
}

void *orc_queue_pop(orc_queue *q)
{
    pthread_mutex_lock(&q->mu);
    while (q->len == 0 && !q->closed)
        pthread_cond_wait(&q->not_empty, &q->mu);
    void *item = NULL;
    if (q->len) {
        item = q->items[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
        pthread_cond_signal(&q->not_full);
    }
    pthread_mutex_unlock(&q->mu);
    return item;
}

void orc_queue_close(orc_queue *q)
{
    void (*fn)(void *) = NULL;
    void *arg = NULL;
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    take_notify(q, &fn, &arg);
    pthread_mutex_unlock(&q->mu);
    if (fn) fn(arg);
}

void *orc_queue_try_pop(orc_queue *q, void (*notify)(void *arg), void *arg)
{
    void *item = NULL;
    pthread_mutex_lock(&q->mu);
    if (q->len) {
        item = q->items[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
        pthread_cond_signal(&q->not_full);
    } else if (!q->closed) {
        q->notify = notify;
        q->notify_arg = arg;
    }
    pthread_mutex_unlock(&q->mu);
    return item;
}
