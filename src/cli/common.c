/* What the subcommands share: options, the data directory, the master secret. */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool cli_wants_help(int argc, char **argv, int from)
{
    for (int i = from; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return true;
    return false;
}

/* Without --config: ./orchard.ini if it exists, else DATA/orchard.ini if it
 * exists (DATA from --data or the default), else no file. */
static const char *default_config(const char *data, char *buf, size_t cap)
{
    if (access("./orchard.ini", F_OK) == 0) return "./orchard.ini";
    snprintf(buf, cap, "%s/orchard.ini", data ? data : "./orchard-data");
    return access(buf, F_OK) == 0 ? buf : NULL;
}

int cli_config(int argc, char **argv, int from, orc_config *c, const char **pos, int *npos,
               bool allow_keys, char cfg_used[PATH_MAX])
{
    const char *cfg = NULL, *data = NULL, *listen = NULL, *ak = NULL, *sk = NULL;
    const char *cmd = argc > 1 ? argv[1] : "";
    char dflt[PATH_MAX + 16];
    orc_err e = {0};
    *npos = 0;
    if (cfg_used) cfg_used[0] = 0;
    for (int i = from; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = !strcmp(a, "--config")                     ? &cfg
                           : !strcmp(a, "--data")                     ? &data
                           : !strcmp(a, "--listen")                   ? &listen
                           : allow_keys && !strcmp(a, "--access-key") ? &ak
                           : allow_keys && !strcmp(a, "--secret-key") ? &sk
                                                                      : NULL;
        if (dst) {
            if (i + 1 >= argc) {
                fprintf(stderr, "orchard %s: %s needs a value\n", cmd, a);
                return 2;
            }
            *dst = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "orchard %s: unknown option '%s' (see orchard %s --help)\n", cmd, a,
                    cmd);
            return 2;
        } else if (*npos < CLI_MAX_POS) {
            pos[(*npos)++] = a;
        } else {
            fprintf(stderr, "orchard %s: too many arguments (see orchard %s --help)\n", cmd, cmd);
            return 2;
        }
    }
    config_defaults(c);
    if (!cfg) cfg = default_config(data, dflt, sizeof(dflt));
    if (cfg && cfg_used && snprintf(cfg_used, PATH_MAX, "%s", cfg) >= PATH_MAX) {
        fprintf(stderr, "orchard %s: config path longer than %d bytes\n", cmd, PATH_MAX - 1);
        config_dispose(c);
        return 2;
    }
    if (cfg && config_load(c, cfg, &e)) {
        fprintf(stderr, "orchard %s: %s\n", cmd, e.msg);
        config_dispose(c);
        return 2;
    }
    const char *env_ak = getenv("ORCHARD_ACCESS_KEY"), *env_sk = getenv("ORCHARD_SECRET_KEY");
    if (env_ak && *env_ak) snprintf(c->access_key, sizeof(c->access_key), "%s", env_ak);
    if (env_sk && *env_sk) snprintf(c->secret_key, sizeof(c->secret_key), "%s", env_sk);
    if (data) snprintf(c->data, sizeof(c->data), "%s", data);
    if (listen) snprintf(c->listen, sizeof(c->listen), "%s", listen);
    if (ak) snprintf(c->access_key, sizeof(c->access_key), "%s", ak);
    if (sk) snprintf(c->secret_key, sizeof(c->secret_key), "%s", sk);
    if (config_finish(c, &e)) {
        fprintf(stderr, "orchard %s: %s\n", cmd, e.msg);
        config_dispose(c);
        return 2;
    }
    return 0;
}

static int write_new_file(const char *path, const void *data, size_t len, orc_err *e)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return orc_fail(e, ORC_EIO, "cannot create %s: %s", path, strerror(errno));
    ssize_t n = write(fd, data, len);
    int ok = n == (ssize_t)len && fsync(fd) == 0;
    close(fd);
    if (!ok) {
        unlink(path);
        return orc_fail(e, ORC_EIO, "cannot write %s: %s", path, strerror(errno));
    }
    return ORC_OK;
}

static int load_master(const char *data, uint8_t master[SEAL_MASTER_LEN], orc_err *e)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/master.key", data);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        if (RAND_bytes(master, SEAL_MASTER_LEN) != 1)
            return orc_fail(e, ORC_EINTERNAL, "no randomness for the master secret");
        return write_new_file(path, master, SEAL_MASTER_LEN, e);
    }
    if (fd < 0) return orc_fail(e, ORC_EIO, "cannot open %s: %s", path, strerror(errno));
    ssize_t n = read(fd, master, SEAL_MASTER_LEN);
    close(fd);
    if (n != SEAL_MASTER_LEN)
        return orc_fail(e, ORC_EINVAL, "%s is damaged: expected %d bytes", path, SEAL_MASTER_LEN);
    return ORC_OK;
}

int cli_open_data(const orc_config *c, seal_keys *keys, meta **m, orc_err *e)
{
    uint8_t master[SEAL_MASTER_LEN];
    char path[PATH_MAX + 16];
    struct stat st;
    /* Only serve creates DATA (under its lock); a user command pointed at the
     * wrong place must not leave a stray data directory behind. */
    if (stat(c->data, &st) != 0 && errno == ENOENT)
        return orc_fail(e, ORC_ENOTFOUND,
                        "no data directory %s (orchard serve creates it on first start; or pass "
                        "--data DIR)",
                        c->data);
    if (stat(c->data, &st) != 0)
        return orc_fail(e, ORC_EIO, "cannot open data directory %s: %s", c->data, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return orc_fail(e, ORC_EINVAL, "%s is not a directory", c->data);
    int rc = load_master(c->data, master, e);
    if (!rc) rc = seal_keys_init(keys, master, 1, e);
    OPENSSL_cleanse(master, sizeof(master));
    if (rc) return rc;
    snprintf(path, sizeof(path), "%s/meta.db", c->data);
    /* The one metadata store type so far; a [meta] section would pass its
     * type and keys here (meta.h, meta_open). */
    const meta_kv kv[] = {{"path", path}};
    return meta_open("sqlite", kv, 1, m, e);
}

static void random_key(char *out, size_t len, const char *alphabet)
{
    uint8_t r[64];
    size_t an = strlen(alphabet);
    RAND_bytes(r, (int)len);
    for (size_t i = 0; i < len; i++)
        out[i] = alphabet[r[i] % an];
    out[len] = 0;
}

int cli_user_name_check(const char *name, orc_err *e)
{
    size_t n = strlen(name);
    bool ok = n >= 1 && n <= CLI_USER_NAME_MAX;
    for (const char *p = name; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             strchr("+=,.@_-", *p);
    if (ok) return ORC_OK;
    return orc_fail(e, ORC_EINVAL,
                    "user name '%.*s%s': want 1-%d of A-Z a-z 0-9 and + = , . @ _ - (as IAM)", 40,
                    name, n > 40 ? "..." : "", CLI_USER_NAME_MAX);
}

int cli_user_add(store *st, const char *name, const char *ak_in, const char *sk_in, char ak[128],
                 char sk[128], orc_err *e)
{
    if (cli_user_name_check(name, e)) return e->code;
    if (ak_in) {
        snprintf(ak, 128, "%s", ak_in);
    } else {
        memcpy(ak, "OR", 2);
        random_key(ak + 2, 18, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
    }
    if (sk_in)
        snprintf(sk, 128, "%s", sk_in);
    else
        random_key(sk, 40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
    return object_user_add(st, name, ak, sk, e);
}
