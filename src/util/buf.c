/* orc_buf: growable buffer with a ceiling. */
#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

void orc_buf_init(orc_buf *b, size_t max)
{
    b->ptr = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

void orc_buf_dispose(orc_buf *b)
{
    free(b->ptr);
    b->ptr = NULL;
    b->len = b->cap = 0;
}

void orc_buf_reset(orc_buf *b)
{
    b->len = 0;
    if (b->ptr) b->ptr[0] = 0;
}

int orc_buf_reserve(orc_buf *b, size_t n, orc_err *e)
{
    if (n > SIZE_MAX - b->len - 1 || (b->max && b->len + n > b->max))
        return orc_fail(e, ORC_ENOSPC, "buffer limit of %zu bytes exceeded", b->max);
    size_t need = b->len + n + 1;
    if (need <= b->cap) return ORC_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (b->max && cap > b->max + 1) cap = b->max + 1;
    b->ptr = orc_realloc(b->ptr, cap);
    b->cap = cap;
    return ORC_OK;
}

int orc_buf_append(orc_buf *b, const void *p, size_t n, orc_err *e)
{
    int rc = orc_buf_reserve(b, n, e);
    if (rc) return rc;
    if (n) memcpy(b->ptr + b->len, p, n);
    b->len += n;
    b->ptr[b->len] = 0;
    return ORC_OK;
}

int orc_buf_puts(orc_buf *b, const char *s, orc_err *e)
{
    return orc_buf_append(b, s, strlen(s), e);
}

int orc_buf_printf(orc_buf *b, orc_err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return orc_fail(e, ORC_EINTERNAL, "bad format");
    int rc = orc_buf_reserve(b, (size_t)n, e);
    if (rc) return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->ptr + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return ORC_OK;
}

uint8_t *orc_buf_take(orc_buf *b, size_t *len)
{
    uint8_t *p = b->ptr;
    if (len) *len = b->len;
    b->ptr = NULL;
    b->len = b->cap = 0;
    return p;
}
