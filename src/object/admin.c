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
}

int object_admin_view_get(store *s, object_admin_view *out, orc_err *e)
{
    int first = ORC_OK;
    orc_err one = {0};
    memset(out, 0, sizeof(*out));
    out->n = place_count(s->pl);
    out->copies = place_copies(s->pl);
    out->providers = orc_calloc(out->n ? out->n : 1, sizeof(*out->providers));
    for (size_t i = 0; i < out->n; i++) {
        object_provider_view *v = &out->providers[i];
        provider_view(s, i, v);
        int rc =
            meta_provider_usage(s->m, place_provider_id(s->pl, i), &v->chunks, &v->bytes, &one);
        if (rc) {
            v->chunks = v->bytes = 0;
            if (!first) first = orc_fail_copy(e, rc, &one);
        }
    }
    int rc = meta_under_replicated(s->m, out->copies, &out->under_replicated, &one);
    if (rc) {
        out->under_replicated = 0;
        if (!first) first = orc_fail_copy(e, rc, &one);
    }
    return first;
}

void object_admin_view_dispose(object_admin_view *v)
{
    if (!v) return;
    free(v->providers);
    v->providers = NULL;
    v->n = 0;
}
