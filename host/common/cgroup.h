/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * An instance's cgroup, for miura (one per instance, docs/security.md) and
 * miura-oci (the container's, at linux.cgroupsPath): created in the cgroup
 * hierarchies mounted on this host (cgroup v1 controllers, the v2 unified
 * tree, or both: the "hybrid" layout), limited, and joined.
 *
 * Paths (as runtime-spec config-linux.md "Cgroups path"): an absolute path
 * is taken from each hierarchy's root, a relative one from our own cgroup
 * there. The systemd form "SLICE:PREFIX:NAME" (podman's and Kubernetes'
 * with the systemd cgroup manager) is placed at /SLICE/PREFIX-NAME.scope in
 * cgroupfs, without systemd. With v1_nested, an absolute path is placed
 * under our own cgroup in the v1 hierarchies (a launcher inside a v1 memory
 * group keeps its instances inside it), and still from the root in v2
 * (where only the root may hand controllers down while it has processes).
 *
 * Limits written: memory (v1 memory.limit_in_bytes, v2 memory.max), CPU
 * quota, period and shares (v1 cpu.cfs_*, cpu.shares; v2 cpu.max,
 * cpu.weight), cpuset (cpus, mems; a new v1 cpuset cgroup inherits its
 * parent's, or no task could join), pids (pids.max). In v2 only the
 * controllers with a limit are enabled in the ancestors. With only_limiting,
 * v1 hierarchies without a controller that has a limit are left alone.
 *
 * Nothing here is fatal: what cannot be done (a controller that refuses a
 * value, a hierarchy we may not write) is collected into one line, and the
 * caller goes on with the rest.
 */
#ifndef MIURA_COMMON_CGROUP_H
#define MIURA_COMMON_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CGROUP_DIRS_MAX 16

struct cgroup_limits {
    const char *path; /* see above; NULL: no cgroup */
    bool v1_nested;
    bool only_limiting;
    int64_t mem_limit;       /* bytes; <= 0: none */
    int64_t cpu_quota;       /* microseconds per period; <= 0: none */
    uint64_t cpu_period;     /* 0: none */
    uint64_t cpu_shares;     /* 0: none */
    const char *cpuset_cpus; /* NULL: none */
    const char *cpuset_mems; /* NULL: none */
    int64_t pids_limit;      /* 0: none (a negative value means unlimited) */
};

struct cgroup_set {
    unsigned n;
    char dir[CGROUP_DIRS_MAX][PATH_MAX]; /* the instance's directory in each hierarchy */
};

/*
 * Creates and limits the cgroups (set gets each directory created, to be
 * removed at the end even if joining fails). Returns the number created;
 * what could not be done goes into cannot ("; "-separated, "" if nothing).
 */
int cgroup_make(const struct cgroup_limits *l, struct cgroup_set *set, char *cannot, size_t len);

/* Moves pid into each of set's cgroups; the number joined, what failed appended to cannot. */
int cgroup_join(const struct cgroup_set *set, pid_t pid, char *cannot, size_t len);

/* Opens each cgroup.procs of set for writing (close-on-exec) into fds (set->n of
 * them): a child joins by writing "0" to each (cgroup_join_self). 0, or -1 with errno. */
int cgroup_procs_open(const struct cgroup_set *set, int *fds);
int cgroup_join_self(const int *fds, unsigned n);

/* The value of file in the first of set's directories that has it, or "". */
void cgroup_read(const struct cgroup_set *set, const char *file, char *out, size_t len);

/* Sends sig to every process in the given cgroup directories. */
void cgroup_kill(char dirs[][PATH_MAX], unsigned n, int sig);

/* Removes the directories once empty, retrying for up to wait_ms while
 * killed processes leave (CGROUP_LEAVE_MS after a cgroup_kill: a loaded host
 * can take seconds to reap one). */
#define CGROUP_LEAVE_MS 10000
void cgroup_remove(char dirs[][PATH_MAX], unsigned n, unsigned wait_ms);

#endif
