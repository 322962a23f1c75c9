/* The object layer's access door (object/access.h) over a real SQLite store
 * and two fs providers: who owns a bucket, S3's re-create rules, the user
 * secret the front signs with, and the admin view. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "object/object.h"
#include "provider/provider.h"
#include "support/meta_tmp.h"

#define ALICE 1
#define BOB 2

typedef struct fix {
    char dir[64], path[128], pdir[2][128];
    meta *m;
    seal_keys keys;
    provider *provs[2];
    uint32_t ids[2];
    place *pl;
    store *s;
} fix;

static int64_t add_user(fix *f, const seal_keys *k, const char *name, const char *ak,
                        const char *sk)
{
    uint8_t sealed[256];
    int64_t id;
    orc_err e = {0};
    size_t n = strlen(sk);
    assert_int_equal(seal_secret(k, (const uint8_t *)sk, n, sealed, &e), ORC_OK);
    assert_int_equal(meta_user_add(f->m, name, ak, sealed, n + SEAL_SECRET_OVERHEAD, &id, &e),
                     ORC_OK);
    return id;
}

static int setup(void **state)
{
    fix *f = calloc(1, sizeof(*f));
    orc_err e = {0};
    uint8_t master[SEAL_MASTER_LEN];
    meta_tmp_open(f->dir, sizeof(f->dir), "/tmp/orchard-access-XXXXXX", f->path, sizeof(f->path),
                  &f->m);
    memset(master, 7, sizeof(master));
    assert_int_equal(seal_keys_init(&f->keys, master, 1, &e), ORC_OK);
    for (int i = 0; i < 2; i++) {
        char name[16];
        snprintf(name, sizeof(name), "disk%d", i);
        snprintf(f->pdir[i], sizeof(f->pdir[i]), "%s/%s", f->dir, name);
        provider_kv kv[] = {{"path", f->pdir[i]}, {"fsync", "false"}};
        assert_int_equal(provider_open("fs", name, kv, 2, &f->provs[i], &e), ORC_OK);
        assert_int_equal(meta_provider_id(f->m, name, &f->ids[i], &e), ORC_OK);
    }
    place_policy pol = {.copies = 2, .min_copies = 2, .probe_interval = 30};
    assert_int_equal(place_new(f->provs, f->ids, 2, &pol, &f->pl, &e), ORC_OK);
    cdc_params params = {CDC_MIN_DEFAULT, CDC_AVG_DEFAULT, CDC_MAX_DEFAULT};
    f->s = object_store_new(f->m, f->pl, &f->keys, &params, 0);
    /* bucket owners are users */
    assert_int_equal(add_user(f, &f->keys, "alice", "AKALICE", "alice-secret"), ALICE);
    assert_int_equal(add_user(f, &f->keys, "bob", "AKBOB", "bob-secret-1"), BOB);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fix *f = *state;
    object_store_free(f->s);
    place_free(f->pl);
    for (int i = 0; i < 2; i++)
        provider_free(f->provs[i]);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s/disk0' '%s/disk1'", f->dir, f->dir);
    assert_int_equal(system(cmd), 0);
    meta_tmp_remove(f->m, f->dir, f->path);
    seal_keys_wipe(&f->keys);
    free(f);
    return 0;
}

static void put_small(fix *f, int64_t bucket_id, const char *key)
{
    orc_err e = {0};
    object_put_result res;
    object_put_args a = {.bucket_id = bucket_id, .key = key, .content_length = 5};
    object_put *w = object_put_begin(f->s, &a);
    assert_int_equal(object_put_write(w, (const uint8_t *)"hello", 5, &e), ORC_OK);
    int rc = object_put_finish(w, &res, &e);
    if (rc) fprintf(stderr, "put: %s\n", e.msg);
    assert_int_equal(rc, ORC_OK);
    object_put_free(w);
}

static void test_create_again_in_us_east_1_succeeds_for_its_owner(void **state)
{
    fix *f = *state;
    orc_err e = {0};
    meta_bucket b;
    assert_int_equal(object_bucket_create(f->s, "east", ALICE, "us-east-1", &e), ORC_OK);
    assert_int_equal(object_bucket_create(f->s, "east", ALICE, "us-east-1", &e), ORC_OK);
    assert_int_equal(object_bucket_get(f->s, "east", &b, &e), ORC_OK);
    assert_int_equal(b.owner, ALICE);
    assert_string_equal(b.region, "us-east-1");
}

static void test_create_again_elsewhere_says_owned_by_you(void **state)
{
    fix *f = *state;
    orc_err e = {0};
    assert_int_equal(object_bucket_create(f->s, "west", ALICE, "eu-west-1", &e), ORC_OK);
    assert_int_equal(object_bucket_create(f->s, "west", ALICE, "eu-west-1", &e), ORC_EEXISTS);
    assert_int_equal(e.detail, ORC_D_BUCKET_OWNED);
}

