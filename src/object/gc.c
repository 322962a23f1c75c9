/* Garbage collection of unreferenced chunks. The metadata store's chunk life
 * cycle (meta.h) makes this safe against uploads that dedup onto a chunk: a
 * chunk is only marked after the grace period without a claim, and once
 * marked it is never handed to an upload. */
#include "object/object_int.h"

#include <stdlib.h>

#include "util/log.h"
#include "util/time.h"

#define GC_BATCH 500

long object_gc_pass(store *s, orc_err *e)
{
    long total = 0;
    for (;;) {
        meta_chunk *cs = NULL;
        size_t n = 0;
        int rc = meta_gc_mark(s->m, orc_now_ms() - s->gc_grace_ms, GC_BATCH, &cs, &n, e);
        if (rc) return rc;
        size_t done = 0;
        for (size_t i = 0; i < n; i++) {
            orc_err de = {0};
            if (object_chunk_delete(s, &cs[i], &de)) {
                LOG_WARN("gc: chunk %lld: %s; will retry", (long long)cs[i].id, de.msg);
                continue;
            }
            if (meta_gc_forget(s->m, cs[i].id, &de) == 0) done++;
        }
        free(cs);
        total += (long)done;
        if (n < GC_BATCH || done == 0) break;
    }
    return total;
}
