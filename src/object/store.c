/* The store's life cycle: the one place that knows what a store holds, so that
 * no caller above builds one field by field; and its storage classes. */
#include "object/object_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

/* A chunk's copies, as placement chooses them, must all fit its record. */
_Static_assert(PLACE_MAX_COPIES <= META_MAX_COPIES,
               "placement chooses more copies than meta records");

store *object_store_new(meta *m, place *pl, const seal_keys *keys, const cdc_params *params,
                        int64_t gc_grace_ms)
{
    store *s = orc_calloc(1, sizeof(*s));
    s->m = m;
    s->pl = pl;
    s->keys = keys;
    if (params) s->cdc = *params;
    s->gc_grace_ms = gc_grace_ms;
    pthread_mutex_init(&s->scrub_mu, NULL);
    if (pl) {
        snprintf(s->classes[0].name, sizeof(s->classes[0].name), "STANDARD");
        s->classes[0].pol = *place_default_policy(pl);
        s->nclasses = 1;
        s->mcache = orc_calloc(1, sizeof(*s->mcache));
        pthread_mutex_init(&s->mcache->mu, NULL);
    }
    return s;
}

void object_store_free(store *s)
{
    if (!s) return;
    free(s->scrub);
    pthread_mutex_destroy(&s->scrub_mu);
    if (s->mcache) pthread_mutex_destroy(&s->mcache->mu);
    free(s->mcache);
    free(s); /* the parts belong to the caller */
}

void object_store_set_metrics_cache(store *s, int64_t ms)
{
    if (!s->mcache) return;
    pthread_mutex_lock(&s->mcache->mu);
    s->mcache->ttl_ms = ms > 0 ? ms : 0;
    s->mcache->at_ms = 0;
    pthread_mutex_unlock(&s->mcache->mu);
}

static bool class_name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len < 1 || len > OBJECT_CLASS_NAME_MAX) return false;
    for (size_t i = 0; i < len; i++)
        if (!((n[i] >= 'A' && n[i] <= 'Z') || (n[i] >= '0' && n[i] <= '9') || n[i] == '_'))
            return false;
    return true;
}

int object_store_set_classes(store *s, const object_class_def *defs, size_t n,
                             const char *default_name, orc_err *e)
{
    int def = -1;
    if (n < 1 || n > OBJECT_MAX_CLASSES)
        return orc_fail(e, ORC_EINVAL, "1 to %d storage classes, not %zu", OBJECT_MAX_CLASSES, n);
    for (size_t i = 0; i < n; i++) {
        if (!class_name_ok(defs[i].name))
            return orc_fail(e, ORC_EINVAL,
                            "storage class '%.40s': want 1 to %d of A-Z, 0-9 and '_'", defs[i].name,
                            OBJECT_CLASS_NAME_MAX);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(defs[i].name, defs[j].name))
                return orc_fail(e, ORC_EINVAL, "storage class %s is defined twice", defs[i].name);
        orc_err pe = {0};
        if (place_check(s->pl, &defs[i].pol, &pe) || place_quorum_check(&defs[i].pol, &pe))
            return orc_fail(e, pe.code, "storage class %s: %s", defs[i].name, pe.msg);
        /* A chunk records its layout, not its class: one quorum per layout. */
        for (size_t j = 0; j < i; j++) {
            meta_layout a = object_layout(&defs[i].pol), b = object_layout(&defs[j].pol);
            if (!memcmp(&a, &b, sizeof(a)) && defs[i].pol.write_quorum != defs[j].pol.write_quorum)
                return orc_fail(e, ORC_EINVAL,
                                "storage classes %s and %s have the same placement but "
                                "different write_quorum",
                                defs[j].name, defs[i].name);
        }
        if (default_name && !strcmp(defs[i].name, default_name)) def = (int)i;
    }
    if (def < 0)
        return orc_fail(e, ORC_EINVAL, "default storage class '%.40s' is not defined",
                        default_name ? default_name : "");
    for (size_t i = 0; i < n; i++) {
        snprintf(s->classes[i].name, sizeof(s->classes[i].name), "%s", defs[i].name);
        s->classes[i].pol = defs[i].pol;
    }
    s->nclasses = (int)n;
    s->default_class = def;
    return ORC_OK;
}

static const struct store_class *find(const store *s, const char *name, size_t len)
{
    for (int i = 0; i < s->nclasses; i++)
        if (strlen(s->classes[i].name) == len && !memcmp(s->classes[i].name, name, len))
            return &s->classes[i];
    return NULL;
}

const struct store_class *object_class_get(const store *s, const char *name)
{
    const struct store_class *c = name ? find(s, name, strlen(name)) : NULL;
    return c ? c : &s->classes[s->default_class];
}

const char *object_class_default(const store *s)
{
    return s->classes[s->default_class].name;
}

const char *object_class_name(const store *s, const char *recorded)
{
    return recorded && *recorded ? recorded : object_class_default(s);
}

const char *object_class_resolve(const store *s, const char *requested, size_t len,
                                 const char *bucket_default, orc_err *e)
{
    if (len > 0) {
        const struct store_class *c = find(s, requested, len);
        if (!c) {
            orc_fail_detail(e, ORC_EINVAL, ORC_D_STORAGE_CLASS,
                            "storage class '%.*s' is not configured", (int)(len > 40 ? 40 : len),
                            requested);
            return NULL;
        }
        return c->name;
    }
    return object_class_get(s, bucket_default && *bucket_default ? bucket_default : NULL)->name;
}

int object_layout_quorum(const store *s, const meta_layout *lay)
{
    for (int i = 0; i < s->nclasses; i++) {
        meta_layout l = object_layout(&s->classes[i].pol);
        if (!memcmp(&l, lay, sizeof(l))) return s->classes[i].pol.write_quorum;
    }
    return 0;
}

meta_layout object_layout(const place_policy *pol)
{
    if (pol->kind == PLACE_EC)
        return (meta_layout){(uint8_t)pol->k, (uint8_t)pol->m, (uint8_t)(pol->k + pol->m)};
    return (meta_layout){0, 0, (uint8_t)pol->copies};
}
