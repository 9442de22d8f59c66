#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# hello boots, reports itself and exits 0; the command line reaches main.
SUITE=hello
source "$(dirname "$0")/lib.sh"
img=$(need_image hello)
out=$OUTDIR/hello.log
n=${CPUS:-2} # 2 unless a CPU count is asked for (smp.sh)
MEM=96M CPUS=$n boot_image "$img" "$out" "" 60
expect_status status 0
expect_grep greeting "$out" '^Hello from Miura!$'
expect_grep cpus "$out" "^cpus: $n\$"
# 96 MiB less the VMM's reserved low memory: between 95 and 96 MiB.
kib=$(sed -n 's/^memory: \([0-9]*\) KiB$/\1/p' "$out")
if [ -n "$kib" ] && [ "$kib" -gt $((95 * 1024)) ] && [ "$kib" -le $((96 * 1024)) ]; then
    pass memory
else
    fail memory "memory line '${kib:-missing}' KiB, want (97280, 98304]"
fi
expect_grep boot-time "$out" '^boot: [0-9]+\.[0-9]{3} us from PVH entry to main$'

# The stripped image is what bench/boot measures; it must exist and boot too.
boot_image "$ROOT/build/apps/hello/hello" "$out.stripped" "" 60
expect_status stripped-status 0
expect_grep stripped-greeting "$out.stripped" '^Hello from Miura!$'

# Without isa-debug-exit the power-off falls back to a triple fault, which
# ends QEMU (status 0 under -no-reboot) instead of leaving it running.
NO_EXIT_DEVICE=1 boot_image "$img" "$out.noexit" "" 60
if [ "$RC" -eq 0 ] && grep -q '^Hello from Miura!$' "$out.noexit"; then
    pass poweroff-fallback
else
    fail poweroff-fallback "qemu rc $RC (status $STATUS), want 0 after the greeting"
fi
finish
