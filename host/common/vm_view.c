/* SPDX-License-Identifier: BSD-2-Clause */
/* QEMU's private view of the file system; see vm_view.h. */
#include "common/vm_view.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A copy of the host's mount tree at path, detached, to be placed in the view. */
static int clone_tree(const char *path)
{
    return open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
}

/* Places tree at rel (relative to root, which must exist) with attr set; closes tree. */
static int place(int root, const char *rel, int tree, unsigned long long attr)
{
    struct mount_attr a = {.attr_set = attr};
    int rc = -1, e;
    if (tree < 0)
        return -1;
    if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) == 0 &&
        move_mount(tree, "", root, rel, MOVE_MOUNT_F_EMPTY_PATH) == 0)
        rc = 0;
    e = errno;
    close(tree);
    errno = e;
    return rc;
}

/* mkdir -p of the directories of rel (not its last part) under root. */
static int make_parents(int root, const char *rel)
{
    char part[PATH_MAX];
    size_t n = strlen(rel);
    if (n >= sizeof(part)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (size_t i = 1; i < n; i++) {
        if (rel[i] != '/')
            continue;
        memcpy(part, rel, i);
        part[i] = '\0';
        if (mkdirat(root, part, 0755) < 0 && errno != EEXIST)
            return -1;
    }
    return 0;
}

/* An empty file at rel under root, for a file to be bound onto. */
static int make_file(int root, const char *rel)
{
    int fd;
    if (make_parents(root, rel) < 0)
        return -1;
    fd = openat(root, rel, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno == EEXIST ? 0 : -1;
    close(fd);
    return 0;
}

#define RO_ATTR  (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)
#define DEV_ATTR (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC)

/* The host's top-level names that lead into /usr on a merged-/usr system. */
static int usr_links(int root)
{
    static const char *const names[] = {"bin", "sbin", "lib", "lib32", "lib64", "libx32"};
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char host[16], target[PATH_MAX];
        struct stat st;
        snprintf(host, sizeof(host), "/%s", names[i]);
        if (lstat(host, &st) < 0)
            continue; /* not on this host */
        if (S_ISLNK(st.st_mode)) {
            ssize_t n = readlink(host, target, sizeof(target) - 1);
            if (n < 0)
                return -1;
            target[n] = '\0';
            if (symlinkat(target, root, names[i]) < 0)
                return -1;
        } else if (S_ISDIR(st.st_mode)) {
            if (mkdirat(root, names[i], 0755) < 0 ||
                place(root, names[i], clone_tree(host), RO_ATTR) < 0)
                return -1;
        }
    }
    return 0;
}

int vm_view_enter(const char *at, const char *program, bool kvm)
{
    static const char *const devs[] = {"/dev/null", "/dev/zero", "/dev/urandom", "/dev/kvm"};
    char procdir[PATH_MAX];
    int root = -1, e;
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return -1;
    bool in_usr = strncmp(program, "/usr/", 5) == 0;
    if (program[0] != '/') {
        errno = EINVAL;
        return -1;
    }
    /* The program's copy is taken before the tmpfs can hide it (it may lie under at). */
    int prog_tree = in_usr ? -1 : clone_tree(program);
    if (!in_usr && prog_tree < 0)
        goto fail;
    if (mount("miura-qemu-root", at, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "size=64k,nr_inodes=64,mode=0755") < 0)
        goto fail;
    root = open(at, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0 || mkdirat(root, "usr", 0755) < 0 ||
        place(root, "usr", clone_tree("/usr"), RO_ATTR) < 0 || usr_links(root) < 0)
        goto fail;
    if (mkdirat(root, "dev", 0755) < 0)
        goto fail;
    for (unsigned i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
        if (strcmp(devs[i], "/dev/kvm") == 0 && !kvm)
            continue;
        if (make_file(root, devs[i] + 1) < 0 ||
            place(root, devs[i] + 1, clone_tree(devs[i]), DEV_ATTR) < 0)
            goto fail;
    }
    if (prog_tree >= 0) {
        if (make_file(root, program + 1) < 0 || place(root, program + 1, prog_tree, RO_ATTR) < 0) {
            prog_tree = -1;
            goto fail;
        }
        prog_tree = -1;
    }
    /* Its own processes only (hidepid=invisible: those it may ptrace), no /proc/sys. */
    if (mkdirat(root, "proc", 0555) < 0 ||
        snprintf(procdir, sizeof(procdir), "%s/proc", at) >= (int)sizeof(procdir) ||
        mount("proc", procdir, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "hidepid=invisible,subset=pid") < 0)
        goto fail;
    /* pivot_root(".", "."): the old root lands on top of the new one; detach it. */
    if (fchdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 ||
        chdir("/") < 0 ||
        mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              NULL) < 0)
        goto fail;
    close(root);
    return 0;
fail:
    e = errno;
    if (prog_tree >= 0)
        close(prog_tree);
    if (root >= 0)
        close(root);
    errno = e;
    return -1;
}
