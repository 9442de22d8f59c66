/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * An instance's own identity (docs/security.md): when miura or miura-oci
 * runs as root (and miura not --unconfined), each instance gets a uid and
 * gid of its own
 * (common/idrange.h), held for its whole life. Its run directory becomes
 * root:GID, mode 0710: the instance's processes can reach the sockets in it
 * (each handed to the identity) but not list it, nor replace the logs and
 * meta the launcher writes there as root; other instances and users cannot
 * enter it at all. The image is copied in as "kernel" (root:GID, 0640), so
 * QEMU reads only that, wherever the original lies. QEMU runs as the
 * identity (vm_confine), miura-vsockd switches to it itself (--user).
 */
#ifndef MIURA_COMMON_VM_IDENTITY_H
#define MIURA_COMMON_VM_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

#include "common/idrange.h"
#include "common/vm_parts.h"
#include "common/vm_plan.h"

#define IDENTITY_KERNEL "kernel" /* the image's copy in the run directory */

/*
 * Takes the lowest free identity of the configured range (dry: only says
 * which it would be). The locks are host-wide, in IDRANGE_LOCK_DIR, whatever
 * the runtime base: two bases (miura and miura-oci too) never hand out the
 * same ids. 0 (and *id, *fd: the lock, -1 when dry), or -1 with a one-line
 * cause in err.
 */
int identity_take(bool dry, struct instance_id *id, int *fd, char *err, size_t errlen);

/*
 * Hands the run directory to id as above and copies image into it, to
 * kernel (run_dir/IDENTITY_KERNEL). 0, or -1 with a one-line cause in err.
 */
int identity_rundir(const char *run_dir, const struct instance_id *id, const char *image,
                    const char *kernel, char *err, size_t errlen);

/*
 * QEMU's descriptors under c->own_id (vm_plan.h's PLAN_QEMU_FD_*): the
 * kernel copy opened, a connection to miura-vsockd's vhost-user socket and,
 * with a share, to virtiofsd's, then to each extra share's (miura-oci's bind
 * mounts). fds gets them in that order (*n of them, at most
 * IDENTITY_QEMU_FDS_MAX); the caller closes them once QEMU has them. 0, or
 * -1 with a one-line cause in err (nothing left open).
 */
#define IDENTITY_QEMU_FDS_MAX (3 + PLAN_EXTRA_SHARES_MAX)
int identity_qemu_fds(const struct launch_config *c, int *fds, unsigned *n, char *err,
                      size_t errlen);

/*
 * At the end: a kept run directory goes back to root (a later instance may
 * get the same ids), then the lock is released.
 */
void identity_release(const char *run_dir, bool kept, const struct instance_id *id, int fd);

/*
 * How QEMU is started for c (vm_spawn_io's confine): as c's identity when
 * c->own_id (with /dev/kvm's group under KVM when the identity needs it),
 * in network and IPC namespaces of its own when we are root and there is
 * no gdbstub to reach, with a private view of the file system (vm_view.h)
 * when we are root, always no_new_privs and no core file.
 */
void identity_qemu_confine(const struct launch_config *c, struct vm_confine *out);

#endif
