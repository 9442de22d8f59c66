#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# trim-elf.sh IN OUT: copies a stripped image without its section headers and
# section name table (about 570 B of the web server image). Nothing loads
# them: QEMU's PVH loader and `miura` (host/common/pvh_image.c) read only the
# program headers, and the unstripped NAME.elf next to the image keeps every
# section for readelf, objdump and gdb. (binutils 2.41's
# `strip --strip-section-headers` does the same; Debian 12 has 2.40.)
# The copy ends where the last segment's bytes end; e_shoff, e_shnum and
# e_shstrndx become 0, which the ELF format defines as "no section headers".
set -eu
[ $# -eq 2 ] || { echo "usage: trim-elf.sh IN OUT" >&2; exit 2; }
in=$1 out=$2
# End of the file's segment bytes: the largest p_offset + p_filesz.
end=$(LC_ALL=C readelf -lW "$in" | awk '
    function hex(s,   i, v) { v = 0; s = tolower(s); sub(/^0x/, "", s)
        for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
        return v }
    $1 ~ /^[A-Z_]+$/ && $2 ~ /^0x/ && NF >= 7 { e = hex($2) + hex($5); if (e > m) m = e }
    END { print m + 0 }')
shoff=$(LC_ALL=C readelf -hW "$in" | awk '/Start of section headers:/ { print $5 }')
[ "$end" -gt 64 ] || { echo "trim-elf.sh: $in: no segment bytes found" >&2; exit 1; }
[ "$shoff" -ge "$end" ] || { echo "trim-elf.sh: $in: section headers ($shoff) before the end of the segments ($end)" >&2; exit 1; }
tmp=$out.tmp
head -c "$end" "$in" >"$tmp"
# e_shoff (8 bytes at 0x28); e_shnum and e_shstrndx (2 + 2 bytes at 0x3c).
printf '\000\000\000\000\000\000\000\000' | dd of="$tmp" bs=1 seek=40 conv=notrunc status=none
printf '\000\000\000\000' | dd of="$tmp" bs=1 seek=60 conv=notrunc status=none
mv "$tmp" "$out"
