/* The admin view on the S3 port: GET /_orchard/providers answers each
 * provider's health, latency, counters and what it stores, as JSON, to the
 * admin user only. "_orchard" cannot be a bucket name, so it never shadows one.
 * No configuration values are shown: they may hold credentials. */
#include "s3/s3_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/parse.h"

static void json_str(orc_buf *b, const char *s)
{
    orc_buf_puts(b, "\"", NULL);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            orc_buf_printf(b, NULL, "\\%c", c);
        else if (c < 0x20)
            orc_buf_printf(b, NULL, "\\u%04x", c);
        else
            orc_buf_append(b, s, 1, NULL);
    }
    orc_buf_puts(b, "\"", NULL);
}

static void repair_json(orc_buf *b, const object_repair_view *v)
{
    orc_buf_printf(b, NULL,
                   "{\"items\":%llu,\"due\":%llu,\"failing\":%llu,\"oldest_ms\":%lld,"
                   "\"repaired\":%llu,\"failed_tries\":%llu,\"bytes\":%llu}",
                   (unsigned long long)v->items, (unsigned long long)v->due,
                   (unsigned long long)v->failing, (long long)v->oldest_ms,
                   (unsigned long long)v->repaired, (unsigned long long)v->failed,
                   (unsigned long long)v->bytes);
}

static const char *state_name(int state)
{
    return state == META_PROVIDER_DRAINING  ? "draining"
           : state == META_PROVIDER_REMOVED ? "removed"
                                            : "active";
}

/* The same as a table, for `orchard providers`. */
static void providers_text(s3_req *r, const object_admin_view *v)
{
    orc_buf b;
    orc_buf_init(&b, 0);
    orc_buf_printf(&b, NULL, "%-16s %-6s %-5s %9s %9s %9s %8s %8s %10s %14s\n", "PROVIDER", "TYPE",
                   "STATE", "P50(ms)", "P90(ms)", "P99(ms)", "OPS", "ERRORS", "CHUNKS", "BYTES");
    for (size_t i = 0; i < v->n; i++) {
        const object_provider_view *p = &v->providers[i];
        orc_buf_printf(&b, NULL, "%-16s %-6s %-5s %9.2f %9.2f %9.2f %8llu %8llu %10llu %14llu\n",
                       p->name, p->type,
                       p->state == META_PROVIDER_DRAINING  ? "drain"
                       : p->state == META_PROVIDER_REMOVED ? "gone"
                       : p->up                             ? "up"
                                                           : "DOWN",
                       p->p50_ms, p->p90_ms, p->p99_ms,
                       (unsigned long long)(p->puts + p->gets + p->dels),
                       (unsigned long long)p->errors, (unsigned long long)p->chunks,
                       (unsigned long long)p->bytes);
    }
    orc_buf_printf(&b, NULL, "\n%-16s %14s %14s %10s %10s %14s %12s\n", "PROVIDER", "CAPACITY",
                   "STORED", "PUTS", "GETS", "EGRESS", "COST");
    for (size_t i = 0; i < v->n; i++) {
        const object_provider_view *p = &v->providers[i];
        char cap[24] = "-";
        if (p->capacity) snprintf(cap, sizeof(cap), "%llu", (unsigned long long)p->capacity);
        orc_buf_printf(&b, NULL, "%-16s %14s %14llu %10llu %10llu %14llu %12.4f\n", p->name, cap,
                       (unsigned long long)p->bytes, (unsigned long long)p->month_puts,
                       (unsigned long long)p->month_gets, (unsigned long long)p->month_egress,
                       p->month_cost);
    }
    orc_buf_printf(&b, NULL,
                   "%s (UTC) so far: requests and egress; COST: the bytes stored for a month at "
                   "the configured prices, plus this month's requests and egress; total %.4f\n",
                   v->month, v->month_cost);
    orc_buf_printf(&b, NULL, "\n%-16s %-24s %12s %22s\n", "PLACEMENT", "CLASSES", "CHUNKS",
                   "BELOW-FULL-REDUNDANCY");
    for (size_t i = 0; i < v->nplacements; i++) {
        const object_redundancy_view *p = &v->placements[i];
        orc_buf_printf(&b, NULL, "%-16s %-24s %12llu %22llu\n", p->placement,
                       p->classes[0] ? p->classes : "-", (unsigned long long)p->chunks,
                       (unsigned long long)p->below);
    }
    orc_buf_printf(&b, NULL, "chunks below full redundancy: %llu\n",
                   (unsigned long long)v->under_replicated);
    orc_buf_printf(&b, NULL,
                   "repair queue: %llu chunks (%llu failing); repaired %llu since start\n",
                   (unsigned long long)v->repair.items, (unsigned long long)v->repair.failing,
                   (unsigned long long)v->repair.repaired);
    size_t len;
    uint8_t *body = orc_buf_take(&b, &len);
    http_respond(r->rq, 200, "text/plain", body, len);
}

