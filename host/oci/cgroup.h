/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The container's cgroup: created at linux.cgroupsPath in every cgroup
 * hierarchy mounted on this host (cgroup v1 controllers, the v2 unified
 * tree, or both: the "hybrid" layout), limited from linux.resources, and
 * joined by the supervisor before it starts anything, so that every process
 * of the instance is in it.
 *
 * Paths (runtime-spec config-linux.md "Cgroups path"): an absolute path is
 * taken from each hierarchy's root, a relative one from our own cgroup
 * there. The systemd form "SLICE:PREFIX:NAME" (podman's and Kubernetes'
 * with the systemd cgroup manager) is placed at /SLICE/PREFIX-NAME.scope in
 * cgroupfs, without systemd.
 *
 * Limits written: memory (v1 memory.limit_in_bytes, v2 memory.max), CPU
 * quota, period and shares (v1 cpu.cfs_*, cpu.shares; v2 cpu.max,
 * cpu.weight), cpuset (cpus, mems; a new v1 cpuset cgroup inherits its
 * parent's, or no task could join), pids (pids.max). Devices are a VM's own
 * business and are not written.
 *
 * Nothing here is fatal: what cannot be done (a controller that refuses a
 * value, a hierarchy we may not write) is collected into one line, and the
 * container runs with the rest.
 */
#ifndef MIURA_OCI_CGROUP_H
#define MIURA_OCI_CGROUP_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "oci/spec.h"
#include "oci/state.h"

struct cgroup_set {
    unsigned n;
    char dir[OCI_CGROUPS_MAX][PATH_MAX]; /* the container's directory in each hierarchy */
};

/*
 * Creates and limits the container's cgroups and moves pid into them.
 * Returns the number of hierarchies joined; what could not be done goes
 * into cannot ("; "-separated, "" if nothing).
 */
int cgroup_enter(const struct oci_spec *s, pid_t pid, struct cgroup_set *set, char *cannot,
                 size_t len);

/* Sends sig to every process in the given cgroup directories. */
void cgroup_kill(char dirs[][PATH_MAX], unsigned n, int sig);

/* Removes the directories (once empty; retries while killed processes leave). */
void cgroup_remove(char dirs[][PATH_MAX], unsigned n);

#endif
