/* orchard bucket class: a bucket's default storage class, in the data
 * directory (also while the server runs: it reads the bucket per request). */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const char usage_text[] =
    "usage: orchard bucket class BUCKET [CLASS | --clear] [--data DIR] [--config FILE]\n"
    "\n"
    "Shows the storage class BUCKET's new objects get when a request names none, or sets it\n"
    "to CLASS (one the configuration defines: [class.NAME] sections and [server]\n"
    "storage_class), or with --clear goes back to the server's default class.\n";

static int usage(void)
{
    fputs(usage_text, stderr);
    return 2;
}

static bool class_defined(const orc_config *c, const char *name)
{
    for (size_t i = 0; i < c->nclasses; i++)
        if (!strcmp(c->classes[i].name, name)) return true;
    return false;
}

int cli_bucket(int argc, char **argv)
{
    orc_config c;
    const char *pos[CLI_MAX_POS];
    int npos, rc;
    bool clear = false;
    if (cli_wants_help(argc, argv, 2)) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (argc < 3 || strcmp(argv[2], "class") != 0) return usage();
    for (int i = 3; i < argc; i++) /* --clear is ours; cli_config takes the rest */
        if (!strcmp(argv[i], "--clear")) {
            clear = true;
            memmove(&argv[i], &argv[i + 1], (size_t)(argc - i) * sizeof(*argv));
            argc--, i--;
        }
    if ((rc = cli_config(argc, argv, 3, &c, pos, &npos, true, NULL))) return rc;
    seal_keys keys;
    meta *m = NULL;
    store *st = NULL;
    orc_err e = {0};
    int status = 1;
    if (npos < 1 || npos > 2 || (clear && npos != 1)) {
        config_dispose(&c);
        return usage();
    }
    const char *cls = npos == 2 ? pos[1] : NULL;
    if (cls && !class_defined(&c, cls)) {
        orc_fail(&e, ORC_EINVAL, "storage class '%.40s' is not configured", cls);
        status = 2;
        goto fail;
    }
    if (cli_open_data(&c, &keys, &m, &e)) goto fail;
    st = object_store_new(m, NULL, &keys, NULL, 0); /* buckets only: no placement */
    if (cls || clear) {
        if (object_bucket_set_class(st, pos[0], cls, &e)) goto fail;
    }
    meta_bucket b;
    if (object_bucket_get(st, pos[0], &b, &e)) goto fail;
    printf("%s\t%s\n", b.name, b.storage_class[0] ? b.storage_class : c.storage_class);
    status = 0;
    goto done;
fail:
    if (st && e.code == ORC_ENOTFOUND) snprintf(e.msg, sizeof(e.msg), "no bucket '%.60s'", pos[0]);
    fprintf(stderr, "orchard bucket class: %s\n", e.msg);
done:
    object_store_free(st);
    meta_close(m);
    if (m) seal_keys_wipe(&keys);
    config_dispose(&c);
    return status;
}
