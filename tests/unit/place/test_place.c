/* Placement over the fake in-memory providers of fakes/fake_provider.h with
 * scripted faults: choice of providers, parallel copies, failover,
 * min_copies, health, verified reads; erasure-coded chunks (ec:4+2) written,
 * read with pieces lost or lying, and written with a hung provider under a
 * write quorum; hedged writes and reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fakes/fake_provider.h"
#include "meta/meta.h"
#include "place/place.h"
#include "provider/provider_impl.h"
#include "util/time.h"

#define WORLD_MAX 8

typedef struct world {
    provider *f[WORLD_MAX];   /* fakes/fake_provider.h; f[i] has id i + 1 */
    provider *top[WORLD_MAX]; /* what the place uses: f[i], or a stack over it */
    int n;
    place *pl;
    place_policy pol;
} world;

/* faults NULL: the place uses the bare fakes. Otherwise each provider is a
 * stack as provider_open builds one (metrics over health over the fault
 * decorator over the fake, no retry) with faults[i] (may be NULL) as f[i]'s
 * inline rules: the decorator's hang and delay end when their call is
 * cancelled, the fake's do not (they only look at the deadline), so tests
 * of what cancelling a slow call buys use these. */
static void world_make_with(world *w, int nprov, const place_policy *pol, const char *const *faults)
{
    uint32_t ids[WORLD_MAX];
    char name[16];
    orc_err e = {0};
    w->n = nprov;
    for (int i = 0; i < nprov; i++) {
        snprintf(name, sizeof(name), "f%d", i);
        w->f[i] = w->top[i] = fake_provider_new(name);
        ids[i] = (uint32_t)i + 1;
#ifdef ORCHARD_FAULTS
        if (faults) {
            provider *p;
            assert_int_equal(provider_fault_wrap(w->f[i], faults[i], NULL, &p, &e), 0);
            w->top[i] = provider_metrics_wrap(provider_health_wrap(p));
        }
#else
        assert_null(faults);
#endif
    }
    w->pol = *pol;
    assert_int_equal(place_new(w->top, ids, (size_t)nprov, pol, &w->pl, &e), 0);
}

static void world_make_n(world *w, int nprov, const place_policy *pol)
{
    world_make_with(w, nprov, pol, NULL);
}

static void world_make(world *w, int copies, int min_copies)
{
    place_policy pol = {
        .kind = PLACE_REPLICATE, .copies = copies, .min_copies = min_copies, .probe_interval = 1};
    world_make_n(w, 4, &pol);
}

static void world_free(world *w)
{
    place_free(w->pl);
    for (int i = 0; i < w->n; i++)
        provider_free(w->top[i]); /* and the stack's fake */
}

static int count_holders(world *w, const char *name)
{
    int n = 0;
    for (int i = 0; i < w->n; i++)
        n += fake_has(w->f[i], name);
    return n;
}

/* Whole-copy calls with one name for every copy (replicate worlds). */
static int pw(world *w, const char *name, const uint8_t *d, size_t len, const place_intent *in,
              uint32_t *ids, int *n, orc_err *e)
{
    place_names nm = {.whole = name};
    int16_t frags[META_MAX_COPIES];
    return place_write(w->pl, &w->pol, &nm, d, len, in, ids, frags, n, e);
}

static int pw_more(world *w, const char *name, const uint8_t *d, size_t len, const uint32_t *have,
                   int nhave, uint32_t *ids, int *n, orc_err *e)
{
    place_names nm = {.whole = name};
    int16_t hf[META_MAX_COPIES], frags[META_MAX_COPIES];
    for (int i = 0; i < META_MAX_COPIES; i++)
        hf[i] = PLACE_WHOLE;
    return place_write_more(w->pl, &w->pol, &nm, d, len, NULL, have, hf, nhave, ids, frags, n, e);
}

static int pr(world *w, const char *name, const uint32_t *ids, int n, place_verify_fn v,
              orc_buf *out, orc_err *e)
{
    place_names nm = {.whole = name};
    place_read_args a = {.names = &nm, .size = UINT64_MAX, .ids = ids, .n = n, .verify = v};
    return place_read(w->pl, &a, out, e);
}

static void pdel_all(world *w, const char *name)
{
    place_names nm = {.whole = name};
    place_delete(w->pl, &nm, NULL, NULL, 0, NULL);
}

