/* The metadata store contract (tests/unit/support/meta_contract.h) run
 * against the SQLite store, opened through the registry as orchard opens it
 * (meta_open("sqlite")), one fresh database in a mkdtemp dir per test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/meta_contract.h"
#include "support/meta_tmp.h"

typedef struct sqlite_ctx {
    char dir[64];
    char path[128];
} sqlite_ctx;

static void open_sqlite(meta **m, void **ctx)
{
    sqlite_ctx *c = calloc(1, sizeof(*c));
    orc_err e = {0};
    assert_non_null(c);
    snprintf(c->dir, sizeof(c->dir), "/tmp/orchard-contract-XXXXXX");
    assert_non_null(mkdtemp(c->dir));
    snprintf(c->path, sizeof(c->path), "%s/meta.db", c->dir);
    const meta_kv kv[] = {{"path", c->path}};
    int rc = meta_open("sqlite", kv, 1, m, &e);
    if (rc) fprintf(stderr, "meta_open sqlite: %s\n", e.msg);
    assert_int_equal(rc, ORC_OK);
    *ctx = c;
}

static void close_sqlite(meta *m, void *ctx)
{
    sqlite_ctx *c = ctx;
    meta_tmp_remove(m, c->dir, c->path);
    free(c);
}

int main(void)
{
    static const meta_contract_impl sqlite = {"sqlite", open_sqlite, close_sqlite};
    return meta_contract_run(&sqlite) ? 1 : 0;
}
