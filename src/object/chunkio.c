/* Chunk I/O shared by PUT, multipart, GET, repair and the collector: a
 * chunk's provider names, claiming it, writing its pieces with the intent
 * record, and reading it back verified. One place for what a piece is, so a
 * layout (replicate:N, ec:K+M) means the same to every path. */
#include "object/object.h"
#include "object/object_int.h"

#include <string.h>
#include <time.h>

#include "util/log.h"

#define CLAIM_WAIT_MS 30000 /* how long to wait for another upload's pending chunk */

void object_chunk_names(const store *s, const uint8_t h[32], const meta_layout *lay,
                        struct chunk_names *out)
{
    memset(&out->nm, 0, sizeof(out->nm));
    /* A chunk being re-encoded may have both kinds; every chunk has a whole
     * name (cheap: one HMAC), fragment names only when it is coded. */
    seal_name(s->keys, h, out->whole);
    out->nm.whole = out->whole;
    int w = lay->ec_k > 0 ? lay->ec_k + lay->ec_m : 0;
    for (int i = 0; i < w && i < EC_MAX_FRAGMENTS; i++) {
        seal_fragment_name(s->keys, h, (uint8_t)i, out->frag[i]);
        out->nm.frag[i] = out->frag[i];
    }
}

place_policy object_chunk_policy(const store *s, const meta_layout *lay)
{
    place_policy pol = *place_default_policy(s->pl);
    if (lay->ec_k > 0) {
        pol.kind = PLACE_EC;
        pol.k = lay->ec_k;
        pol.m = lay->ec_m;
    } else {
        pol.kind = PLACE_REPLICATE;
        pol.copies = lay->width > 0 ? lay->width : object_legacy_width(s);
    }
    pol.write_quorum = object_layout_quorum(s, lay);
    return pol;
}

int object_legacy_width(const store *s)
{
    /* Chunks from before schema 6 were replicated to the one placement of
     * the time; a replicated default is taken to be that one. */
    const place_policy *d = place_default_policy(s->pl);
    return d->kind == PLACE_REPLICATE ? d->copies : 2;
}

int object_chunk_claim(store *s, const place_policy *pol, const uint8_t h[32], size_t len,
                       meta_chunk *c, bool *is_new, orc_err *e)
{
    meta_layout lay = object_layout(pol);
    for (int waited = 0;; waited += 5) {
        int rc = meta_chunk_claim(s->m, h, (uint32_t)len, (uint32_t)seal_sealed_len(len),
                                  SEAL_FORMAT, s->keys->key_version, &lay, c, is_new, e);
        if (rc != ORC_EBUSY) return rc;
        if (waited >= CLAIM_WAIT_MS)
            return orc_fail(e, ORC_ETRANSIENT, "chunk busy for %d s", CLAIM_WAIT_MS / 1000);
        nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
    }
}

#define FENCE_WAIT_STEP_MS 20

int object_record_pending(void *ctx, const uint32_t *ids, const int16_t *frags, int n, orc_err *e)
{
    struct pending_ctx *p = ctx;
    const char *names[META_MAX_COPIES];
    if (n > META_MAX_COPIES) return orc_fail(e, ORC_EINVAL, "%d pieces at once", n);
    for (int i = 0; i < n; i++)
        names[i] = frags && frags[i] != PLACE_WHOLE ? p->cn->frag[frags[i]] : p->cn->whole;
    return meta_chunk_copies_pending_named(p->m, p->chunk_id, ids, frags, names, n, e);
}

int object_chunk_clear_pending(store *s, const meta_chunk *c, orc_err *e)
{
    meta_chunk p = *c;
    int first = meta_chunk_pending_list(s->m, c->id, p.copies, p.frags, &p.ncopies, e);
    for (int i = 0; !first && i < p.ncopies; i++) {
        meta_chunk one = p;
        orc_err pe = {0};
        one.copies[0] = p.copies[i];
        one.frags[0] = p.frags[i];
        one.ncopies = 1;
        /* Deleted first: a forgotten piece must be gone from its provider.
         * One that cannot be deleted stays recorded; the others go on. */
        int rc = object_chunk_delete(s, &one, &pe);
        if (!rc) rc = meta_chunk_copy_forget(s->m, c->id, p.copies[i], &pe);
        if (rc && !first) first = orc_fail_copy(e, rc, &pe);
    }
    return first;
}

