/* Fuzz target: one page of an Azure List Blobs reply (azure_list_parse).
 * The first byte picks the blob prefix and after how many chunks the
 * callback stops the walk. Every chunk reported is a chunk name; a stop is
 * returned as is and ends the calls; a marker fits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "provider/azure_list.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
    unsigned calls, stop_after; /* 0: never stop */
    int stopped;
};

static int on_chunk(void *ctx, const char *name, uint64_t size)
{
    struct seen *s = ctx;
    if (s->stopped || !azure_name_ok(name)) abort();
    s->calls++;
    if (s->stop_after && s->calls == s->stop_after) return s->stopped = 42;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t ctl = data[0];
    struct seen s = {.stop_after = ctl >> 1};
    static azure_list_page pg; /* large: the marker */
    pg = (azure_list_page){
        .provider = "az", .prefix = (ctl & 1) ? "p/" : "", .fn = on_chunk, .ctx = &s};
    orc_err e = {0};
    int rc = azure_list_parse(&pg, (const char *)data + 1, size - 1, &e);
    if (s.stopped ? rc != 42 : rc != 0 && (rc != ORC_EIO || e.code != ORC_EIO)) abort();
    if (strnlen(pg.marker, sizeof(pg.marker)) > AZURE_MARKER_MAX) abort();
    return 0;
}
