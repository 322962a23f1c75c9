/* Configuration: defaults, the INI file (inih), then command-line flags and
 * environment variables, in that order of precedence (last wins). */
#ifndef ORC_CLI_CONFIG_H
#define ORC_CLI_CONFIG_H

#include <limits.h>
#include <stddef.h>

#include "chunk/cdc.h"
#include "place/place.h"
#include "provider/provider.h"
#include "util/err.h"

#define CONFIG_MAX_KV 16

typedef struct config_provider {
    char name[64];
    char type[16];
    provider_kv kv[CONFIG_MAX_KV]; /* strings owned by the config */
    size_t nkv;
    long capacity; /* bytes; 0: no limit */
    /* Prices, in any one currency: per GB (10^9 bytes) stored for a month,
     * per 1000 puts, per 1000 gets, per GB read out. */
    double price_gb_month, price_put_1k, price_get_1k, price_egress_gb;
} config_provider;

/* A [class.NAME] section: an S3 storage class and where its chunks go. */
#define CONFIG_MAX_CLASSES 16
typedef struct config_class {
    char name[33];
    char placement[32];
    long write_quorum; /* 0: every piece */
} config_class;

typedef struct orc_config {
    char listen[64];
    char data[PATH_MAX];
    char region[32];
    char domain[256];
    char placement[32];
    char access_key[128], secret_key[128];
    char log_level[16];
    cdc_params cdc;
    long gc_interval, gc_grace; /* seconds */
    long multipart_expiry;      /* seconds before an unfinished upload is aborted */
    long repair_rate;           /* bytes/s repair may read and write */
    long scrub_rate;            /* bytes/s a scrub may read */
    long drain_rate;            /* bytes/s a drain may read and write */
    long scrub_interval;        /* seconds from one scrub pass's start to the next; 0: on demand */
    long min_copies;            /* 0: 1 */
    long probe_interval;        /* seconds */
    long hedge_floor_ms;        /* a read hedges no sooner than this */
    long egress_weight_ms;      /* read order: ms of latency one unit of price_egress_gb is worth */
    long write_quorum;          /* the default class's, unless its section sets one; 0: all */
    long down_after;            /* failures in a row */
    /* HTTP front (0: the http layer's defaults) */
    long threads, workers, header_timeout, idle_timeout, max_connections, max_per_ip;
    char tls_cert[PATH_MAX], tls_key[PATH_MAX]; /* PEM files; "" for plain HTTP */
    char metrics_listen[64]; /* ADDR:PORT of an unauthenticated /metrics listener; "": none */
    long metrics_cache;      /* seconds the metadata counts of /metrics are kept */
    /* Per provider call (provider.h); a provider section may set its own. */
    long deadline_base_ms, deadline_per_mib_ms;
    config_provider providers[PLACE_MAX_PROVIDERS];
    size_t nproviders;
    /* Storage classes; storage_class names the default one, which is
     * [server] placement unless a [class.NAME] section of it says otherwise
     * (config_finish adds it). */
    char storage_class[33];
    config_class classes[CONFIG_MAX_CLASSES];
    size_t nclasses;
} orc_config;

void config_defaults(orc_config *c);
/* Reads an INI file over c. ORC_EINVAL names the line and key. */
int config_load(orc_config *c, const char *path, orc_err *e);
/* The same over text[0..len) (NUL bytes included, as a file may hold them);
 * name stands for the path in messages. */
int config_load_mem(orc_config *c, const char *text, size_t len, const char *name, orc_err *e);
/* Fills in what depends on others (default providers under data, the
 * default storage class). */
int config_finish(orc_config *c, orc_err *e);
void config_dispose(orc_config *c);

#endif