int object_chunk_write(store *s, const meta_chunk *c, const uint8_t *sealed, size_t len, orc_err *e)
{
    uint32_t ids[META_MAX_COPIES];
    int16_t frags[META_MAX_COPIES];
    int n = 0;
    struct chunk_names cn;
    place_policy pol = object_chunk_policy(s, &c->layout);
    object_chunk_names(s, c->hash, &c->layout, &cn);
    struct pending_ctx pc = {s->m, c->id, &cn};
    place_intent in = {object_record_pending, &pc};
    /* A taken-over chunk's leftovers may be pieces of another layout, and a
     * provider holds one piece of a chunk: clear them first. */
    if (c->ncopies > 0) {
        orc_err ce = {0};
        if (object_chunk_clear_pending(s, c, &ce)) /* the write may still fit beside them */
            LOG_DEBUG("chunk %lld: leftover pieces stay: %s", (long long)c->id, ce.msg);
    }
    int rc;
    /* A name fenced by fsck (an orphan of it being deleted) is free again
     * within a delete's time: wait for it rather than fail the upload. */
    for (int waited = 0;; waited += FENCE_WAIT_STEP_MS) {
        rc = place_write(s->pl, &pol, &cn.nm, sealed, len, &in, ids, frags, &n, e);
        if (rc != ORC_EBUSY || waited >= CLAIM_WAIT_MS) break;
        nanosleep(&(struct timespec){0, FENCE_WAIT_STEP_MS * 1000 * 1000}, NULL);
    }
    if (rc == ORC_ECONFLICT) /* a provider still holds another piece of it */
        rc = orc_fail(e, ORC_ETRANSIENT,
                      "chunk %lld: leftover pieces of an earlier write "
                      "could not be removed yet; retry",
                      (long long)c->id);
    if (!rc) rc = meta_chunk_commit(s->m, c->id, ids, frags, n, e);
    if (rc) meta_chunk_abandon(s->m, c->id, NULL);
    return rc;
}

struct read_ctx {
    store *s;
    const meta_chunk *c;
    bool decrypt;
    orc_buf scratch; /* !decrypt: where authentication decrypts to */
    const uint8_t *plain;
    int nbad; /* pieces that failed verification, marked once the read succeeds */
    uint32_t bad_ids[META_MAX_COPIES];
    int16_t bad_frags[META_MAX_COPIES];
};

/* place_verify_fn: the sealed chunk (a whole copy, or rebuilt from
 * fragments) authenticates under the chunk's hash; with decrypt, in place. */
static int verify(void *arg, orc_buf *sealed, orc_err *e)
{
    struct read_ctx *r = arg;
    const meta_chunk *c = r->c;
    size_t n = 0;
    if (sealed->len != (size_t)c->sealed_len)
        return orc_fail(e, ORC_ECORRUPT, "sealed length %zu, expected %u", sealed->len,
                        c->sealed_len);
    uint8_t *out = sealed->ptr + SEAL_HEADER_LEN;
    if (!r->decrypt) {
        orc_buf_reset(&r->scratch);
        /* The padding is decrypted too: room for the whole body. */
        if (orc_buf_reserve(&r->scratch, sealed->len, e)) return ORC_EINTERNAL;
        out = r->scratch.ptr;
    }
    int rc = seal_open(r->s->keys, c->hash, c->format, sealed->ptr, sealed->len, out, &n, e);
    if (rc) return rc;
    if (n != c->plain_len) return orc_fail(e, ORC_ECORRUPT, "plaintext length mismatch");
    r->plain = out;
    return ORC_OK;
}

/* place_bad_fn: notes a piece that failed verification. */
static void bad_piece(void *arg, uint32_t id, int16_t frag)
{
    struct read_ctx *r = arg;
    if (r->nbad >= META_MAX_COPIES) return;
    r->bad_ids[r->nbad] = id;
    r->bad_frags[r->nbad++] = frag;
}