static void test_create_of_anothers_bucket_is_plain_exists(void **state)
{
    fix *f = *state;
    orc_err e = {0};
    assert_int_equal(object_bucket_create(f->s, "taken", ALICE, "us-east-1", &e), ORC_OK);
    /* us-east-1 too: the legacy success is for the owner only */
    assert_int_equal(object_bucket_create(f->s, "taken", BOB, "us-east-1", &e), ORC_EEXISTS);
    assert_int_equal(e.detail, ORC_D_NONE);
}

static void test_owned_refuses_another_owner(void **state)
{
    fix *f = *state;
    orc_err e = {0};
    meta_bucket b;
    assert_int_equal(object_bucket_owned(f->s, "nobody", ALICE, &b, &e), ORC_ENOTFOUND);
    assert_int_equal(object_bucket_create(f->s, "mine", ALICE, "us-east-1", &e), ORC_OK);
    assert_int_equal(object_bucket_owned(f->s, "mine", ALICE, &b, &e), ORC_OK);
    assert_int_equal(b.owner, ALICE);
    assert_int_equal(object_bucket_owned(f->s, "mine", BOB, &b, &e), ORC_EAUTH);
}

static void test_delete_needs_owner_and_empty_bucket(void **state)
{
    fix *f = *state;
    orc_err e = {0};
    meta_bucket b;
    assert_int_equal(object_bucket_create(f->s, "full", ALICE, "us-east-1", &e), ORC_OK);
    assert_int_equal(object_bucket_get(f->s, "full", &b, &e), ORC_OK);
    put_small(f, b.id, "k");
    assert_int_equal(object_bucket_delete(f->s, "full", BOB, &e), ORC_EAUTH);
    assert_int_equal(object_bucket_delete(f->s, "full", ALICE, &e), ORC_ECONFLICT);
    assert_int_equal(object_bucket_get(f->s, "full", &b, &e), ORC_OK); /* still there */

    assert_int_equal(object_bucket_create(f->s, "empty", ALICE, "us-east-1", &e), ORC_OK);
    assert_int_equal(object_bucket_delete(f->s, "empty", BOB, &e), ORC_EAUTH);
    assert_int_equal(object_bucket_delete(f->s, "empty", ALICE, &e), ORC_OK);
    assert_int_equal(object_bucket_get(f->s, "empty", &b, &e), ORC_ENOTFOUND);
    assert_int_equal(object_bucket_delete(f->s, "empty", ALICE, &e), ORC_ENOTFOUND);
}

static void test_list_shows_only_the_owners_buckets(void **state)
{
    fix *f = *state;
    orc_err e = {0};
    meta_bucket *bs = NULL;
    size_t n = 0;
    assert_int_equal(object_bucket_create(f->s, "b-two", ALICE, "us-east-1", &e), ORC_OK);
    assert_int_equal(object_bucket_create(f->s, "b-one", ALICE, "us-east-1", &e), ORC_OK);
    assert_int_equal(object_bucket_create(f->s, "bobs", BOB, "us-east-1", &e), ORC_OK);
    assert_int_equal(object_bucket_list(f->s, ALICE, &bs, &n, &e), ORC_OK);
    assert_int_equal(n, 2);
    assert_string_equal(bs[0].name, "b-one");
    assert_string_equal(bs[1].name, "b-two");
    free(bs);
}

static void test_user_secret_opens_the_sealed_secret(void **state)
{
    fix *f = *state;
    orc_err e = {0};
    meta_user u;
    char secret[128];
    add_user(f, &f->keys, "carol", "AKCAROL", "carol-secret-123");
    assert_int_equal(object_user_secret(f->s, "AKCAROL", &u, secret, sizeof(secret), &e), ORC_OK);
    assert_string_equal(secret, "carol-secret-123");
    assert_string_equal(u.name, "carol");
    assert_int_equal(object_user_secret(f->s, "AKNOBODY", &u, secret, sizeof(secret), &e),
                     ORC_ENOTFOUND);
    /* no room for the secret and its NUL: refused, not cut short */
    assert_int_equal(object_user_secret(f->s, "AKCAROL", &u, secret, 16, &e), ORC_ECORRUPT);
}

