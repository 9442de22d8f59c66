/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * QEMU's private view of the file system (docs/security.md), built by the
 * launcher's child between fork and exec, as root, before it drops to the
 * instance's identity: a mount namespace of its own whose root is a
 * read-only tmpfs holding only
 *
 *   /usr                      the host's, read-only, nosuid, nodev: QEMU's
 *                             program, its libraries, modules and firmware
 *   /bin /lib /lib64 ...      the same symbolic links into usr/ as the host
 *                             has (Debian 12 merges /usr); a real directory
 *                             of the host there is bound read-only instead
 *   /dev/null /dev/zero /dev/urandom (and /dev/kvm when kvm)
 *                             the host's device nodes, bound one by one
 *   /proc                     a proc of its own with hidepid=invisible and
 *                             subset=pid: only its own processes (its kernel
 *                             is -kernel /proc/self/fd/N), no /proc/sys
 *   PROGRAM                   QEMU's program, read-only, when it is not
 *                             under /usr (a test's stand-in)
 *
 * and nothing else: no /etc, /home, /root, /run, /tmp, /var, no run
 * directory (QEMU's kernel and sockets are descriptors, vm_identity.h), no
 * other instance. The new root is mounted on `at` (an existing directory;
 * the run directory) inside the new namespace only, then made the root by
 * pivot_root, the old root detached.
 *
 * QEMU 7.2's own `-chroot` would do less: it needs QEMU to keep
 * CAP_SYS_CHROOT (so to start as root) and chroots only after its start.
 */
#ifndef MIURA_COMMON_VM_VIEW_H
#define MIURA_COMMON_VM_VIEW_H

#include <stdbool.h>

/* In a fresh child, as root: unshares the mount namespace and enters the
 * view; 0, or -1 with errno (the step that failed is not said). */
int vm_view_enter(const char *at, const char *program, bool kvm);

#endif
