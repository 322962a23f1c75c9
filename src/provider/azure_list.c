/* Azure List Blobs pages (azure_list.h): a streaming parse on the util/
 * XML reader that keeps only the element path (a small stack of known
 * elements; anything else and its subtree is ignored), the current blob's
 * name and size, and the marker, so a page costs no tree. */
#include "provider/azure_list.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/xml.h"

/* Names are 1..128 chars of [0-9a-z], as for the fs provider. */
bool azure_name_ok(const char *name)
{
    size_t n = 0;
    for (; name[n]; n++) {
        char c = name[n];
        if (n >= AZURE_NAME_MAX || !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')))
            return false;
    }
    return n > 0;
}

enum { EL_ROOT, EL_BLOBS, EL_BLOB, EL_NAME, EL_PROPS, EL_LENGTH, EL_NEXT };
#define LIST_DEPTH 8

typedef struct list_state {
    azure_list_page *pg;
    int stack[LIST_DEPTH];
    int depth;
    char name[AZURE_BLOB_NAME_MAX + 1];
    size_t name_len;
    bool name_bad; /* too long or Encoded="true": not one of our chunks */
    uint64_t size;
    bool have_size, size_bad;
    size_t marker_len; /* in pg->marker */
    int rc;            /* a handler's non-zero result: fn's, or a refusal */
    orc_err *e;
} list_state;

static int element_id(int parent, const char *el)
{
    if (parent == EL_ROOT && strcmp(el, "Blobs") == 0) return EL_BLOBS;
    if (parent == EL_ROOT && strcmp(el, "NextMarker") == 0) return EL_NEXT;
    if (parent == EL_BLOBS && strcmp(el, "Blob") == 0) return EL_BLOB;
    if (parent == EL_BLOB && strcmp(el, "Name") == 0) return EL_NAME;
    if (parent == EL_BLOB && strcmp(el, "Properties") == 0) return EL_PROPS;
    if (parent == EL_PROPS && strcmp(el, "Content-Length") == 0) return EL_LENGTH;
    return -1; /* unknown: its subtree is ignored */
}

static int on_start(xml_reader *r, const char *el, const char **attrs)
{
    list_state *s = xml_reader_ctx(r);
    int id;
    if (s->depth == 0) {
        id = strcmp(el, "EnumerationResults") == 0 ? EL_ROOT : -1;
    } else {
        int parent = s->depth <= LIST_DEPTH ? s->stack[s->depth - 1] : -1;
        id = parent < 0 ? -1 : element_id(parent, el);
    }
    if (s->depth < LIST_DEPTH) s->stack[s->depth] = id;
    s->depth++;
    if (id == EL_BLOB) {
        s->name_len = 0;
        s->name_bad = s->have_size = s->size_bad = false;
        s->size = 0;
    } else if (id == EL_NAME) {
        for (size_t i = 0; attrs[i]; i += 2)
            if (strcmp(attrs[i], "Encoded") == 0 && strcmp(attrs[i + 1], "true") == 0)
                s->name_bad = true;
    } else if (id == EL_LENGTH) {
        s->have_size = true;
    }
    return ORC_OK;
}

static int on_text(xml_reader *r, const char *t, size_t n)
{
    list_state *s = xml_reader_ctx(r);
    if (s->depth == 0 || s->depth > LIST_DEPTH) return ORC_OK;
    int id = s->stack[s->depth - 1];
    if (id == EL_NAME) {
        if (s->name_len + n > AZURE_BLOB_NAME_MAX) {
            s->name_bad = true;
            return ORC_OK;
        }
        memcpy(s->name + s->name_len, t, n);
        s->name_len += n;
    } else if (id == EL_NEXT) {
        if (s->marker_len + n > AZURE_MARKER_MAX)
            return s->rc = orc_fail(s->e, ORC_EIO, "provider %s: List Blobs marker too long",
                                    s->pg->provider);
        memcpy(s->pg->marker + s->marker_len, t, n);
        s->marker_len += n;
    } else if (id == EL_LENGTH) {
        for (size_t i = 0; i < n; i++) {
            unsigned d = (unsigned)(t[i] - '0');
            if (d > 9 || s->size > (UINT64_MAX - d) / 10) {
                s->size_bad = true;
                return ORC_OK;
            }
            s->size = s->size * 10 + d;
        }
    }
    return ORC_OK;
}

/* One finished <Blob>: report it if it is one of our chunks. */
static int blob_done(list_state *s)
{
    azure_list_page *pg = s->pg;
    size_t pl = strlen(pg->prefix);
    s->name[s->name_len] = 0;
    if (s->name_bad || s->name_len <= pl || memcmp(s->name, pg->prefix, pl) != 0 ||
        !azure_name_ok(s->name + pl))
        return ORC_OK; /* someone else's blob under our prefix */
    if (!s->have_size || s->size_bad) {
        s->rc = orc_fail(s->e, ORC_EIO, "provider %s: List Blobs gave no valid size for %.40s",
                         pg->provider, s->name + pl);
    } else {
        s->rc = pg->fn(pg->ctx, s->name + pl, s->size);
    }
    return s->rc;
}

static int on_end(xml_reader *r, const char *el)
{
    list_state *s = xml_reader_ctx(r);
    s->depth--;
    if (s->depth < LIST_DEPTH && s->stack[s->depth] == EL_BLOB) return blob_done(s);
    return ORC_OK;
}

static const xml_handlers list_handlers = {.start = on_start, .end = on_end, .text = on_text};

int azure_list_parse(azure_list_page *pg, const char *body, size_t len, orc_err *e)
{
    list_state s = {.pg = pg, .e = e};
    pg->marker[0] = 0;
    if (len > INT32_MAX)
        return orc_fail(e, ORC_EIO, "provider %s: List Blobs page too large", pg->provider);
    /* The reader's own refusals (not XML, a DTD) go to xe, to be said as the
     * provider's; what the handlers refuse is already in e. */
    orc_err xe = {0};
    int rc = xml_read(body, len, &list_handlers, &s, &xe);
    if (!s.rc && rc)
        rc = orc_fail(e, ORC_EIO, "provider %s: List Blobs reply is not valid XML: %s",
                      pg->provider, xe.msg);
    pg->marker[s.marker_len] = 0;
    return rc;
}
