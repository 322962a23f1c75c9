/* Aborting allocators. */
#include "util/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    fprintf(stderr, "orchard: out of memory allocating %zu bytes\n", n);
    abort();
}

void *orc_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *orc_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) oom(count * size);
    return p;
}

void *orc_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

void *orc_malloc_aligned(size_t align, size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, align, n ? n : 1)) oom(n);
    return p;
}

char *orc_strdup(const char *s)
{
    return orc_strndup(s, strlen(s));
}

char *orc_strndup(const char *s, size_t n)
{
    char *p = orc_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
