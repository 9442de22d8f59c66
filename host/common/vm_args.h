/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Pure parsing and formatting for the launcher and miura-oci: option values
 * (sizes, CIDs, CPU counts, instance names; --publish is common/publish.h's),
 * the accelerator choice, the decoding of QEMU's exit, and quoting for shells
 * and QEMU option lists.
 * No I/O here, so all of it is unit-tested and fuzzed.
 *
 * Every parser takes a NUL-terminated string from the command line, returns
 * 0 on success or -1 on bad input (then leaves its outputs unspecified), and
 * never reads beyond the terminator.
 */
#ifndef MIURA_COMMON_VM_ARGS_H
#define MIURA_COMMON_VM_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/publish.h" /* --publish: struct publish_spec, publish_parse */

/* Guest memory bounds, in MiB. */
#define LAUNCHER_MEM_MIN_MIB 2u
#define LAUNCHER_MEM_MAX_MIB (1024u * 1024u)
#define LAUNCHER_CPUS_MAX    64u
#define LAUNCHER_NAME_MAX    64u
#define LAUNCHER_PUBLISH_MAX 32u /* within miura-vsockd's PUBLISH_MAX */
#define LAUNCHER_CID_MIN     3u
#define LAUNCHER_CID_MAX     0xfffffffeu /* 0xffffffff is VMADDR_CID_ANY */

/*
 * A memory size: digits with an optional binary suffix K, M or G (either
 * case, optionally followed by "iB" or "B"); a bare number means MiB, as for
 * QEMU's -m. It must be a whole number of MiB within the bounds above.
 * "128M", "1G", "131072K", "256" are accepted; "0", "1.5G", "12T", "-1" are not.
 */
int parse_mem_mib(const char *s, uint32_t *mib);

/*
 * --restart: whether the launcher starts the instance's parts again when it
 * ends. "no"; "on-failure" or "on-failure:N" (N 1..LAUNCHER_RESTART_MAX: at
 * most N restarts); "always" (also after the guest's status 0). A stop by a
 * signal to miura is never restarted.
 */
#define LAUNCHER_RESTART_MAX 1000000u
enum restart_mode { RESTART_NO, RESTART_ON_FAILURE, RESTART_ALWAYS };
struct restart_policy {
    enum restart_mode mode;
    uint32_t max; /* restarts allowed; 0 = no bound */
};
int parse_restart(const char *s, struct restart_policy *r);

/* Whether an end (a failure or the guest's status 0) gets restart number done + 1. */
bool restart_wanted(const struct restart_policy *r, bool failed, uint32_t done);

/*
 * The pause before a restart, in ms: 100 ms for the first of a row, doubling
 * up to 30 s. `row` counts restarts since the instance last ran long enough
 * (the caller resets it).
 */
#define LAUNCHER_BACKOFF_FIRST_MS 100u
#define LAUNCHER_BACKOFF_MAX_MS   30000u
uint32_t restart_backoff_ms(uint32_t row);

/* --gdb [ADDR:]PORT: ADDR an IPv4 loopback address (127.0.0.0/8; default 127.0.0.1). */
struct gdb_spec {
    char addr[16];
    uint16_t port; /* 1..65535 */
};
int parse_gdb(const char *s, struct gdb_spec *g);

/* A guest CID: decimal, LAUNCHER_CID_MIN..LAUNCHER_CID_MAX. */
int parse_cid(const char *s, uint32_t *cid);

/* A decimal number from min to max (no sign, no blanks). */
int parse_uint(const char *s, uint32_t min, uint32_t max, uint32_t *v);

/* A CPU count: decimal, 1..LAUNCHER_CPUS_MAX. */
int parse_cpus(const char *s, uint32_t *cpus);

/* --preopen N: pre-opened connections per published port, decimal 0..LAUNCHER_PREOPEN_MAX
 * (miura-vsockd's bound, docs/vsockd.md). */
#define LAUNCHER_PREOPEN_MAX 64u
int parse_preopen(const char *s, uint32_t *n);

/*
 * An instance name: 1..LAUNCHER_NAME_MAX characters of [A-Za-z0-9_.-],
 * starting with a letter or digit (so it is a safe file name and QEMU value),
 * not ending in ".lock" (the CID locks' names).
 */
bool name_is_valid(const char *s);

/*
 * The default instance name: the image's file name without directories and
 * without a ".elf" suffix, characters outside the name set turned into '_',
 * then "-CID". Writes at most len bytes (NUL included); returns 0, or -1 if
 * it does not fit.
 */
int default_name(const char *image, uint32_t cid, char *out, size_t len);

/* Accelerator choice (DESIGN §5). */
enum accel { ACCEL_AUTO, ACCEL_KVM, ACCEL_TCG };
int parse_accel(const char *s, enum accel *a);

/*
 * The QEMU machine (--machine): microvm (virtio-mmio, the default), q35 or
 * pc (virtio-pci, ACPI). machine_name gives the word back.
 */
enum machine { MACHINE_MICROVM, MACHINE_Q35, MACHINE_PC };
int parse_machine(const char *s, enum machine *m);
const char *machine_name(enum machine m);

/*
 * What --accel auto picks from what the host offers: KVM only when /dev/kvm is
 * usable, the CPU has vmx or svm, and no software hypervisor module (kvm_pvm)
 * is loaded. Returns ACCEL_KVM or ACCEL_TCG and sets *why to a constant phrase.
 */
enum accel accel_auto(bool kvm_usable, bool hw_virt_flag, bool pvm_loaded, const char **why);

/*
 * How a QEMU run ended, from its wait status and two facts from its stderr:
 * whether it printed an error line, and the signal it said it terminated on
 * (0 if none).
 */
enum qemu_end {
    QEMU_END_GUEST,  /* isa-debug-exit: *code is the guest's status */
    QEMU_END_SIGNAL, /* killed, or terminated on a signal: *code = 128 + signal */
    QEMU_END_ERROR,  /* QEMU failed by itself: *code = its exit code */
    QEMU_END_RESET,  /* exit 0: the guest reset or triple-faulted (-no-reboot) */
};
enum qemu_end decode_qemu_exit(int wstatus, bool error_logged, int logged_signal, int *code);

/*
 * Shell-quotes s into out (size len): unchanged when it is made only of
 * characters no shell treats specially, otherwise in single quotes with each
 * ' written as '\''. Returns the length written, or -1 if it does not fit.
 */
int shell_quote(const char *s, char *out, size_t len);

/*
 * Escapes a value for a QEMU option list ("key=value,..."): each ',' is
 * doubled. Returns the length written, or -1 if it does not fit.
 */
int qemu_escape(const char *s, char *out, size_t len);

#endif
