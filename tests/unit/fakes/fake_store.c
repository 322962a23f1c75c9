/* The store over fake providers for tests (see fake_store.h). */
#include "fakes/fake_store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fakes/fake_provider.h"
#include "support/meta_tmp.h"

static void check(int rc, const orc_err *e, const char *what)
{
    if (rc) fprintf(stderr, "%s: %s\n", what, e->msg);
    assert_int_equal(rc, ORC_OK);
}

void fake_store_open(fake_store *fs, size_t nprovs, int copies, int min_copies, long deadline_ms)
{
    orc_err e = {0};
    uint8_t master[SEAL_MASTER_LEN];
    memset(fs, 0, sizeof(*fs));
    assert_true(nprovs <= FAKE_STORE_MAX_PROVIDERS);
    meta_tmp_open(fs->dir, sizeof(fs->dir), "/tmp/orchard-fake-XXXXXX", fs->path, sizeof(fs->path),
                  &fs->m);
    for (size_t i = 0; i < nprovs; i++) {
        char name[32];
        snprintf(name, sizeof(name), "fake%zu", i);
        fs->provs[i] = fake_provider_new(name);
        if (deadline_ms) provider_set_deadline(fs->provs[i], deadline_ms, 1);
        check(meta_provider_id(fs->m, name, &fs->ids[i], &e), &e, "meta_provider_id");
    }
    fs->nprovs = nprovs;
    place_policy pol = {.copies = copies, .min_copies = min_copies, .probe_interval = 1};
    check(place_new(fs->provs, fs->ids, nprovs, &pol, &fs->pl, &e), &e, "place_new");
    for (size_t i = 0; i < sizeof(master); i++)
        master[i] = (uint8_t)(i * 7 + 1);
    check(seal_keys_init(&fs->keys, master, 1, &e), &e, "seal_keys_init");
    fs->st = (store){.m = fs->m,
                     .pl = fs->pl,
                     .keys = &fs->keys,
                     .cdc = {FAKE_CDC_MIN, FAKE_CDC_AVG, FAKE_CDC_MAX},
                     .nclasses = 1};
    snprintf(fs->st.classes[0].name, sizeof(fs->st.classes[0].name), "STANDARD");
    fs->st.classes[0].pol = *place_default_policy(fs->pl);
    int64_t owner;
    check(meta_user_add(fs->m, "tester", "AKTESTER", (const uint8_t *)"s", 1, &owner, &e), &e,
          "meta_user_add");
    check(meta_bucket_create(fs->m, "fakes", owner, "us-east-1", &e), &e, "meta_bucket_create");
    meta_bucket b;
    check(meta_bucket_get(fs->m, "fakes", &b, &e), &e, "meta_bucket_get");
    fs->bucket_id = b.id;
}

void fake_store_close(fake_store *fs)
{
    free(fs->st.scrub); /* what object_store_free frees of a store object_store_new made */
    place_free(fs->pl);
    for (size_t i = 0; i < fs->nprovs; i++)
        provider_free(fs->provs[i]);
    seal_keys_wipe(&fs->keys);
    meta_tmp_remove(fs->m, fs->dir, fs->path);
}

int fake_store_put(fake_store *fs, const char *key, const uint8_t *body, size_t len, size_t piece,
                   const object_commit *cm, orc_err *e)
{
    object_put_args a = {.bucket_id = fs->bucket_id, .key = key, .content_length = len};
    if (cm) a.commit = *cm;
    object_put *w = object_put_begin(&fs->st, &a);
    object_put_result res;
    int rc = ORC_OK;
    if (!piece) piece = len;
    for (size_t off = 0; off < len && !rc; off += piece)
        rc = object_put_write(w, body + off, len - off < piece ? len - off : piece, e);
    if (!rc) rc = object_put_finish(w, &res, e);
    object_put_free(w);
    return rc;
}

int fake_store_get(fake_store *fs, const char *key, uint64_t first, uint64_t last, uint8_t *out,
                   size_t *got, orc_err *e)
{
    meta_object obj;
    object_reader *r = NULL;
    *got = 0;
    int rc = object_get_open(&fs->st, fs->bucket_id, key, &obj, &r, e);
    if (rc) return rc;
    meta_object_dispose(&obj);
    rc = object_get_range(r, first, last, e);
    while (!rc) {
        long n = object_read(r, out + *got, (size_t)(last - first + 1 - *got), e);
        if (n < 0) rc = (int)n;
        if (n <= 0) break;
        *got += (size_t)n;
    }
    object_reader_free(r);
    return rc;
}

uint64_t fake_store_chunks(fake_store *fs)
{
    meta_stats st;
    orc_err e = {0};
    check(meta_stats_get(fs->m, &st, &e), &e, "meta_stats_get");
    return st.chunks;
}

void fake_fill(uint8_t *buf, size_t len, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13; /* xorshift32 */
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
}
