/* orchard user add|list|remove: manage S3 users in the data directory. */
#include "cli/cli.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/time.h"

static int usage(void)
{
    fprintf(stderr, "usage: orchard user add NAME [--access-key K --secret-key S] [--data DIR] "
                    "[--config FILE]\n"
                    "       orchard user list [--data DIR] [--config FILE]\n"
                    "       orchard user remove NAME [--data DIR] [--config FILE]\n");
    return 2;
}

int cli_user(int argc, char **argv)
{
    orc_config c;
    const char *pos[8];
    int npos, rc;
    if (argc < 3) return usage();
    if ((rc = cli_config(argc, argv, 3, &c, pos, &npos, true))) return rc;
    const char *verb = argv[2];
    seal_keys keys;
    meta *m = NULL;
    orc_err e = {0};
    int status = 1;
    bool add = !strcmp(verb, "add"), list = !strcmp(verb, "list"), rm = !strcmp(verb, "remove");
    if ((!add && !list && !rm) || (list ? npos != 0 : npos != 1)) {
        config_dispose(&c);
        return usage();
    }
    if (cli_open_data(&c, &keys, &m, &e)) goto fail;
    if (add) {
        char ak[128], sk[128];
        if (cli_user_add(m, &keys, pos[0], c.access_key[0] ? c.access_key : NULL,
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
        if (meta_user_list(m, &us, &n, &e)) goto fail;
        for (size_t i = 0; i < n; i++) {
            char when[32];
            orc_time_iso8601(us[i].created_ms, when);
            printf("%s\t%s\t%s\n", us[i].name, us[i].access_key, when);
        }
        free(us);
    } else {
        if (meta_user_remove(m, pos[0], &e)) {
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
    meta_close(m);
    if (m) seal_keys_wipe(&keys);
    config_dispose(&c);
    return status;
}
