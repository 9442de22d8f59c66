/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The container's cgroup (common/cgroup.h): created at linux.cgroupsPath in
 * every cgroup hierarchy mounted on this host, limited from
 * linux.resources, and joined by the supervisor before it starts anything,
 * so that every process of the instance is in it. Devices are a VM's own
 * business and are not written. Nothing here is fatal: what cannot be done
 * is collected into one line, and the container runs with the rest.
 */
#ifndef MIURA_OCI_CGROUP_H
#define MIURA_OCI_CGROUP_H

#include <stddef.h>
#include <sys/types.h>

#include "common/cgroup.h"
#include "oci/spec.h"
#include "oci/state.h"

_Static_assert(CGROUP_DIRS_MAX == OCI_CGROUPS_MAX, "one directory per hierarchy in the state");

/*
 * Creates and limits the container's cgroups and moves pid into them.
 * Returns the number of hierarchies joined; what could not be done goes
 * into cannot ("; "-separated, "" if nothing).
 */
int cgroup_enter(const struct oci_spec *s, pid_t pid, struct cgroup_set *set, char *cannot,
                 size_t len);

#endif