static void test_write_puts_n_copies_on_distinct_providers(void **state)
{
    world w;
    world_make(&w, 2, 2);
    uint32_t ids[META_MAX_COPIES];
    int n;
    orc_err e;
    char name[16];
    int load[4] = {0};
    for (int k = 0; k < 40; k++) {
        snprintf(name, sizeof(name), "c%02d", k);
        assert_int_equal(pw(&w, name, (const uint8_t *)"x", 1, NULL, ids, &n, &e), 0);
        assert_int_equal(n, 2);
        assert_int_not_equal(ids[0], ids[1]);
        assert_int_equal(count_holders(&w, name), 2);
        for (int i = 0; i < 4; i++)
            load[i] += fake_has(w.f[i], name);
    }
    for (int i = 0; i < 4; i++)
        assert_true(load[i] > 5); /* rendezvous spreads the load */
    world_free(&w);
}

static void test_failed_provider_is_replaced_and_marked_down(void **state)
{
    world w;
    world_make(&w, 2, 2);
    fake_set_fail(w.f[0], ORC_ETRANSIENT);
    uint32_t ids[META_MAX_COPIES];
    int n;
    orc_err e;
    char name[16];
    for (int k = 0; k < 20; k++) {
        snprintf(name, sizeof(name), "d%02d", k);
        assert_int_equal(pw(&w, name, (const uint8_t *)"y", 1, NULL, ids, &n, &e), 0);
        assert_int_equal(n, 2);
        assert_false(fake_has(w.f[0], name));
    }
    assert_false(provider_is_up(w.f[0]));
    uint64_t attempts = w.f[0]->puts;
    for (int k = 20; k < 30; k++) { /* down: skipped, not even tried */
        snprintf(name, sizeof(name), "d%02d", k);
        assert_int_equal(pw(&w, name, (const uint8_t *)"y", 1, NULL, ids, &n, &e), 0);
    }
    assert_int_equal(w.f[0]->puts, attempts);
    fake_set_fail(w.f[0], 0);
    provider_probe(w.f[0]); /* answers again: up */
    assert_true(provider_is_up(w.f[0]));
    world_free(&w);
}

static void test_min_copies_allows_fewer_and_refuses_below(void **state)
{
    world w;
    world_make(&w, 3, 2);
    uint32_t ids[META_MAX_COPIES];
    int n;
    orc_err e;
    fake_set_fail(w.f[0], ORC_ETRANSIENT);
    fake_set_fail(w.f[1], ORC_ETRANSIENT);
    assert_int_equal(pw(&w, "m1", (const uint8_t *)"z", 1, NULL, ids, &n, &e), 0);
    assert_int_equal(n, 2); /* under-replicated but accepted */
    fake_set_fail(w.f[2], ORC_ETRANSIENT);
    assert_int_equal(pw(&w, "m2", (const uint8_t *)"z", 1, NULL, ids, &n, &e), ORC_ETRANSIENT);
    assert_int_equal(n, 0);
    assert_int_equal(count_holders(&w, "m2"), 0); /* the partial copy was removed */
    assert_non_null(strstr(e.msg, "copies"));
    world_free(&w);
}

/* The copies below hold "G"; anything else is a bad copy. */
static int verify_is_g(void *ctx, orc_buf *d, orc_err *e)
{
    return d->len != 1 || d->ptr[0] != 'G' ? orc_fail(e, ORC_ECORRUPT, "bad copy") : ORC_OK;
}

static void test_read_falls_through_corrupt_and_missing_copies(void **state)
{
    world w;
    world_make(&w, 3, 3);
    uint32_t ids[META_MAX_COPIES];
    int n;
    orc_err e;
    assert_int_equal(pw(&w, "r1", (const uint8_t *)"G", 1, NULL, ids, &n, &e), 0);
    assert_int_equal(n, 3);
    /* corrupt one copy, delete another */
    provider *bad = NULL, *gone = NULL;
    for (int i = 0; i < 4; i++) {
        if (!fake_has(w.f[i], "r1")) continue;
        if (!bad)
            bad = w.f[i];
        else if (!gone)
            gone = w.f[i];
    }
    assert_true(fake_corrupt_blob(bad, "r1"));
    assert_int_equal(provider_del(gone, "r1", NULL), ORC_OK);
    orc_buf out;
    orc_buf_init(&out, 0);
    for (int k = 0; k < 5; k++) {
        assert_int_equal(pr(&w, "r1", ids, n, verify_is_g, &out, &e), 0);
        assert_int_equal(out.len, 1);
        assert_int_equal(out.ptr[0], 'G');
    }
    /* every copy bad: an error, never the bytes (bad's is already) */
    for (int i = 0; i < 4; i++)
        if (w.f[i] != bad && fake_has(w.f[i], "r1")) assert_true(fake_corrupt_blob(w.f[i], "r1"));
    assert_int_equal(pr(&w, "r1", ids, n, verify_is_g, &out, &e), ORC_ECORRUPT);
    assert_int_equal(out.len, 0);
    orc_buf_dispose(&out);
    world_free(&w);
}

