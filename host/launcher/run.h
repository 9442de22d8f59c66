/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Running one instance: start virtiofsd (with a share) and miura-vsockd, wait
 * for their sockets, start QEMU, probe published ports, supervise, restart
 * the set when --restart says so, and tear everything down when it ends or
 * a signal comes (SIGTERM: gracefully, letting connections in flight finish).
 */
#ifndef MIURA_LAUNCHER_RUN_H
#define MIURA_LAUNCHER_RUN_H

#include "common/vm_parts.h"
#include "common/vm_plan.h"
#include "launcher/instance.h"

/* Exit status of miura when it, or a part other than the guest, failed. */
#define EXIT_LAUNCHER_FAILED VM_EXIT_FAILED /* 125 */

struct run_request {
    struct launch_config cfg; /* run_dir is set by the caller */
    const char *base;         /* runtime base (CID locks, run directories) */
    int cid_fd;               /* the CID lock, held for the instance's life */
    int id_fd;           /* with cfg.own_id: the identity's lock (common/vm_identity.h), or -1 */
    const char *run_dir; /* already created */
    struct instance_meta *meta; /* written at start; updated on restarts and at the end */
    bool detached;              /* report startup on status_fd, console to a file */
    int status_fd;              /* detached: write one byte when started; -1 otherwise */
    int ready_timeout_s;        /* total wait for each published port to answer HTTP */
    int stop_timeout_s;         /* SIGTERM: how long connections in flight may take */
    struct restart_policy restart;
    uint64_t t0_us; /* monotonic_us() when miura started (MIURA_START_TRACE) */
};

/*
 * Runs the instance to its end and returns miura's exit status: the guest's
 * status, 128 + signal when stopped by a signal or QEMU was killed, or
 * EXIT_LAUNCHER_FAILED with a one-line cause on stderr. Always removes the
 * sockets and the CID lock; a foreground instance's run directory goes too,
 * a detached one's keeps its logs and meta (with the end recorded).
 */
int run_instance(struct run_request *r);

#endif