/* After a good read, the bad pieces stop being read and counted, and repair
 * replaces them. Only then: when nothing verifies, the fault may be the
 * reader's (a key, a bug), and marking every piece would leave repair no
 * source and the chunk unreadable for good. */
static void mark_bad(struct read_ctx *r)
{
    for (int i = 0; i < r->nbad; i++) {
        orc_err e = {0};
        if (meta_chunk_copy_suspect(r->s->m, r->c->id, r->bad_ids[i], r->bad_frags[i], &e))
            LOG_WARN("chunk %lld: could not mark a bad piece for repair: %s", (long long)r->c->id,
                     e.msg);
    }
}

/* object_chunk_read; the pieces that failed verification are left in r. */
static int chunk_read(store *s, const meta_chunk *c, bool decrypt, orc_buf *out,
                      const uint8_t **plain, struct read_ctx *rr, orc_err *e)
{
    struct chunk_names cn;
    struct read_ctx r = {.s = s, .c = c, .decrypt = decrypt};
    orc_buf_init(&r.scratch, 0);
    object_chunk_names(s, c->hash, &c->layout, &cn);
    place_read_args a = {
        .names = &cn.nm,
        .k = c->layout.ec_k,
        .m = c->layout.ec_m,
        .size = c->sealed_len,
        .ids = c->copies,
        .frags = c->frags,
        .n = c->ncopies,
        .verify = verify,
        .ctx = &r,
        .bad = bad_piece,
        .bad_ctx = &r,
    };
    int rc = place_read(s->pl, &a, out, e);
    orc_buf_dispose(&r.scratch);
    if (!rc) mark_bad(&r);
    if (plain) *plain = !rc && decrypt ? r.plain : NULL;
    *rr = r;
    return rc;
}

/* Whether a and b list the same pieces. */
static bool same_pieces(const meta_chunk *a, const meta_chunk *b)
{
    if (a->ncopies != b->ncopies) return false;
    for (int i = 0; i < a->ncopies; i++)
        if (a->copies[i] != b->copies[i] || a->frags[i] != b->frags[i]) return false;
    return true;
}

int object_chunk_read(store *s, const meta_chunk *c, bool decrypt, orc_buf *out,
                      const uint8_t **plain, orc_err *e)
{
    struct read_ctx r;
    int rc = chunk_read(s, c, decrypt, out, plain, &r, e);
    if (rc != ORC_ENOTFOUND && rc != ORC_ECORRUPT) return rc;
    /* The pieces this read was given may have moved since it looked them up
     * (a drain, repair): with the ones recorded now, once. */
    meta_chunk now;
    if (meta_chunk_get(s->m, c->id, &now, NULL) || now.state != META_CHUNK_LIVE ||
        memcmp(now.hash, c->hash, sizeof(now.hash)) != 0 || same_pieces(&now, c))
        return rc;
    return chunk_read(s, &now, decrypt, out, plain, &r, e);
}

int object_chunk_read_good(store *s, meta_chunk *c, orc_buf *out, orc_err *e)
{
    struct read_ctx r;
    int rc = chunk_read(s, c, false, out, NULL, &r, e);
    if (rc) return rc;
    int kept = 0;
    for (int i = 0; i < c->ncopies; i++) {
        bool bad = false;
        for (int j = 0; j < r.nbad && !bad; j++)
            bad = r.bad_ids[j] == c->copies[i] && r.bad_frags[j] == c->frags[i];
        if (bad) continue;
        c->copies[kept] = c->copies[i];
        c->frags[kept++] = c->frags[i];
    }
    c->ncopies = kept;
    return ORC_OK;
}

int object_chunk_delete(store *s, const meta_chunk *c, orc_err *e)
{
    struct chunk_names cn;
    object_chunk_names(s, c->hash, &c->layout, &cn);
    /* Every piece a write started is recorded (PENDING or LIVE) before it
     * is sent; a chunk with none recorded (left by an older version, or a
     * crash before the record) may be on any provider: n 0 means every
     * name on all of them. */
    return place_delete(s->pl, &cn.nm, c->copies, c->frags, c->ncopies, e);
}