static void test_write_more_adds_missing_copies_and_never_deletes_old_ones(void **state)
{
    world w;
    world_make(&w, 3, 1);
    uint32_t ids[META_MAX_COPIES], more[META_MAX_COPIES];
    int n, m;
    orc_err e;
    for (int i = 0; i < 4; i++)
        fake_set_fail(w.f[i], ORC_ETRANSIENT);
    fake_set_fail(w.f[3], 0);
    assert_int_equal(pw(&w, "p1", (const uint8_t *)"Q", 1, NULL, ids, &n, &e), 0);
    assert_int_equal(n, 1);
    /* every other provider still failing: the repair fails, the one copy stays */
    assert_int_equal(pw_more(&w, "p1", (const uint8_t *)"Q", 1, ids, n, more, &m, &e),
                     ORC_ETRANSIENT);
    assert_int_equal(count_holders(&w, "p1"), 1);
    for (int i = 0; i < 3; i++) {
        fake_set_fail(w.f[i], 0);
        provider_probe(w.f[i]);
    }
    assert_int_equal(pw_more(&w, "p1", (const uint8_t *)"Q", 1, ids, n, more, &m, &e), 0);
    assert_int_equal(m, 2);
    assert_int_equal(count_holders(&w, "p1"), 3);
    for (int i = 0; i < m; i++)
        assert_int_not_equal(more[i], ids[0]);
    world_free(&w);
}

static void test_probe_counts_any_answer_even_403_as_up(void **state)
{
    provider *f = fake_provider_new("p");
    fake_set_fail(f, ORC_ETRANSIENT);
    for (int i = 0; i < 3; i++)
        provider_probe(f);
    assert_false(provider_is_up(f)); /* transport errors: stays down */
    fake_set_fail(f, 0);
    fake_fail_next(f, FAKE_HEAD, 1, ORC_EAUTH); /* HEAD answers 403, as S3 without list rights */
    provider_probe(f);
    assert_true(provider_is_up(f));
    provider_free(f);
}

static void test_policy_parse(void **state)
{
    place_policy p = {.min_copies = 1, .probe_interval = 5};
    assert_int_equal(place_policy_parse("replicate:3", &p, NULL), 0);
    assert_int_equal(p.copies, 3);
    assert_int_equal(p.min_copies, 1);
    assert_int_equal(place_policy_parse("replicate:0", &p, NULL), ORC_EINVAL);
    assert_int_equal(place_policy_parse("replicate:", &p, NULL), ORC_EINVAL);
    assert_int_equal(place_policy_parse("replicate:99", &p, NULL), ORC_EINVAL);
    assert_int_equal(place_policy_parse("ec:4+2", &p, NULL), 0);
    assert_int_equal(p.kind, PLACE_EC);
    assert_int_equal(p.k, 4);
    assert_int_equal(p.m, 2);
    assert_int_equal(place_width(&p), 6);
    char buf[32];
    place_policy_format(&p, buf, sizeof(buf));
    assert_string_equal(buf, "ec:4+2");
    assert_int_equal(place_policy_parse("ec:4", &p, NULL), ORC_EINVAL);
    assert_int_equal(place_policy_parse("ec:0+2", &p, NULL), ORC_EINVAL);
    assert_int_equal(place_policy_parse("ec:4+0", &p, NULL), ORC_EINVAL);
    assert_int_equal(place_policy_parse("ec:12+6", &p, NULL), ORC_EINVAL);
    assert_int_equal(place_policy_parse("ec:4+2x", &p, NULL), ORC_EINVAL);
    assert_int_equal(place_policy_parse("mirror", &p, NULL), ORC_EINVAL);
}

/* Every provider a write sends a copy to is announced first, while it holds
 * nothing yet: the object layer records them PENDING there (issue 9), so a
 * copy that lands after its write gave up is still known to the collector. */
