/* XML for S3 bodies. Out: a writer that appends to an orc_buf and escapes all
 * text. In: expat, namespaces split off, into a small tree bounded in depth,
 * node count and text, with DTDs refused outright so no entity can expand
 * (billion laughs) or reach outside the document (XXE). */
#include "s3/xml.h"

#include <expat.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

/* ---- out ---- */

int xml_decl(orc_buf *b, orc_err *e)
{
    return orc_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", e);
}

int xml_open(orc_buf *b, const char *name, const char *attrs, orc_err *e)
{
    size_t mark = b->len;
    int rc = orc_buf_append(b, "<", 1, e);
    if (!rc) rc = orc_buf_puts(b, name, e);
    if (!rc && attrs && *attrs) {
        if (*attrs != ' ') rc = orc_buf_append(b, " ", 1, e);
        if (!rc) rc = orc_buf_puts(b, attrs, e);
    }
    if (!rc) rc = orc_buf_append(b, ">", 1, e);
    if (rc && b->ptr) b->ptr[b->len = mark] = 0;
    return rc;
}

int xml_close(orc_buf *b, const char *name, orc_err *e)
{
    size_t mark = b->len;
    int rc = orc_buf_append(b, "</", 2, e);
    if (!rc) rc = orc_buf_puts(b, name, e);
    if (!rc) rc = orc_buf_append(b, ">", 1, e);
    if (rc && b->ptr) b->ptr[b->len = mark] = 0;
    return rc;
}

/* The replacement for byte s[i] (and how many input bytes it covers), or NULL
 * if the byte goes out as is. */
static const char *escape_at(const unsigned char *s, size_t n, size_t i, char tmp[12], size_t *used)
{
    unsigned char c = s[i];
    *used = 1;
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&apos;";
    case '\t':
    case '\n':
        return NULL;
    default:
        break;
    }
    /* Control characters are not XML 1.0 characters, raw or as references,
     * so no choice is valid XML. We emit &#xN; as AWS S3 does: a raw byte is
     * a hard tokenizer error everywhere, a reference is recoverable by lenient
     * parsers, and strict ones (expat, so botocore) fail cleanly instead. The
     * real fix is encoding-type=url, which botocore sets by default on
     * listings. \r is escaped too, or parsers would normalise it to \n; DEL
     * is legal but discouraged, so it is escaped like the others. */
    if (c < 0x20 || c == 0x7f) {
        snprintf(tmp, 12, "&#x%X;", (unsigned)c);
        return tmp;
    }
    /* U+FFFE and U+FFFF are valid UTF-8 but not XML characters. Other invalid
     * UTF-8 passes through: keys are validated as UTF-8 before they get here. */
    if (c == 0xef && i + 2 < n && s[i + 1] == 0xbf && (s[i + 2] == 0xbe || s[i + 2] == 0xbf)) {
        *used = 3;
        return s[i + 2] == 0xbe ? "&#xFFFE;" : "&#xFFFF;";
    }
    return NULL;
}

int xml_text(orc_buf *b, const char *s, size_t n, orc_err *e)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t mark = b->len, run = 0, i = 0;
    int rc = ORC_OK;
    char tmp[12];
    while (i < n && !rc) {
        size_t used;
        const char *rep = escape_at(u, n, i, tmp, &used);
        if (!rep) {
            i++;
            continue;
        }
        rc = orc_buf_append(b, s + run, i - run, e);
        if (!rc) rc = orc_buf_puts(b, rep, e);
        i += used;
        run = i;
    }
    if (!rc) rc = orc_buf_append(b, s + run, n - run, e);
    if (rc && b->ptr) b->ptr[b->len = mark] = 0;
    return rc;
}

int xml_elem(orc_buf *b, const char *name, const char *text, orc_err *e)
{
    size_t mark = b->len;
    int rc = xml_open(b, name, NULL, e);
    if (!rc && text) rc = xml_text(b, text, strlen(text), e);
    if (!rc) rc = xml_close(b, name, e);
    if (rc && b->ptr) b->ptr[b->len = mark] = 0;
    return rc;
}

int xml_elemf(orc_buf *b, orc_err *e, const char *name, const char *fmt, ...)
{
    char small[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) return orc_fail(e, ORC_EINTERNAL, "xml_elemf: bad format for <%s>", name);
    if ((size_t)n < sizeof(small)) return xml_elem(b, name, small, e);

    char *big = orc_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = xml_elem(b, name, big, e);
    free(big);
    return rc;
}

/* ---- in ---- */

/* Separates namespace URI from local name in expat's element names. A space
 * cannot occur in a local name, and we take the last one. */
