/* XML out (a small writer that escapes text) and XML in (expat into a small
 * bounded tree), for S3 request and response bodies. */
#ifndef ORC_S3_XML_H
#define ORC_S3_XML_H

#include <stddef.h>

#include "util/buf.h"

/* ---- out ---- */
/* Appends the XML declaration. */
int xml_decl(orc_buf *b, orc_err *e);
/* <name> and </name>; attrs, if not NULL, is written verbatim after the name. */
int xml_open(orc_buf *b, const char *name, const char *attrs, orc_err *e);
int xml_close(orc_buf *b, const char *name, orc_err *e);
/* Appends text escaped for element content (& < > " ' and control characters). */
int xml_text(orc_buf *b, const char *s, size_t n, orc_err *e);
/* <name>escaped text</name> */
int xml_elem(orc_buf *b, const char *name, const char *text, orc_err *e);
int xml_elemf(orc_buf *b, orc_err *e, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- in ---- */
typedef struct xml_node {
    char *name; /* local name, namespace prefix/URI stripped */
    char *text; /* concatenated character data, NUL-terminated ("" if none) */
    size_t text_len;
    struct xml_node *parent, *child, *next; /* first child, next sibling */
} xml_node;

#define XML_MAX_NODES 20000
#define XML_MAX_DEPTH 32

/* Parses a whole document. ORC_EINVAL (-> MalformedXML) on bad XML, more than
 * max_nodes elements, or nesting deeper than XML_MAX_DEPTH. DTDs and entity
 * declarations are refused. Free with xml_free. */
int xml_parse(const char *data, size_t len, size_t max_nodes, xml_node **root, orc_err *e);
void xml_free(xml_node *root);
/* First child of n named name, or NULL; xml_next_named: next sibling named name. */
xml_node *xml_child(const xml_node *n, const char *name);
xml_node *xml_next_named(const xml_node *n, const char *name);

#endif