struct intent_log {
    world *w;
    uint32_t ids[16];
    int n;
};

static int note_intent(void *ctx, const uint32_t *ids, const int16_t *frags, int n, orc_err *e)
{
    struct intent_log *l = ctx;
    (void)e, (void)frags;
    for (int i = 0; i < n; i++) {
        assert_int_equal(fake_has(l->w->f[ids[i] - 1], "pend"), 0); /* not sent yet */
        l->ids[l->n++] = ids[i];
    }
    return 0;
}

static int refuse_intent(void *ctx, const uint32_t *ids, const int16_t *frags, int n, orc_err *e)
{
    (void)ctx, (void)ids, (void)frags, (void)n;
    return orc_fail(e, ORC_EIO, "metadata unavailable");
}

static void test_copies_are_announced_before_they_are_sent(void **state)
{
    (void)state;
    world w;
    world_make(&w, 2, 1);
    struct intent_log log = {&w, {0}, 0};
    place_intent in = {note_intent, &log};
    uint32_t ids[META_MAX_COPIES];
    int n;
    orc_err e = {0};
    /* Fail the first choice so the write moves on: its replacement is
     * announced too, and the failed one stays in the log (it may hold bytes). */
    uint32_t order[16];
    int first;
    assert_int_equal(pw(&w, "pend", (const uint8_t *)"P", 1, &in, ids, &n, &e), 0);
    first = log.ids[0];
    memcpy(order, log.ids, sizeof(order));
    assert_int_equal(log.n, 2);
    for (int i = 0; i < n; i++)
        assert_true(ids[i] == order[0] || ids[i] == order[1]);
    pdel_all(&w, "pend");
    log.n = 0;
    fake_set_fail(w.f[first - 1], ORC_ETRANSIENT);
    assert_int_equal(pw(&w, "pend", (const uint8_t *)"P", 1, &in, ids, &n, &e), 0);
    assert_int_equal(log.n, 3);
    assert_int_equal(n, 2);
    /* A refused announcement sends nothing. */
    fake_set_fail(w.f[first - 1], 0);
    pdel_all(&w, "pend");
    place_intent no = {refuse_intent, NULL};
    assert_int_equal(pw(&w, "pend", (const uint8_t *)"P", 1, &no, ids, &n, &e), ORC_EIO);
    assert_int_equal(count_holders(&w, "pend"), 0);
    world_free(&w);
}

/* Erasure-coded chunks: ec:4+2, a sealed chunk of EC_LEN bytes (not a
 * multiple of 4, so the last data fragment is padded) with its own whole
 * and fragment names, as object/ derives them. */
#define EC_LEN 4099
#define EC_W 6

typedef struct ecchunk {
    uint8_t data[EC_LEN];
    char whole[32], frag[EC_W][32];
    place_names nm;
    uint32_t ids[PLACE_MAX_COPIES];
    int16_t frags[PLACE_MAX_COPIES];
    int n;
} ecchunk;

static const place_policy ec42 = {.kind = PLACE_EC, .k = 4, .m = 2, .probe_interval = 1};
/* The same without read hedging: with no latency known yet, a get is past
 * its provider's p95 at once, so every read would hedge at once and which
 * four fragments come back first would be up to the scheduler. Tests of
 * what a read does with each fragment it fetched use this. */
static const place_policy ec42_unhedged = {
    .kind = PLACE_EC, .k = 4, .m = 2, .probe_interval = 1, .hedge_ms = 600000};

static void ec_chunk_init(ecchunk *c, const char *tag)
{
    memset(c, 0, sizeof(*c));
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < EC_LEN; i++) { /* xorshift: no two fragments alike */
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        c->data[i] = (uint8_t)x;
    }
    snprintf(c->whole, sizeof(c->whole), "%s-whole", tag);
    c->nm.whole = c->whole;
    for (int f = 0; f < EC_W; f++) {
        snprintf(c->frag[f], sizeof(c->frag[f]), "%s-frag%d", tag, f);
        c->nm.frag[f] = c->frag[f];
    }
}

static int ec_write(world *w, ecchunk *c, orc_err *e)
{
    return place_write(w->pl, &w->pol, &c->nm, c->data, EC_LEN, NULL, c->ids, c->frags, &c->n, e);
}

/* The verify callback: good only when the bytes are exactly the chunk's. */
struct expect {
    const uint8_t *data;
    size_t len;
    int calls;
};

