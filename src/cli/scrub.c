/* orchard scrub and orchard repair: ask a running server (cli_admin_call)
 * to start a scrub pass and follow it to the end, with a progress bar on a
 * terminal; and show the repair queue. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"

static const char scrub_usage[] =
    "usage: orchard scrub [--no-wait] [--endpoint URL] [--data DIR] [--config FILE]\n"
    "\n"
    "Starts a scrub pass on a running server (unless one is under way) and follows it:\n"
    "every copy and fragment of every chunk is read back at [server] scrub_rate and\n"
    "compared with what it must hold; what is missing or wrong is queued for repair.\n"
    "With --no-wait, returns once the pass has started. Exits 1 when a chunk has no good\n"
    "copy left (loss that repair cannot mend), else 0 once the pass is done.\n"
    "Server and keys as for orchard providers.\n";

static const char repair_usage[] =
    "usage: orchard repair [--json] [--endpoint URL] [--data DIR] [--config FILE]\n"
    "\n"
    "Shows a running server's repair queue: chunks below full redundancy waiting for\n"
    "repair, how many of them failed a try, and what repair did since the start.\n";

/* Splits our options from the common ones; *flag set by the one flag. */
static int parse(int argc, char **argv, const char *flag, bool *flagv, const char **endpoint,
                 char **args)
{
    int nargs = 0;
    for (int i = 0; i < argc && nargs < 63; i++) {
        if (i >= 2 && !strcmp(argv[i], flag))
            *flagv = true;
        else if (i >= 2 && !strcmp(argv[i], "--endpoint") && i + 1 < argc)
            *endpoint = argv[++i];
        else
            args[nargs++] = argv[i];
    }
    args[nargs] = NULL;
    return nargs;
}

/* One line, redrawn: a bar of the chunks checked, the read rate, the ETA. */
static void progress(const orc_buf *b, double t0)
{
    double done = cli_json_num(b, "chunks"), total = cli_json_num(b, "total_chunks"),
           bytes = cli_json_num(b, "bytes");
    double frac = total > 0 ? done / total : 0;
    if (frac > 1) frac = 1;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double el = ts.tv_sec + ts.tv_nsec / 1e9 - t0;
    char bar[31], rate[24];
    int fill = (int)(frac * 30);
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = 0;
    cli_human_bytes(el > 0 ? bytes / el : 0, rate, sizeof(rate));
    double eta = frac > 0 && frac < 1 ? el / frac - el : 0;
    fprintf(stderr, "\r[%s] %3.0f%% %.0f/%.0f chunks, %s/s, ETA %dm%02ds ", bar, frac * 100, done,
            total, rate, (int)eta / 60, (int)eta % 60);
    fflush(stderr);
}

int cli_scrub(int argc, char **argv)
{
    orc_config c;
    const char *pos[CLI_MAX_POS], *endpoint = NULL;
    char *args[64];
    bool no_wait = false;
    int npos, rc;
    int nargs = parse(argc, argv, "--no-wait", &no_wait, &endpoint, args);
    if (cli_wants_help(nargs, args, 2)) {
        fputs(scrub_usage, stdout);
        return 0;
    }
    if ((rc = cli_config(nargs, args, 2, &c, pos, &npos, false, NULL))) return rc;
    if (npos) {
        fputs(scrub_usage, stderr);
        config_dispose(&c);
        return 2;
    }
    orc_buf b;
    orc_buf_init(&b, 1 << 16);
    int status = cli_admin_call("scrub", &c, endpoint, "POST", "/_orchard/scrub", &b);
    double started = cli_json_num(&b, "started_ms");
    bool tty = isatty(2);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double t0 = ts.tv_sec + ts.tv_nsec / 1e9;
    if (status == 0 && no_wait) printf("scrub: pass started\n");
    while (status == 0 && !no_wait && cli_json_num(&b, "running")) {
        if (tty) progress(&b, t0);
        sleep(1);
        status = cli_admin_call("scrub", &c, endpoint, "GET", "/_orchard/scrub", &b);
    }
    if (tty && !no_wait) fputc('\n', stderr);
    if (status == 0 && !no_wait) {
        char bytes[24];
        cli_human_bytes(cli_json_num(&b, "bytes"), bytes, sizeof(bytes));
        if (cli_json_num(&b, "started_ms") != started)
            printf("scrub: note: a newer pass started meanwhile; its figures follow\n");
        printf("scrub: %.0f chunks, %.0f pieces (%s) checked: %.0f bad, %.0f missing (queued "
               "for repair), %.0f chunks lost, %.0f pieces not reached\n",
               cli_json_num(&b, "chunks"), cli_json_num(&b, "pieces"), bytes,
               cli_json_num(&b, "bad"), cli_json_num(&b, "missing"), cli_json_num(&b, "lost"),
               cli_json_num(&b, "unreachable"));
        if (cli_json_num(&b, "lost") > 0) {
            fprintf(stderr,
                    "orchard scrub: %.0f chunks have no good copy left (see the server "
                    "log)\n",
                    cli_json_num(&b, "lost"));
            status = 1;
        }
    }
    orc_buf_dispose(&b);
    config_dispose(&c);
    return status;
}