static void admin_provider_json(orc_buf *b, const object_provider_view *p)
{
    orc_buf_puts(b, "{\"name\":", NULL);
    json_str(b, p->name);
    orc_buf_puts(b, ",\"type\":", NULL);
    json_str(b, p->type);
    orc_buf_printf(
        b, NULL,
        ",\"up\":%s,\"consecutive_failures\":%d,\"ops\":{\"put\":%llu,\"get\":%llu,"
        "\"del\":%llu},\"errors\":%llu,\"timeouts\":%llu,\"corrupt\":%llu,"
        "\"bytes_in\":%llu,\"bytes_out\":%llu,"
        "\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f},\"chunks\":%llu,"
        "\"bytes\":%llu,\"cancelled\":%llu,\"recent_get_p95_ms\":%.3f,"
        "\"state\":\"%s\",\"capacity\":%llu,\"month\":{\"puts\":%llu,\"gets\":%llu,"
        "\"egress_bytes\":%llu,\"cost\":%.6f}}",
        p->up ? "true" : "false", p->consecutive_failures, (unsigned long long)p->puts,
        (unsigned long long)p->gets, (unsigned long long)p->dels, (unsigned long long)p->errors,
        (unsigned long long)p->timeouts, (unsigned long long)p->corrupt,
        (unsigned long long)p->bytes_in, (unsigned long long)p->bytes_out, p->p50_ms, p->p90_ms,
        p->p99_ms, (unsigned long long)p->chunks, (unsigned long long)p->bytes,
        (unsigned long long)p->cancelled, p->get_p95_ms, state_name(p->state),
        (unsigned long long)p->capacity, (unsigned long long)p->month_puts,
        (unsigned long long)p->month_gets, (unsigned long long)p->month_egress, p->month_cost);
}

static void providers_json(s3_req *r, const object_admin_view *v)
{
    orc_buf b;
    orc_buf_init(&b, 0);
    orc_buf_puts(&b, "{\"providers\":[", NULL);
    for (size_t i = 0; i < v->n; i++) {
        if (i) orc_buf_puts(&b, ",", NULL);
        admin_provider_json(&b, &v->providers[i]);
    }
    orc_buf_printf(&b, NULL,
                   "],\"copies\":%d,\"under_replicated\":%llu,\"repair_queue\":", v->copies,
                   (unsigned long long)v->under_replicated);
    repair_json(&b, &v->repair);
    orc_buf_printf(&b, NULL, ",\"month\":\"%s\",\"month_cost\":%.6f", v->month, v->month_cost);
    orc_buf_puts(&b, ",\"placements\":[", NULL);
    for (size_t i = 0; i < v->nplacements; i++) {
        const object_redundancy_view *p = &v->placements[i];
        orc_buf_puts(&b, i ? ",{\"placement\":" : "{\"placement\":", NULL);
        json_str(&b, p->placement);
        orc_buf_puts(&b, ",\"classes\":", NULL);
        json_str(&b, p->classes);
        orc_buf_printf(&b, NULL, ",\"chunks\":%llu,\"below_full_redundancy\":%llu}",
                       (unsigned long long)p->chunks, (unsigned long long)p->below);
    }
    orc_buf_puts(&b, "]}\n", NULL);
    size_t len;
    uint8_t *body = orc_buf_take(&b, &len);
    http_respond(r->rq, 200, "application/json", body, len);
}

static void providers(s3_req *r, bool text)
{
    object_admin_view v;
    orc_err e = {0};
    /* A metadata failure leaves its counts 0: health is still worth showing. */
    if (object_admin_view_get(r->svc->st, &v, &e)) LOG_WARN("admin: %s", e.msg);
    text ? providers_text(r, &v) : providers_json(r, &v);
    object_admin_view_dispose(&v);
}

static void respond_json(s3_req *r, orc_buf *b)
{
    size_t len;
    uint8_t *body = orc_buf_take(b, &len);
    http_respond(r->rq, 200, "application/json", body, len);
}

/* GET /_orchard/repair: the queue and what repair did since the start. */
static void repair(s3_req *r)
{
    if (strcmp(r->rq->method, "GET") != 0) return s3_error(r, S3E_METHOD_NOT_ALLOWED, NULL);
    object_repair_view v;
    orc_err e = {0};
    if (object_repair_view_get(r->svc->st, &v, &e))
        return s3_error_why(r, S3E_INTERNAL_ERROR, NULL, &e);
    orc_buf b;
    orc_buf_init(&b, 0);
    repair_json(&b, &v);
    orc_buf_puts(&b, "\n", NULL);
    respond_json(r, &b);
}

