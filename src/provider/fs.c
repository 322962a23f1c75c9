/* The local-disk provider: one file per chunk under <path>/chunks/<aa>/<bb>/<name>.
 *
 * Writes use the classic durable-create sequence (temp file, fsync, rename,
 * fsync of the directory) so a chunk is either absent or whole after a crash.
 * Every path is resolved relative to directory fds opened once at open, so a
 * PUT costs no path walk from / and no mkdir unless its shard is new. */
#include "provider/provider_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/log.h"

#define FS_NAME_MAX 128
/* "aa/bb/" + name + NUL */
#define FS_REL_MAX (6 + FS_NAME_MAX + 1)
#define FS_TMP_TRIES 8
/* Large chunks are written with O_DIRECT: on the machines measured here a
 * page-cache write of 1 GiB costs 2.4 s of kernel CPU and a direct one 0.1 s
 * (docs/benchmarks.md), and every chunk is fsynced at once anyway, so the
 * cache would only hold bytes that are already durable. */
#define FS_DIRECT_ALIGN 4096
#define FS_DIRECT_MIN (256u * 1024)

typedef struct fs_provider {
    provider base; /* first: provider.c casts */
    char *path;
    int chunks_fd; /* <path>/chunks */
    int tmp_fd;    /* <path>/tmp */
    bool fsync;    /* false only for tests and benchmarks: a crash may lose or tear chunks */
} fs_provider;

/* Per process, not per provider: two providers on one path in one process
 * must still never pick the same temp name. */
static _Atomic unsigned long tmp_counter;

static int errno_code(int err)
{
    if (err == ECANCELED) return ORC_ECANCELED; /* our own: the call's cancel flag rose */
    return err == ENOSPC || err == EDQUOT ? ORC_ENOSPC : ORC_EIO;
}

static int io_fail(const fs_provider *f, orc_err *e, int err, const char *what, const char *name)
{
    return orc_fail(e, errno_code(err), "provider %s: %s of chunk %.16s under %s: %s", f->base.name,
                    what, name, f->path, strerror(err));
}

