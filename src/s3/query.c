/* The query string of an S3 request: whether it decodes at all (the front
 * refuses one that does not before routing), and its parameters by name,
 * decoded. The routing table is front.c's; this file calls nothing back. */
#include "s3/s3_int.h"

#include <string.h>

#include "util/alloc.h"
#include "util/uri.h"

/* Every query parameter's name and value must decode to text without NUL:
 * s3_query_get hands them on as C strings, so a "%00" in an upload id, a
 * marker or a continuation token would otherwise silently mean a shorter
 * value. Form-style '+' is a plain byte here. */
bool s3_query_valid(const char *q)
{
    orc_buf b;
    orc_buf_init(&b, 0);
    int rc = uri_decode_text(&b, q, strlen(q), NULL);
    orc_buf_dispose(&b);
    return rc == 0;
}

static int query_find(const char *q, const char *name, const char **val, size_t *vlen)
{
    size_t n = strlen(name);
    while (*q) {
        const char *amp = strchr(q, '&'), *end = amp ? amp : q + strlen(q);
        const char *eq = memchr(q, '=', (size_t)(end - q));
        const char *kend = eq ? eq : end;
        if ((size_t)(kend - q) == n && memcmp(q, name, n) == 0) {
            *val = eq ? eq + 1 : end;
            *vlen = eq ? (size_t)(end - eq - 1) : 0;
            return 1;
        }
        q = amp ? amp + 1 : end;
    }
    return 0;
}

bool s3_query_has(const s3_req *r, const char *name)
{
    const char *v;
    size_t n;
    return query_find(r->rq->query, name, &v, &n);
}

char *s3_query_get(const s3_req *r, const char *name)
{
    const char *v;
    size_t n;
    orc_buf b;
    if (!query_find(r->rq->query, name, &v, &n)) return NULL;
    orc_buf_init(&b, 0);
    /* Query strings from forms use '+' for space; S3 clients encode spaces as
     * %20, and S3 itself reads '+' in a query value as a space. */
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '+') {
            orc_buf_append(&b, "%20", 3, NULL);
        } else {
            orc_buf_append(&b, v + i, 1, NULL);
        }
    }
    orc_buf out;
    orc_buf_init(&out, 0);
    orc_buf_append(&out, "", 0, NULL);
    /* parse_target refused any query that does not decode (query_valid), so
     * this cannot fail for a request that got this far; "" is only a guard. */
    int rc = uri_decode_text(&out, (const char *)b.ptr ? (const char *)b.ptr : "", b.len, NULL);
    orc_buf_dispose(&b);
    if (rc) {
        orc_buf_dispose(&out);
        return orc_strdup("");
    }
    return (char *)orc_buf_take(&out, NULL);
}
