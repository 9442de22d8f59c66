/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Self-confinement of a host daemon that reads what the guest or a client
 * controls (miura-vsockd, miura-proxy; docs/security.md). Called once the
 * program's sockets are open; afterwards the process
 *
 *   - sees no host file system but the directories of its own socket paths
 *     (a private mount namespace whose root is an empty read-only tmpfs with
 *     those directories bound in at their own paths), and no network but
 *     the sockets it holds (a network namespace of its own: no interfaces,
 *     no abstract Unix sockets of the host); SysV IPC of its own;
 *   - runs as user->uid/gid when given (it must then have started as root),
 *     with no supplementary groups, no capabilities (effective, permitted,
 *     inheritable, ambient and bounding sets empty; securebits locked so that
 *     uid 0 means nothing), not dumpable (no ptrace, no core of guest memory);
 *   - has PR_SET_NO_NEW_PRIVS and a seccomp filter that allows only
 *     confine_base_rules plus the program's rules; any other system call
 *     raises SIGSYS, whose handler writes one line on stderr
 *     ("<prog>: seccomp: system call N (name) is not allowed: ending the process")
 *     and ends the process by SIGSYS, so a parent sees WTERMSIG == SIGSYS;
 *   - has tight resource limits: no core files, no locked memory, no
 *     message queues, no processes, the descriptor limit fixed at its current
 *     soft value, data (heap) at most data_bytes.
 *
 * Not root and no user namespaces allowed (a kernel or container setting):
 * the namespaces are skipped with one log line and everything else applies.
 * As root, any step that fails is an error.
 */
#ifndef HOST_COMMON_CONFINE_H
#define HOST_COMMON_CONFINE_H

#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/options.h"

/* One allowed system call; with nargs > 0 only when all arg[] conditions hold. */
struct confine_rule {
    int nr; /* SCMP_SYS(name) */
    unsigned nargs;
    struct scmp_arg_cmp arg[2];
};

/* Rule helpers for the programs' tables. */
#define CONFINE_ALLOW(name)  \
    {                        \
        .nr = SCMP_SYS(name) \
    }
/* Allowed when argument `a` masked with `mask` equals `value`. */
#define CONFINE_ALLOW_MASKED(name, a, mask, value)                                        \
    {                                                                                     \
        .nr = SCMP_SYS(name), .nargs = 1, .arg = {                                        \
            {.arg = (a), .op = SCMP_CMP_MASKED_EQ, .datum_a = (mask), .datum_b = (value)} \
        }                                                                                 \
    }
/* Allowed when argument `a` equals `value`. */
#define CONFINE_ALLOW_EQ(name, a, value)                        \
    {                                                           \
        .nr = SCMP_SYS(name), .nargs = 1, .arg = {              \
            {.arg = (a), .op = SCMP_CMP_EQ, .datum_a = (value)} \
        }                                                       \
    }

/* What every confined program needs (the host library and glibc); see confine.c. */
extern const struct confine_rule confine_base_rules[];
extern const unsigned confine_base_count;

struct confine_spec {
    /* Paths the program uses after confining (NULL entries are skipped):
     * their directories stay visible and writable, at the same paths. */
    const char *const *paths;
    unsigned npaths;
    /* Sockets the program created: handed to user (chown) when it is set. */
    const char *const *owned;
    unsigned nowned;
    struct run_user user;             /* set: switch to it (needs root) */
    const struct confine_rule *rules; /* the program's own, on top of the base */
    unsigned nrules;
    uint64_t data_bytes; /* RLIMIT_DATA; 0: left as it is */
};

/*
 * Confines the calling (single-threaded) process as described above.
 * 0, or -1 with a one-line cause in err (the process may then be partly
 * confined: the caller exits).
 */
int confine_self(const struct confine_spec *s, char *err, size_t errlen);

/*
 * What miura-vsockd and miura-proxy do once their sockets are open: with
 * --unconfined, one log line says the process is not confined; otherwise
 * confine_self with o->user, one log line (-v) saying how, and on failure
 * "<prog>: confining: <cause>" on stderr. 0, or -1 (the caller exits 1).
 */
int confine_from_options(const struct common_opts *o, struct confine_spec *s);

/*
 * The directory a path's file lives in, as an absolute path with "." and
 * ".." taken lexically (a relative path is taken from cwd). 0, or -1 if it
 * does not fit in len.
 */
int confine_dir_of(const char *path, const char *cwd, char *out, size_t len);

#endif