static int verify_same(void *ctx, orc_buf *d, orc_err *e)
{
    struct expect *x = ctx;
    x->calls++;
    if (d->len != x->len || memcmp(d->ptr, x->data, x->len) != 0)
        return orc_fail(e, ORC_ECORRUPT, "not the chunk's bytes");
    return ORC_OK;
}

/* What the bad callback was told. */
struct bad_log {
    int n;
    uint32_t id[EC_W];
    int16_t frag[EC_W];
};

static void note_bad(void *ctx, uint32_t id, int16_t frag)
{
    struct bad_log *b = ctx;
    assert_true(b->n < EC_W);
    b->id[b->n] = id;
    b->frag[b->n++] = frag;
}

/* Reads c from the pieces recorded at the write; bad may be NULL. */
static int ec_read(world *w, const ecchunk *c, struct bad_log *bad, orc_buf *out, orc_err *e)
{
    struct expect x = {c->data, EC_LEN, 0};
    place_read_args a = {.names = &c->nm,
                         .k = 4,
                         .m = 2,
                         .size = EC_LEN,
                         .ids = c->ids,
                         .frags = c->frags,
                         .n = c->n,
                         .verify = verify_same,
                         .ctx = &x,
                         .bad = bad ? note_bad : NULL,
                         .bad_ctx = bad};
    int rc = place_read(w->pl, &a, out, e);
    if (rc == 0) assert_true(x.calls > 0); /* nothing unverified comes back */
    return rc;
}

static void assert_chunk_read_exact(world *w, const ecchunk *c, struct bad_log *bad)
{
    orc_buf out;
    orc_buf_init(&out, 0);
    orc_err e = {0};
    assert_int_equal(ec_read(w, c, bad, &out, &e), 0);
    assert_int_equal(out.len, EC_LEN);
    assert_memory_equal(out.ptr, c->data, EC_LEN);
    orc_buf_dispose(&out);
}

/* c's write recorded `want` pieces: distinct fragments on distinct
 * providers, each holding exactly that fragment under its fragment name
 * (ceil(len / 4) bytes), none of them under the whole name. */
static void assert_fragments_spread(world *w, const ecchunk *c, int want)
{
    assert_int_equal(c->n, want);
    for (int i = 0; i < c->n; i++) {
        assert_in_range(c->ids[i], 1, (uint32_t)w->n);
        assert_in_range(c->frags[i], 0, EC_W - 1);
        for (int j = 0; j < i; j++) {
            assert_int_not_equal(c->ids[i], c->ids[j]);
            assert_int_not_equal(c->frags[i], c->frags[j]);
        }
        provider *f = w->f[c->ids[i] - 1];
        assert_true(fake_has(f, c->frag[c->frags[i]]));
        assert_int_equal(fake_count(f), 1);
        assert_int_equal(fake_bytes(f), (EC_LEN + 3) / 4);
        assert_int_equal(count_holders(w, c->frag[c->frags[i]]), 1);
    }
    assert_int_equal(count_holders(w, c->whole), 0);
}

static void test_ec_write_puts_one_fragment_on_each_of_six_providers(void **state)
{
    (void)state;
    world w;
    world_make_n(&w, EC_W, &ec42_unhedged);
    ecchunk c;
    ec_chunk_init(&c, "ec1");
    orc_err e = {0};
    assert_int_equal(ec_write(&w, &c, &e), 0);
    assert_fragments_spread(&w, &c, EC_W);
    assert_chunk_read_exact(&w, &c, NULL);
    world_free(&w);
}

/* How piece i of c is made unreadable: its provider is down (every call
 * fails), or its fragment is gone. */
enum loss { LOSS_DOWN, LOSS_GONE };

static void lose(world *w, const ecchunk *c, int i, enum loss how)
{
    provider *f = w->f[c->ids[i] - 1];
    if (how == LOSS_DOWN)
        fake_set_fail(f, ORC_ETRANSIENT);
    else
        assert_int_equal(provider_del(f, c->frag[c->frags[i]], NULL), ORC_OK);
}

static void restore(world *w, const ecchunk *c, int i, const orc_buf *saved)
{
    provider *f = w->f[c->ids[i] - 1];
    fake_set_fail(f, 0);
    assert_int_equal(provider_put(f, c->frag[c->frags[i]], saved->ptr, saved->len, NULL), 0);
}

