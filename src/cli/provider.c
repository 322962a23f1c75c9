/* orchard provider drain|undrain|remove|status NAME: asks a running server
 * (cli_admin_call, /_orchard/providers/NAME) to change a provider's state,
 * and follows a drain to its end with a progress bar on a terminal. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <limits.h>
#include <unistd.h>

#include "util/buf.h"

static const char usage[] =
    "usage: orchard provider drain NAME [--no-wait] [--endpoint URL] [--data DIR] [--config FILE]\n"
    "       orchard provider undrain NAME [...]\n"
    "       orchard provider remove NAME [...]\n"
    "       orchard provider status NAME [...]\n"
    "       orchard provider add NAME KEY=VALUE... [--endpoint URL] [--data DIR] [--config FILE]\n"
    "\n"
    "drain: NAME takes no new writes and every copy or fragment it holds moves to the other\n"
    "providers (copied, read back and verified, switched, then deleted), while the server\n"
    "serves; follows the drain to its end (a progress bar on a terminal) unless --no-wait.\n"
    "A drain goes on after a restart. It is refused if a storage class would be left without\n"
    "providers for all its pieces.\n"
    "undrain: ends a drain; NAME takes writes again (what moved stays moved).\n"
    "remove: once NAME holds nothing, it leaves the placement for good (then delete its\n"
    "config section); refused while it holds anything.\n"
    "status: NAME's state and what it still holds.\n"
    "add NAME KEY=VALUE...: appends a [provider.NAME] section with those keys (type=fs\n"
    "path=/srv/disk4, or a cloud's keys; see docs/configuration.md) to the config file and\n"
    "has the running server bring it in, without a restart (a SIGHUP to the server does\n"
    "the same after editing the file by hand). Needs a config file.\n"
    "Server and keys as for orchard providers.\n";

/* Moved so far, the rate since the drain began, and the ETA. */
static void progress(const orc_buf *b, bool bar)
{
    double total = cli_json_num(b, "drain_pieces"), left = cli_json_num(b, "pieces");
    double tb = cli_json_num(b, "drain_bytes"), lb = cli_json_num(b, "bytes"),
           started = cli_json_num(b, "drain_started_ms");
    double moved = total > left ? total - left : 0, mb = tb > lb ? tb - lb : 0;
    double frac = total > 0 ? moved / total : (left == 0 ? 1 : 0);
    double el = (double)time(NULL) - started / 1000;
    char rate[24], done[24];
    cli_human_bytes(el > 0 ? mb / el : 0, rate, sizeof(rate));
    cli_human_bytes(mb, done, sizeof(done));
    double eta = frac > 0 && frac < 1 ? el / frac - el : 0;
    if (bar) {
        char s[31];
        int fill = (int)(frac * 30);
        for (int i = 0; i < 30; i++)
            s[i] = i < fill ? '#' : '.';
        s[30] = 0;
        fprintf(stderr, "\r[%s] %3.0f%% %.0f/%.0f pieces, %s moved, %s/s, ETA %dm%02ds ", s,
                frac * 100, moved, total, done, rate, (int)eta / 60, (int)eta % 60);
        fflush(stderr);
    } else {
        printf("%.0f of %.0f pieces moved (%s), %.0f left, %s/s\n", moved, total, done, left, rate);
    }
}

/* orchard provider add: the section goes into the config file, then the
 * server reloads it; if the server refuses it, the file is put back. */
static int provider_add(orc_config *c, const char *cfg, const char *endpoint, const char *name,
                        const char *const *kv, int nkv)
{
    if (!cfg[0]) {
        fprintf(stderr, "orchard provider add: no config file (--config FILE, ./orchard.ini or "
                        "DATA/orchard.ini): the server's providers are its built-in disks\n");
        return 2;
    }
    bool has_type = false;
    for (int i = 0; i < nkv; i++) {
        const char *eq = strchr(kv[i], '=');
        size_t kl = eq ? (size_t)(eq - kv[i]) : 0;
        if (!eq || kl == 0 || strspn(kv[i], "abcdefghijklmnopqrstuvwxyz0123456789_") != kl ||
            strpbrk(eq + 1, "\r\n") || !eq[1]) {
            fprintf(stderr, "orchard provider add: '%.80s' is not KEY=VALUE\n", kv[i]);
            return 2;
        }
        has_type |= kl == 4 && !strncmp(kv[i], "type", 4);
    }
    if (!has_type) {
        fprintf(stderr, "orchard provider add: type=fs|s3|gcs|azure is needed\n");
        return 2;
    }
    FILE *f = fopen(cfg, "r+");
    if (!f) {
        fprintf(stderr, "orchard provider add: %s: cannot open\n", cfg);
        return 1;
    }
    char line[1024], want[96];
    snprintf(want, sizeof(want), "[provider.%s]", name);
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, want, strlen(want))) {
            fclose(f);
            fprintf(stderr, "orchard provider add: %s already has a section %s\n", cfg, want);
            return 2;
        }
    fseek(f, 0, SEEK_END);
    long was = ftell(f);
    fprintf(f, "\n%s\n", want);
    for (int i = 0; i < nkv; i++) {
        const char *eq = strchr(kv[i], '=');
        fprintf(f, "%.*s = %s\n", (int)(eq - kv[i]), kv[i], eq + 1);
    }
    if (fflush(f) || fsync(fileno(f))) {
        fclose(f);
        fprintf(stderr, "orchard provider add: %s: write failed\n", cfg);
        return 1;
    }
    orc_buf b;
    orc_buf_init(&b, 1 << 16);
    int status = cli_admin_call("provider add", c, endpoint, "POST", "/_orchard/reload", &b);
    if (status != 0) {
        if (ftruncate(fileno(f), was) == 0)
            fprintf(stderr, "orchard provider add: %s left as it was\n", cfg);
    } else {
        printf("provider %s: added to %s and brought in\n", name, cfg);
    }
    fclose(f);
    orc_buf_dispose(&b);
    return status;
}

