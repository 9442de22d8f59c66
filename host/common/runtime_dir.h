/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The runtime base directory of this host's instances, shared by miura and
 * miura-oci: $MIURA_RUNTIME_DIR, else /run/miura for root, else
 * $XDG_RUNTIME_DIR/miura, else /tmp/miura-UID. It holds the CID locks
 * (cidlock.h) and one private run directory per instance (sockets, logs).
 */
#ifndef MIURA_COMMON_RUNTIME_DIR_H
#define MIURA_COMMON_RUNTIME_DIR_H

#include <stddef.h>
#include <sys/types.h>

/*
 * A program's default directory for runtime state: /run/NAME for root, else
 * $XDG_RUNTIME_DIR/NAME, else /tmp/NAME-UID (not created); -1 if too long.
 */
int runtime_dir_default(const char *name, char *out, size_t len);

/* Finds (and creates, mode 0700) the runtime base directory; -1 with errno on failure. */
int runtime_base(char *out, size_t len);

/* Creates path and its missing parents (parents 0755, path mode); -1 with errno. */
int mkdir_p(const char *path, mode_t mode);

/* A run directory's record of the instance's cgroup directories (one a line). */
#define RUNDIR_CGROUPS "cgroups"

/* Removes the cgroups recorded there (once empty), every file in the run
 * directory, then the directory. */
void rundir_remove(const char *dir);

#endif
