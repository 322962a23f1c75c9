/* Repair: gives under-replicated chunks (written while providers were down,
 * or whose copies were lost) their missing copies again, from a copy that
 * verifies. Runs in the background beside the collector. */
#include "object/object.h"
#include "object/object_int.h"

#include <stdlib.h>

#include "util/log.h"

#define REPAIR_BATCH 100

struct verify_ctx {
    const seal_keys *keys;
    const meta_chunk *c;
    orc_buf plain;
};

/* place_verify_fn: a copy is good when it authenticates; the sealed bytes
 * themselves are what gets copied. */
static int verify_sealed(void *arg, orc_buf *sealed, orc_err *e)
{
    struct verify_ctx *v = arg;
    size_t n = 0;
    if (sealed->len != v->c->sealed_len)
        return orc_fail(e, ORC_ECORRUPT, "sealed length %zu, expected %u", sealed->len,
                        v->c->sealed_len);
    orc_buf_reset(&v->plain);
    /* The padding is decrypted too: room for the whole body. */
    if (orc_buf_reserve(&v->plain, sealed->len, e)) return ORC_EINTERNAL;
    return seal_open(v->keys, v->c->hash, v->c->format, sealed->ptr, sealed->len, v->plain.ptr, &n,
                     e);
}

static int repair_one(store *s, const meta_chunk *c, orc_buf *sealed, orc_err *e)
{
    char name[SEAL_NAME_LEN + 1];
    uint32_t ids[META_MAX_COPIES];
    int n = 0;
    struct verify_ctx v = {s->keys, c, {0}};
    orc_buf_init(&v.plain, 0);
    seal_name(s->keys, c->hash, name);
    int rc =
        place_read(s->pl, name, c->sealed_len, c->copies, c->ncopies, verify_sealed, &v, sealed, e);
    orc_buf_dispose(&v.plain);
    if (rc) return rc;
    struct pending_ctx pc = {s->m, c->id};
    place_intent in = {object_record_pending, &pc};
    rc = place_write_more(s->pl, name, sealed->ptr, sealed->len, &in, c->copies, c->ncopies, ids,
                          &n, e);
    if (rc || n == 0) return rc;
    rc = meta_chunk_add_copies(s->m, c->id, ids, n, e);
    if (rc) place_delete(s->pl, name, ids, n, NULL); /* collected meanwhile */
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
        int rc = meta_repair_list(s->m, place_copies(s->pl), after, REPAIR_BATCH, &cs, &n, e);
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
        LOG_WARN("repair: %ld chunks still under-replicated (chunk %lld: %s)", failed,
                 (long long)first_id, last.msg);
    return fixed;
}
