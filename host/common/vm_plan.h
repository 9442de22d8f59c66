/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The command lines of an instance: virtiofsd (with --share; one more per
 * extra share), miura-vsockd and QEMU, built from a resolved configuration.
 * Pure (no I/O), so the exact lines that --dry-run prints are the ones that
 * run, and tests check them.
 */
#ifndef MIURA_COMMON_VM_PLAN_H
#define MIURA_COMMON_VM_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "common/vm_args.h"

#define PLAN_ARGV_MAX 96

/* miura-vsockd's control socket in the run directory (miura stats NAME). */
#define PLAN_VSOCKD_CONTROL "vsockd.ctl"

/* An argv vector owning its strings; argv[argc] is NULL. */
struct argv_list {
    int argc;
    char *argv[PLAN_ARGV_MAX + 1];
};

/*
 * A directory shared besides the root share: its own virtiofsd (socket
 * fs-TAG.sock in the run directory), a vhost-user-fs device with this tag,
 * and a `fs.TAG=PATH` word so the guest mounts it at guest_path.
 */
#define PLAN_EXTRA_SHARES_MAX 7 /* the guest VFS holds 8 mounts, "/" included */
#define PLAN_TAG_MAX          36
struct plan_share {
    const char *dir;            /* host directory */
    const char *guest_path;     /* absolute; no '"' (it could not be quoted) */
    char tag[PLAN_TAG_MAX + 1]; /* [a-z0-9]: also part of a file name */
};

/* Everything the command lines depend on, already validated. */
struct launch_config {
    const char *image;        /* -kernel */
    const char *share_dir;    /* NULL: no virtio-fs */
    const char *append;       /* extra kernel arguments, "" for none */
    const char *name;         /* instance name */
    const char *run_dir;      /* private directory for sockets and logs */
    const char *console_file; /* NULL: console on stdio; else -serial file: */
    const char *qemu_path;    /* resolved binaries */
    const char *virtiofsd_path;
    const char *vsockd_path;
    enum accel accel;     /* ACCEL_KVM or ACCEL_TCG (resolved) */
    enum machine machine; /* microvm: virtio-mmio devices; q35, pc: virtio-pci */
    uint32_t mem_mib;
    uint32_t cpus;
    uint32_t cid;
    unsigned npublish;
    struct publish_spec publish[LAUNCHER_PUBLISH_MAX];
    uint32_t preopen; /* miura-vsockd --preopen N (0: off): pre-opened connections per port */
    unsigned nextra;  /* extra shares (need share_dir) */
    struct plan_share extra[PLAN_EXTRA_SHARES_MAX];
    bool publish_fds; /* miura-vsockd gets listening sockets (--publish-fd), see below */
    bool socket_fds;  /* the daemons get their vhost-user listeners, see below */
    bool gdb;         /* QEMU's gdbstub on gdb_spec */
    bool gdb_wait;    /* -S: the CPUs wait for gdb's "continue" */
    struct gdb_spec gdb_spec;
    /* docs/security.md. With own_id, miura-vsockd gets --user UID:GID (and the
     * caller runs QEMU as that identity, vm_parts.h). unconfined: miura-vsockd
     * --unconfined and QEMU without -sandbox (debugging, benchmarks). */
    bool own_id;
    uint32_t uid, gid;
    bool unconfined;
};

/*
 * With own_id, QEMU reaches nothing by path (it may not even search the
 * directories above the run directory): the caller passes the image, opened,
 * as PLAN_QEMU_FD_KERNEL ("-kernel /proc/self/fd/3", which reopens the
 * same file), a connection to miura-vsockd's vhost-user socket as
 * PLAN_QEMU_FD_VSOCK, and connections to virtiofsd's as PLAN_QEMU_FD_FS (the
 * share), PLAN_QEMU_FD_FS + 1 + i (extra share i): "-chardev socket,fd=N".
 */
#define PLAN_QEMU_FD_KERNEL 3
#define PLAN_QEMU_FD_VSOCK  4
#define PLAN_QEMU_FD_FS     5

/* QEMU's own seccomp filter (-sandbox): no obsolete calls, no set*id, no
 * fork or exec, no scheduler or priority changes. */
#define PLAN_QEMU_SANDBOX "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"

/*
 * With publish_fds (miura), the caller listens on the published ports itself
 * (so that they stay bound across restarts) and hands the listening sockets
 * to miura-vsockd as file descriptors PLAN_PUBLISH_FD, PLAN_PUBLISH_FD + 1,
 * ... in publish order ("--publish-fd FD:GUESTPORT"); without it
 * miura-vsockd listens itself ("--publish ADDR:HOSTPORT:GUESTPORT").
 */
#define PLAN_PUBLISH_FD 3

/*
 * With socket_fds (miura), the caller binds the vhost-user sockets fs.sock
 * and vhost.sock itself, so that QEMU may connect (and start) before the
 * daemons run: virtiofsd gets its listener as PLAN_FS_FD ("--fd=3", instead
 * of --socket-path) and miura-vsockd its own after the published ports
 * (PLAN_PUBLISH_FD + npublish, "--socket-fd N" beside --socket PATH).
 */
#define PLAN_FS_FD 3

/* Paths inside the run directory (written into out, size len). */
int plan_path(const struct launch_config *c, const char *file, char *out, size_t len);

/*
 * Builds the three command lines. QEMU's console is its stdio (-serial
 * stdio); the launcher points QEMU's stdout at the terminal or console.log. virtiofsd->argc is 0
 * without a share. Returns 0, or -1 (with *err set to a constant phrase) if a value does not fit.
 * Free with plan_free.
 */
int plan_build(const struct launch_config *c, struct argv_list *virtiofsd, struct argv_list *vsockd,
               struct argv_list *qemu, const char **err);
void plan_free(struct argv_list *a);

/* Extra share i's virtiofsd socket (run_dir/fs-TAG.sock): 0, or -1 if too long. */
int plan_extra_socket(const struct launch_config *c, unsigned i, char *out, size_t len);
/* The virtiofsd command line of extra share i (< c->nextra); as plan_build. */
int plan_build_extra(const struct launch_config *c, unsigned i, struct argv_list *virtiofsd,
                     const char **err);

/*
 * The kernel command line: "fs=share" with a share, a "fs.TAG=PATH" word per
 * extra share (in double quotes when PATH has a blank), then the --append
 * text. -1 if it does not fit or a guest path has a '"'.
 */
int plan_kernel_cmdline(const struct launch_config *c, char *out, size_t len);

/*
 * Whether an image whose transports are `transports` (PVH_TRANSPORT_* bits,
 * common/pvh_image.h) can reach its devices on machine m: NULL if so, else
 * the transport it lacks ("virtio-mmio" or "virtio-pci"). An image with no
 * transport at all (no devices) runs anywhere.
 */
const char *plan_missing_transport(uint32_t transports, enum machine m);

/* One shell-quoted line for a command (for --dry-run); returns -1 if it does not fit. */
int plan_format(const struct argv_list *a, char *out, size_t len);

#endif
