/* Capacity and cost (object.h, "capacity and cost"): each provider's
 * capacity and prices handed to placement, the bytes the metadata records
 * on each (so that a capacity holds across restarts and deletes), and each
 * provider's calls by month, flushed from its counters into the metadata. */
#include "object/object.h"
#include "object/object_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/log.h"

static int slot_named(const store *s, const char *name)
{
    for (size_t i = 0; i < place_count(s->pl); i++)
        if (!strcmp(provider_name(place_provider(s->pl, i)), name)) return (int)i;
    return -1;
}

int object_provider_costs(store *s, const char *name, const object_costs *c, long egress_weight_ms,
                          orc_err *e)
{
    int i = slot_named(s, name);
    if (i < 0) return orc_fail(e, ORC_ENOTFOUND, "no provider named '%.64s'", name);
    pthread_mutex_lock(&s->scrub_mu);
    s->cost.prices[i] = *c;
    pthread_mutex_unlock(&s->scrub_mu);
    uint64_t egress_us = (uint64_t)(c->price_egress_gb * (double)egress_weight_ms * 1000.0);
    return place_set_costs(s->pl, place_provider_id(s->pl, (size_t)i), c->capacity,
                           c->price_gb_month, egress_us);
}

void object_month_now(char out[8])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 8, "%Y-%m", &tm); /* "YYYY-MM": 7 characters until the year 10000 */
}

int object_usage_refresh(store *s, orc_err *e)
{
    int first = ORC_OK;
    char month[8];
    object_month_now(month);
    for (size_t i = 0; i < place_count(s->pl); i++) {
        provider *p = place_provider(s->pl, i);
        uint32_t id = place_provider_id(s->pl, i);
        orc_err one = {0};
        uint64_t pieces, bytes;
        int rc = meta_provider_held(s->m, id, &pieces, &bytes, &one);
        if (!rc) place_set_used(s->pl, id, bytes);
        provider_stats st;
        provider_stats_get(p, &st);
        pthread_mutex_lock(&s->scrub_mu);
        meta_month_usage add = {st.puts - s->cost.puts[i], st.gets - s->cost.gets[i],
                                st.bytes_out - s->cost.egress[i]};
        s->cost.puts[i] = st.puts, s->cost.gets[i] = st.gets, s->cost.egress[i] = st.bytes_out;
        pthread_mutex_unlock(&s->scrub_mu);
        if (!rc && (add.puts || add.gets || add.egress_bytes))
            rc = meta_usage_add(s->m, id, month, &add, &one);
        if (rc && !first) first = orc_fail_copy(e, rc, &one);
    }
    return first;
}

void object_cost_view(store *s, size_t i, object_provider_view *v, const char *month)
{
    meta_month_usage u;
    pthread_mutex_lock(&s->scrub_mu);
    object_costs c = s->cost.prices[i];
    pthread_mutex_unlock(&s->scrub_mu);
    v->capacity = c.capacity;
    if (meta_usage_get(s->m, place_provider_id(s->pl, i), month, &u, NULL) == 0) {
        v->month_puts = u.puts, v->month_gets = u.gets, v->month_egress = u.egress_bytes;
    }
    v->month_cost = (double)v->bytes / 1e9 * c.price_gb_month +
                    (double)v->month_puts / 1000.0 * c.price_put_1k +
                    (double)v->month_gets / 1000.0 * c.price_get_1k +
                    (double)v->month_egress / 1e9 * c.price_egress_gb;
}
