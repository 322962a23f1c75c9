/* XML in: one expat setup for every document Orchard reads (S3 request
 * bodies, S3 and Azure backend replies). A streaming reader calls handlers
 * per element; a small bounded tree is built on it for short documents.
 * Both refuse DTDs and entity declarations, so no entity can expand
 * (billion laughs) or reach outside the document (XXE). */
#ifndef ORC_UTIL_XML_H
#define ORC_UTIL_XML_H

#include <stddef.h>

#include "util/err.h"

/* ---- streaming ---- */
typedef struct xml_reader xml_reader;

/* Element names are local names (namespace URI stripped); attrs is expat's
 * NULL-terminated name, value, name, value ... array. Each handler may be
 * NULL. A non-zero result stops the parse, no handler is called after it,
 * and xml_read returns it: the handler fills the caller's orc_err itself. */
typedef struct xml_handlers {
    int (*start)(xml_reader *r, const char *name, const char **attrs);
    int (*end)(xml_reader *r, const char *name);
    /* Character data in pieces (one element's text may come in several). */
    int (*text)(xml_reader *r, const char *s, size_t len);
} xml_handlers;

/* Parses data[0..len) as one whole document. Returns 0, the first non-zero
 * handler result, or ORC_EINVAL (e says "malformed XML ...") for input that
 * is not well-formed XML or holds a DOCTYPE or an entity declaration. data
 * may be NULL when len is 0 (not a document: ORC_EINVAL). */
int xml_read(const char *data, size_t len, const xml_handlers *h, void *ctx, orc_err *e);
/* The ctx given to xml_read, and the line being parsed (for messages). */
void *xml_reader_ctx(const xml_reader *r);
unsigned long xml_reader_line(const xml_reader *r);

/* ---- tree ---- */
typedef struct xml_node {
    char *name; /* local name, namespace prefix/URI stripped */
    char *text; /* concatenated character data, NUL-terminated ("" if none) */
    size_t text_len;
    struct xml_node *parent, *child, *next; /* first child, next sibling */
} xml_node;

#define XML_MAX_NODES 20000
#define XML_MAX_DEPTH 32

/* Parses a whole document. ORC_EINVAL (-> MalformedXML) on bad XML, more than
 * max_nodes elements (0: XML_MAX_NODES), or nesting deeper than XML_MAX_DEPTH.
 * DTDs and entity declarations are refused. Free with xml_free. */
int xml_parse(const char *data, size_t len, size_t max_nodes, xml_node **root, orc_err *e);
void xml_free(xml_node *root);
/* First child of n named name, or NULL; xml_next_named: next sibling named name. */
xml_node *xml_child(const xml_node *n, const char *name);
xml_node *xml_next_named(const xml_node *n, const char *name);

#endif
