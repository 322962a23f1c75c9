/* Fuzz target: percent-decoding (byte-exact and text, which refuses NUL),
 * encode/decode round trips, and UTF-8 validation of what decodes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/uri.h"
#include "util/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    orc_buf dec, enc, back;
    orc_buf_init(&dec, 0);
    orc_buf_init(&enc, 0);
    orc_buf_init(&back, 0);
    int rc = uri_decode(&dec, (const char *)data, size, NULL);
    orc_buf text;
    orc_buf_init(&text, 0);
    /* text decoding succeeds exactly when the bytes decode to no NUL */
    bool nul = rc == 0 && dec.len && memchr(dec.ptr, 0, dec.len);
    if ((uri_decode_text(&text, (const char *)data, size, NULL) == 0) != (rc == 0 && !nul)) abort();
    if (rc == 0) (void)utf8_valid((const char *)dec.ptr, dec.len);
    orc_buf_dispose(&text);
    if (uri_encode(&enc, (const char *)data, size, size & 1, NULL) == 0 &&
        uri_decode(&back, enc.ptr ? (const char *)enc.ptr : "", enc.len, NULL) == 0 &&
        (back.len != size || (size && memcmp(back.ptr, data, size) != 0)))
        abort();
    orc_buf_dispose(&dec);
    orc_buf_dispose(&enc);
    orc_buf_dispose(&back);
    return 0;
}
