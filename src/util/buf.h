/* An owned, growable byte buffer with a ceiling (curl's dynbuf), and a
 * non-owning string view.
 *
 * The buffer is always NUL-terminated past len when ptr is not NULL, so text
 * built in it can be used as a C string. */
#ifndef ORC_UTIL_BUF_H
#define ORC_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct orc_buf {
    uint8_t *ptr;
    size_t len;
    size_t cap;
    size_t max; /* 0: no ceiling */
} orc_buf;

typedef struct orc_str {
    const char *ptr;
    size_t len;
} orc_str;

void orc_buf_init(orc_buf *b, size_t max);
void orc_buf_dispose(orc_buf *b);
void orc_buf_reset(orc_buf *b); /* len = 0, memory kept */
/* Make room for n more bytes. ORC_ENOSPC past max. */
int orc_buf_reserve(orc_buf *b, size_t n, orc_err *e);
int orc_buf_append(orc_buf *b, const void *p, size_t n, orc_err *e);
int orc_buf_puts(orc_buf *b, const char *s, orc_err *e);
int orc_buf_printf(orc_buf *b, orc_err *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Hands the memory to the caller (free with free()); the buffer is empty after. */
uint8_t *orc_buf_take(orc_buf *b, size_t *len);

#define ORC_STR(lit) ((orc_str){(lit), sizeof(lit) - 1})

#endif
