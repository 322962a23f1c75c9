/* XML for S3 request and response bodies: out, a small writer that escapes
 * text (here); in, the bounded reader of util/xml.h, included since nearly
 * every S3 handler that writes XML also reads it. */
#ifndef ORC_S3_XML_H
#define ORC_S3_XML_H

#include <stddef.h>

#include "util/buf.h"
#include "util/xml.h"

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

#endif
