/* A metadata store in a fresh temporary directory, for tests. */
#ifndef ORC_TEST_META_TMP_H
#define ORC_TEST_META_TMP_H

#include <stddef.h>

#include "meta/meta.h"

/* Creates a directory from template ("/tmp/orchard-x-XXXXXX", rewritten in
 * place, dir holds dcap bytes), opens DIR/meta.db into *m and writes its path
 * to path (pcap bytes). Fails the test on any error. */
void meta_tmp_open(char *dir, size_t dcap, const char *template, char *path, size_t pcap, meta **m);
/* Closes m and removes the database, its WAL and shared memory, and dir. */
void meta_tmp_remove(meta *m, const char *dir, const char *path);

#endif
