#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Emits an assembly file holding the functions of an ELF, for crash backtraces
# with names (kernel/arch/x86_64/symbols.c reads it). Compact, since it ships in
# every image: a u32 count, then per function in address order
#   ULEB128 (address - previous address; the first from 1 MiB)
#   one byte: how many leading characters the name shares with the previous one
#   the rest of the name, NUL-terminated.
# LTO's ".lto_priv.N" suffixes are dropped; its per-file marker symbols
# ("main.c.9909bbc5", outside the image) are skipped. Section .miura_syms is
# placed by link.ld after .rodata, so adding it moves no code.
set -eu
nm -n --defined-only "$1" | awk 'BEGIN { n = 0 }
function hex(s,   i, v) { v = 0; s = tolower(s); for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v }
NF == 3 && $2 ~ /^[tTwW]$/ && $3 !~ /^__miura_syms/ {
    a = hex($1)
    if (a < 1048576) next
    nm = $3; sub(/\.lto_priv\.[0-9]+$/, "", nm)
    if (length(nm) > 120) nm = substr(nm, 1, 120)
    addr[n] = a; name[n] = nm; n++
}
END {
    print "\t.section .miura_syms,\"a\""
    print "\t.globl __miura_syms"
    print "__miura_syms:"
    printf "\t.long %d\n", n
    prev = 1048576; pname = ""
    for (i = 0; i < n; i++) {
        d = addr[i] - prev; prev = addr[i]
        out = ""
        do { b = d % 128; d = int(d / 128); if (d > 0) b += 128; out = out (out == "" ? "" : ",") b } while (d > 0)
        p = 0
        while (p < length(nm = name[i]) && p < length(pname) && p < 255 && substr(nm, p + 1, 1) == substr(pname, p + 1, 1)) p++
        printf "\t.byte %s,%d\n\t.asciz \"%s\"\n", out, p, substr(nm, p + 1)
        pname = nm
    }
}'
