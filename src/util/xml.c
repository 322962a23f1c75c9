/* XML in (util/xml.h): expat with namespaces split off and DTDs refused,
 * behind a streaming reader, and the small bounded tree built on it. The
 * bounds on the tree (depth, node count, text) are the tree's; the reader
 * only refuses what no document of ours needs. */
#include "util/xml.h"

#include <expat.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"

/* ---- streaming ---- */

/* Separates namespace URI from local name in expat's element names. A space
 * cannot occur in a local name, and we take the last one. */
#define NS_SEP ' '
/* XML_Parse takes an int length; larger inputs are fed in pieces. */
#define FEED_MAX (1 << 30)

struct xml_reader {
    XML_Parser xp;
    const xml_handlers *h;
    void *ctx;
    int rc; /* the first handler result or refusal; non-zero stops */
    orc_err *e;
};

void *xml_reader_ctx(const xml_reader *r)
{
    return r->ctx;
}

unsigned long xml_reader_line(const xml_reader *r)
{
    return (unsigned long)XML_GetCurrentLineNumber(r->xp);
}

/* Keeps the first result and stops expat; the handlers that expat still
 * calls after a stop see rc and do nothing. */
static void stop(xml_reader *r, int rc)
{
    if (!rc || r->rc) return;
    r->rc = rc;
    XML_StopParser(r->xp, XML_FALSE);
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    xml_reader *r = ud;
    if (r->rc || !r->h->start) return;
    const char *local = strrchr(name, NS_SEP);
    stop(r, r->h->start(r, local ? local + 1 : name, attrs));
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    xml_reader *r = ud;
    if (r->rc || !r->h->end) return;
    const char *local = strrchr(name, NS_SEP);
    stop(r, r->h->end(r, local ? local + 1 : name));
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    xml_reader *r = ud;
    if (r->rc || !r->h->text || len <= 0) return;
    stop(r, r->h->text(r, s, (size_t)len));
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    xml_reader *r = ud;
    if (r->rc) return;
    stop(r, orc_fail(r->e, ORC_EINVAL, "malformed XML: DOCTYPE %.64s not allowed (line %lu)", name,
                     xml_reader_line(r)));
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
                              int value_len, const XML_Char *base, const XML_Char *sysid,
                              const XML_Char *pubid, const XML_Char *notation)
{
    xml_reader *r = ud;
    if (r->rc) return;
    stop(r, orc_fail(r->e, ORC_EINVAL,
                     "malformed XML: entity declaration %.64s not allowed (line %lu)", name,
                     xml_reader_line(r)));
}

static int feed(xml_reader *r, const char *data, size_t len)
{
    size_t off = 0;
    do {
        size_t n = len - off > FEED_MAX ? FEED_MAX : len - off;
        bool final = off + n == len;
        if (XML_Parse(r->xp, data + off, (int)n, final) != XML_STATUS_OK) {
            if (r->rc) return r->rc;
            return orc_fail(r->e, ORC_EINVAL, "malformed XML at line %lu column %lu: %s",
                            (unsigned long)XML_GetCurrentLineNumber(r->xp),
                            (unsigned long)XML_GetCurrentColumnNumber(r->xp),
                            XML_ErrorString(XML_GetErrorCode(r->xp)));
        }
        off += n;
    } while (off < len);
    return r->rc;
}

int xml_read(const char *data, size_t len, const xml_handlers *h, void *ctx, orc_err *e)
{
    xml_reader r = {.h = h, .ctx = ctx, .e = e};
    r.xp = XML_ParserCreateNS(NULL, NS_SEP);
    if (!r.xp) return orc_fail(e, ORC_EINTERNAL, "expat: cannot create parser");
    XML_SetUserData(r.xp, &r);
    XML_SetElementHandler(r.xp, on_start, on_end);
    XML_SetCharacterDataHandler(r.xp, on_text);
    XML_SetStartDoctypeDeclHandler(r.xp, on_doctype);
    XML_SetEntityDeclHandler(r.xp, on_entity);
    XML_SetParamEntityParsing(r.xp, XML_PARAM_ENTITY_PARSING_NEVER);
    int rc = feed(&r, data ? data : "", len);
    XML_ParserFree(r.xp);
    return rc;
}

/* ---- tree ---- */

struct level {
    xml_node *node;
    xml_node *last_child; /* to append children in O(1) */
    orc_buf text;
};

