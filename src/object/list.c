/* Listing with prefix and delimiter over the metadata store's ordered keys.
 * A common prefix is returned once and then skipped in one step: the next
 * query starts at the first key after every key that has it. */
#include "object/object.h"
#include "object/object_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

#define LIST_BATCH 256

char *object_key_successor(const char *p)
{
    size_t n = strlen(p);
    while (n && (uint8_t)p[n - 1] == 0xff)
        n--;
    if (!n) return NULL;
    char *s = orc_strndup(p, n);
    s[n - 1] = (char)((uint8_t)s[n - 1] + 1);
    return s;
}

static void push(object_list_result *r, size_t *cap, object_list_entry *en)
{
    if (r->n == *cap) {
        *cap = *cap ? *cap * 2 : 32;
        r->entries = orc_realloc(r->entries, *cap * sizeof(*r->entries));
    }
    r->entries[r->n++] = *en;
}

int object_list(store *s, int64_t bucket_id, const object_list_args *a, object_list_result *out,
                orc_err *e)
{
    const char *prefix = a->prefix ? a->prefix : "";
    const char *delim = a->delimiter && *a->delimiter ? a->delimiter : NULL;
    size_t plen = strlen(prefix), cap = 0;
    char *from = a->start ? orc_strdup(a->start) : NULL;
    bool inclusive = a->start_inclusive;
    int rc = ORC_OK;

    memset(out, 0, sizeof(*out));
    if (a->max_keys == 0) {
        free(from);
        return ORC_OK;
    }
    /* Starting after a common prefix (a v1 NextMarker) skips everything in it. */
    if (delim && from && !inclusive && strncmp(from, prefix, plen) == 0) {
        const char *d = strstr(from + plen, delim);
        if (d && d[strlen(delim)] == 0) {
            char *next = object_key_successor(from);
            free(from);
            if (!next) return ORC_OK;
            from = next;
            inclusive = true;
        }
    }
    for (;;) {
        meta_object *objs = NULL;
        size_t n = 0;
        bool more = true;
        rc = meta_object_list(s->m, bucket_id, prefix, from, inclusive, LIST_BATCH, &objs, &n, e);
        if (rc) break;
        if (n < LIST_BATCH) more = false;
        size_t i = 0;
        for (; i < n; i++) {
            object_list_entry en = {0};
            const char *d = delim ? strstr(objs[i].key + plen, delim) : NULL;
            if (out->n == a->max_keys) { /* one more exists: the page is full */
                out->truncated = true;
                break;
            }
            if (d) {
                en.is_prefix = true;
                en.prefix = orc_strndup(objs[i].key, (size_t)(d - objs[i].key) + strlen(delim));
                meta_object_dispose(&objs[i]);
            } else {
                en.obj = objs[i];
            }
            push(out, &cap, &en);
            free(from);
            if (en.is_prefix) {
                from = object_key_successor(en.prefix);
                inclusive = true;
                more = from != NULL; /* the rest of this batch may be past the prefix */
                i++;
                break; /* re-query past the prefix */
            }
            from = orc_strdup(en.obj.key);
            inclusive = false;
        }
        for (; i < n; i++)
            meta_object_dispose(&objs[i]);
        free(objs);
        if (out->truncated) {
            /* Where the next page starts: after the last entry returned. */
            object_list_entry *last = &out->entries[out->n - 1];
            if (last->is_prefix) {
                out->next = object_key_successor(last->prefix);
                out->next_inclusive = true;
                if (!out->next) out->truncated = false;
            } else {
                out->next = orc_strdup(last->obj.key);
                out->next_inclusive = false;
            }
            break;
        }
        if (!more) break;
    }
    free(from);
    if (rc) object_list_result_dispose(out);
    return rc;
}

void object_list_result_dispose(object_list_result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->entries[i].is_prefix)
            free(r->entries[i].prefix);
        else
            meta_object_dispose(&r->entries[i].obj);
    }
    free(r->entries);
    free(r->next);
    memset(r, 0, sizeof(*r));
}
