/* A bounded blocking queue of pointers: the joint between pipeline stages.
 *
 * push blocks while the queue is full, which is how a slow stage pushes back
 * on the one before it. close() wakes everyone: pushes then fail and pops
 * drain what is left and then return NULL. Thread-safe. */
#ifndef ORC_UTIL_QUEUE_H
#define ORC_UTIL_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct orc_queue {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    void **items;
    size_t cap, head, len;
    bool closed;
    void (*notify)(void *arg); /* try_pop's waiter: called once, on the next push */
    void *notify_arg;
} orc_queue;

void orc_queue_init(orc_queue *q, size_t cap);
void orc_queue_dispose(orc_queue *q);
/* Returns false (item not queued) once the queue is closed. */
bool orc_queue_push(orc_queue *q, void *item);
/* Returns NULL once the queue is closed and empty. */
void *orc_queue_pop(orc_queue *q);
void orc_queue_close(orc_queue *q);
/* Pops without blocking. When the queue is empty (and open) it returns NULL
 * and arranges for notify(arg) to be called once, outside the lock, by the
 * next push or by close: the way a stage that must not block (an event
 * loop) waits. A later try_pop replaces the waiter. */
void *orc_queue_try_pop(orc_queue *q, void (*notify)(void *arg), void *arg);

#endif