int cli_provider(int argc, char **argv)
{
    orc_config c;
    const char *pos[CLI_MAX_POS], *endpoint = NULL;
    char *args[64];
    bool no_wait = false;
    int nargs = 0, npos, rc;
    for (int i = 0; i < argc && nargs < 63; i++) {
        if (i >= 2 && !strcmp(argv[i], "--no-wait"))
            no_wait = true;
        else if (i >= 2 && !strcmp(argv[i], "--endpoint") && i + 1 < argc)
            endpoint = argv[++i];
        else
            args[nargs++] = argv[i];
    }
    args[nargs] = NULL;
    if (cli_wants_help(nargs, args, 2)) {
        fputs(usage, stdout);
        return 0;
    }
    char cfg[PATH_MAX];
    if ((rc = cli_config(nargs, args, 2, &c, pos, &npos, false, cfg))) return rc;
    if (npos >= 3 && !strcmp(pos[0], "add")) {
        size_t nl = strlen(pos[1]);
        int st = nl && nl <= 63 &&
                         strspn(pos[1], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRST"
                                        "UVWXYZ0123456789._-") == nl
                     ? provider_add(&c, cfg, endpoint, pos[1], pos + 2, npos - 2)
                     : (fprintf(stderr, "orchard provider add: '%.64s' is not a provider name\n",
                                pos[1]),
                        2);
        config_dispose(&c);
        return st;
    }
    const char *verb = npos == 2 ? pos[0] : "";
    const char *query = !strcmp(verb, "drain")     ? "?action=drain"
                        : !strcmp(verb, "undrain") ? "?action=undrain"
                        : !strcmp(verb, "remove")  ? "?action=remove"
                        : !strcmp(verb, "status")  ? ""
                                                   : NULL;
    if (!query) {
        fputs(usage, stderr);
        config_dispose(&c);
        return 2;
    }
    char path[512];
    const char *enc = pos[1];
    size_t nl = strlen(enc);
    if (nl == 0 || nl > 63 ||
        strspn(enc, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != nl) {
        fprintf(stderr,
                "orchard provider: '%.64s' is not a provider name (a [provider.NAME] "
                "section's NAME)\n",
                enc);
        config_dispose(&c);
        return 2;
    }
    snprintf(path, sizeof(path), "/_orchard/providers/%s%s", enc, query);
    orc_buf b;
    orc_buf_init(&b, 1 << 16);
    int status = cli_admin_call("provider", &c, endpoint, *query ? "POST" : "GET", path, &b);
    bool draining = status == 0 && strstr((const char *)b.ptr, "\"state\":\"draining\"");
    if (status == 0 && !strcmp(verb, "drain") && !no_wait) {
        bool tty = isatty(2);
        snprintf(path, sizeof(path), "/_orchard/providers/%s", enc);
        while (status == 0 && cli_json_num(&b, "pieces") > 0) {
            if (tty) progress(&b, true);
            sleep(1);
            status = cli_admin_call("provider", &c, endpoint, "GET", path, &b);
        }
        if (tty) {
            progress(&b, true);
            fputc('\n', stderr);
        }
        if (status == 0)
            printf("provider %s: drained: it holds nothing; `orchard provider remove %s` takes "
                   "it out\n",
                   pos[1], pos[1]);
    } else if (status == 0 && (!strcmp(verb, "status") || !strcmp(verb, "drain"))) {
        printf("provider %s: %s; ", pos[1],
               draining                                 ? "draining"
               : strstr((const char *)b.ptr, "removed") ? "removed"
                                                        : "active");
        progress(&b, false);
    } else if (status == 0) {
        printf("provider %s: %s\n", pos[1],
               !strcmp(verb, "remove") ? "removed: delete its section from the config"
                                       : "active: it takes new pieces again");
    }
    orc_buf_dispose(&b);
    config_dispose(&c);
    return status;
}
