/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * config.json, the OCI runtime spec's bundle configuration, read with
 * jansson into the few fields miura-oci uses. Parsing is pure (a buffer in,
 * a struct out), so it is unit-tested and fuzzed (fuzz/oci_config.c).
 *
 * What is read (runtime-spec config.md, config-linux.md):
 *   ociVersion                      must be "1.x..."
 *   root.path                       the rootfs (relative to the bundle, or absolute)
 *   process.args, process.terminal, process.rlimits
 *   mounts[]                        destination, source, type, options
 *   hooks                           only whether there are any
 *   annotations                     string values; kept for `state`
 *   linux.namespaces                network (path or new), user (refused)
 *   linux.cgroupsPath
 *   linux.resources.memory.limit, .cpu.{quota,period,shares,cpus,mems}, .pids.limit
 * Everything else is accepted and ignored: a microVM has no capabilities,
 * seccomp, uid or environment to apply.
 *
 * A field of the wrong type is an error with a one-line cause naming it
 * ("process.args: want a non-empty array of strings").
 */
#ifndef MIURA_OCI_SPEC_H
#define MIURA_OCI_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OCI_ARGS_MAX    256
#define OCI_MOUNTS_MAX  256
#define OCI_RLIMITS_MAX 32

struct oci_mount {
    const char *destination; /* absolute */
    const char *source;      /* NULL if absent */
    const char *type;        /* NULL if absent */
    bool bind;               /* type "bind" or an option "bind"/"rbind" */
    bool readonly;           /* an option "ro" */
};

struct oci_rlimit {
    int resource; /* RLIMIT_* */
    const char *name;
    uint64_t soft, hard;
};

enum oci_netns {
    OCI_NETNS_HOST, /* no network namespace entry: the host's */
    OCI_NETNS_NEW,  /* an entry without a path: a new one */
    OCI_NETNS_PATH, /* join netns_path */
};

/* Strings point into doc: they live until oci_spec_free. */
struct oci_spec {
    json_t *doc;
    const char *oci_version;
    const char *root_path;
    bool root_readonly;
    unsigned argc;
    const char *argv[OCI_ARGS_MAX];
    bool terminal;
    unsigned nmounts;
    struct oci_mount mounts[OCI_MOUNTS_MAX];
    unsigned nrlimits;
    struct oci_rlimit rlimits[OCI_RLIMITS_MAX];
    bool has_hooks;
    json_t *annotations; /* an object (possibly empty); owned by doc */
    enum oci_netns netns;
    const char *netns_path;
    bool userns;
    const char *cgroups_path; /* NULL: none given */
    int64_t mem_limit;        /* bytes; -1: none */
    int64_t cpu_quota;        /* microseconds per period; -1: none */
    uint64_t cpu_period;      /* 0: none */
    uint64_t cpu_shares;      /* 0: none */
    const char *cpuset_cpus;  /* NULL: none */
    const char *cpuset_mems;  /* NULL: none */
    int64_t pids_limit;       /* 0: none (a negative value means unlimited) */
};

/*
 * Parses len bytes of config.json into *s. Returns 0, or -1 with a one-line
 * cause in err (size errlen) and nothing to free.
 */
int oci_spec_parse(const char *buf, size_t len, struct oci_spec *s, char *err, size_t errlen);
void oci_spec_free(struct oci_spec *s);

/* An annotation's value, or NULL. */
const char *oci_spec_annotation(const struct oci_spec *s, const char *key);

/* Whether the engine marks this container as a Kubernetes pod sandbox (the pause container). */
bool oci_spec_is_sandbox(const struct oci_spec *s);

#endif