struct parse {
    xml_node *root;
    struct level stack[XML_MAX_DEPTH];
    size_t depth;
    size_t nodes, max_nodes;
    size_t text_total, max_text;
    orc_err *e;
};

/* The tree's refusals: all MalformedXML, saying which bound was passed. */
static int fail(xml_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(xml_reader *r, const char *fmt, ...)
{
    struct parse *st = xml_reader_ctx(r);
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return orc_fail(st->e, ORC_EINVAL, "malformed XML: %s", msg);
}

static int tree_start(xml_reader *r, const char *local, const char **attrs)
{
    struct parse *st = xml_reader_ctx(r);
    if (st->depth == XML_MAX_DEPTH)
        return fail(r, "elements nested deeper than %d at line %lu", XML_MAX_DEPTH,
                    xml_reader_line(r));
    if (st->nodes == st->max_nodes)
        return fail(r, "more than %zu elements at line %lu", st->max_nodes, xml_reader_line(r));

    xml_node *n = orc_calloc(1, sizeof(*n));
    n->name = orc_strdup(local);
    st->nodes++;
    if (st->depth == 0) {
        st->root = n;
    } else {
        struct level *up = &st->stack[st->depth - 1];
        n->parent = up->node;
        if (up->last_child)
            up->last_child->next = n;
        else
            up->node->child = n;
        up->last_child = n;
    }
    struct level *lv = &st->stack[st->depth++];
    lv->node = n;
    lv->last_child = NULL;
    orc_buf_init(&lv->text, 0);
    return ORC_OK;
}

static int tree_end(xml_reader *r, const char *name)
{
    struct parse *st = xml_reader_ctx(r);
    if (st->depth == 0) return ORC_OK;
    struct level *lv = &st->stack[--st->depth];
    xml_node *n = lv->node;
    if (lv->text.ptr) {
        n->text = (char *)orc_buf_take(&lv->text, &n->text_len);
    } else {
        n->text = orc_strdup("");
        n->text_len = 0;
    }
    return ORC_OK;
}

static int tree_text(xml_reader *r, const char *s, size_t len)
{
    struct parse *st = xml_reader_ctx(r);
    if (st->depth == 0) return ORC_OK;
    /* Without a DTD no entity expands, so text never outgrows the input; the
     * check keeps that true should the parser setup ever change. */
    if (len > st->max_text - st->text_total)
        return fail(r, "more text than input at line %lu", xml_reader_line(r));
    st->text_total += len;
    /* No ceiling on the buffer, so this cannot fail. */
    orc_buf_append(&st->stack[st->depth - 1].text, s, len, NULL);
    return ORC_OK;
}

static const xml_handlers tree_handlers = {
    .start = tree_start,
    .end = tree_end,
    .text = tree_text,
};

int xml_parse(const char *data, size_t len, size_t max_nodes, xml_node **root, orc_err *e)
{
    *root = NULL;
    if (!data || len == 0) return orc_fail(e, ORC_EINVAL, "malformed XML: empty body");

    struct parse st = {
        .max_nodes = max_nodes ? max_nodes : XML_MAX_NODES,
        .max_text = len,
        .e = e,
    };
    int rc = xml_read(data, len, &tree_handlers, &st, e);
    if (!rc && (!st.root || st.depth != 0))
        rc = orc_fail(e, ORC_EINVAL, "malformed XML: incomplete document");
    for (size_t i = 0; i < st.depth; i++)
        orc_buf_dispose(&st.stack[i].text);
    if (rc) {
        xml_free(st.root);
        return rc;
    }
    *root = st.root;
    return ORC_OK;
}

/* Iterative post-order walk, so freeing never recurses however the tree was
 * built. Stops at root even if root has a parent or siblings. */
void xml_free(xml_node *root)
{
    xml_node *n = root;
    while (n) {
        if (n->child) {
            n = n->child;
            continue;
        }
        xml_node *up = n->parent, *next = n->next;
        bool done = n == root;
        free(n->name);
        free(n->text);
        free(n);
        if (done) break;
        up->child = next;
        n = next ? next : up;
    }
}

xml_node *xml_child(const xml_node *n, const char *name)
{
    if (!n) return NULL;
    for (xml_node *c = n->child; c; c = c->next)
        if (strcmp(c->name, name) == 0) return c;
    return NULL;
}

xml_node *xml_next_named(const xml_node *n, const char *name)
{
    if (!n) return NULL;
    for (xml_node *c = n->next; c; c = c->next)
        if (strcmp(c->name, name) == 0) return c;
    return NULL;
}
