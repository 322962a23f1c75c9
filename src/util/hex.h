/* Lowercase hex encoding and strict decoding. */
#ifndef ORC_UTIL_HEX_H
#define ORC_UTIL_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2*n hex digits and a NUL to out. */
void hex_encode(const uint8_t *in, size_t n, char *out);
/* Decodes exactly 2*n hex digits (either case) from in. -1 on any bad digit. */
int hex_decode(const char *in, size_t n, uint8_t *out);

#endif
