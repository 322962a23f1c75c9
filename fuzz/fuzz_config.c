/* Fuzz target: the config file (config_load_mem, the same inih reading and
 * key checks as config_load). Whatever the text, the result is a config
 * whose strings fit their fields and whose numbers are in their ranges, or
 * an error with a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FITS(field) (strnlen(field, sizeof(field)) < sizeof(field))

static void check(const orc_config *c)
{
    if (!FITS(c->listen) || !FITS(c->data) || !FITS(c->region) || !FITS(c->domain) ||
        !FITS(c->placement) || !FITS(c->access_key) || !FITS(c->secret_key) || !FITS(c->log_level))
        abort();
    if (c->gc_interval < 1 || c->gc_interval > 86400 || c->gc_grace < 0 || c->min_copies < 1 ||
        c->min_copies > 16 || c->probe_interval < 1 || c->down_after < 1 ||
        c->multipart_expiry < 1 || c->nproviders > PLACE_MAX_PROVIDERS)
        abort();
    for (size_t i = 0; i < c->nproviders; i++) {
        const config_provider *p = &c->providers[i];
        if (!p->name[0] || !FITS(p->name) || !FITS(p->type) || p->nkv > CONFIG_MAX_KV) abort();
        for (size_t k = 0; k < p->nkv; k++)
            if (!p->kv[k].key || !p->kv[k].value) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    orc_config c;
    orc_err e = {0};
    config_defaults(&c);
    int rc = config_load_mem(&c, (const char *)data, size, "fuzz.ini", &e);
    if (rc && (rc != e.code || !e.msg[0])) abort();
    if (!rc && !config_finish(&c, &e)) check(&c);
    config_dispose(&c);
    return 0;
}
