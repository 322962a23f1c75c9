/* Config file parsing with inih. Every key is documented in
 * docs/configuration.md; an unknown key is an error, not a silent typo. */
#include "cli/config.h"

#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

void config_defaults(orc_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->listen, sizeof(c->listen), "127.0.0.1:9000");
    snprintf(c->data, sizeof(c->data), "./orchard-data");
    snprintf(c->region, sizeof(c->region), "us-east-1");
    snprintf(c->placement, sizeof(c->placement), "replicate:2");
    snprintf(c->storage_class, sizeof(c->storage_class), "STANDARD");
    snprintf(c->log_level, sizeof(c->log_level), "info");
    c->cdc = (cdc_params){CDC_MIN_DEFAULT, CDC_AVG_DEFAULT, CDC_MAX_DEFAULT};
    c->gc_interval = 60;
    c->gc_grace = 3600;
    c->repair_rate = 64L << 20;
    c->scrub_rate = 16L << 20;
    c->drain_rate = 256L << 20;
    c->scrub_interval = 7 * 86400;
    c->multipart_expiry = 7 * 86400;
    c->min_copies = 1;
    c->probe_interval = 5;
    c->hedge_floor_ms = 5;
    c->egress_weight_ms = 100;
    c->down_after = 3;
    c->metrics_cache = 10;
    c->deadline_base_ms = PROVIDER_DEADLINE_BASE_MS_DEFAULT;
    c->deadline_per_mib_ms = PROVIDER_DEADLINE_PER_MIB_MS_DEFAULT;
}

static int set_str(char *dst, size_t cap, const char *v)
{
    if (strlen(v) >= cap) return -1;
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

static int set_long(long *dst, const char *v, long min, long max)
{
    long x = 0;
    if (!*v) return -1;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9' || x > (max - 9) / 10 + 1) return -1;
        x = x * 10 + (*p - '0');
    }
    if (x < min || x > max) return -1;
    *dst = x;
    return 0;
}

/* A byte count: digits with an optional binary unit (K, M, G, T, with or
 * without "iB": 64M = 64MiB = 67108864), min..max after the unit. */
static int set_bytes(long *dst, const char *v, long min, long max)
{
    static const char units[] = "KMGT";
    size_t n = strspn(v, "0123456789");
    char num[24];
    long x, mul = 1;
    if (n == 0 || n >= sizeof(num)) return -1;
    memcpy(num, v, n);
    num[n] = 0;
    if (v[n]) {
        const char *u = strchr(units, v[n]);
        if (!u || !(v[n + 1] == 0 || !strcmp(v + n + 1, "iB"))) return -1;
        for (const char *p = units; p <= u; p++)
            mul *= 1024;
    }
    if (set_long(&x, num, 0, max / mul)) return -1;
    x *= mul;
    if (x < min || x > max) return -1;
    *dst = x;
    return 0;
}

/* A price: a plain decimal number, 0 to 10^6. */
static int set_price(double *dst, const char *v)
{
    char *end;
    if (!*v || strspn(v, "0123456789.") != strlen(v)) return -1;
    double x = strtod(v, &end);
    if (*end || !(x >= 0 && x <= 1e6)) return -1;
    *dst = x;
    return 0;
}

static int set_u32(uint32_t *dst, const char *v)
{
    long x;
    if (set_long(&x, v, 1, 0x7fffffff)) return -1;
    *dst = (uint32_t)x;
    return 0;
}

struct load_ctx {
    orc_config *c;
    orc_err *e;
    const char *path;
};

