/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * From a container's config.json (struct oci_spec) to the settings of its
 * microVM: guest memory and CPUs, published ports, extra virtio-fs shares
 * and the appliance's kernel command line words. Pure (the one question for
 * the host, whether a mount source is a directory, is a callback), so it is
 * unit-tested and fuzzed with the spec reader.
 *
 * Rules (docs/containers.md):
 * - Guest RAM: linux.resources.memory.limit minus OCI_HOST_OVERHEAD_MIB (what
 *   QEMU, virtiofsd and miura-vsockd take on the host, charged to the same
 *   cgroup); without a limit OCI_DEFAULT_MEM_MIB. Less than the image needs
 *   is an error.
 * - CPUs: ceil(cpu.quota / cpu.period), and no more than the cpuset has;
 *   1 without either; at most LAUNCHER_CPUS_MAX.
 * - Ports: the annotation org.miura.ports, a list of GUESTPORT,
 *   PORT:GUESTPORT or ADDR:PORT:GUESTPORT separated by commas or blanks
 *   (ADDR defaults to 0.0.0.0, PORT to GUESTPORT: the container's port, as
 *   any container's); "none" (or an empty value) for no port; "80" when
 *   absent.
 * - Mounts: each bind mount of a directory becomes an extra share mounted at
 *   its destination; /dev, /proc and /sys and the engines' own files
 *   (/etc/hosts, /etc/hostname, /etc/resolv.conf, /run/.containerenv) are
 *   skipped quietly; any other bind of something that is not a directory is
 *   skipped with a note.
 * - process.args[0] is the image's ELF (an absolute path inside the rootfs);
 *   the other arguments are kernel command line words, double-quoted when
 *   they hold a blank. A '"' or control character cannot be passed, and the
 *   words fs=... and fs.TAG=... belong to the runtime.
 */
#ifndef MIURA_OCI_VMCONFIG_H
#define MIURA_OCI_VMCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/vm_args.h"
#include "common/vm_plan.h"
#include "oci/spec.h"

#define OCI_HOST_OVERHEAD_MIB 32u
#define OCI_DEFAULT_MEM_MIB   128u
#define OCI_PORTS_ANNOTATION  "org.miura.ports"
#define OCI_APPEND_MAX        4096

struct oci_share {
    const char *source;      /* host directory (points into the spec) */
    const char *destination; /* guest path */
    bool readonly;
};

struct oci_vm {
    uint32_t mem_mib;
    uint32_t cpus;
    unsigned npublish;
    struct publish_spec publish[LAUNCHER_PUBLISH_MAX];
    unsigned nshares;
    struct oci_share shares[PLAN_EXTRA_SHARES_MAX];
    char append[OCI_APPEND_MAX]; /* the appliance's words */
    char notes[1024];            /* what cannot be applied, "; "-separated ("" if nothing) */
};

/*
 * Fills *vm from *s for an image that needs need_mib of guest RAM. is_dir
 * says whether a host path is a directory. Returns 0, or -1 with a one-line
 * cause in err.
 */
int oci_vm_from_spec(const struct oci_spec *s, uint32_t need_mib, bool (*is_dir)(const char *path),
                     struct oci_vm *vm, char *err, size_t errlen);

/* The ports annotation alone (for tests): 0, or -1 with a cause in err. */
int oci_parse_ports(const char *text, struct oci_vm *vm, char *err, size_t errlen);

/* The number of CPUs in a cpuset list ("0-3,8"); -1 if malformed. */
int oci_cpuset_count(const char *list);

#endif
