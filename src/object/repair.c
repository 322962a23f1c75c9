/* Repair: gives chunks below full redundancy (written while providers were
 * down, or whose pieces were lost or failed verification) their missing
 * copies or fragments again, rebuilt from pieces that verify. Runs in the
 * background beside the collector. */
#include "object/object.h"
#include "object/object_int.h"

#include <stdlib.h>

#include "util/log.h"

#define REPAIR_BATCH 100

/* Rebuilds chunk c from pieces that verify (a whole copy, or any K
 * fragments) and writes the pieces it lacks; each counts only once it is
 * durable (meta_chunk_add_copies after the provider said so). */
static int repair_one(store *s, const meta_chunk *c, orc_buf *sealed, orc_err *e)
{
    uint32_t ids[META_MAX_COPIES];
    int16_t frags[META_MAX_COPIES];
    int n = 0;
    int rc = object_chunk_clear_pending(s, c, e);
    if (!rc) rc = object_chunk_read(s, c, false, sealed, NULL, e);
    if (rc) return rc;
    struct chunk_names cn;
    object_chunk_names(s, c->hash, &c->layout, &cn);
    place_policy pol = object_chunk_policy(s, &c->layout);
    struct pending_ctx pc = {s->m, c->id};
    place_intent in = {object_record_pending, &pc};
    rc = place_write_more(s->pl, &pol, &cn.nm, sealed->ptr, sealed->len, &in, c->copies, c->frags,
                          c->ncopies, ids, frags, &n, e);
    if (rc || n == 0) return rc;
    rc = meta_chunk_add_copies(s->m, c->id, ids, frags, n, e);
    if (rc) place_delete(s->pl, &cn.nm, ids, frags, n, NULL); /* collected meanwhile */
    return rc;
}

long object_repair_pass(store *s, orc_err *e)
{
    long fixed = 0, failed = 0;
    int64_t after = 0, first_id = 0;
    orc_err last = {0};
    orc_buf sealed;
    orc_buf_init(&sealed, 0);
    for (;;) {
        meta_chunk *cs = NULL;
        size_t n = 0;
        int rc = meta_repair_list(s->m, object_legacy_width(s), after, REPAIR_BATCH, &cs, &n, e);
        if (rc) {
            orc_buf_dispose(&sealed);
            return rc;
        }
        for (size_t i = 0; i < n; i++) {
            orc_err re = {0};
            after = cs[i].id;
            if (repair_one(s, &cs[i], &sealed, &re) == 0) {
                fixed++;
            } else if (failed++ == 0) { /* one line a pass, not one per chunk */
                last = re;
                first_id = cs[i].id;
            }
        }
        free(cs);
        if (n < REPAIR_BATCH) break;
    }
    orc_buf_dispose(&sealed);
    if (failed)
        LOG_WARN("repair: %ld chunks still below full redundancy (chunk %lld: %s)", failed,
                 (long long)first_id, last.msg);
    return fixed;
}
