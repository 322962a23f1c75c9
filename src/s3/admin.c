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
static void providers_text(s3_req *r)
{
    place *pl = r->svc->st->pl;
    meta *m = r->svc->st->m;
    orc_buf b;
    orc_err e = {0};
    uint64_t under = 0;
    orc_buf_init(&b, 0);
    orc_buf_printf(&b, NULL, "%-16s %-6s %-5s %9s %9s %9s %8s %8s %10s %14s\n", "PROVIDER", "TYPE",
                   "STATE", "P50(ms)", "P90(ms)", "P99(ms)", "OPS", "ERRORS", "CHUNKS", "BYTES");
    for (size_t i = 0; i < place_count(pl); i++) {
        provider *p = place_provider(pl, i);
        provider_stats st;
        uint64_t chunks = 0, bytes = 0;
        provider_stats_get(p, &st);
        meta_provider_usage(m, place_provider_id(pl, i), &chunks, &bytes, &e);
        orc_buf_printf(&b, NULL, "%-16s %-6s %-5s %9.2f %9.2f %9.2f %8llu %8llu %10llu %14llu\n",
                       provider_name(p), provider_type(p), st.up ? "up" : "DOWN", st.p50_ms,
                       st.p90_ms, st.p99_ms, (unsigned long long)(st.puts + st.gets + st.dels),
                       (unsigned long long)st.errors, (unsigned long long)chunks,
                       (unsigned long long)bytes);
    }
    meta_under_replicated(m, place_copies(pl), &under, &e);
    orc_buf_printf(&b, NULL, "copies per chunk: %d; under-replicated chunks: %llu\n",
                   place_copies(pl), (unsigned long long)under);
    size_t len;
    uint8_t *body = orc_buf_take(&b, &len);
    http_respond(r->rq, 200, "text/plain", body, len);
}

static void providers_json(s3_req *r)
{
    place *pl = r->svc->st->pl;
    meta *m = r->svc->st->m;
    orc_buf b;
    orc_err e = {0};
    uint64_t under = 0;
    orc_buf_init(&b, 0);
    orc_buf_puts(&b, "{\"providers\":[", NULL);
    for (size_t i = 0; i < place_count(pl); i++) {
        provider *p = place_provider(pl, i);
        provider_stats st;
        uint64_t chunks = 0, bytes = 0;
        provider_stats_get(p, &st);
        if (meta_provider_usage(m, place_provider_id(pl, i), &chunks, &bytes, &e))
            LOG_WARN("admin: %s", e.msg);
        orc_buf_puts(&b, i ? ",{\"name\":" : "{\"name\":", NULL);
        json_str(&b, provider_name(p));
        orc_buf_puts(&b, ",\"type\":", NULL);
        json_str(&b, provider_type(p));
        orc_buf_printf(&b, NULL,
                       ",\"up\":%s,\"consecutive_failures\":%d,\"ops\":{\"put\":%llu,\"get\":%llu,"
                       "\"del\":%llu},\"errors\":%llu,\"timeouts\":%llu,\"corrupt\":%llu,"
                       "\"bytes_in\":%llu,\"bytes_out\":%llu,"
                       "\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f},\"chunks\":%llu,"
                       "\"bytes\":%llu}",
                       st.up ? "true" : "false", st.consecutive_failures,
                       (unsigned long long)st.puts, (unsigned long long)st.gets,
                       (unsigned long long)st.dels, (unsigned long long)st.errors,
                       (unsigned long long)st.timeouts, (unsigned long long)st.corrupt,
                       (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out, st.p50_ms,
                       st.p90_ms, st.p99_ms, (unsigned long long)chunks, (unsigned long long)bytes);
    }
    if (meta_under_replicated(m, place_copies(pl), &under, &e)) LOG_WARN("admin: %s", e.msg);
    orc_buf_printf(&b, NULL, "],\"copies\":%d,\"under_replicated\":%llu}\n", place_copies(pl),
                   (unsigned long long)under);
    size_t len;
    uint8_t *body = orc_buf_take(&b, &len);
    http_respond(r->rq, 200, "application/json", body, len);
}

void s3_admin(s3_req *r)
{
    if (strcmp(r->user.name, "admin") != 0) return s3_error(r, S3E_ACCESS_DENIED, NULL);
    if (r->key && !strcmp(r->key, "providers")) {
        if (strcmp(r->rq->method, "GET") != 0) return s3_error(r, S3E_METHOD_NOT_ALLOWED, NULL);
        char *fmt = s3_query_get(r, "format");
        bool text = fmt && !strcmp(fmt, "text");
        free(fmt);
        return text ? providers_text(r) : providers_json(r);
    }
    s3_error(r, S3E_INVALID_REQUEST, "Unknown admin resource; known: /_orchard/providers");
}