/* Any 2 of the 6 pieces lost (in every combination, down or gone): the
 * exact bytes; any 3: an error, and no bytes at all. */
static void test_ec_read_survives_any_two_losses_and_fails_cleanly_on_three(void **state)
{
    (void)state;
    world w;
    world_make_n(&w, EC_W, &ec42_unhedged);
    ecchunk c;
    ec_chunk_init(&c, "ec2");
    orc_err e = {0};
    assert_int_equal(ec_write(&w, &c, &e), 0);
    assert_int_equal(c.n, EC_W);
    orc_buf saved[EC_W];
    for (int i = 0; i < EC_W; i++) {
        orc_buf_init(&saved[i], 0);
        assert_int_equal(
            provider_get(w.f[c.ids[i] - 1], c.frag[c.frags[i]], 0, UINT64_MAX, &saved[i], &e), 0);
    }
    int pairs = 0, triples = 0;
    for (int a = 0; a < EC_W; a++)
        for (int b = a + 1; b < EC_W; b++) {
            int mix = pairs++ % 3; /* both down, both gone, one of each */
            lose(&w, &c, a, mix == 1 ? LOSS_GONE : LOSS_DOWN);
            lose(&w, &c, b, mix == 0 ? LOSS_DOWN : LOSS_GONE);
            assert_chunk_read_exact(&w, &c, NULL);
            restore(&w, &c, a, &saved[a]);
            restore(&w, &c, b, &saved[b]);
        }
    orc_buf out;
    orc_buf_init(&out, 0);
    for (int a = 0; a < EC_W; a++)
        for (int b = a + 1; b < EC_W; b++)
            for (int d = b + 1; d < EC_W; d++) {
                int mix = triples++ % 3; /* all gone, all down, mixed */
                lose(&w, &c, a, mix == 1 ? LOSS_DOWN : LOSS_GONE);
                lose(&w, &c, b, mix == 0 ? LOSS_GONE : LOSS_DOWN);
                lose(&w, &c, d, mix == 1 ? LOSS_DOWN : LOSS_GONE);
                assert_int_equal(orc_buf_append(&out, "stale", 5, NULL), 0);
                int rc = ec_read(&w, &c, NULL, &out, &e);
                assert_true(rc == ORC_ENOTFOUND || rc == ORC_ECORRUPT);
                assert_int_equal(e.code, rc);
                assert_int_equal(out.len, 0); /* never some bytes, right or wrong */
                restore(&w, &c, a, &saved[a]);
                restore(&w, &c, b, &saved[b]);
                restore(&w, &c, d, &saved[d]);
            }
    assert_int_equal(pairs, 15);
    assert_int_equal(triples, 20);
    assert_chunk_read_exact(&w, &c, NULL); /* restored: whole again */
    orc_buf_dispose(&out);
    for (int i = 0; i < EC_W; i++)
        orc_buf_dispose(&saved[i]);
    world_free(&w);
}

/* A fragment whose stored bytes changed decodes to a chunk that fails
 * verify: the read finds a subset that verifies, returns the exact bytes
 * and names the liar (and only it) so repair can replace it. */
static void test_ec_read_names_the_corrupt_fragment_and_returns_exact_bytes(void **state)
{
    (void)state;
    world w;
    world_make_n(&w, EC_W, &ec42_unhedged);
    ecchunk c;
    ec_chunk_init(&c, "ec3");
    orc_err e = {0};
    assert_int_equal(ec_write(&w, &c, &e), 0);
    assert_int_equal(c.n, EC_W);
    /* Holders that have not been read yet are tried in the recorded order,
     * so the first one's fragment is among the k fetched first. */
    provider *liar = w.f[c.ids[0] - 1];
    assert_true(fake_corrupt_blob(liar, c.frag[c.frags[0]]));
    struct bad_log bad = {0};
    assert_chunk_read_exact(&w, &c, &bad);
    assert_true(fake_calls(liar, FAKE_GET) > 0);
    assert_int_equal(bad.n, 1);
    assert_int_equal(bad.id[0], c.ids[0]);
    assert_int_equal(bad.frag[0], c.frags[0]);
    provider_stats st;
    provider_stats_get(liar, &st);
    assert_int_equal(st.corrupt, 1);       /* counted as its provider's error */
    assert_chunk_read_exact(&w, &c, NULL); /* and again */
    world_free(&w);
}

/* A piece of the wrong length (a provider that truncated or replaced it) is
 * as bad as one that fails verification: reported, so repair replaces it. */
