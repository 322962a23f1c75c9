/* Temporary metadata stores for tests (see meta_tmp.h). */
#include "support/meta_tmp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

void meta_tmp_open(char *dir, size_t dcap, const char *template, char *path, size_t pcap, meta **m)
{
    orc_err e = {0};
    snprintf(dir, dcap, "%s", template);
    assert_non_null(mkdtemp(dir));
    snprintf(path, pcap, "%s/meta.db", dir);
    int rc = meta_open_sqlite(path, m, &e);
    if (rc) fprintf(stderr, "meta_open_sqlite: %s\n", e.msg);
    assert_int_equal(rc, ORC_OK);
}

void meta_tmp_remove(meta *m, const char *dir, const char *path)
{
    static const char *const suffix[] = {"", "-wal", "-shm"};
    char p[512];
    meta_close(m);
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
        unlink(p);
    }
    rmdir(dir);
}