static void test_user_secret_under_another_master_is_corrupt_and_not_told(void **state)
{
    fix *f = *state;
    orc_err e = {0};
    meta_user u;
    seal_keys other;
    uint8_t master[SEAL_MASTER_LEN];
    char secret[128];
    memset(master, 9, sizeof(master));
    assert_int_equal(seal_keys_init(&other, master, 1, &e), ORC_OK);
    add_user(f, &other, "dave", "AKDAVE", "dave-secret-456");
    seal_keys_wipe(&other);
    assert_int_equal(object_user_secret(f->s, "AKDAVE", &u, secret, sizeof(secret), &e),
                     ORC_ECORRUPT);
    assert_non_null(strstr(e.msg, "dave"));        /* says whose */
    assert_null(strstr(e.msg, "dave-secret-456")); /* never the secret */
}

/* orchard user and the first start: a store without placement manages users,
 * the secret goes in sealed and comes out through object_user_secret. */
static void test_user_admin_on_a_store_without_placement(void **state)
{
    fix *f = *state;
    orc_err e = {0};
    meta_user u, *us = NULL;
    size_t n = 0;
    char secret[128];
    store *users = object_store_new(f->m, NULL, &f->keys, NULL, 0);
    assert_int_equal(object_user_add(users, "erin", "AKERIN", "erin-secret-1", &e), ORC_OK);
    assert_int_equal(object_user_add(users, "erin2", "AKERIN", "erin-secret-2", &e), ORC_EEXISTS);
    assert_int_equal(object_user_add(users, "frank", "AKFRANK", "short", &e), ORC_EINVAL);
    assert_int_equal(object_user_by_key(users, "AKFRANK", &u, &e), ORC_ENOTFOUND);
    char longkey[OBJECT_ACCESS_KEY_MAX + 2];
    memset(longkey, 'K', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = 0;
    assert_int_equal(object_user_add(users, "frank", longkey, "frank-secret", &e), ORC_EINVAL);
    /* never stored in the clear */
    assert_int_equal(object_user_by_name(users, "erin", &u, &e), ORC_OK);
    assert_string_equal(u.access_key, "AKERIN");
    assert_null(memmem(u.secret_sealed, u.secret_sealed_len, "erin-secret-1", 13));
    assert_int_equal(object_user_secret(f->s, "AKERIN", &u, secret, sizeof(secret), &e), ORC_OK);
    assert_string_equal(secret, "erin-secret-1");
    /* a new secret is the one in force */
    assert_int_equal(object_user_set_secret(users, "erin", "erin-secret-new", &e), ORC_OK);
    assert_int_equal(object_user_secret(f->s, "AKERIN", &u, secret, sizeof(secret), &e), ORC_OK);
    assert_string_equal(secret, "erin-secret-new");
    assert_int_equal(object_user_set_secret(users, "nobody", "some-secret", &e), ORC_ENOTFOUND);
    assert_int_equal(object_user_list(users, &us, &n, &e), ORC_OK);
    assert_int_equal(n, 3); /* alice, bob, erin */
    assert_string_equal(us[2].name, "erin");
    free(us);
    assert_int_equal(object_user_remove(users, "erin", &e), ORC_OK);
    assert_int_equal(object_user_remove(users, "erin", &e), ORC_ENOTFOUND);
    assert_int_equal(object_user_secret(f->s, "AKERIN", &u, secret, sizeof(secret), &e),
                     ORC_ENOTFOUND);
    object_store_free(users);
}

static void test_admin_view_lists_providers_and_usage(void **state)
{
    fix *f = *state;
    orc_err e = {0};
    meta_bucket b;
    object_admin_view v;
    assert_int_equal(object_bucket_create(f->s, "stats", ALICE, "us-east-1", &e), ORC_OK);
    assert_int_equal(object_bucket_get(f->s, "stats", &b, &e), ORC_OK);
    put_small(f, b.id, "one");
    assert_int_equal(object_admin_view_get(f->s, &v, &e), ORC_OK);
    assert_int_equal(v.n, 2);
    assert_int_equal(v.copies, 2);
    assert_int_equal(v.under_replicated, 0);
    for (size_t i = 0; i < 2; i++) {
        char name[16];
        snprintf(name, sizeof(name), "disk%zu", i);
        assert_string_equal(v.providers[i].name, name);
        assert_string_equal(v.providers[i].type, "fs");
        assert_true(v.providers[i].up);
        assert_int_equal(v.providers[i].chunks, 1); /* the one chunk, on both */
        assert_true(v.providers[i].bytes >= 5);
        assert_true(v.providers[i].puts >= 1);
    }
    object_admin_view_dispose(&v);
    assert_null(v.providers);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_again_in_us_east_1_succeeds_for_its_owner,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_again_elsewhere_says_owned_by_you, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_create_of_anothers_bucket_is_plain_exists, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_owned_refuses_another_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_needs_owner_and_empty_bucket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_shows_only_the_owners_buckets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_secret_opens_the_sealed_secret, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_user_secret_under_another_master_is_corrupt_and_not_told, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_admin_on_a_store_without_placement, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_admin_view_lists_providers_and_usage, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