/* GET /_orchard/scrub: the pass under way (or the last one); POST starts
 * one now unless one is under way, and answers the same. */
static void scrub(s3_req *r)
{
    bool post = !strcmp(r->rq->method, "POST");
    if (!post && strcmp(r->rq->method, "GET") != 0)
        return s3_error(r, S3E_METHOD_NOT_ALLOWED, NULL);
    orc_err e = {0};
    object_scrub_view v;
    if ((post && object_scrub_start(r->svc->st, &e)) ||
        object_scrub_view_get(r->svc->st, &v, true, &e))
        return s3_error_why(r, S3E_INTERNAL_ERROR, NULL, &e);
    orc_buf b;
    orc_buf_init(&b, 0);
    orc_buf_printf(&b, NULL,
                   "{\"running\":%s,\"started_ms\":%lld,\"finished_ms\":%lld,\"cursor\":%lld,"
                   "\"chunks\":%llu,\"total_chunks\":%llu,\"pieces\":%llu,\"bytes\":%llu,"
                   "\"bad\":%llu,\"missing\":%llu,\"lost\":%llu,\"unreachable\":%llu}\n",
                   v.running ? "true" : "false", (long long)v.started_ms, (long long)v.finished_ms,
                   (long long)v.cursor, (unsigned long long)v.chunks,
                   (unsigned long long)v.total_chunks, (unsigned long long)v.pieces,
                   (unsigned long long)v.bytes, (unsigned long long)v.bad,
                   (unsigned long long)v.missing, (unsigned long long)v.lost,
                   (unsigned long long)v.unreachable);
    respond_json(r, &b);
}

/* GET /_orchard/providers/NAME: its state and a drain's progress. POST with
 * action=drain, undrain (ends a drain: it takes writes again) or remove (only
 * when it holds nothing) changes the state first. */
static void admin_one_provider(s3_req *r, const char *name)
{
    bool post = !strcmp(r->rq->method, "POST");
    if (!post && strcmp(r->rq->method, "GET") != 0)
        return s3_error(r, S3E_METHOD_NOT_ALLOWED, NULL);
    orc_err e = {0};
    int rc = ORC_OK;
    if (post) {
        char *act = s3_query_get(r, "action");
        int state = !act                      ? -1
                    : !strcmp(act, "drain")   ? META_PROVIDER_DRAINING
                    : !strcmp(act, "undrain") ? META_PROVIDER_ACTIVE
                    : !strcmp(act, "remove")  ? META_PROVIDER_REMOVED
                                              : -1;
        free(act);
        if (state < 0)
            return s3_error(r, S3E_INVALID_ARGUMENT,
                            "POST /_orchard/providers/NAME takes action=drain, undrain or remove");
        rc = object_provider_set(r->svc->st, name, state, &e);
    }
    object_drain_view v;
    if (!rc) rc = object_drain_view_get(r->svc->st, name, &v, &e);
    if (rc == ORC_ENOTFOUND) return s3_error(r, S3E_INVALID_ARGUMENT, e.msg);
    if (rc == ORC_ECONFLICT) return s3_error(r, S3E_OPERATION_ABORTED, e.msg);
    if (rc) return s3_error_from(r, rc, &e, S3E_INVALID_ARGUMENT);
    orc_buf b;
    orc_buf_init(&b, 0);
    orc_buf_puts(&b, "{\"name\":", NULL);
    json_str(&b, v.name);
    orc_buf_printf(&b, NULL,
                   ",\"state\":\"%s\",\"drain_started_ms\":%lld,\"drain_pieces\":%llu,"
                   "\"drain_bytes\":%llu,\"pieces\":%llu,\"bytes\":%llu}\n",
                   state_name(v.state), (long long)v.started_ms, (unsigned long long)v.total_pieces,
                   (unsigned long long)v.total_bytes, (unsigned long long)v.left_pieces,
                   (unsigned long long)v.left_bytes);
    respond_json(r, &b);
}

/* GET /_orchard/fsck: the pass under way or the last one. POST starts one
 * (grace=SECONDS: how long an orphan must have been one before it is
 * deleted; default 3600); 409 while one is under way. */
