/* SPDX-License-Identifier: BSD-2-Clause */
/* CID reservation by lock files; see cidlock.h. */
#include "common/cidlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int lockfile_path(const char *dir, const char *prefix, uint32_t n, char *out, size_t len)
{
    int w = snprintf(out, len, "%s/%s%u.lock", dir, prefix, n);
    if (w < 0 || (size_t)w >= len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

int lockfile_take(const char *path, int *fd_out)
{
    /* A few rounds: the file may be unlinked by its releaser between open and flock. */
    for (int round = 0; round < 8; round++) {
        struct stat a, b;
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
            return -1;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            int e = errno;
            close(fd);
            if (e == EWOULDBLOCK)
                return 1;
            errno = e;
            return -1;
        }
        if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev) {
            *fd_out = fd;
            return 0;
        }
        close(fd); /* locked a file that was unlinked meanwhile: try again */
    }
    errno = EAGAIN;
    return -1;
}

int lockfile_is_free(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT;
    int free_now = flock(fd, LOCK_EX | LOCK_NB) == 0;
    close(fd); /* drops the lock, if we got it */
    return free_now;
}

void lockfile_release(const char *path, int fd)
{
    if (fd < 0)
        return;
    unlink(path); /* still locked: no one can take it in between */
    close(fd);
}

int lockfile_lowest(const char *dir, const char *prefix, uint32_t first, uint32_t count,
                    bool (*skip)(uint32_t n, const void *ctx), const void *ctx, uint32_t *n,
                    int *fd)
{
    char path[4096];
    for (uint32_t i = 0; i < count; i++) {
        uint32_t k = first + i;
        if (skip && skip(k, ctx))
            continue;
        if (lockfile_path(dir, prefix, k, path, sizeof(path)) < 0)
            return -1;
        int got = fd ? lockfile_take(path, fd) : !lockfile_is_free(path);
        if (got < 0)
            return -1;
        if (got == 0) {
            *n = k;
            return 0;
        }
    }
    errno = EBUSY;
    return -1;
}

int cid_lock(const char *dir, uint32_t cid, int *fd_out)
{
    char path[4096];
    if (lockfile_path(dir, CID_LOCK_PREFIX, cid, path, sizeof(path)))
        return -1;
    return lockfile_take(path, fd_out);
}

int cid_lock_lowest(const char *dir, uint32_t *cid, int *fd)
{
    return lockfile_lowest(dir, CID_LOCK_PREFIX, 3, CID_SCAN_MAX, NULL, NULL, cid, fd);
}

int cid_is_free(const char *dir, uint32_t cid)
{
    char path[4096];
    if (lockfile_path(dir, CID_LOCK_PREFIX, cid, path, sizeof(path)))
        return 0;
    return lockfile_is_free(path);
}

uint32_t cid_peek_lowest(const char *dir)
{
    uint32_t cid;
    if (lockfile_lowest(dir, CID_LOCK_PREFIX, 3, CID_SCAN_MAX, NULL, NULL, &cid, NULL) < 0)
        return 0;
    return cid;
}

void cid_unlock(const char *dir, uint32_t cid, int fd)
{
    char path[4096];
    if (fd >= 0 && lockfile_path(dir, CID_LOCK_PREFIX, cid, path, sizeof(path)) < 0) {
        close(fd);
        return;
    }
    lockfile_release(path, fd);
}
