/* The S3 front: routes requests, authenticates them with SigV4, runs the
 * bucket and object operations and answers in S3's XML. */
#ifndef ORC_S3_S3_H
#define ORC_S3_S3_H

#include "http/http.h"
#include "object/object.h"

typedef struct s3_service {
    store *st;
    const char *region; /* answered by GetBucketLocation; default us-east-1 */
    const char *domain; /* virtual-hosted-style: BUCKET.domain; NULL: path-style only */
    /* POST /_orchard/reload: re-reads the config and brings in the provider
     * sections that are new (the composition root's, cli/serve.c). Writes
     * one line on what it did into msg; non-zero on failure. NULL: 501. */
    int (*reload)(void *ctx, char *msg, size_t cap);
    void *reload_ctx;
} s3_service;

/* Fills app with the S3 front's callbacks over svc (kept by pointer). */
void s3_http_app(s3_service *svc, http_app *app);
/* Fills app with the callbacks of a metrics-only server over svc: GET or
 * HEAD /metrics answers the Prometheus exposition that the S3 port gives the
 * admin at /metrics, with no authentication (bind it where only the scraper
 * reaches); any other path is 404. Its own requests are not counted. */
void s3_metrics_app(s3_service *svc, http_app *app);

#endif
