/* SPDX-License-Identifier: BSD-2-Clause */
/* What miura-oci's commands share (main.c; create.c has `create`). */
#ifndef MIURA_OCI_COMMANDS_H
#define MIURA_OCI_COMMANDS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define EXIT_USAGE 2

/* The global options. */
struct global {
    char root[PATH_MAX]; /* --root, created */
    const char *log, *log_format;
    bool systemd_cgroup;
    char **argv; /* from the command on, for handing a pod sandbox to runc */
    int argc;
};
extern struct global g;

/* A usage error: the cause, then the usage, on stderr; returns EXIT_USAGE. */
int usage_error(const char *fmt, const char *arg);

/* ROOT/ID; -1 if too long. */
int state_dir(const char *id, char *out, size_t len);

/*
 * A Kubernetes pod's sandbox ("pause") container is a Linux process that
 * holds the pod's namespaces, not an appliance: it runs under runc, with its
 * state under ROOT/runc. run_runc execs runc with the same command; it
 * returns (1, a cause said) only if runc cannot be run. runc_has says whether
 * runc holds container ID for us.
 */
int run_runc(void);
bool runc_has(const char *id);

int cmd_create(int argc, char **argv);

#endif
