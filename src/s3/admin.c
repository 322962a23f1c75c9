/* The admin view on the S3 port: GET /_orchard/providers answers each
 * provider's health, latency, counters and what it stores, as JSON, to the
 * admin user only. "_orchard" cannot be a bucket name, so it never shadows one.
 * No configuration values are shown: they may hold credentials. */
#include "s3/s3_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

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
                       p->name, p->type, p->up ? "up" : "DOWN", p->p50_ms, p->p90_ms, p->p99_ms,
                       (unsigned long long)(p->puts + p->gets + p->dels),
                       (unsigned long long)p->errors, (unsigned long long)p->chunks,
                       (unsigned long long)p->bytes);
    }
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
    orc_buf_printf(b, NULL,
                   ",\"up\":%s,\"consecutive_failures\":%d,\"ops\":{\"put\":%llu,\"get\":%llu,"
                   "\"del\":%llu},\"errors\":%llu,\"timeouts\":%llu,\"corrupt\":%llu,"
                   "\"bytes_in\":%llu,\"bytes_out\":%llu,"
                   "\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f},\"chunks\":%llu,"
                   "\"bytes\":%llu,\"cancelled\":%llu,\"recent_get_p95_ms\":%.3f}",
                   p->up ? "true" : "false", p->consecutive_failures, (unsigned long long)p->puts,
                   (unsigned long long)p->gets, (unsigned long long)p->dels,
                   (unsigned long long)p->errors, (unsigned long long)p->timeouts,
                   (unsigned long long)p->corrupt, (unsigned long long)p->bytes_in,
                   (unsigned long long)p->bytes_out, p->p50_ms, p->p90_ms, p->p99_ms,
                   (unsigned long long)p->chunks, (unsigned long long)p->bytes,
                   (unsigned long long)p->cancelled, p->get_p95_ms);
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
    orc_buf_printf(&b, NULL, "],\"copies\":%d,\"under_replicated\":%llu,\"placements\":[",
                   v->copies, (unsigned long long)v->under_replicated);
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
    s3_error(r, S3E_INVALID_REQUEST,
             "Unknown admin resource; known: /_orchard/providers, /_orchard/metrics");
}
