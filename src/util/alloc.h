/* Allocation that never returns NULL: on failure it logs the size and aborts,
 * as Redis and h2o do. Sizes that the network controls must be checked by the
 * caller before they get here. */
#ifndef ORC_UTIL_ALLOC_H
#define ORC_UTIL_ALLOC_H

#include <stddef.h>

void *orc_malloc(size_t n);
void *orc_calloc(size_t count, size_t size);
void *orc_realloc(void *p, size_t n);
/* n bytes aligned to align (a power of two, multiple of sizeof(void *));
 * free with free(). For buffers that may go to O_DIRECT I/O. */
void *orc_malloc_aligned(size_t align, size_t n);
char *orc_strdup(const char *s);
char *orc_strndup(const char *s, size_t n);

#endif
