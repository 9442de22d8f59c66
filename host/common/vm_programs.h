/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Finding the programs an instance runs (QEMU, virtiofsd, miura-vsockd) and
 * choosing the accelerator; shared by miura and miura-oci. Each find_*
 * writes a path into out (size len) and returns 0, or -1 if not found.
 */
#ifndef MIURA_COMMON_VM_PROGRAMS_H
#define MIURA_COMMON_VM_PROGRAMS_H

#include <stddef.h>

#include "common/vm_args.h"

/* An absolute or relative path as is (if executable), else along PATH. */
int find_program(const char *name, char *out, size_t len);

/* $MIURA_VSOCKD, else miura-vsockd next to the running binary, else along PATH. */
int find_vsockd(char *out, size_t len);

/* $MIURA_VIRTIOFSD, else /usr/lib/qemu/virtiofsd, /usr/libexec/virtiofsd, else PATH. */
int find_virtiofsd(char *out, size_t len);

/*
 * --accel auto (DESIGN §5): KVM only on real hardware virtualisation; says
 * what it picked and why on stderr ("PROG: accel tcg: ...") unless prog is
 * NULL. Other values are returned as they are.
 */
enum accel pick_accel(enum accel want, const char *prog);

#endif
