/* SPDX-License-Identifier: BSD-2-Clause */
/* The container's cgroups; see cgroup.h. */
#include "oci/cgroup.h"

#include <string.h>

int cgroup_enter(const struct oci_spec *s, pid_t pid, struct cgroup_set *set, char *cannot,
                 size_t len)
{
    const struct cgroup_limits l = {
        .path = s->cgroups_path,
        .mem_limit = s->mem_limit,
        .cpu_quota = s->cpu_quota,
        .cpu_period = s->cpu_period,
        .cpu_shares = s->cpu_shares,
        .cpuset_cpus = s->cpuset_cpus,
        .cpuset_mems = s->cpuset_mems,
        .pids_limit = s->pids_limit,
    };
    size_t used;
    cgroup_make(&l, set, cannot, len);
    used = strlen(cannot);
    if (used && used + 2 < len) {
        cannot[used++] = ';';
        cannot[used++] = ' ';
        cannot[used] = '\0';
    }
    int joined = cgroup_join(set, pid, cannot + used, len - used);
    if (used && !cannot[used])
        cannot[used - 2] = '\0'; /* nothing more to say: no trailing "; " */
    return joined;
}
