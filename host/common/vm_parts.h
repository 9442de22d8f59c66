/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The processes of one instance ("parts": virtiofsd, miura-vsockd, QEMU),
 * shared by miura (host/launcher/run.c) and miura-oci (host/oci/supervise.c):
 * starting them, waiting for their sockets, reaping, stopping them in order,
 * and turning the way QEMU ended into an exit status with a one-line cause.
 *
 * vm_spawn is the only place where a part is started, so what every part
 * gets (its log, PR_SET_PDEATHSIG, a clean signal mask; later confinement)
 * is decided once. The caller blocks SIGCHLD (it reads it from a signalfd)
 * and is normally a child subreaper, so that processes a part forks come
 * back to it and vm_sweep_descendants can end them.
 *
 * Messages name the program that prints them: prog is "miura" or "miura-oci".
 */
#ifndef MIURA_COMMON_VM_PARTS_H
#define MIURA_COMMON_VM_PARTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A part that exits is seen at once; this bound only ends one that hangs
 * without its socket, and must not end a slow start on a loaded host. */
#define VM_SOCKET_WAIT_MS       60000
#define VM_GRACE_MS             3000
#define VM_DAEMON_AFTER_QEMU_MS 1000 /* a daemon's end may be QEMU's exit in progress */

struct vm_part {
    const char *what; /* "qemu", "miura-vsockd", "virtiofsd" */
    pid_t pid;        /* 0: not running (never started, or reaped) */
    bool started;
    bool exited;
    int wstatus;
    char log[4096];  /* its stderr (and stdout with VM_SPAWN_STDOUT_TO_LOG) */
    off_t log_start; /* where this run's output begins in the log (see VM_SPAWN_APPEND_LOG) */
};

enum {
    VM_SPAWN_OWN_GROUP = 1,     /* own process group: a terminal's Ctrl-C does not reach it */
    VM_SPAWN_QUIET_STDIN = 2,   /* stdin from /dev/null */
    VM_SPAWN_STDOUT_TO_LOG = 4, /* stdout to the log too (else it keeps ours) */
    VM_SPAWN_APPEND_LOG = 8,    /* append to the log (a restart), not truncate it */
};

/*
 * Starts argv (argv[0] a path) as part p with its stderr to p->log
 * (truncated). An exec failure comes back through a close-on-exec pipe:
 * -1 with errno. The child gets PR_SET_PDEATHSIG(SIGTERM), an empty signal
 * mask and SIGPIPE at default.
 */
int vm_spawn(struct vm_part *p, char *const argv[], unsigned flags);

/*
 * What the child does to itself before exec (docs/security.md), for a part
 * that does not confine itself (QEMU): always no_new_privs and no core file;
 * with new_net (the caller is root) network and IPC namespaces of its own;
 * with own_view its own view of the file system (vm_view.h);
 * with as_user, an empty capability bounding set, no supplementary group
 * but extra_gid (if has_extra: /dev/kvm's group) and uid/gid as real,
 * effective and saved ids, so that it keeps no capability (the caller is root).
 */
struct vm_confine {
    bool as_user;
    uint32_t uid, gid;
    bool has_extra;
    uint32_t extra_gid;
    bool new_net;
    /* (the caller is root) a private view of the file system (vm_view.h),
     * its new root mounted on view_at; /dev/kvm in it with view_kvm */
    bool own_view;
    bool view_kvm;
    const char *view_at;
};

/*
 * vm_spawn with more for the child's descriptors: stdout_fd (>= 0) becomes
 * its stdout (VM_SPAWN_STDOUT_TO_LOG is then ignored), and pass_fds[i]
 * becomes its descriptor 3 + i, inherited across exec; confine (NULL: none)
 * as above, a failure of it reported like one of exec; the child joins the
 * cgroups of cgroup_fds (common/cgroup.h) before anything. io may be NULL.
 */
struct vm_spawn_io {
    int stdout_fd;
    const int *pass_fds;
    unsigned npass; /* at most VM_PASS_FDS_MAX */
    const struct vm_confine *confine;
    const int *cgroup_fds; /* cgroup.procs files the child joins first ("0") */
    unsigned ncgroup;
};
#define VM_PASS_FDS_MAX 64
int vm_spawn_io(struct vm_part *p, char *const argv[], unsigned flags,
                const struct vm_spawn_io *io);

/* Reaps those of the listed parts that have exited (and records how). */
void vm_reap(struct vm_part *const *parts, int n);

/* Waits (reaping) until every listed part has exited; false if ms passed first. */
bool vm_wait_parts(struct vm_part *const *parts, int n, int ms);

/* Sends sig to a running part. */
void vm_signal(struct vm_part *p, int sig);

/*
 * Waits for a part's socket at path: 0 when it is there; -1 when
 * interrupted(ctx) says to stop (it also reaps), or, with a one-line cause
 * on stderr, when the part exited or VM_SOCKET_WAIT_MS passed.
 */
int vm_wait_socket(struct vm_part *p, const char *path, bool (*interrupted)(void *ctx), void *ctx,
                   const char *prog);
/* The same, with the cause (without "prog: ") in why instead of on stderr; why is
 * "" when interrupted. */
int vm_wait_socket_why(struct vm_part *p, const char *path, bool (*interrupted)(void *ctx),
                       void *ctx, char *why, size_t len);

/*
 * Stops the parts in order: SIGTERM to QEMU (its client), SIGKILL after
 * VM_GRACE_MS; then SIGTERM to the daemons, SIGKILL after VM_GRACE_MS;
 * reaps all of them and ends whatever they forked (vm_sweep_descendants).
 */
void vm_stop(struct vm_part *qemu, struct vm_part *const *daemons, int n);

/* Kills and reaps every remaining child of ours (processes parts forked). */
void vm_sweep_descendants(void);

/*
 * The exit status once QEMU or a daemon has ended (not for a stop by
 * signal, which the caller decides): the guest's status; 128 + signal when
 * QEMU was killed; VM_EXIT_FAILED with a one-line cause on stderr when QEMU
 * failed, the guest reset, or a daemon died first. A daemon that ends while
 * QEMU is up gets VM_DAEMON_AFTER_QEMU_MS for QEMU's own exit to land.
 */
#define VM_EXIT_FAILED 125
int vm_exit_status(struct vm_part *qemu, struct vm_part *const *daemons, int n, const char *prog);
/*
 * The same with the cause in cause (without "prog: ", nothing on stderr):
 * for the guest's own status "guest exited with status N", and *guest_end
 * true. Causes read only this run's part of each log (log_start on).
 */
int vm_exit_cause(struct vm_part *qemu, struct vm_part *const *daemons, int n, char *cause,
                  size_t len, bool *guest_end);

/* The last non-empty line of a log (for a one-line cause), or "". */
void vm_last_log_line(const char *path, char *out, size_t len);

/*
 * Reads a log from offset `from`: the last non-empty line into last (if not
 * NULL), and the first line that starts with one of the prefixes
 * (NULL-terminated) into first (if not NULL). Line ends are dropped; "" for
 * what is not found.
 */
void vm_scan_log(const char *path, off_t from, char *last, size_t last_len,
                 const char *const *prefixes, char *first, size_t first_len);

void vm_sleep_ms(int ms);

#endif
