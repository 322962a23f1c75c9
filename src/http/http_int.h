/* Shared between the HTTP server's files; not for other layers. */
#ifndef ORC_HTTP_HTTP_INT_H
#define ORC_HTTP_HTTP_INT_H

#include <microhttpd.h>

#include "http/http.h"

/* ---- connection table (conn.c) ----
 * Every open connection, with when it began waiting for request headers
 * (accepted, or its last response sent). A sweeper closes connections whose
 * headers are not complete within the header deadline, and when the count
 * nears the cap the oldest waiting ones are shed first, so that slow or idle
 * clients cannot hold every slot. */
typedef struct conn_table conn_table;

conn_table *conn_table_new(unsigned header_timeout_s, unsigned max_connections);
void conn_table_free(conn_table *t);
/* MHD_OPTION_NOTIFY_CONNECTION callback (cls: the table). */
void conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                 enum MHD_ConnectionNotificationCode code);
/* The connection's request headers are complete: off the header deadline. */
void conn_headers_in(conn_table *t, struct MHD_Connection *c);
/* Its response was sent: waiting for the next request's headers from now. */
void conn_request_over(conn_table *t, struct MHD_Connection *c);
/* Shuts down the sockets of the connections waiting for headers, or of all
 * (server stop). */
void conn_shutdown(conn_table *t, bool waiting_only);

/* ---- worker pool (worker.c) ---- */
typedef struct workers workers;
typedef void (*worker_fn)(void *ctx, http_req *rq);

workers *workers_new(unsigned n, worker_fn fn, void *ctx);
/* Queues rq for fn (rq->job_next links the queue). */
void workers_push(workers *w, http_req *rq);
/* Runs what is queued, then joins the threads. */
void workers_free(workers *w);

#endif