static int server_key(orc_config *c, const char *k, const char *v)
{
    if (!strcmp(k, "listen")) return set_str(c->listen, sizeof(c->listen), v);
    if (!strcmp(k, "data")) return set_str(c->data, sizeof(c->data), v);
    if (!strcmp(k, "region")) return set_str(c->region, sizeof(c->region), v);
    if (!strcmp(k, "domain")) return set_str(c->domain, sizeof(c->domain), v);
    if (!strcmp(k, "placement")) return set_str(c->placement, sizeof(c->placement), v);
    if (!strcmp(k, "storage_class")) return set_str(c->storage_class, sizeof(c->storage_class), v);
    if (!strcmp(k, "access_key")) return set_str(c->access_key, sizeof(c->access_key), v);
    if (!strcmp(k, "secret_key")) return set_str(c->secret_key, sizeof(c->secret_key), v);
    if (!strcmp(k, "log_level")) return set_str(c->log_level, sizeof(c->log_level), v);
    if (!strcmp(k, "chunk_min")) return set_u32(&c->cdc.min, v);
    if (!strcmp(k, "chunk_avg")) return set_u32(&c->cdc.avg, v);
    if (!strcmp(k, "chunk_max")) return set_u32(&c->cdc.max, v);
    if (!strcmp(k, "gc_interval")) return set_long(&c->gc_interval, v, 1, 86400);
    if (!strcmp(k, "repair_rate")) return set_bytes(&c->repair_rate, v, 1, 1L << 40);
    if (!strcmp(k, "drain_rate")) return set_bytes(&c->drain_rate, v, 1, 1L << 40);
    if (!strcmp(k, "scrub_rate")) return set_bytes(&c->scrub_rate, v, 1, 1L << 40);
    if (!strcmp(k, "scrub_interval")) return set_long(&c->scrub_interval, v, 0, 366L * 86400);
    if (!strcmp(k, "gc_grace")) return set_long(&c->gc_grace, v, 0, 365L * 86400);
    if (!strcmp(k, "multipart_expiry")) return set_long(&c->multipart_expiry, v, 1, 3650L * 86400);
    if (!strcmp(k, "min_copies")) return set_long(&c->min_copies, v, 1, 16);
    if (!strcmp(k, "probe_interval")) return set_long(&c->probe_interval, v, 1, 3600);
    if (!strcmp(k, "egress_weight_ms")) return set_long(&c->egress_weight_ms, v, 0, 60000);
    if (!strcmp(k, "hedge_floor_ms")) return set_long(&c->hedge_floor_ms, v, 0, 600000);
    if (!strcmp(k, "write_quorum")) return set_long(&c->write_quorum, v, 1, PLACE_MAX_COPIES);
    if (!strcmp(k, "down_after")) return set_long(&c->down_after, v, 1, 1000);
    if (!strcmp(k, "threads")) return set_long(&c->threads, v, 1, 64);
    if (!strcmp(k, "workers")) return set_long(&c->workers, v, 1, 1024);
    if (!strcmp(k, "header_timeout")) return set_long(&c->header_timeout, v, 1, 3600);
    if (!strcmp(k, "idle_timeout")) return set_long(&c->idle_timeout, v, 1, 86400);
    if (!strcmp(k, "max_connections")) return set_long(&c->max_connections, v, 16, 1000000);
    if (!strcmp(k, "max_connections_per_ip")) return set_long(&c->max_per_ip, v, 1, 1000000);
    if (!strcmp(k, "tls_cert")) return set_str(c->tls_cert, sizeof(c->tls_cert), v);
    if (!strcmp(k, "tls_key")) return set_str(c->tls_key, sizeof(c->tls_key), v);
    if (!strcmp(k, "metrics_listen"))
        return set_str(c->metrics_listen, sizeof(c->metrics_listen), v);
    if (!strcmp(k, "metrics_cache")) return set_long(&c->metrics_cache, v, 0, 3600);
    if (!strcmp(k, "deadline_base_ms")) return set_long(&c->deadline_base_ms, v, 1, 3600000);
    if (!strcmp(k, "deadline_per_mib_ms")) return set_long(&c->deadline_per_mib_ms, v, 1, 3600000);
    return 1;
}

static config_provider *provider_section(orc_config *c, const char *name)
{
    for (size_t i = 0; i < c->nproviders; i++)
        if (!strcmp(c->providers[i].name, name)) return &c->providers[i];
    if (c->nproviders == PLACE_MAX_PROVIDERS || strlen(name) >= 64 || !*name) return NULL;
    config_provider *p = &c->providers[c->nproviders++];
    snprintf(p->name, sizeof(p->name), "%s", name);
    return p;
}

static config_class *class_section(orc_config *c, const char *name)
{
    for (size_t i = 0; i < c->nclasses; i++)
        if (!strcmp(c->classes[i].name, name)) return &c->classes[i];
    if (c->nclasses == CONFIG_MAX_CLASSES || strlen(name) >= sizeof(c->classes[0].name) || !*name)
        return NULL;
    config_class *k = &c->classes[c->nclasses++];
    snprintf(k->name, sizeof(k->name), "%s", name);
    return k;
}

