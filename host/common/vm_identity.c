/* SPDX-License-Identifier: BSD-2-Clause */
/* An instance's own identity; see vm_identity.h. */
#include "common/vm_identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/runtime_dir.h"

int identity_take(bool dry, struct instance_id *id, int *fd, char *err, size_t errlen)
{
    struct id_range r;
    char why[512];
    *fd = -1;
    if (id_range_configured(&r, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "instance identities: %s", why);
        return -1;
    }
    if (!dry && mkdir_p(IDRANGE_LOCK_DIR, 0700) < 0) {
        snprintf(err, errlen, "%s: %s", IDRANGE_LOCK_DIR, strerror(errno));
        return -1;
    }
    if ((dry ? id_peek(IDRANGE_LOCK_DIR, &r, NULL, id)
             : id_lock(IDRANGE_LOCK_DIR, &r, NULL, id, fd)) < 0) {
        snprintf(err, errlen, "no free instance identity in uids %u..%u (%s): %s", r.uid,
                 r.uid + (r.count - 1), r.from,
                 errno == EBUSY ? "all in use or host accounts" : strerror(errno));
        return -1;
    }
    return 0;
}

/* Copies image to path (created, root:gid 0640). */
static int copy_image(const char *image, const char *path, gid_t gid)
{
    char buf[65536];
    int in = open(image, O_RDONLY | O_CLOEXEC), out = -1, e;
    ssize_t n = 0;
    if (in < 0)
        return -1;
    out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        goto fail;
    while ((n = read(in, buf, sizeof(buf))) > 0)
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0)
                goto fail;
            done += w;
        }
    if (n < 0 || fchown(out, 0, gid) < 0 || fchmod(out, 0640) < 0)
        goto fail;
    close(in);
    return close(out);
fail:
    e = errno;
    close(in);
    if (out >= 0) {
        close(out);
        unlink(path);
    }
    errno = e;
    return -1;
}

int identity_rundir(const char *run_dir, const struct instance_id *id, const char *image,
                    const char *kernel, char *err, size_t errlen)
{
    if (chown(run_dir, 0, (gid_t)id->gid) < 0 || chmod(run_dir, 0710) < 0) {
        snprintf(err, errlen, "run directory %s: %s", run_dir, strerror(errno));
        return -1;
    }
    if (copy_image(image, kernel, (gid_t)id->gid) < 0) {
        snprintf(err, errlen, "copying %s to %s: %s", image, kernel, strerror(errno));
        return -1;
    }
    return 0;
}

/*
 * A connection to the Unix socket path, or -1 with errno. The file appears
 * at the daemon's bind, a moment before its listen: refused connections are
 * tried again for up to CONNECT_RETRY_MS.
 */
#define CONNECT_RETRY_MS 5000
static int connect_to(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    for (int waited = 0, step = 1;; waited += step, step = step < 50 ? step * 2 : 50) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return fd;
        int e = errno;
        close(fd);
        errno = e;
        if (e != ECONNREFUSED || waited >= CONNECT_RETRY_MS)
            return -1;
        vm_sleep_ms(step);
    }
}

int identity_qemu_fds(const struct launch_config *c, int *fds, unsigned *n, char *err,
                      size_t errlen)
{
    char path[4096];
    const char *what = c->image;
    *n = 0;
    fds[(*n)++] = open(c->image, O_RDONLY | O_CLOEXEC);
    if (fds[0] < 0)
        goto fail;
    what = "vhost.sock";
    plan_path(c, what, path, sizeof(path));
    if ((fds[(*n)++] = connect_to(path)) < 0)
        goto fail;
    if (c->share_dir) {
        what = "fs.sock";
        plan_path(c, what, path, sizeof(path));
        if ((fds[(*n)++] = connect_to(path)) < 0)
            goto fail;
        for (unsigned i = 0; i < c->nextra; i++) {
            what = c->extra[i].tag; /* its socket, fs-TAG.sock */
            plan_extra_socket(c, i, path, sizeof(path));
            if ((fds[(*n)++] = connect_to(path)) < 0)
                goto fail;
        }
    }
    return 0;
fail:
    snprintf(err, errlen, "%s for qemu: %s", what, strerror(errno));
    for (unsigned i = 0; i + 1 < *n; i++)
        close(fds[i]);
    *n = 0;
    return -1;
}

void identity_release(const char *run_dir, bool kept, const struct instance_id *id, int fd)
{
    if (fd < 0)
        return;
    if (kept) {
        char kernel[4200];
        snprintf(kernel, sizeof(kernel), "%s/%s", run_dir, IDENTITY_KERNEL);
        unlink(kernel); /* the logs are what is kept */
        if (chown(run_dir, 0, 0) < 0)
            fprintf(stderr, "miura: run directory %s: %s\n", run_dir, strerror(errno));
    }
    id_unlock(IDRANGE_LOCK_DIR, id, fd);
}

void identity_qemu_confine(const struct launch_config *c, struct vm_confine *out)
{
    struct stat st;
    *out = (struct vm_confine){.as_user = c->own_id,
                               .uid = c->uid,
                               .gid = c->gid,
                               .new_net = geteuid() == 0 && !c->gdb,
                               .own_view = geteuid() == 0,
                               .view_kvm = c->accel == ACCEL_KVM,
                               .view_at = c->run_dir};
    /* /dev/kvm is usually root:kvm 0660: the identity reaches it through the group. */
    if (c->own_id && c->accel == ACCEL_KVM && stat("/dev/kvm", &st) == 0 &&
        (st.st_mode & (S_IROTH | S_IWOTH)) != (S_IROTH | S_IWOTH) && st.st_gid != 0) {
        out->has_extra = true;
        out->extra_gid = (uint32_t)st.st_gid;
    }
}
