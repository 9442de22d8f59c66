#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Emits an assembly file holding the functions of an ELF, for crash backtraces
# with names (kernel/arch/x86_64/symbols.c reads it). Compact, since it ships in
# every image:
#   u32 count; u8 ntokens; ntokens x (u8 length, the token's characters)
#   then per function, in address order:
#     ULEB128 (address - previous address; the first from 1 MiB)
#     one byte: how many leading characters the name shares with the previous one
#     the rest of the name, NUL-terminated, where a byte >= 0x80 stands for
#     token (byte - 0x80): byte-pair encoding over all the names' rests, so
#     frequent pieces ("vsock_", "fuse_", "_t") cost one byte.
# LTO's ".lto_priv.N" suffixes are dropped; its per-file marker symbols
# ("main.c.9909bbc5", outside the image) are skipped. Section .miura_syms is
# placed by link.ld after .rodata, so adding it moves no code.
set -eu
nm -n --defined-only "$1" | LC_ALL=C awk 'BEGIN { n = 0; for (i = 1; i < 256; i++) ord[sprintf("%c", i)] = i }
function hex(s,   i, v) { v = 0; s = tolower(s); for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v }
NF == 3 && $2 ~ /^[tTwW]$/ && $3 !~ /^__miura_syms/ {
    a = hex($1)
    if (a < 1048576) next
    nm = $3; sub(/\.lto_priv\.[0-9]+$/, "", nm)
    if (length(nm) > 120) nm = substr(nm, 1, 120)
    addr[n] = a; name[n] = nm; n++
}
END {
    pname = ""
    for (i = 0; i < n; i++) {
        p = 0
        while (p < length(name[i]) && p < length(pname) && p < 255 && substr(name[i], p + 1, 1) == substr(pname, p + 1, 1)) p++
        shared[i] = p; rest[i] = substr(name[i], p + 1); pname = name[i]
    }
    # Byte-pair encoding: merge the most frequent adjacent pair while it saves bytes.
    ntok = 0
    while (ntok < 127) {
        delete cnt; best = ""; bestc = 0
        for (i = 0; i < n; i++) {
            s = rest[i]
            for (j = 1; j < length(s); j++) {
                pr = substr(s, j, 2)
                c = ++cnt[pr]
                if (c > bestc) { bestc = c; best = pr }
            }
        }
        e1 = substr(best, 1, 1); e2 = substr(best, 2, 1)
        if (e1 in expand) e1 = expand[e1]
        if (e2 in expand) e2 = expand[e2]
        if (bestc - (length(e1 e2) + 1) <= 0) break
        code = sprintf("%c", 128 + ntok)
        expand[code] = e1 e2
        tok[ntok++] = code
        for (i = 0; i < n; i++) {
            s = rest[i]; out = ""
            while ((k = index(s, best)) > 0) { out = out substr(s, 1, k - 1) code; s = substr(s, k + 2) }
            rest[i] = out s
        }
    }
    print "\t.section .miura_syms,\"a\""
    print "\t.globl __miura_syms"
    print "__miura_syms:"
    printf "\t.long %d\n\t.byte %d\n", n, ntok
    for (t = 0; t < ntok; t++) {
        s = expand[tok[t]]
        printf "\t.byte %d\n\t.ascii \"%s\"\n", length(s), s
    }
    prev = 1048576
    for (i = 0; i < n; i++) {
        d = addr[i] - prev; prev = addr[i]
        out = ""
        do { b = d % 128; d = int(d / 128); if (d > 0) b += 128; out = out (out == "" ? "" : ",") b } while (d > 0)
        out = out "," shared[i]
        s = rest[i]
        for (j = 1; j <= length(s); j++) out = out "," ord[substr(s, j, 1)]
        printf "\t.byte %s,0\n", out
    }
}'