static int on_entry(void *user, const char *section, const char *key, const char *value)
{
    struct load_ctx *l = user;
    int rc = -1;
    if (!strcmp(section, "server")) {
        rc = server_key(l->c, key, value);
        if (rc == 1) {
            orc_fail(l->e, ORC_EINVAL, "%s: unknown key '%s' in [server]", l->path, key);
            return 0;
        }
    } else if (!strncmp(section, "provider.", 9)) {
        config_provider *p = provider_section(l->c, section + 9);
        if (!p) {
            orc_fail(l->e, ORC_EINVAL, "%s: bad or too many provider sections at [%s]", l->path,
                     section);
            return 0;
        }
        if (!strcmp(key, "type")) {
            rc = set_str(p->type, sizeof(p->type), value);
        } else if (!strcmp(key, "capacity")) {
            rc = set_bytes(&p->capacity, value, 1, 1L << 60);
        } else if (!strcmp(key, "price_gb_month")) {
            rc = set_price(&p->price_gb_month, value);
        } else if (!strcmp(key, "price_put_1k")) {
            rc = set_price(&p->price_put_1k, value);
        } else if (!strcmp(key, "price_get_1k")) {
            rc = set_price(&p->price_get_1k, value);
        } else if (!strcmp(key, "price_egress_gb")) {
            rc = set_price(&p->price_egress_gb, value);
        } else if (p->nkv < CONFIG_MAX_KV) {
            p->kv[p->nkv].key = orc_strdup(key);
            p->kv[p->nkv++].value = orc_strdup(value);
            rc = 0;
        }
    } else if (!strncmp(section, "class.", 6)) {
        config_class *k = class_section(l->c, section + 6);
        if (!k) {
            orc_fail(l->e, ORC_EINVAL, "%s: bad or too many storage class sections at [%s]",
                     l->path, section);
            return 0;
        }
        if (!strcmp(key, "placement")) {
            rc = set_str(k->placement, sizeof(k->placement), value);
        } else if (!strcmp(key, "write_quorum")) {
            rc = set_long(&k->write_quorum, value, 1, PLACE_MAX_COPIES);
        } else {
            orc_fail(l->e, ORC_EINVAL, "%s: unknown key '%s' in [%s]", l->path, key, section);
            return 0;
        }
    } else {
        orc_fail(l->e, ORC_EINVAL, "%s: unknown section [%s]", l->path, section);
        return 0;
    }
    if (rc) {
        orc_fail(l->e, ORC_EINVAL, "%s: bad value for '%s' in [%s]", l->path, key, section);
        return 0;
    }
    return 1;
}

/* Runs inih over f (read line by line, as ini_parse does); name is for messages. */
static int load_file(orc_config *c, FILE *f, const char *name, orc_err *e)
{
    struct load_ctx l = {c, e, name};
    if (e) e->code = 0;
    int rc = ini_parse_file(f, on_entry, &l);
    if (e && e->code) return e->code;
    if (rc) return orc_fail(e, ORC_EINVAL, "%s:%d: syntax error", name, rc);
    return ORC_OK;
}

int config_load(orc_config *c, const char *path, orc_err *e)
{
    FILE *f = fopen(path, "r");
    if (!f) return orc_fail(e, ORC_EINVAL, "cannot open config file %s", path);
    int rc = load_file(c, f, path, e);
    fclose(f);
    return rc;
}

int config_load_mem(orc_config *c, const char *text, size_t len, const char *name, orc_err *e)
{
    if (len == 0) { /* an empty file: nothing changes (fmemopen wants a size) */
        if (e) e->code = 0;
        return ORC_OK;
    }
    FILE *f = fmemopen((void *)text, len, "r");
    if (!f) return orc_fail(e, ORC_EINTERNAL, "%s: cannot read config text", name);
    int rc = load_file(c, f, name, e);
    fclose(f);
    return rc;
}

int config_finish(orc_config *c, orc_err *e)
{
    int rc = cdc_params_check(&c->cdc, e);
    if (rc) return rc;
    for (size_t i = 0; i < c->nproviders; i++)
        if (!c->providers[i].type[0])
            return orc_fail(e, ORC_EINVAL, "provider %s: missing 'type ='", c->providers[i].name);
    for (size_t i = 0; i < c->nclasses; i++)
        if (!c->classes[i].placement[0])
            return orc_fail(e, ORC_EINVAL, "storage class %s: missing 'placement ='",
                            c->classes[i].name);
    if (!class_section(c, c->storage_class))
        return orc_fail(e, ORC_EINVAL,
                        "default storage class '%.40s': empty, too long, or over %d classes",
                        c->storage_class, CONFIG_MAX_CLASSES);
    config_class *d = class_section(c, c->storage_class);
    if (!d->placement[0]) snprintf(d->placement, sizeof(d->placement), "%s", c->placement);
    if (!d->write_quorum) d->write_quorum = c->write_quorum; /* the default class's */
    if (c->nproviders == 0) { /* embedded default: three disks under the data dir */
        for (int i = 1; i <= 3; i++) {
            config_provider *p = &c->providers[c->nproviders++];
            char path[PATH_MAX + 32];
            snprintf(p->name, sizeof(p->name), "disk%d", i);
            snprintf(p->type, sizeof(p->type), "fs");
            snprintf(path, sizeof(path), "%s/disks/disk%d", c->data, i);
            p->kv[0].key = orc_strdup("path");
            p->kv[0].value = orc_strdup(path);
            p->nkv = 1;
        }
    }
    return ORC_OK;
}

void config_dispose(orc_config *c)
{
    for (size_t i = 0; i < c->nproviders; i++)
        for (size_t k = 0; k < c->providers[i].nkv; k++) {
            free((char *)c->providers[i].kv[k].key);
            free((char *)c->providers[i].kv[k].value);
        }
    c->nproviders = 0;
}