#define NS_SEP ' '
/* XML_Parse takes an int length; larger inputs are fed in pieces. */
#define FEED_MAX (1 << 30)

struct level {
    xml_node *node;
    xml_node *last_child; /* to append children in O(1) */
    orc_buf text;
};

struct parse {
    XML_Parser xp;
    xml_node *root;
    struct level stack[XML_MAX_DEPTH];
    size_t depth;
    size_t nodes, max_nodes;
    size_t text_total, max_text;
    bool failed;
    orc_err *e;
    int code;
};

static unsigned long line(const struct parse *st)
{
    return (unsigned long)XML_GetCurrentLineNumber(st->xp);
}

/* Records the first error and stops expat; handlers that expat still calls
 * after a stop see `failed` and do nothing. */
static void fail(struct parse *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct parse *st, const char *fmt, ...)
{
    if (st->failed) return;
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    st->failed = true;
    st->code = orc_fail(st->e, ORC_EINVAL, "malformed XML: %s", msg);
    XML_StopParser(st->xp, XML_FALSE);
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct parse *st = ud;
    if (st->failed) return;
    if (st->depth == XML_MAX_DEPTH) {
        fail(st, "elements nested deeper than %d at line %lu", XML_MAX_DEPTH, line(st));
        return;
    }
    if (st->nodes == st->max_nodes) {
        fail(st, "more than %zu elements at line %lu", st->max_nodes, line(st));
        return;
    }
    const char *local = strrchr(name, NS_SEP);
    local = local ? local + 1 : name;

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
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    struct parse *st = ud;
    if (st->failed || st->depth == 0) return;
    struct level *lv = &st->stack[--st->depth];
    xml_node *n = lv->node;
    if (lv->text.ptr) {
        n->text = (char *)orc_buf_take(&lv->text, &n->text_len);
    } else {
        n->text = orc_strdup("");
        n->text_len = 0;
    }
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    struct parse *st = ud;
    if (st->failed || st->depth == 0 || len <= 0) return;
    /* Without a DTD no entity expands, so text never outgrows the input; the
     * check keeps that true should the parser setup ever change. */
    if ((size_t)len > st->max_text - st->text_total) {
        fail(st, "more text than input at line %lu", line(st));
        return;
    }
    st->text_total += (size_t)len;
    /* No ceiling on the buffer, so this cannot fail. */
    orc_buf_append(&st->stack[st->depth - 1].text, s, (size_t)len, NULL);
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    fail(ud, "DOCTYPE %.64s not allowed (line %lu)", name, line(ud));
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
                              int value_len, const XML_Char *base, const XML_Char *sysid,
                              const XML_Char *pubid, const XML_Char *notation)
{
    fail(ud, "entity declaration %.64s not allowed (line %lu)", name, line(ud));
}

static int feed(struct parse *st, const char *data, size_t len)
{
    size_t off = 0;
    do {
        size_t n = len - off > FEED_MAX ? FEED_MAX : len - off;
        bool final = off + n == len;
        if (XML_Parse(st->xp, data + off, (int)n, final) != XML_STATUS_OK) {
            if (st->failed) return st->code;
            return orc_fail(st->e, ORC_EINVAL, "malformed XML at line %lu column %lu: %s",
                            (unsigned long)XML_GetCurrentLineNumber(st->xp),
                            (unsigned long)XML_GetCurrentColumnNumber(st->xp),
                            XML_ErrorString(XML_GetErrorCode(st->xp)));
        }
        off += n;
    } while (off < len);
    if (!st->root || st->depth != 0)
        return orc_fail(st->e, ORC_EINVAL, "malformed XML: incomplete document");
    return ORC_OK;
}

int xml_parse(const char *data, size_t len, size_t max_nodes, xml_node **root, orc_err *e)
{
    *root = NULL;
    if (!data || len == 0) return orc_fail(e, ORC_EINVAL, "malformed XML: empty body");

    struct parse st = {
        .max_nodes = max_nodes ? max_nodes : XML_MAX_NODES,
        .max_text = len,
        .e = e,
    };
    st.xp = XML_ParserCreateNS(NULL, NS_SEP);
    if (!st.xp) return orc_fail(e, ORC_EINTERNAL, "expat: cannot create parser");
    XML_SetUserData(st.xp, &st);
    XML_SetElementHandler(st.xp, on_start, on_end);
    XML_SetCharacterDataHandler(st.xp, on_text);
    XML_SetStartDoctypeDeclHandler(st.xp, on_doctype);
    XML_SetEntityDeclHandler(st.xp, on_entity);
    XML_SetParamEntityParsing(st.xp, XML_PARAM_ENTITY_PARSING_NEVER);

    int rc = feed(&st, data, len);
    XML_ParserFree(st.xp);
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
