/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The MultiProcessor Specification's tables (Intel MPS 1.4, chapter 4): the
 * CPU list of VMMs without ACPI (QEMU microvm's qboot, Firecracker, Cloud
 * Hypervisor). Pure logic, unit-tested and fuzzed on the host: the tables
 * come from outside.
 *
 * mptable_find looks for the floating pointer structure ("_MP_", 16 bytes
 * on a 16-byte boundary, checksummed) in len bytes of memory and returns
 * the physical address of the configuration table it names, 0 if none
 * (or a default configuration, which has no table).
 *
 * mptable_cpus reads a configuration table ("PCMP", checksummed, entries
 * checked against its length) and writes the local APIC IDs of the enabled
 * processors to ids[0..max) in table order (the caller knows its own ID).
 * Returns how many, 0 for a table that is not valid (then nothing is
 * trusted).
 */
#ifndef MIURA_ARCH_MPTABLE_H
#define MIURA_ARCH_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#define MPTABLE_FLOAT_LEN 16
#define MPTABLE_MAX       0x10000 /* bytes: the longest configuration table read */

uint32_t mptable_find(const uint8_t *mem, size_t len);
unsigned mptable_cpus(const uint8_t *table, size_t len, uint8_t *ids, unsigned max);

#endif