static void fsck(s3_req *r)
{
    bool post = !strcmp(r->rq->method, "POST");
    if (!post && strcmp(r->rq->method, "GET") != 0)
        return s3_error(r, S3E_METHOD_NOT_ALLOWED, NULL);
    orc_err e = {0};
    if (post) {
        uint64_t grace = 3600;
        char *g = s3_query_get(r, "grace");
        bool bad = g && parse_uint_max(g, 10L * 365 * 86400, &grace) != 0;
        free(g);
        if (bad) return s3_error(r, S3E_INVALID_ARGUMENT, "grace: seconds, 0 to ten years");
        if (object_fsck_request(r->svc->st, (int64_t)grace * 1000, &e))
            return s3_error(r, S3E_OPERATION_ABORTED, e.msg);
    }
    object_fsck_view *v = malloc(sizeof(*v));
    if (!v) return s3_error(r, S3E_INTERNAL_ERROR, NULL);
    object_fsck_view_get(r->svc->st, v);
    orc_buf b;
    orc_buf_init(&b, 0);
    orc_buf_printf(&b, NULL,
                   "{\"running\":%s,\"started_ms\":%lld,\"finished_ms\":%lld,\"missing\":%llu,"
                   "\"wrong_size\":%llu,\"orphans\":%llu,\"orphans_deleted\":%llu,\"lost\":%llu,"
                   "\"failed_providers\":%llu,\"fenced\":%llu,\"providers\":[",
                   v->running ? "true" : "false", (long long)v->started_ms,
                   (long long)v->finished_ms, (unsigned long long)v->missing,
                   (unsigned long long)v->wrong_size, (unsigned long long)v->orphans,
                   (unsigned long long)v->orphans_deleted, (unsigned long long)v->lost,
                   (unsigned long long)v->failed_providers, (unsigned long long)v->fenced);
    for (size_t i = 0; i < v->nproviders; i++) {
        const object_fsck_provider *p = &v->providers[i];
        orc_buf_puts(&b, i ? ",{\"name\":" : "{\"name\":", NULL);
        json_str(&b, p->name);
        orc_buf_printf(&b, NULL,
                       ",\"listed\":%llu,\"recorded\":%llu,\"missing\":%llu,\"wrong_size\":%llu,"
                       "\"orphans\":%llu,\"orphans_deleted\":%llu,\"orphan_bytes_deleted\":%llu,"
                       "\"failed\":%s,\"error\":",
                       (unsigned long long)p->listed, (unsigned long long)p->recorded,
                       (unsigned long long)p->missing, (unsigned long long)p->wrong_size,
                       (unsigned long long)p->orphans, (unsigned long long)p->orphans_deleted,
                       (unsigned long long)p->orphan_bytes_deleted, p->failed ? "true" : "false");
        json_str(&b, p->error);
        orc_buf_puts(&b, "}", NULL);
    }
    orc_buf_puts(&b, "]}\n", NULL);
    free(v);
    respond_json(r, &b);
}

/* POST /_orchard/reload: the config's new provider sections come in. */
static void reload(s3_req *r)
{
    if (strcmp(r->rq->method, "POST") != 0) return s3_error(r, S3E_METHOD_NOT_ALLOWED, NULL);
    if (!r->svc->reload) return s3_error(r, S3E_NOT_IMPLEMENTED, "no config to reload");
    char msg[512];
    if (r->svc->reload(r->svc->reload_ctx, msg, sizeof(msg)))
        return s3_error(r, S3E_INVALID_ARGUMENT, msg);
    orc_buf b;
    orc_buf_init(&b, 0);
    orc_buf_puts(&b, "{\"message\":", NULL);
    json_str(&b, msg);
    orc_buf_puts(&b, "}\n", NULL);
    respond_json(r, &b);
}

void s3_admin(s3_req *r)
{
    if (strcmp(r->user.name, "admin") != 0) return s3_error(r, S3E_ACCESS_DENIED, NULL);
    if (r->key && !strcmp(r->key, "providers")) {
        if (strcmp(r->rq->method, "GET") != 0) return s3_error(r, S3E_METHOD_NOT_ALLOWED, NULL);
        char *fmt = s3_query_get(r, "format");
        bool text = fmt && !strcmp(fmt, "text");
        free(fmt);
        return providers(r, text);
    }
    if (r->key && !strncmp(r->key, "providers/", 10) && r->key[10])
        return admin_one_provider(r, r->key + 10);
    if (r->key && !strcmp(r->key, "repair")) return repair(r);
    if (r->key && !strcmp(r->key, "fsck")) return fsck(r);
    if (r->key && !strcmp(r->key, "reload")) return reload(r);
    if (r->key && !strcmp(r->key, "scrub")) return scrub(r);
    s3_error(r, S3E_INVALID_REQUEST,
             "Unknown admin resource; known: /_orchard/providers, /_orchard/providers/NAME, "
             "/_orchard/repair, /_orchard/scrub, /_orchard/fsck, /_orchard/reload, "
             "/_orchard/metrics");
}
