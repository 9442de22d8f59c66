/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The container's process: miura-oci's supervisor, forked by `create`. Its
 * pid is what the engine (conmon, containerd's shim) waits for, and its exit
 * status is the container's.
 *
 *   created: joins the container's cgroup (so everything it starts is in
 *            it), network namespace and limits, takes the terminal if there
 *            is one, starts virtiofsd (one per share) and miura-vsockd
 *            (which binds the published ports now), waits for their sockets,
 *            and, with an identity (as root), opens QEMU's kernel copy and
 *            connects to those sockets for it (vm_identity.h); then it
 *            listens on RUN_DIR/start.sock, and reports to `create` on the
 *            status pipe (below); then it execs itself as
 *            `miura-oci __supervise ...` (supervise_main), keeping its
 *            children, descriptors and signal mask, so that what remains of
 *            it for the container's life is a small loop, not the memory
 *            create used;
 *   running: on a connection to start.sock (`start`), starts QEMU with the
 *            console on its stdout, confined (as the identity, when there is
 *            one), marks STATE_DIR/started, answers "ok";
 *   end:     when the guest exits, QEMU or a daemon dies, or SIGTERM,
 *            SIGINT, SIGHUP or SIGQUIT comes: stops the parts in order
 *            (vm_stop), removes the run directory, releases the identity and
 *            the CID lock, and
 *            exits with the guest's status, 128 + signal, or 125 with a
 *            one-line cause on stderr. Other catchable signals are ignored.
 *
 * Status pipe: during set-up the supervisor's stderr is the pipe, so every
 * message (its own and vm_parts') reaches `create`. Lines "@cgroup DIR" name
 * the cgroup directories it made; "@ok" ends a successful set-up (stderr then
 * goes back to the container's); end of file without "@ok" is a failure whose
 * cause is the last message.
 */
#ifndef MIURA_OCI_SUPERVISE_H
#define MIURA_OCI_SUPERVISE_H

#include "common/vm_plan.h"
#include "oci/spec.h"

struct supervise_request {
    struct launch_config cfg; /* the instance, resolved (share_dir = rootfs) */
    const struct oci_spec *spec;
    const char *state_dir; /* ROOT/ID */
    const char *base;      /* runtime base: the CID lock */
    int cid_fd;
    int id_fd;                  /* with cfg.own_id: the identity's lock (vm_identity.h), else -1 */
    int status_fd;              /* the write end of the status pipe */
    const char *console_socket; /* with process.terminal */
};

/* Runs in the child `create` forked; never returns. */
void supervise(struct supervise_request *r) __attribute__((noreturn));

/* The exec'd supervisor (argv from supervise's hand-over); returns only on bad arguments. */
int supervise_main(int argc, char **argv);

/* start.sock's path for a run directory; -1 if too long. */
int supervise_start_socket(const char *run_dir, char *out, size_t len);

#endif
