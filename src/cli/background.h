/* The background work of `orchard serve` (background.c): the collector,
 * the repair worker and the scrub, each in its own thread at its own rate. */
#ifndef ORC_CLI_BACKGROUND_H
#define ORC_CLI_BACKGROUND_H

#include "object/object.h"
#include "util/err.h"

typedef struct bg_config {
    long gc_interval;      /* seconds between collector passes (and repair scans) */
    long multipart_expiry; /* seconds */
    long repair_rate;      /* bytes/s */
    long scrub_rate;       /* bytes/s */
    long scrub_interval;   /* seconds from one pass's start to the next; 0: on demand only */
    long drain_rate;       /* bytes/s */
} bg_config;

typedef struct background background;

/* Starts the threads over st (which must outlive bg_stop). */
int bg_start(store *st, const bg_config *c, background **out, orc_err *e);
/* Stops and joins them (a step under way finishes first); accepts NULL. */
void bg_stop(background *b);

#endif
