/* orchard providers: asks a running server for its providers' health,
 * latency, counters and usage (GET /_orchard/providers, signed as the admin
 * user: cli_admin_call) and prints it. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "util/buf.h"

static const char usage[] =
    "usage: orchard providers [--endpoint URL] [--json] [--data DIR] [--config FILE]\n"
    "\n"
    "Asks a running server for its providers: up or down, latency, errors, chunks and bytes.\n"
    "Without --endpoint the server is found from DATA/endpoint (written by orchard serve),\n"
    "else the config's listen address. Keys: ORCHARD_ACCESS_KEY and ORCHARD_SECRET_KEY,\n"
    "or DATA/credentials.\n";

int cli_providers(int argc, char **argv)
{
    orc_config c;
    const char *pos[CLI_MAX_POS];
    int npos, rc, status;
    bool json = false;
    const char *endpoint = NULL;
    char *args[64];
    int nargs = 0;
    /* --json and --endpoint are ours; the rest are the common options. */
    for (int i = 0; i < argc && nargs < 63; i++) {
        if (i >= 2 && !strcmp(argv[i], "--json"))
            json = true;
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
    if ((rc = cli_config(nargs, args, 2, &c, pos, &npos, false, NULL))) return rc;
    if (npos) {
        fputs(usage, stderr);
        config_dispose(&c);
        return 2;
    }
    orc_buf body;
    orc_buf_init(&body, 1 << 20);
    status =
        cli_admin_call("providers", &c, endpoint, "GET",
                       json ? "/_orchard/providers" : "/_orchard/providers?format=text", &body);
    if (status == 0) fwrite(body.ptr, 1, body.len, stdout);
    orc_buf_dispose(&body);
    config_dispose(&c);
    return status;
}
