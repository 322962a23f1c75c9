/* Subcommands and what they share: option parsing and opening a data dir. */
#ifndef ORC_CLI_CLI_H
#define ORC_CLI_CLI_H

#include "chunk/seal.h"
#include "cli/config.h"
#include "meta/meta.h"

int cli_serve(int argc, char **argv);
int cli_user(int argc, char **argv);
int cli_providers(int argc, char **argv);

/* Parses --config, --data and --listen (and, when allow_keys, --access-key and
 * --secret-key) from argv[from..), applies ORCHARD_* environment variables,
 * and finishes the config. Positional arguments are left in pos[] (npos).
 * Prints a one-line error and returns non-zero on bad input. */
int cli_config(int argc, char **argv, int from, orc_config *c, const char **pos, int *npos,
               bool allow_keys);

/* Opens the data directory: creates it (0700), loads or creates the master
 * secret (DATA/master.key, 0600), derives keys and opens the metadata store. */
int cli_open_data(const orc_config *c, seal_keys *keys, meta **m, orc_err *e);

/* Adds a user with the given keys (generated when NULL), sealing the secret
 * with the master secret. The keys used are written to ak/sk. */
int cli_user_add(meta *m, const seal_keys *keys, const char *name, const char *ak_in,
                 const char *sk_in, char ak[128], char sk[128], orc_err *e);

#endif
