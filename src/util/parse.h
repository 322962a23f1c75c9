/* Small strict parsers for numbers that come from the network or a config
 * file: decimal digits only (no sign, space or base prefix), overflow-checked.
 * They advance nothing and write *out only on success. */
#ifndef ORC_UTIL_PARSE_H
#define ORC_UTIL_PARSE_H

#include <stdint.h>

/* s is one or more decimal digits whose value is at most max: 0, else -1. */
int parse_uint_max(const char *s, uint64_t max, uint64_t *out);

static inline int parse_u64(const char *s, uint64_t *out)
{
    return parse_uint_max(s, UINT64_MAX, out);
}

#endif
