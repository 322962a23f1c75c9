/* The connection table: the header deadline and load shedding.
 *
 * libmicrohttpd's own timeout is an idle timeout, which a client sending one
 * byte a second never trips; and at its connection cap it refuses new
 * connections, so a few hundred such clients would lock everyone else out.
 * Here every connection that is waiting for request headers (just accepted,
 * or kept alive after a response) sits in a list ordered by when it began to
 * wait. A sweeper shuts down those that waited longer than the deadline, and
 * a new connection that takes the count past the soft cap sheds the oldest
 * waiting ones: a request in progress is never shed. Shutting the socket down
 * (not closing it) lets libmicrohttpd see end of stream and close the
 * connection itself; the entry is unlinked under the table's lock before
 * libmicrohttpd closes the descriptor (its "closed" notice comes first), so a
 * descriptor is never shut down after being reused. */
#include "http/http_int.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"

struct tconn {
    int fd;
    int64_t since_us; /* began waiting for headers */
    bool waiting, shed;
    struct tconn *prev, *next; /* in the waiting list, oldest first */
    struct tconn *all_prev, *all_next;
};

struct conn_table {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct tconn *head, *tail; /* waiting for headers, oldest first */
    struct tconn *all;
    unsigned open, shed_pending; /* shed but not closed yet */
    unsigned soft_cap;
    int64_t deadline_us;
    bool stop;
    pthread_t sweeper;
    uint64_t shed_total, expired_total;
};

static void unlink_waiting(conn_table *t, struct tconn *c)
{
    if (!c->waiting) return;
    if (c->prev)
        c->prev->next = c->next;
    else
        t->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        t->tail = c->prev;
    c->prev = c->next = NULL;
    c->waiting = false;
}

static void link_waiting(conn_table *t, struct tconn *c)
{
    unlink_waiting(t, c);
    if (c->shed) return;
    c->since_us = orc_monotonic_us();
    c->prev = t->tail;
    c->next = NULL;
    if (t->tail)
        t->tail->next = c;
    else
        t->head = c;
    t->tail = c;
    c->waiting = true;
}

/* Under t->mu. */
static void shed(conn_table *t, struct tconn *c)
{
    unlink_waiting(t, c);
    c->shed = true;
    t->shed_pending++;
    shutdown(c->fd, SHUT_RDWR);
}

static void *sweeper_main(void *arg)
{
    conn_table *t = arg;
    pthread_setname_np(pthread_self(), "orc-http-sweep");
    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 250 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&t->cv, &t->mu, &until);
        int64_t now = orc_monotonic_us();
        unsigned n = 0;
        while (t->head && now - t->head->since_us > t->deadline_us) {
            shed(t, t->head);
            n++;
        }
        t->expired_total += n;
        if (n) LOG_DEBUG("http: closed %u connections past the header deadline", n);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

conn_table *conn_table_new(unsigned header_timeout_s, unsigned max_connections)
{
    conn_table *t = orc_calloc(1, sizeof(*t));
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    t->deadline_us = (int64_t)header_timeout_s * 1000000;
    /* Headroom below libmicrohttpd's hard cap, so that a burst of new
     * connections is accepted and the shedding can catch up. */
    unsigned room = max_connections / 16 < 16 ? 16 : max_connections / 16;
    t->soft_cap = max_connections > room ? max_connections - room : 1;
    pthread_create(&t->sweeper, NULL, sweeper_main, t);
    return t;
}

void conn_table_free(conn_table *t)
{
    if (!t) return;
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->sweeper, NULL);
    while (t->all) {
        struct tconn *c = t->all;
        t->all = c->all_next;
        free(c);
    }
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t);
}

static void started(conn_table *t, struct MHD_Connection *mc, void **socket_context)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct tconn *c = orc_calloc(1, sizeof(*c));
    c->fd = ci ? ci->connect_fd : -1;
    *socket_context = c;
    pthread_mutex_lock(&t->mu);
    c->all_next = t->all;
    if (t->all) t->all->all_prev = c;
    t->all = c;
    t->open++;
    link_waiting(t, c);
    unsigned n = 0;
    /* Oldest waiting first; the new connection itself is last in the list. */
    while (t->open - t->shed_pending > t->soft_cap && t->head && t->head != c) {
        shed(t, t->head);
        n++;
    }
    t->shed_total += n;
    pthread_mutex_unlock(&t->mu);
    if (n) LOG_DEBUG("http: at the connection cap, shed %u idle or slow connections", n);
}

static void closed(conn_table *t, struct tconn *c)
{
    pthread_mutex_lock(&t->mu);
    unlink_waiting(t, c);
    if (c->shed) t->shed_pending--;
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else
        t->all = c->all_next;
    if (c->all_next) c->all_next->all_prev = c->all_prev;
    t->open--;
    pthread_mutex_unlock(&t->mu);
    free(c);
}

void conn_notify(void *cls, struct MHD_Connection *mc, void **socket_context,
                 enum MHD_ConnectionNotificationCode code)
{
    conn_table *t = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        started(t, mc, socket_context);
    else if (*socket_context)
        closed(t, *socket_context);
    if (code != MHD_CONNECTION_NOTIFY_STARTED) *socket_context = NULL;
}

static struct tconn *find(struct MHD_Connection *mc)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

void conn_headers_in(conn_table *t, struct MHD_Connection *mc)
{
    struct tconn *c = find(mc);
    if (!c) return;
    pthread_mutex_lock(&t->mu);
    unlink_waiting(t, c);
    pthread_mutex_unlock(&t->mu);
}

void conn_request_over(conn_table *t, struct MHD_Connection *mc)
{
    struct tconn *c = find(mc);
    if (!c) return;
    pthread_mutex_lock(&t->mu);
    link_waiting(t, c);
    pthread_mutex_unlock(&t->mu);
}

void conn_shutdown(conn_table *t, bool waiting_only)
{
    pthread_mutex_lock(&t->mu);
    for (struct tconn *c = t->all; c; c = c->all_next)
        if (!c->shed && (c->waiting || !waiting_only)) shed(t, c);
    pthread_mutex_unlock(&t->mu);
}