/* Names are 1..128 chars of [0-9a-z]: no '/', no '.', so no path traversal. */
static bool name_ok(const char *name)
{
    size_t n = 0;
    for (; name[n]; n++) {
        char c = name[n];
        if (n >= FS_NAME_MAX || !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'))) return false;
    }
    return n > 0;
}

static int check_name(const fs_provider *f, const char *name, orc_err *e)
{
    if (name_ok(name)) return ORC_OK;
    return orc_fail(e, ORC_EINVAL, "provider %s: bad chunk name '%.40s' (want 1..%d of [0-9a-z])",
                    f->base.name, name, FS_NAME_MAX);
}

/* Fills rel with "aa/bb/name", relative to chunks_fd. Names shorter than four
 * chars (never produced by seal_name) are padded with '_' in the shard part. */
static void rel_path(const char *name, char rel[FS_REL_MAX])
{
    char s[4] = {'_', '_', '_', '_'};
    for (size_t i = 0; i < 4 && name[i]; i++)
        s[i] = name[i];
    snprintf(rel, FS_REL_MAX, "%c%c/%c%c/%s", s[0], s[1], s[2], s[3], name);
}

static int fsync_dirat(int dirfd, const char *rel)
{
    int fd = openat(dirfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    errno = err;
    return rc;
}

/* Reads and writes go in steps of this many bytes (a multiple of any
 * O_DIRECT alignment), looking at the call's cancel flag between steps. */
#define FS_STEP (1u << 20)

static int write_all(int fd, const uint8_t *data, size_t len)
{
    while (len) {
        if (provider_cancelled()) {
            errno = ECANCELED; /* fs_put removes the temp file: nothing visible */
            return -1;
        }
        ssize_t n = write(fd, data, len < FS_STEP ? len : FS_STEP);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Creates "aa" and "aa/bb" under chunks_fd (either may exist already) and
 * makes their entries durable. Rare: once per shard over the store's life.
 * Both parents are fsynced even when another thread won the mkdir race, since
 * that thread may not have fsynced yet when our PUT returns. */
static int make_shard(fs_provider *f, const char *rel)
{
    char dir[6];
    memcpy(dir, rel, 2);
    dir[2] = 0;
    if (mkdirat(f->chunks_fd, dir, 0755) < 0 && errno != EEXIST) return -1;
    memcpy(dir, rel, 5);
    dir[5] = 0;
    if (mkdirat(f->chunks_fd, dir, 0755) < 0 && errno != EEXIST) return -1;
    if (!f->fsync) return 0;
    dir[2] = 0;
    if (fsync_dirat(f->chunks_fd, dir) < 0) return -1;
    return fsync(f->chunks_fd);
}

/* Opens a fresh temp file in tmp/, writing its name to tmp. */
static int open_tmp(fs_provider *f, char *tmp, size_t tmpsz)
{
    for (int i = 0; i < FS_TMP_TRIES; i++) {
        unsigned long n = atomic_fetch_add(&tmp_counter, 1);
        snprintf(tmp, tmpsz, "%ld-%ld-%lu.tmp", (long)getpid(), (long)gettid(), n);
        int fd = openat(f->tmp_fd, tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    return -1;
}

/* Writes data[0..len) to the new, empty file fd: O_DIRECT for the aligned
 * body and a zero-padded last block then cut back with ftruncate, or plain
 * buffered writes when the buffer is unaligned, small, or the filesystem
 * refuses O_DIRECT (tmpfs). */
static int write_data(int fd, const uint8_t *data, size_t len)
{
    if (len < FS_DIRECT_MIN || (uintptr_t)data % FS_DIRECT_ALIGN ||
        fcntl(fd, F_SETFL, O_DIRECT) < 0)
        return write_all(fd, data, len);
    size_t body = len & ~(size_t)(FS_DIRECT_ALIGN - 1), tail = len - body;
    void *blk = NULL;
    int rc = write_all(fd, data, body);
    if (rc == 0 && tail) {
        if (posix_memalign(&blk, FS_DIRECT_ALIGN, FS_DIRECT_ALIGN)) return -1;
        memcpy(blk, data + body, tail);
        memset((uint8_t *)blk + tail, 0, FS_DIRECT_ALIGN - tail);
        rc = write_all(fd, blk, FS_DIRECT_ALIGN);
        free(blk);
        if (rc == 0) rc = ftruncate(fd, (off_t)len);
    }
    if (rc < 0 && errno == EINVAL) { /* alignment the device does not take: start over */
        if (fcntl(fd, F_SETFL, 0) < 0 || ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
            return -1;
        return write_all(fd, data, len);
    }
    return rc;
}

static int fs_put(provider *p, const char *name, const uint8_t *data, size_t len, orc_err *e)
{
    fs_provider *f = (fs_provider *)p;
    int rc = check_name(f, name, e);
    if (rc) return rc;
    char rel[FS_REL_MAX], tmp[96];
    rel_path(name, rel);
    const char *what = "create temp file";
    int fd = open_tmp(f, tmp, sizeof(tmp));
    if (fd < 0) return io_fail(f, e, errno, what, name);

    what = "write";
    if (write_data(fd, data, len) < 0) goto fail;
    /* fdatasync covers the data and the size, all a new file needs. */
    what = "fsync";
    if (f->fsync && fdatasync(fd) < 0) goto fail;
    what = "close";
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    what = "rename";
    if (renameat(f->tmp_fd, tmp, f->chunks_fd, rel) < 0) {
        if (errno != ENOENT) goto fail;
        what = "mkdir shard";
        if (make_shard(f, rel) < 0) goto fail;
        what = "rename";
        if (renameat(f->tmp_fd, tmp, f->chunks_fd, rel) < 0) goto fail;
    }
    /* The rename is only durable once the shard directory is. */
    rel[5] = 0;
    if (f->fsync && fsync_dirat(f->chunks_fd, rel) < 0)
        return io_fail(f, e, errno, "fsync shard dir", name);
    return ORC_OK;

fail:;
    int err = errno;
    if (fd >= 0) close(fd);
    unlinkat(f->tmp_fd, tmp, 0);
    return io_fail(f, e, err, what, name);
}

/* Appends up to want bytes from offset off, stopping early at end of file. */
static int read_range(fs_provider *f, int fd, const char *name, uint64_t off, size_t want,
                      orc_buf *out, orc_err *e)
{
    int rc = orc_buf_reserve(out, want, e);
    if (rc) return rc;
    size_t had = out->len; /* a failed read leaves out as it was */
    while (want) {
        if (provider_cancelled()) {
            out->len = had;
            out->ptr[out->len] = 0;
            return io_fail(f, e, ECANCELED, "read", name);
        }
        ssize_t n = pread(fd, out->ptr + out->len, want < FS_STEP ? want : FS_STEP, (off_t)off);
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            out->len = had;
            out->ptr[out->len] = 0;
            return io_fail(f, e, err, "read", name);
        }
        if (n == 0) break; /* shrank under us: return what exists */
        out->len += (size_t)n;
        off += (uint64_t)n;
        want -= (size_t)n;
    }
    if (out->ptr) out->ptr[out->len] = 0;
    return ORC_OK;
}

static int fs_get(provider *p, const char *name, uint64_t off, uint64_t len, orc_buf *out,
                  orc_err *e)
{
    fs_provider *f = (fs_provider *)p;
    int rc = check_name(f, name, e);
    if (rc) return rc;
    char rel[FS_REL_MAX];
    rel_path(name, rel);
    int fd = openat(f->chunks_fd, rel, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return orc_fail(e, ORC_ENOTFOUND, "provider %s: chunk %.16s not found", p->name, name);
        return io_fail(f, e, errno, "open", name);
    }
    /* The size bounds the reservation even when len is a large finite value. */
    struct stat st;
    if (fstat(fd, &st) < 0) {
        rc = io_fail(f, e, errno, "stat", name);
        goto done;
    }
    uint64_t size = (uint64_t)st.st_size;
    uint64_t want = off >= size ? 0 : size - off;
    if (len < want) want = len;
    if (want > SIZE_MAX) {
        rc = orc_fail(e, ORC_ENOSPC, "provider %s: chunk %.16s too large to read", p->name, name);
        goto done;
    }
    /* Ask for the whole range at once: the default read-ahead window starts
     * small at the front of every file, and chunk files are read whole. */
    if (want > 128 * 1024) posix_fadvise(fd, (off_t)off, (off_t)want, POSIX_FADV_WILLNEED);
    rc = read_range(f, fd, name, off, (size_t)want, out, e);
done:
    close(fd);
    return rc;
}

/* No directory fsync: a delete lost in a crash only leaves garbage behind,
 * which the collector finds again. */
static int fs_del(provider *p, const char *name, orc_err *e)
{
    fs_provider *f = (fs_provider *)p;
    int rc = check_name(f, name, e);
    if (rc) return rc;
    char rel[FS_REL_MAX];
    rel_path(name, rel);
    if (unlinkat(f->chunks_fd, rel, 0) == 0) return ORC_OK;
    if (errno == ENOENT)
        return orc_fail(e, ORC_ENOTFOUND, "provider %s: chunk %.16s not found", p->name, name);
    return io_fail(f, e, errno, "delete", name);
}

static int fs_head(provider *p, const char *name, uint64_t *size, orc_err *e)
{
    fs_provider *f = (fs_provider *)p;
    int rc = check_name(f, name, e);
    if (rc) return rc;
    char rel[FS_REL_MAX];
    rel_path(name, rel);
    struct stat st;
    if (fstatat(f->chunks_fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return orc_fail(e, ORC_ENOTFOUND, "provider %s: chunk %.16s not found", p->name, name);
        return io_fail(f, e, errno, "stat", name);
    }
    if (!S_ISREG(st.st_mode))
        return orc_fail(e, ORC_EIO, "provider %s: chunk %.16s is not a regular file", p->name,
                        name);
    *size = (uint64_t)st.st_size;
    return ORC_OK;
}

/* Opens the subdirectory sub of dirfd for reading, or NULL with errno set. */
static DIR *open_dir(int dirfd, const char *sub)
{
    int fd = openat(dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return NULL;
    DIR *d = fdopendir(fd);
    if (!d) close(fd);
    return d;
}

static bool is_shard(const char *s)
{
    return strlen(s) == 2 && s[0] != '.';
}

/* Calls fn for each chunk in one leaf shard directory. */
static int list_leaf(fs_provider *f, DIR *d, provider_list_fn fn, void *ctx, orc_err *e)
{
    struct dirent *de;
    for (errno = 0; (de = readdir(d)); errno = 0) {
        if (!name_ok(de->d_name)) continue; /* ".", "..", strays */
        if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN) continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT) continue; /* deleted while we walk */
            return io_fail(f, e, errno, "list stat", de->d_name);
        }
        if (!S_ISREG(st.st_mode)) continue;
        int rc = fn(ctx, de->d_name, (uint64_t)st.st_size);
        if (rc) return rc;
    }
    return errno ? io_fail(f, e, errno, "list readdir", "-") : ORC_OK;
}

/* Walks one level of shard directories under d; depth 1 means the next level
 * holds chunks. */
static int list_level(fs_provider *f, DIR *d, int depth, provider_list_fn fn, void *ctx, orc_err *e)
{
    struct dirent *de;
    for (errno = 0; (de = readdir(d)); errno = 0) {
        if (!is_shard(de->d_name)) continue;
        if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) continue;
        DIR *sub = open_dir(dirfd(d), de->d_name);
        if (!sub) {
            if (errno == ENOENT || errno == ENOTDIR) continue;
            return io_fail(f, e, errno, "list opendir", de->d_name);
        }
        int rc = depth ? list_level(f, sub, depth - 1, fn, ctx, e) : list_leaf(f, sub, fn, ctx, e);
        closedir(sub);
        if (rc) return rc;
    }
    return errno ? io_fail(f, e, errno, "list readdir", "-") : ORC_OK;
}

static int fs_list(provider *p, provider_list_fn fn, void *ctx, orc_err *e)
{
    fs_provider *f = (fs_provider *)p;
    DIR *d = open_dir(f->chunks_fd, ".");
    if (!d) return io_fail(f, e, errno, "list opendir", "-");
    int rc = list_level(f, d, 1, fn, ctx, e);
    closedir(d);
    return rc;
}

static void fs_free(provider *p)
{
    fs_provider *f = (fs_provider *)p;
    if (f->chunks_fd >= 0) close(f->chunks_fd);
    if (f->tmp_fd >= 0) close(f->tmp_fd);
    free(f->path);
    free(f);
}

static const struct provider_ops fs_ops = {
    .kind = "fs",
    .caps = PROVIDER_CAP_RANGE,
    .put = fs_put,
    .get = fs_get,
    .del = fs_del,
    .head = fs_head,
    .list = fs_list,
    .free = fs_free,
};

/* mkdir -p path; each directory we create has its parent fsynced so the
 * store's root does not vanish in a crash after chunks were acknowledged. */
static int mkdir_p(const char *path, bool sync)
{
    char *dup = orc_strdup(path);
    int rc = 0;
    for (char *s = dup + 1;; s++) {
        if (*s != '/' && *s != 0) continue;
        char c = *s;
        *s = 0;
        if (mkdir(dup, 0755) == 0) {
            if (sync) {
                char *slash = strrchr(dup, '/');
                const char *parent = slash == dup ? "/" : slash ? dup : ".";
                if (slash && slash != dup) *slash = 0;
                rc = fsync_dirat(AT_FDCWD, parent);
                if (slash && slash != dup) *slash = '/';
                if (rc < 0) break;
            }
        } else if (errno != EEXIST) {
            rc = -1;
            break;
        }
        *s = c;
        if (!c) break;
    }
    int err = errno;
    free(dup);
    errno = err;
    return rc;
}

/* Opens (creating if needed) <root>/<sub> as a directory fd. */
static int open_sub(int root_fd, const char *sub, bool sync)
{
    if (mkdirat(root_fd, sub, 0755) == 0) {
        if (sync && fsync(root_fd) < 0) return -1;
    } else if (errno != EEXIST) {
        return -1;
    }
    return openat(root_fd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Removes temp files a crashed process left behind. Assumes one process owns
 * the path: a second process opening it would remove the first's in-flight
 * temp files and fail its PUTs. */
static int clean_tmp(fs_provider *f, const char *name, orc_err *e)
{
    DIR *d = open_dir(f->tmp_fd, ".");
    if (!d) goto fail;
    unsigned removed = 0;
    struct dirent *de;
    for (errno = 0; (de = readdir(d)); errno = 0) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        if (unlinkat(dirfd(d), de->d_name, 0) == 0)
            removed++;
        else if (errno != ENOENT)
            LOG_WARN("provider %s: cannot remove stale %s/tmp/%s: %s", name, f->path, de->d_name,
                     strerror(errno));
        errno = 0;
    }
    int err = errno;
    closedir(d);
    errno = err;
    if (err) goto fail;
    if (removed) LOG_INFO("provider %s: removed %u stale temp files", name, removed);
    return ORC_OK;
fail:
    return orc_fail(e, ORC_EIO, "provider %s: cannot clean %s/tmp: %s", name, f->path,
                    strerror(errno));
}

int provider_fs_open(const char *name, const provider_kv *kv, size_t nkv, provider **out,
                     orc_err *e)
{
    const char *path = provider_kv_get(kv, nkv, "path");
    if (!path || !*path)
        return orc_fail(e, ORC_EINVAL, "provider %s: missing 'path' (the directory to store in)",
                        name);
    bool sync = true;
    const char *fs = provider_kv_get(kv, nkv, "fsync");
    if (fs && strcmp(fs, "true") != 0) {
        if (strcmp(fs, "false") != 0)
            return orc_fail(e, ORC_EINVAL, "provider %s: fsync = '%.32s': want true or false", name,
                            fs);
        sync = false;
    }
    fs_provider *f = orc_calloc(1, sizeof(*f));
    f->base.ops = &fs_ops;
    f->path = orc_strdup(path);
    f->fsync = sync;
    f->chunks_fd = f->tmp_fd = -1;
    if (!sync) LOG_WARN("provider %s: fsync = false: chunks may be lost in a crash", name);

    int rc = ORC_OK, root_fd = -1;
    const char *what = "mkdir";
    if (mkdir_p(path, sync) < 0) goto fail;
    what = "open";
    root_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) goto fail;
    what = "create chunks/ in";
    f->chunks_fd = open_sub(root_fd, "chunks", sync);
    if (f->chunks_fd < 0) goto fail;
    what = "create tmp/ in";
    f->tmp_fd = open_sub(root_fd, "tmp", sync);
    if (f->tmp_fd < 0) goto fail;
    rc = clean_tmp(f, name, e);
    if (rc) goto done;
    *out = &f->base;
    goto done;
fail:
    rc = orc_fail(e, errno_code(errno), "provider %s: cannot %s %s: %s", name, what, path,
                  strerror(errno));
done:
    if (root_fd >= 0) close(root_fd);
    if (rc) fs_free(&f->base);
    return rc;
}