int cli_repair(int argc, char **argv)
{
    orc_config c;
    const char *pos[CLI_MAX_POS], *endpoint = NULL;
    char *args[64];
    bool json = false;
    int npos, rc;
    int nargs = parse(argc, argv, "--json", &json, &endpoint, args);
    if (cli_wants_help(nargs, args, 2)) {
        fputs(repair_usage, stdout);
        return 0;
    }
    if ((rc = cli_config(nargs, args, 2, &c, pos, &npos, false, NULL))) return rc;
    if (npos) {
        fputs(repair_usage, stderr);
        config_dispose(&c);
        return 2;
    }
    orc_buf b;
    orc_buf_init(&b, 1 << 16);
    int status = cli_admin_call("repair", &c, endpoint, "GET", "/_orchard/repair", &b);
    if (status == 0 && json) {
        fwrite(b.ptr, 1, b.len, stdout);
    } else if (status == 0) {
        char bytes[24];
        cli_human_bytes(cli_json_num(&b, "bytes"), bytes, sizeof(bytes));
        double oldest = cli_json_num(&b, "oldest_ms");
        printf("repair queue: %.0f chunks (%.0f due now, %.0f failed a try)",
               cli_json_num(&b, "items"), cli_json_num(&b, "due"), cli_json_num(&b, "failing"));
        if (oldest > 0) printf(", oldest queued %.0f s ago", (double)time(NULL) - oldest / 1000);
        printf("\nsince the start: %.0f chunks repaired, %.0f failed tries, %s moved\n",
               cli_json_num(&b, "repaired"), cli_json_num(&b, "failed_tries"), bytes);
    }
    orc_buf_dispose(&b);
    config_dispose(&c);
    return status;
}

static const char fsck_usage[] =
    "usage: orchard fsck [--grace SECONDS] [--no-wait] [--endpoint URL] [--data DIR] [--config "
    "FILE]\n"
    "\n"
    "Has a running server compare its metadata with each provider's listing: a copy or\n"
    "fragment a provider lacks or holds at the wrong size is queued for repair; a name no\n"
    "record references is an orphan, deleted by a later fsck once it has been one for the\n"
    "grace period (default 3600 s), never while an upload writes that name. Prints a\n"
    "summary; exits 1 when a chunk is left with too few good pieces to rebuild it, or a\n"
    "provider could not be checked.\n";

int cli_fsck(int argc, char **argv)
{
    orc_config c;
    const char *pos[CLI_MAX_POS], *endpoint = NULL, *grace = "3600";
    char *args[64];
    bool no_wait = false;
    int nargs = 0, npos, rc;
    for (int i = 0; i < argc && nargs < 63; i++) {
        if (i >= 2 && !strcmp(argv[i], "--no-wait"))
            no_wait = true;
        else if (i >= 2 && !strcmp(argv[i], "--endpoint") && i + 1 < argc)
            endpoint = argv[++i];
        else if (i >= 2 && !strcmp(argv[i], "--grace") && i + 1 < argc)
            grace = argv[++i];
        else
            args[nargs++] = argv[i];
    }
    args[nargs] = NULL;
    if (cli_wants_help(nargs, args, 2)) {
        fputs(fsck_usage, stdout);
        return 0;
    }
    if ((rc = cli_config(nargs, args, 2, &c, pos, &npos, false, NULL))) return rc;
    if (npos || !*grace || strspn(grace, "0123456789") != strlen(grace) || strlen(grace) > 9) {
        fputs(npos ? fsck_usage : "orchard fsck: --grace takes a number of seconds\n", stderr);
        config_dispose(&c);
        return 2;
    }
    char path[96];
    snprintf(path, sizeof(path), "/_orchard/fsck?grace=%s", grace);
    orc_buf b;
    orc_buf_init(&b, 1 << 16);
    int status = cli_admin_call("fsck", &c, endpoint, "POST", path, &b);
    if (status == 0 && no_wait) printf("fsck: pass started\n");
    while (status == 0 && !no_wait && cli_json_num(&b, "running")) {
        sleep(1);
        status = cli_admin_call("fsck", &c, endpoint, "GET", "/_orchard/fsck", &b);
    }
    if (status == 0 && !no_wait) {
        printf("fsck: %.0f pieces missing, %.0f of the wrong size (queued for repair); %.0f "
               "orphans found, %.0f deleted; %.0f chunks lost\n",
               cli_json_num(&b, "missing"), cli_json_num(&b, "wrong_size"),
               cli_json_num(&b, "orphans"), cli_json_num(&b, "orphans_deleted"),
               cli_json_num(&b, "lost"));
        if (cli_json_num(&b, "lost") > 0 || cli_json_num(&b, "failed_providers") > 0) {
            fprintf(stderr,
                    "orchard fsck: %.0f chunks lost, %.0f providers not checked (see the "
                    "server log)\n",
                    cli_json_num(&b, "lost"), cli_json_num(&b, "failed_providers"));
            status = 1;
        }
    }
    orc_buf_dispose(&b);
    config_dispose(&c);
    return status;
}
