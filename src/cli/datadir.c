/* The data directory as one server's property: the lock that keeps a second
 * `orchard serve` out, the undo of a start that failed half way, and the
 * endpoint file that tells client commands where the server listens. */
#include "cli/datadir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"

/* Names directly in DATA when the lock was taken: a failed start removes
 * only what is not in this list. */
static int snapshot(cli_datadir *d, const char *data, orc_err *e)
{
    DIR *dir = opendir(data);
    if (!dir)
        return orc_fail(e, ORC_EIO, "cannot read data directory %s: %s", data, strerror(errno));
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (d->nbefore == d->capbefore) {
            d->capbefore = d->capbefore ? d->capbefore * 2 : 16;
            d->before = orc_realloc(d->before, d->capbefore * sizeof(*d->before));
        }
        d->before[d->nbefore++] = orc_strdup(de->d_name);
    }
    closedir(dir);
    return ORC_OK;
}

/* The PID another server wrote into the lock file, or 0. */
static long holder_pid(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0) return 0;
    buf[n] = 0;
    char *end;
    long pid = strtol(buf, &end, 10);
    return pid > 0 && (*end == '\n' || !*end) ? pid : 0;
}

int cli_data_lock(const char *data, cli_datadir *d, orc_err *e)
{
    memset(d, 0, sizeof(*d));
    d->lock_fd = -1;
    snprintf(d->path, sizeof(d->path), "%s", data);
    if (mkdir(data, 0700) == 0)
        d->created_dir = true;
    else if (errno != EEXIST)
        return orc_fail(e, ORC_EIO, "cannot create data directory %s: %s", data, strerror(errno));
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/lock", data);
    int rc = snapshot(d, data, e), fd = -1;
    if (!rc && (fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
        rc = orc_fail(e, ORC_EIO, "cannot create %s: %s", path, strerror(errno));
    if (!rc && flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        long pid = err == EWOULDBLOCK ? holder_pid(fd) : 0;
        char who[40] = "";
        if (pid) snprintf(who, sizeof(who), " (PID %ld)", pid);
        if (err != EWOULDBLOCK)
            rc = orc_fail(e, ORC_EIO, "cannot lock %s: %s", path, strerror(err));
        else
            rc = orc_fail(e, ORC_EBUSY,
                          "data directory %s is in use by another orchard serve%s; stop it first "
                          "or use another --data",
                          data, who);
        /* Not ours: the other server's files, its lock file included, stay
         * exactly as they are. */
        d->created_dir = false;
    }
    if (rc) {
        if (fd >= 0) close(fd);
        if (d->created_dir) rmdir(data);
        cli_data_release(d);
        return rc;
    }
    d->lock_fd = fd; /* held from here on: undo and release may change DATA */
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        rc = orc_fail(e, ORC_EIO, "cannot write %s: %s", path, strerror(errno));
        cli_data_undo(d);
    }
    return rc;
}

static int remove_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    if (flag == FTW_DP)
        rmdir(p);
    else
        unlink(p);
    return 0;
}

static bool was_there(const cli_datadir *d, const char *name)
{
    for (size_t i = 0; i < d->nbefore; i++)
        if (!strcmp(d->before[i], name)) return true;
    return false;
}

void cli_data_undo(cli_datadir *d)
{
    if (d->lock_fd < 0) return;
    DIR *dir = opendir(d->path);
    struct dirent *de;
    char p[PATH_MAX + 256];
    /* Everything new in DATA appeared while this process held the lock, so it
     * is this start's: master.key, meta.db, credentials, the default disks.
     * The lock file goes last, while it is still held. */
    while (dir && (de = readdir(dir))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, "lock") ||
            was_there(d, de->d_name))
            continue;
        snprintf(p, sizeof(p), "%s/%s", d->path, de->d_name);
        nftw(p, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    }
    if (dir) closedir(dir);
    if (!was_there(d, "lock")) {
        snprintf(p, sizeof(p), "%s/lock", d->path);
        unlink(p);
    }
    if (d->created_dir) rmdir(d->path);
    cli_data_release(d);
}

void cli_data_release(cli_datadir *d)
{
    if (d->lock_fd >= 0) {
        /* Emptied so that the next holder's PID is the only one ever read
         * (best effort: a crash leaves ours, which the next start overwrites).
         * The lock itself ends with close. */
        int rc = ftruncate(d->lock_fd, 0);
        (void)rc;
        close(d->lock_fd);
    }
    d->lock_fd = -1;
    for (size_t i = 0; i < d->nbefore; i++)
        free(d->before[i]);
    free(d->before);
    d->before = NULL;
    d->nbefore = d->capbefore = 0;
}

int cli_endpoint_write(const char *data, const char *url, orc_err *e)
{
    char tmp[PATH_MAX + 32], path[PATH_MAX + 16];
    snprintf(tmp, sizeof(tmp), "%s/endpoint.tmp", data);
    snprintf(path, sizeof(path), "%s/endpoint", data);
    FILE *f = fopen(tmp, "we");
    if (!f) return orc_fail(e, ORC_EIO, "cannot create %s: %s", tmp, strerror(errno));
    int ok = fprintf(f, "%s\n", url) > 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        return orc_fail(e, ORC_EIO, "cannot write %s: %s", path, strerror(err));
    }
    return ORC_OK;
}

void cli_endpoint_remove(const char *data)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/endpoint", data);
    unlink(path);
}

int cli_endpoint_read(const char *data, char *url, size_t cap)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/endpoint", data);
    FILE *f = fopen(path, "re");
    if (!f) return -1;
    char *got = fgets(url, (int)cap, f);
    fclose(f);
    if (!got) return -1;
    url[strcspn(url, "\r\n")] = 0;
    return strncmp(url, "http://", 7) && strncmp(url, "https://", 8) ? -1 : 0;
}
