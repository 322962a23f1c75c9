/* orchard: argv -> subcommand, nothing else. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} commands[] = {
    {"serve", cli_serve},         {"user", cli_user},   {"bucket", cli_bucket},
    {"providers", cli_providers}, {"scrub", cli_scrub}, {"repair", cli_repair},
    {"provider", cli_provider},   {"fsck", cli_fsck},
};

static const char help[] =
    "usage: orchard <command> [options]\n"
    "\n"
    "Orchard: an S3-compatible object store that keeps encrypted, deduplicated chunks\n"
    "on several providers.\n"
    "\n"
    "commands:\n"
    "  serve [--config FILE] [--listen ADDR:PORT] [--data DIR]\n"
    "        serve the S3 API (default 127.0.0.1:9000, data in ./orchard-data) until\n"
    "        SIGTERM or Ctrl-C; one server per data directory\n"
    "  user add NAME [--access-key K --secret-key S] [--data DIR] [--config FILE]\n"
    "        create a user; prints its access key and secret\n"
    "  user list [--data DIR] [--config FILE]\n"
    "  user remove NAME [--data DIR] [--config FILE]\n"
    "  bucket class BUCKET [CLASS | --clear] [--data DIR] [--config FILE]\n"
    "        show or set the storage class a bucket's new objects get without\n"
    "        x-amz-storage-class\n"
    "  providers [--endpoint URL] [--json] [--data DIR] [--config FILE]\n"
    "        a running server's providers: up or down, latency, errors, chunks and bytes\n"
    "  scrub [--no-wait] [--endpoint URL] [--data DIR] [--config FILE]\n"
    "        read back and verify every copy and fragment now; what fails is queued for\n"
    "        repair; exits 1 when a chunk has no good copy left\n"
    "  repair [--json] [--endpoint URL] [--data DIR] [--config FILE]\n"
    "        a running server's repair queue\n"
    "  provider drain|undrain|remove|status NAME [--no-wait] [--endpoint URL] [...]\n"
    "        move everything off a provider while serving (drain), end a drain, take an\n"
    "        empty provider out (remove), or show its state and what it holds\n"
    "  provider add NAME KEY=VALUE... [--config FILE] [--endpoint URL]\n"
    "        add a [provider.NAME] section to the config and bring it in without a restart\n"
    "        (or edit the file and send the server SIGHUP)\n"
    "  fsck [--grace SECONDS] [--no-wait] [--endpoint URL] [--data DIR] [--config FILE]\n"
    "        compare the metadata with what each provider holds: missing or wrong copies\n"
    "        are queued for repair, orphans deleted after the grace period\n"
    "  COMMAND --help\n"
    "        that command's usage\n"
    "\n"
    "config file: --config FILE, else ./orchard.ini, else DATA/orchard.ini (DATA from\n"
    "--data or ./orchard-data), if it exists. INI; see docs/configuration.md.\n"
    "\n"
    "environment:\n"
    "  ORCHARD_ACCESS_KEY, ORCHARD_SECRET_KEY   keys of the first (admin) user\n"
    "  (secret config values may also name a variable: secret_key_env = VAR, key_env = VAR)\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(help, stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(help, stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc, argv);
    fprintf(stderr, "orchard: unknown command '%s' (see orchard --help)\n", argv[1]);
    return 2;
}
