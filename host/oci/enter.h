/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the supervisor takes on from the container before it starts the
 * instance's processes (they inherit all of it): the network namespace, in
 * which miura-vsockd then publishes the guest's ports; the process limits;
 * and, for a container with a terminal, the pseudo-terminal that becomes
 * the console.
 *
 * The other namespaces a spec asks for (pid, ipc, uts, mount, cgroup) are
 * not entered: the guest is a VM with its own of each, and the host
 * processes need the host's /dev/kvm, virtiofsd and sockets.
 */
#ifndef MIURA_OCI_ENTER_H
#define MIURA_OCI_ENTER_H

#include <stddef.h>

#include "oci/spec.h"

/*
 * Joins linux.namespaces' network namespace: the one at its path, or a new
 * one with the loopback interface up; nothing for the host's. 0, or -1 with
 * a one-line cause in err.
 */
int enter_netns(const struct oci_spec *s, char *err, size_t len);

/*
 * Applies process.rlimits to this process. A hard limit above what this
 * host allows us (raising one needs CAP_SYS_RESOURCE) is lowered to the
 * current hard limit, and a note says so ("; "-separated in notes).
 */
void enter_rlimits(const struct oci_spec *s, char *notes, size_t len);

/*
 * Opens a pseudo-terminal, sends its master to the engine over the Unix
 * socket at socket_path (SCM_RIGHTS, as runc does) and returns the slave's
 * descriptor; -1 with a cause in err.
 */
int enter_console(const char *socket_path, char *err, size_t len);

#endif