static void test_ec_read_names_a_fragment_of_the_wrong_length(void **state)
{
    (void)state;
    world w;
    world_make_n(&w, EC_W, &ec42_unhedged);
    ecchunk c;
    ec_chunk_init(&c, "ec6");
    orc_err e = {0};
    assert_int_equal(ec_write(&w, &c, &e), 0);
    provider *liar = w.f[c.ids[0] - 1]; /* fetched first */
    assert_int_equal(provider_put(liar, c.frag[c.frags[0]], c.data, 100, NULL), 0);
    struct bad_log bad = {0};
    assert_chunk_read_exact(&w, &c, &bad);
    assert_int_equal(bad.n, 1);
    assert_int_equal(bad.id[0], c.ids[0]);
    assert_int_equal(bad.frag[0], c.frags[0]);
    world_free(&w);
}

#ifdef ORCHARD_FAULTS
static bool holds_piece(const ecchunk *c, uint32_t id)
{
    for (int i = 0; i < c->n; i++)
        if (c->ids[i] == id) return true;
    return false;
}

static int64_t ms_since(int64_t t0)
{
    return (orc_monotonic_us() - t0) / 1000;
}

static uint64_t cancelled_calls(provider *p)
{
    provider_stats st;
    provider_stats_get(p, &st);
    return st.cancelled;
}

/* write_quorum 5 of ec:4+2 with one provider hanging on put (until its
 * deadline, 6 s by default): acknowledged with the 5 durable fragments
 * once the hung put is past its patience, that put cancelled rather than
 * waited for. Asking for all 6 with no spare provider fails instead, once
 * the hung put times out, and leaves no fragment behind. */
static void test_ec_write_quorum_acks_without_waiting_for_a_hung_put(void **state)
{
    (void)state;
    place_policy pol = ec42;
    pol.write_quorum = 5;
    const char *faults[EC_W] = {NULL, NULL, "put hang", NULL, NULL, NULL};
    world w;
    world_make_with(&w, EC_W, &pol, faults);
    provider *hung = w.top[2];
    ecchunk c;
    ec_chunk_init(&c, "ec4");
    orc_err e = {0};
    int64_t t0 = orc_monotonic_us();
    assert_int_equal(ec_write(&w, &c, &e), 0);
    int64_t ms = ms_since(t0);
    print_message("quorum write with a hung put: %lld ms\n", (long long)ms);
    /* A provider with no recent put is given 1 s (PLACE_WRITE_HEDGE_COLD_MS)
     * before it is a straggler; the hang would last the 6 s deadline. */
    assert_true(ms >= 900 && ms < 3000);
    assert_fragments_spread(&w, &c, 5);
    assert_false(holds_piece(&c, 3));
    assert_int_equal(fake_count(w.f[2]), 0);
    assert_int_equal(cancelled_calls(hung), 1); /* tried, then given up on */
    assert_chunk_read_exact(&w, &c, NULL);      /* what was acknowledged reads back */

    w.pol.write_quorum = 0;
    provider_set_deadline(hung, 200, 1); /* the hang now ends, timed out, in ~0.2 s */
    ecchunk d;
    ec_chunk_init(&d, "ec4all");
    t0 = orc_monotonic_us();
    assert_int_equal(ec_write(&w, &d, &e), ORC_ETRANSIENT);
    ms = ms_since(t0);
    assert_true(ms >= 150 && ms < 2000); /* it waited for the hung put, and only that long */
    assert_int_equal(d.n, 0);
    for (int f = 0; f < EC_W; f++)
        assert_int_equal(count_holders(&w, d.frag[f]), 0); /* the 5 written are deleted */
    world_free(&w);
}

/* ec:4+2 on 7 providers, the first choice hanging on put, all 6 wanted:
 * the hung put is hedged on the spare after max(2 x its put p95, 50 ms)
 * and the write succeeds at once, the hung put cancelled. */
