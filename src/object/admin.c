/* The admin view: each provider's health and counters (from placement's
 * providers) with what the metadata says it stores, and the replication
 * backlog, as plain values the front only formats. */
#include "object/object_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

static void provider_view(store *s, size_t i, object_provider_view *v)
{
    /* place.h hands out its providers; their counters are read here, once,
     * so that nothing above object/ needs provider/. */
    provider *p = place_provider(s->pl, i);
    provider_stats st;
    provider_stats_get(p, &st);
    snprintf(v->name, sizeof(v->name), "%s", provider_name(p));
    snprintf(v->type, sizeof(v->type), "%s", provider_type(p));
    v->up = st.up;
    v->consecutive_failures = st.consecutive_failures;
    v->puts = st.puts, v->gets = st.gets, v->dels = st.dels;
    v->errors = st.errors, v->timeouts = st.timeouts, v->corrupt = st.corrupt;
    v->bytes_in = st.bytes_in, v->bytes_out = st.bytes_out;
    v->p50_ms = st.p50_ms, v->p90_ms = st.p90_ms, v->p99_ms = st.p99_ms;
    v->cancelled = st.cancelled;
    v->get_p95_ms = st.get_p95_ms;
}

/* One row per layout in use, named by placement and the classes using it. */
static int redundancy_views(store *s, object_admin_view *out, orc_err *e)
{
    meta_redundancy *rs = NULL;
    size_t n = 0;
    int rc = meta_redundancy_list(s->m, object_legacy_width(s), &rs, &n, e);
    if (rc) return rc;
    out->placements = orc_calloc(n ? n : 1, sizeof(*out->placements));
    for (size_t i = 0; i < n; i++) {
        object_redundancy_view *v = &out->placements[out->nplacements++];
        place_policy pol = object_chunk_policy(s, &rs[i].layout);
        place_policy_format(&pol, v->placement, sizeof(v->placement));
        for (int c = 0; c < s->nclasses; c++) {
            meta_layout l = object_layout(&s->classes[c].pol);
            if (l.ec_k != pol.k * (pol.kind == PLACE_EC) || l.width != place_width(&pol)) continue;
            size_t at = strlen(v->classes);
            snprintf(v->classes + at, sizeof(v->classes) - at, "%s%s", at ? "," : "",
                     s->classes[c].name);
        }
        v->chunks = rs[i].chunks;
        v->below = rs[i].below;
        out->under_replicated += rs[i].below;
    }
    free(rs);
    return ORC_OK;
}

int object_admin_view_get(store *s, object_admin_view *out, orc_err *e)
{
    int first = ORC_OK;
    orc_err one = {0};
    memset(out, 0, sizeof(*out));
    out->n = place_count(s->pl);
    out->copies = place_width(place_default_policy(s->pl));
    out->providers = orc_calloc(out->n ? out->n : 1, sizeof(*out->providers));
    object_usage_refresh(s, NULL); /* this month's counts up to now */
    object_month_now(out->month);
    meta_provider *ps = NULL;
    size_t nps = 0;
    int src = meta_provider_list(s->m, &ps, &nps, &one);
    if (src && !first) first = orc_fail_copy(e, src, &one);
    for (size_t i = 0; i < out->n; i++) {
        object_provider_view *v = &out->providers[i];
        provider_view(s, i, v);
        for (size_t k = 0; k < nps; k++)
            if (ps[k].id == place_provider_id(s->pl, i)) v->state = ps[k].state;
        int rc =
            meta_provider_usage(s->m, place_provider_id(s->pl, i), &v->chunks, &v->bytes, &one);
        if (rc) {
            v->chunks = v->bytes = 0;
            if (!first) first = orc_fail_copy(e, rc, &one);
        }
        object_cost_view(s, i, v, out->month);
        out->month_cost += v->month_cost;
    }
    free(ps);
    int rc = redundancy_views(s, out, &one);
    if (rc && !first) first = orc_fail_copy(e, rc, &one);
    rc = object_repair_view_get(s, &out->repair, &one);
    if (rc && !first) first = orc_fail_copy(e, rc, &one);
    return first;
}

void object_admin_view_dispose(object_admin_view *v)
{
    if (!v) return;
    free(v->providers);
    v->providers = NULL;
    free(v->placements);
    v->placements = NULL;
    v->nplacements = 0;
    v->n = 0;
}
