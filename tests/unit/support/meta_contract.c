/* The metadata store contract's runner and the helpers its groups share (see
 * meta_contract.h). The groups live in meta_contract_<area>.c. */
#include "support/meta_contract.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "util/time.h"

/* The implementation meta_contract_run is running (tests run one at a time). */
static const meta_contract_impl *running;

void meta_contract_open(meta **m, void **ctx)
{
    assert_non_null(running);
    *m = NULL;
    *ctx = NULL;
    running->open(m, ctx);
    assert_non_null(*m);
}

void meta_contract_close(meta *m, void *ctx)
{
    running->close(m, ctx);
}

void meta_contract_hash(uint64_t i, uint8_t out[32])
{
    uint64_t x = i * 0x9e3779b97f4a7c15ull + 1;
    for (int k = 0; k < 32; k++) {
        x ^= x >> 31;
        x *= 0xbf58476d1ce4e5b9ull;
        out[k] = (uint8_t)(x >> 56);
    }
}

uint64_t meta_contract_refs(meta *m)
{
    meta_stats s;
    orc_err e = {0};
    assert_int_equal(meta_stats_get(m, &s, &e), ORC_OK);
    return s.chunk_refs;
}

bool meta_contract_referenced(meta *m, int64_t id)
{
    meta_chunk *v = NULL;
    size_t n = 0;
    orc_err e = {0};
    bool found = false;
    /* repair_list takes referenced LIVE chunks only, by id, after id - 1. */
    assert_int_equal(meta_repair_list(m, META_MAX_COPIES + 1, id - 1, 1, &v, &n, &e), ORC_OK);
    found = n == 1 && v[0].id == id;
    free(v);
    return found;
}

static void pause_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

int64_t meta_contract_cutoff(void)
{
    /* Stores stamp touched times with the wall clock in ms: a pause on each
     * side makes the cutoff strictly later than what came before and no
     * later than what comes after. */
    pause_ms(3);
    int64_t t = orc_now_ms();
    pause_ms(3);
    return t;
}

int meta_contract_run(const meta_contract_impl *impl)
{
    const meta_contract_group *groups[] = {&meta_contract_store,     &meta_contract_copy,
                                           &meta_contract_multipart, &meta_contract_pending,
                                           &meta_contract_extents,   &meta_contract_repair};
    int failed = 0;
    running = impl;
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        char name[96];
        snprintf(name, sizeof(name), "meta contract %s: %s", impl->name, groups[i]->name);
        failed += _cmocka_run_group_tests(name, groups[i]->tests, groups[i]->n, NULL, NULL);
    }
    running = NULL;
    return failed;
}
