/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Miura: what an appliance may call beyond the POSIX-shaped subset. Every
 * function here always succeeds (none sets errno) unless its description
 * says otherwise.
 *
 * An appliance is `int main(int argc, char **argv)`: argv holds the words of
 * the kernel command line, argv[0] being "miura", argv[argc] NULL. main's
 * return value is the VM's exit status (see miura_poweroff). main runs in
 * a thread of CPU 0 (include/miura/thread.h), after every kernel unit the
 * image links has started.
 */
#ifndef MIURA_MIURA_H
#define MIURA_MIURA_H

#include <stddef.h>
#include <stdint.h>

#include "miura/thread.h"

/* The most CPUs Miura counts: miura_cpu_count() never exceeds it. */
#define MIURA_MAX_CPUS 64

/* The number of CPUs the VM has (1 .. MIURA_MAX_CPUS), and the one the
 * caller runs on (0 .. count - 1). Only CPU 0 runs threads today. */
unsigned miura_cpu_count(void);
unsigned miura_cpu_id(void);

/* Usable RAM in bytes, as the VMM's memory map describes it. */
uint64_t miura_mem_bytes(void);

/* The page allocator's view of RAM: what it manages (RAM minus the image and
 * its own metadata), what is free now, and the fewest bytes ever free since
 * boot (so total - min_free is the peak in use, heap slabs and stacks
 * included). Fills *m, which MUST NOT be NULL. */
struct miura_mem_info {
    uint64_t total_bytes, free_bytes, min_free_bytes;
};
void miura_mem_info(struct miura_mem_info *m);

/*
 * Device interrupts taken so far, for a console line: writes "NAME a/b/..."
 * for each device, space-separated, into buf (len > 0 bytes, NUL-terminated,
 * cut short if it does not fit): NAME is the device's name on the kernel
 * command line ("fs", "vsock"), a, b, ... the interrupts CPU 0, 1, ... took
 * for it. Returns buf. Only in images with a device driver.
 */
char *miura_irq_counts(char *buf, size_t len);

/* Monotonic nanoseconds since the PVH entry (TSC-based). Never goes
 * backwards. The first call may take about a millisecond where the TSC
 * rate has to be measured (docs/kernel.md, Time). */
uint64_t miura_clock_ns(void);

/* Wall-clock time in Unix seconds (from the VM's CMOS RTC, read once, then
 * advanced by the monotonic clock), or INT64_MIN when there is no RTC. */
int64_t miura_realtime_s(void);

/* Guest nanoseconds from the PVH entry's first instruction to main(); 0
 * before main() was called. */
uint64_t miura_boot_ns(void);

/*
 * The kernel command line, as the VMM gave it (at most 4095 bytes; the
 * string lives for the whole run). miura_getarg("key") returns the value of
 * the last "key=value" word, "" for a bare "key" or "key=", or NULL when no
 * word has that key; the value lives for the whole run. key MUST NOT be
 * NULL.
 */
const char *miura_cmdline(void);
const char *miura_getarg(const char *key);

/*
 * The value of the word "key=N" as a decimal number in min..max, or def
 * when no word has that key. A value that is not such a number is said on
 * the console ("miura: bad key=value (want min..max); using def") and gives
 * def. key MUST NOT be NULL.
 */
unsigned miura_getarg_uint(const char *key, unsigned def, unsigned min, unsigned max);

/*
 * A listening stream socket for the connections to vsock port `port` (those
 * `miura run --publish HOSTPORT:port` carries), queueing up to `backlog`:
 * socket(AF_VSOCK), bind to VMADDR_CID_ANY:port, listen. This is the one
 * call that differs in the Linux build of an appliance (docs/appliances.md,
 * "Test on Linux"): there it is a TCP listener on 127.0.0.1:port, or on the
 * ADDR:HOSTPORT that the program's --publish ADDR:HOSTPORT:port names.
 * Returns the descriptor, or -1 with the errno of socket, bind or listen
 * (EADDRINUSE: the port is taken).
 */
int miura_listen_port(unsigned port, int backlog);

/*
 * Powers the VM off. With QEMU's isa-debug-exit device (iobase 0xf4), QEMU
 * exits with status (status << 1) | 1, so a host sees 1 for success; the
 * launcher and tests decode it. Without it, the VM is stopped by a triple
 * fault (QEMU exits 0 under -no-reboot). Never returns.
 */
_Noreturn void miura_poweroff(int status);

#endif
