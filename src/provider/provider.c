/* The provider registry and the wrappers every call goes through. */
#include "provider/provider_impl.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *type;
    provider_open_fn *open;
} kinds[] = {
    {"fs", provider_fs_open},
    {"azure", provider_azure_open},
    {"s3", provider_s3_open},
    {"gcs", provider_gcs_open},
};

const char *provider_kv_get(const provider_kv *kv, size_t nkv, const char *key)
{
    for (size_t i = 0; i < nkv; i++)
        if (strcmp(kv[i].key, key) == 0) return kv[i].value;
    return NULL;
}

int provider_open(const char *type, const char *name, const provider_kv *kv, size_t nkv,
                  provider **out, orc_err *e)
{
    if (strlen(name) >= sizeof(((provider *)0)->name))
        return orc_fail(e, ORC_EINVAL, "provider name '%.40s...' is too long", name);
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(kinds[i].type, type) != 0) continue;
        int rc = kinds[i].open(name, kv, nkv, out, e);
        if (rc) return rc;
        snprintf((*out)->name, sizeof((*out)->name), "%s", name);
        return ORC_OK;
    }
    return orc_fail(e, ORC_EINVAL, "provider %s: unknown type '%s' (known: fs, s3, gcs, azure)",
                    name, type);
}

void provider_free(provider *p)
{
    if (p) p->ops->free(p);
}

const char *provider_name(const provider *p)
{
    return p->name;
}

unsigned provider_caps(const provider *p)
{
    return p->ops->caps;
}

static int count(provider *p, int rc)
{
    if (rc && rc != ORC_ENOTFOUND) p->errors++;
    return rc;
}

int provider_put(provider *p, const char *name, const uint8_t *data, size_t len, orc_err *e)
{
    p->puts++;
    int rc = p->ops->put(p, name, data, len, e);
    if (!rc) p->bytes_in += len;
    return count(p, rc);
}

int provider_get(provider *p, const char *name, uint64_t off, uint64_t len, orc_buf *out,
                 orc_err *e)
{
    p->gets++;
    size_t before = out->len;
    int rc = p->ops->get(p, name, off, len, out, e);
    if (!rc) p->bytes_out += out->len - before;
    return count(p, rc);
}

int provider_del(provider *p, const char *name, orc_err *e)
{
    p->dels++;
    return count(p, p->ops->del(p, name, e));
}

int provider_head(provider *p, const char *name, uint64_t *size, orc_err *e)
{
    return count(p, p->ops->head(p, name, size, e));
}

int provider_list(provider *p, provider_list_fn fn, void *ctx, orc_err *e)
{
    return count(p, p->ops->list(p, fn, ctx, e));
}

void provider_stats_get(const provider *p, provider_stats *out)
{
    out->puts = p->puts;
    out->gets = p->gets;
    out->dels = p->dels;
    out->errors = p->errors;
    out->bytes_in = p->bytes_in;
    out->bytes_out = p->bytes_out;
}