static void test_ec_write_hedges_a_hung_put_on_the_spare_provider(void **state)
{
    (void)state;
    world w;
    ecchunk c;
    orc_err e = {0};
    /* Where the pieces go depends only on the names and the provider ids:
     * a dry run on healthy providers says which are chosen and which spare. */
    world_make_n(&w, 7, &ec42);
    ec_chunk_init(&c, "ec5");
    assert_int_equal(ec_write(&w, &c, &e), 0);
    assert_fragments_spread(&w, &c, EC_W);
    uint32_t hung = c.ids[0], spare = 0;
    for (uint32_t id = 1; id <= 7; id++)
        if (!holds_piece(&c, id)) spare = id;
    assert_int_not_equal(spare, 0);
    world_free(&w);

    const char *faults[7] = {NULL};
    faults[hung - 1] = "put hang";
    world_make_with(&w, 7, &ec42, faults);
    ec_chunk_init(&c, "ec5");
    int64_t t0 = orc_monotonic_us();
    assert_int_equal(ec_write(&w, &c, &e), 0);
    int64_t ms = ms_since(t0);
    print_message("full write with a hung put and a spare: %lld ms\n", (long long)ms);
    assert_true(ms >= 900 && ms < 3000); /* hedged after the cold 1 s, not the 6 s deadline */
    assert_fragments_spread(&w, &c, EC_W);
    assert_false(holds_piece(&c, hung));
    assert_true(holds_piece(&c, spare));
    assert_int_equal(fake_count(w.f[hung - 1]), 0);
    assert_int_equal(cancelled_calls(w.top[hung - 1]), 1);
    assert_chunk_read_exact(&w, &c, NULL);
    world_free(&w);
}

/* replicate:2, the first-choice holder answering gets 2 s late: with
 * hedge_ms 5 the other copy is asked after max(its get p95, 5 ms) and the
 * read returns at once; the slow get is cancelled. */
static void test_read_hedges_a_slow_copy_on_the_other_holder(void **state)
{
    (void)state;
    place_policy pol = {
        .kind = PLACE_REPLICATE, .copies = 2, .min_copies = 2, .probe_interval = 1, .hedge_ms = 5};
    const char *faults[2] = {"get delay 2000", NULL};
    world w;
    world_make_with(&w, 2, &pol, faults);
    uint32_t ids[META_MAX_COPIES];
    int n;
    orc_err e = {0};
    assert_int_equal(pw(&w, "h1", (const uint8_t *)"G", 1, NULL, ids, &n, &e), 0);
    assert_int_equal(n, 2);
    uint32_t order[2] = {1, 2}; /* neither read yet: tried in this order */
    orc_buf out;
    orc_buf_init(&out, 0);
    int64_t t0 = orc_monotonic_us();
    assert_int_equal(pr(&w, "h1", order, 2, verify_is_g, &out, &e), 0);
    int64_t ms = ms_since(t0);
    print_message("read with a slow first copy: %lld ms\n", (long long)ms);
    assert_true(ms < 500);
    assert_int_equal(out.len, 1);
    assert_int_equal(out.ptr[0], 'G');
    /* The slow get was asked first and is cancelled, not left running:
     * it ends within a few ms of the read. */
    int64_t t1 = orc_monotonic_us();
    while (cancelled_calls(w.top[0]) == 0 && ms_since(t1) < 1000) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(cancelled_calls(w.top[0]), 1);
    orc_buf_dispose(&out);
    world_free(&w);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_puts_n_copies_on_distinct_providers),
        cmocka_unit_test(test_failed_provider_is_replaced_and_marked_down),
        cmocka_unit_test(test_min_copies_allows_fewer_and_refuses_below),
        cmocka_unit_test(test_read_falls_through_corrupt_and_missing_copies),
        cmocka_unit_test(test_write_more_adds_missing_copies_and_never_deletes_old_ones),
        cmocka_unit_test(test_probe_counts_any_answer_even_403_as_up),
        cmocka_unit_test(test_policy_parse),
        cmocka_unit_test(test_copies_are_announced_before_they_are_sent),
        cmocka_unit_test(test_ec_write_puts_one_fragment_on_each_of_six_providers),
        cmocka_unit_test(test_ec_read_survives_any_two_losses_and_fails_cleanly_on_three),
        cmocka_unit_test(test_ec_read_names_the_corrupt_fragment_and_returns_exact_bytes),
        cmocka_unit_test(test_ec_read_names_a_fragment_of_the_wrong_length),
#ifdef ORCHARD_FAULTS /* these need calls that end when cancelled */
        cmocka_unit_test(test_ec_write_quorum_acks_without_waiting_for_a_hung_put),
        cmocka_unit_test(test_ec_write_hedges_a_hung_put_on_the_spare_provider),
        cmocka_unit_test(test_read_hedges_a_slow_copy_on_the_other_holder),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
