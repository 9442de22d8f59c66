/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Containers on this host as miura-oci records them: one directory per
 * container, ROOT/ID (ROOT from --root; default /run/miura-oci for root,
 * else $XDG_RUNTIME_DIR/miura-oci), holding
 *
 *   state.json   what create recorded (below), written once, atomically
 *   started      exists once `start` has booted the guest
 *
 * The container's process (the pid in state.json, what the engine waits
 * for) is miura-oci's supervisor: it runs virtiofsd, miura-vsockd and QEMU
 * and exits with the guest's status. Its sockets and logs live in a short
 * run directory under the runtime base (runtime_dir.h), BASE/oci-CID, since
 * Unix socket paths are limited to 107 bytes and engines' roots are long.
 *
 * Status (runtime-spec runtime.md "State"): "stopped" once the supervisor is
 * gone (or its pid now names another process, told apart by its start
 * time), else "running" once started exists, else "created".
 */
#ifndef MIURA_OCI_STATE_H
#define MIURA_OCI_STATE_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define OCI_ID_MAX      256
#define OCI_CGROUPS_MAX 16

struct oci_state {
    char id[OCI_ID_MAX + 1];
    char bundle[PATH_MAX];
    char rootfs[PATH_MAX];
    char created[64];             /* RFC 3339, UTC, nanoseconds */
    pid_t pid;                    /* the supervisor */
    unsigned long long pid_start; /* its start time (/proc/PID/stat field 22) */
    uint32_t cid;
    uint32_t uid; /* the instance's own identity (as root), 0 if none */
    char run_dir[PATH_MAX];
    unsigned ncgroups;
    char cgroups[OCI_CGROUPS_MAX][PATH_MAX]; /* leaf directories to remove at delete */
    json_t *annotations;                     /* owned; an object */
};

enum oci_status { OCI_CREATED, OCI_RUNNING, OCI_STOPPED };

/* A container id as runc takes them: 1..OCI_ID_MAX of [A-Za-z0-9_+.-], not "." or "..". */
bool oci_id_is_valid(const char *id);

/* The default root directory (created if missing, 0700); -1 with errno. */
int oci_default_root(char *out, size_t len);

/* state.json in dir: 0, or -1 (errno ENOENT when the container does not exist). */
int oci_state_write(const char *dir, const struct oci_state *st);
int oci_state_read(const char *dir, struct oci_state *st);
void oci_state_free(struct oci_state *st);

enum oci_status oci_status_of(const char *dir, const struct oci_state *st);
const char *oci_status_name(enum oci_status s);

/* The OCI state object (runtime.md): ociVersion, id, status, pid, bundle, ... */
json_t *oci_state_json(const struct oci_state *st, enum oci_status status);

/* A process's start time (field 22 of /proc/PID/stat); 0 if it is gone or a zombie. */
unsigned long long proc_start_time(pid_t pid);

/* pid and every process below it (children first found by /proc scan); returns the count. */
unsigned proc_tree(pid_t pid, pid_t *out, unsigned max);

/* The current time in RFC 3339 with nanoseconds, UTC. */
void oci_now_rfc3339(char *out, size_t len);

#endif
