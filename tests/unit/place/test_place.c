/* Placement over the fake in-memory providers of fakes/fake_provider.h with
 * scripted faults: choice of providers, parallel copies, failover,
 * min_copies, health, verified reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fakes/fake_provider.h"
#include "meta/meta.h"
#include "place/place.h"
#include "provider/provider_impl.h"

#define WORLD_MAX 8

typedef struct world {
    provider *f[WORLD_MAX]; /* fakes/fake_provider.h; f[i] has id i + 1 */
    int n;
    place *pl;
    place_policy pol;
} world;

static void world_make_n(world *w, int nprov, const place_policy *pol)
{
    uint32_t ids[WORLD_MAX];
    char name[16];
    w->n = nprov;
    for (int i = 0; i < nprov; i++) {
        snprintf(name, sizeof(name), "f%d", i);
        w->f[i] = fake_provider_new(name);
        ids[i] = (uint32_t)i + 1;
    }
    w->pol = *pol;
    orc_err e;
    assert_int_equal(place_new(w->f, ids, (size_t)nprov, pol, &w->pl, &e), 0);
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
        provider_free(w->f[i]);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
