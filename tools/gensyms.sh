#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Emits an assembly file holding a sorted table of the functions in an ELF,
# for crash backtraces: entries {u32 address - 1 MiB; u32 name offset} then
# the NUL-terminated names. Section .miura_syms is placed by link.ld.
set -eu
nm -n --defined-only "$1" | awk 'BEGIN { n = 0 }
NF == 3 && $1 ~ /^[0-9a-fA-F]+$/ && $2 ~ /^[tTwW]$/ && $3 !~ /^__miura_syms/ { addr[n] = $1; name[n] = $3; n++ }
END {
    print "\t.section .miura_syms,\"a\""
    print "\t.balign 8"
    print "\t.globl __miura_syms_count"
    print "__miura_syms_count:\n\t.quad " (n + 0)
    print "\t.globl __miura_syms_table"
    print "__miura_syms_table:"
    off = 0
    for (i = 0; i < n; i++) {
        printf "\t.long 0x%s - 0x100000, %d\n", addr[i], off
        off += length(name[i]) + 1
    }
    print "\t.globl __miura_syms_names"
    print "__miura_syms_names:"
    for (i = 0; i < n; i++) printf "\t.asciz \"%s\"\n", name[i]
}'
