/* XML out for S3 bodies: a writer that appends to an orc_buf and escapes all
 * text the way S3 does. XML in is util/xml.c, shared with the providers. */
#include "s3/xml.h"

#include <stdarg.h>
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
