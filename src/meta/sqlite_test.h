/* Test-only hooks into the SQLite metadata store, for the unit tests of what
 * is SQLite's own (schema migration, pragmas) and of states no sequence of
 * meta.h calls can reach (a crash, a bug elsewhere). orchard never calls
 * them; behaviour tests use meta.h and the contract suite instead. Both run
 * on one of m's own connections, under its write lock, so a test never opens
 * the database file beside the store. ORC_EINVAL if m is not a SQLite store. */
#ifndef ORC_META_SQLITE_TEST_H
#define ORC_META_SQLITE_TEST_H

#include <stdint.h>

#include "meta/meta.h"

/* Runs sql (one or more statements) in one write transaction. */
int meta_sqlite_test_exec(meta *m, const char *sql, orc_err *e);
/* The first column of the first row of sql as an integer (ORC_ENOTFOUND: no row). */
int meta_sqlite_test_int(meta *m, const char *sql, int64_t *out, orc_err *e);

#endif
