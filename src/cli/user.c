/* orchard user add|list|remove: manage S3 users in the data directory. */
#include "cli/cli.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/time.h"

static const char usage_text[] =
    "usage: orchard user add NAME [--access-key K --secret-key S] [--data DIR] [--config FILE]\n"
    "       orchard user list [--data DIR] [--config FILE]\n"
    "       orchard user remove NAME [--data DIR] [--config FILE]\n"
    "\n"
    "Manages the S3 users in an existing data directory (made by orchard serve), also while\n"
    "the server runs. NAME: 1-63 of A-Z a-z 0-9 and + = , . @ _ - (IAM's alphabet).\n";

static int usage(void)
{
    fputs(usage_text, stderr);
    return 2;
}

int cli_user(int argc, char **argv)
{
    orc_config c;
    const char *pos[CLI_MAX_POS];
    int npos, rc;
    if (cli_wants_help(argc, argv, 2)) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (argc < 3) return usage();
    if ((rc = cli_config(argc, argv, 3, &c, pos, &npos, true, NULL))) return rc;
    const char *verb = argv[2];
    seal_keys keys;
    meta *m = NULL;
    store *st = NULL;
    orc_err e = {0};
    int status = 1;
    bool add = !strcmp(verb, "add"), list = !strcmp(verb, "list"), rm = !strcmp(verb, "remove");
    if ((!add && !list && !rm) || (list ? npos != 0 : npos != 1)) {
        config_dispose(&c);
        return usage();
    }
    /* No lock: SQLite serialises writers, so users can be managed while the
     * server runs (it reads users per request). The data directory must exist. */
    if (add && cli_user_name_check(pos[0], &e)) {
        status = 2;
        goto fail;
    }
    if (cli_open_data(&c, &keys, &m, &e)) goto fail;
    st = object_store_new(m, NULL, &keys, NULL, 0); /* users only: no placement */
    if (add) {
        char ak[128], sk[128];
        if (cli_user_add(st, pos[0], c.access_key[0] ? c.access_key : NULL,
                         c.secret_key[0] ? c.secret_key : NULL, ak, sk, &e)) {
            if (e.code == ORC_EEXISTS)
                snprintf(e.msg, sizeof(e.msg), "user '%s' or that access key exists already",
                         pos[0]);
            goto fail;
        }
        printf("user: %s\naccess_key: %s\nsecret_key: %s\n", pos[0], ak, sk);
        OPENSSL_cleanse(sk, sizeof(sk));
    } else if (list) {
        meta_user *us = NULL;
        size_t n = 0;
        if (object_user_list(st, &us, &n, &e)) goto fail;
        for (size_t i = 0; i < n; i++) {
            char when[32];
            orc_time_iso8601(us[i].created_ms, when);
            printf("%s\t%s\t%s\n", us[i].name, us[i].access_key, when);
        }
        free(us);
    } else {
        if (object_user_remove(st, pos[0], &e)) {
            if (e.code == ORC_ENOTFOUND) snprintf(e.msg, sizeof(e.msg), "no user '%s'", pos[0]);
            goto fail;
        }
        printf("removed user %s\n", pos[0]);
    }
    status = 0;
    goto done;
fail:
    fprintf(stderr, "orchard user %s: %s\n", verb, e.msg);
done:
    object_store_free(st);
    meta_close(m);
    if (m) seal_keys_wipe(&keys);
    config_dispose(&c);
    return status;
}
