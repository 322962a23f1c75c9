/* The data directory's lock, the undo of a failed start, and DATA/endpoint. */
#ifndef ORC_CLI_DATADIR_H
#define ORC_CLI_DATADIR_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

typedef struct cli_datadir {
    char path[PATH_MAX];
    int lock_fd;      /* DATA/lock, flock()ed exclusively; -1: not held */
    bool created_dir; /* DATA did not exist before this process */
    char **before;    /* names in DATA when the lock was taken */
    size_t nbefore, capbefore;
} cli_datadir;

/* Creates DATA (0700) if missing and takes an exclusive flock on DATA/lock,
 * writing our PID into it; held until cli_data_release or process exit. Done
 * before anything else in DATA is touched. ORC_EBUSY: another process holds
 * it (the message names its PID); nothing was created or changed then. */
int cli_data_lock(const char *data, cli_datadir *d, orc_err *e);
/* A start that failed: removes everything in DATA that appeared since the
 * lock was taken (and DATA itself if this process created it), then
 * releases the lock. */
void cli_data_undo(cli_datadir *d);
/* Releases the lock (a clean exit keeps everything in DATA). */
void cli_data_release(cli_datadir *d);

/* DATA/endpoint: the URL a running server answers on, for client commands.
 * Written (atomically) once the server listens, removed on a clean exit. */
int cli_endpoint_write(const char *data, const char *url, orc_err *e);
void cli_endpoint_remove(const char *data);
/* The URL from DATA/endpoint; -1 if there is none. */
int cli_endpoint_read(const char *data, char *url, size_t cap);

#endif
