/* Subcommands and what they share: option parsing and opening a data dir. */
#ifndef ORC_CLI_CLI_H
#define ORC_CLI_CLI_H

#include "chunk/seal.h"
#include "cli/config.h"
#include "meta/meta.h"
#include "object/object.h"

int cli_serve(int argc, char **argv);
int cli_user(int argc, char **argv);
int cli_bucket(int argc, char **argv);
int cli_providers(int argc, char **argv);
int cli_scrub(int argc, char **argv);
int cli_repair(int argc, char **argv);
int cli_provider(int argc, char **argv);
int cli_fsck(int argc, char **argv);

#define CLI_MAX_POS 8        /* positional arguments a subcommand may get */
#define CLI_USER_NAME_MAX 63 /* IAM allows 64; the metadata store keeps 63 */

/* True when argv[from..) holds --help or -h: the subcommand prints its usage
 * to stdout and exits 0, touching nothing. */
bool cli_wants_help(int argc, char **argv, int from);

/* Parses --config, --data and --listen (and, when allow_keys, --access-key and
 * --secret-key) from argv[from..), applies ORCHARD_* environment variables,
 * and finishes the config. Without --config it reads ./orchard.ini, else
 * DATA/orchard.ini, if one exists; the file read is copied to cfg_used ("" if
 * none; cfg_used may be NULL). Positional arguments are left in pos[] (npos,
 * at most CLI_MAX_POS). Prints a one-line error ("orchard CMD: ...") and
 * returns 2 on bad input; the config is then already disposed. Nothing on
 * disk is created or changed. */
int cli_config(int argc, char **argv, int from, orc_config *c, const char **pos, int *npos,
               bool allow_keys, char cfg_used[PATH_MAX]);

/* Opens an existing data directory (ORC_ENOTFOUND if it does not exist):
 * loads or creates the master secret (DATA/master.key, 0600), derives keys
 * and opens the metadata store. */
int cli_open_data(const orc_config *c, seal_keys *keys, meta **m, orc_err *e);

/* ORC_EINVAL unless name is 1-CLI_USER_NAME_MAX of IAM's user-name alphabet:
 * letters, digits and + = , . @ _ - */
int cli_user_name_check(const char *name, orc_err *e);

/* Adds a user (name checked with cli_user_name_check) with the given keys (generated when NULL),
 * through object_user_add (which seals the secret). The keys used are written to ak/sk. */
int cli_user_add(store *st, const char *name, const char *ak_in, const char *sk_in, char ak[128],
                 char sk[128], orc_err *e);

/* One admin request to a running server (admin_client.c): signed with the
 * admin's keys (config or environment, else DATA/credentials), to --endpoint
 * (NULL: DATA/endpoint, else the listen address), path with its query. The
 * answer's body goes to body. 0 on a 200; else a one-line error
 * ("orchard CMD: ...") is printed and 1 returned (2: no keys). */
int cli_admin_call(const char *cmd, const orc_config *c, const char *endpoint, const char *method,
                   const char *path, orc_buf *body);
/* The number (or true/false as 1/0) of "field": in the server's JSON. */
bool cli_json_number(const orc_buf *body, const char *field, double *out);
/* The same, 0 when absent. */
double cli_json_num(const orc_buf *body, const char *field);
/* "12.3 MiB": bytes in binary units, for progress lines. */
void cli_human_bytes(double bytes, char *out, size_t cap);

#endif
