#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/fs: a Miura guest reading through virtio-fs (Debian's virtiofsd),
# side by side with the host reading the same files from its page cache.
#   sequential read of a 64 MiB file (1 MiB reads), MiB/s;
#   open + read 1 KiB + close, microseconds per operation.
# Usage: bench/fs/run.sh
set -eu
cd "$(dirname "$0")/../.."
make --no-print-directory -s build/apps/bench_fs/bench_fs.elf
ACCEL=$(tools/qemu-accel.sh)
CPU=max
[ "$ACCEL" = kvm ] && CPU=host,-arch-capabilities
work=$(mktemp -d /tmp/miura-bench-fs.XXXXXX)
vpid=
trap '[ -n "$vpid" ] && kill $vpid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
mkdir "$work/share"
head -c $((64 * 1024 * 1024)) /dev/urandom >"$work/share/big64.bin"
head -c 1024 /dev/urandom >"$work/share/small1k.bin"
/usr/lib/qemu/virtiofsd --socket-path="$work/vfs.sock" -o source="$work/share" -o cache=auto \
    >"$work/virtiofsd.log" 2>&1 &
vpid=$!
for _ in $(seq 100); do [ -S "$work/vfs.sock" ] && break; sleep 0.05; done
timeout -k 2 300 qemu-system-x86_64 -M microvm,acpi=off,memory-backend=mem -accel "$ACCEL" \
    -cpu "$CPU" -m 256M -smp 1 -nodefaults -no-user-config -display none -no-reboot \
    -global virtio-mmio.force-legacy=false \
    -object memory-backend-memfd,id=mem,size=256M,share=on \
    -chardev socket,id=fs0,path="$work/vfs.sock" -device vhost-user-fs-device,chardev=fs0,tag=share \
    -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel build/apps/bench_fs/bench_fs.elf \
    -append "fs=share" -serial "file:$work/out" </dev/null >/dev/null 2>&1 || true

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
g_seq=$(awk '/^seq/ {printf "%.1f\n", $2 / 1048576 / ($4 / 1e9)}' "$work/out" | median)
g_small=$(awk '/^small/ {printf "%.2f\n", $4 / 100 / 1000}' "$work/out" | median)

# Host: the same reads from the page cache (dd for the 64 MiB; a small C
# program doing open/read/close for the 1 KiB file).
gcc -O2 -o "$work/host_peer" bench/fs/host_peer.c
h_seq=$(for _ in 1 2 3 4 5; do
    dd if="$work/share/big64.bin" of=/dev/null bs=1M 2>&1 | awk '/copied/ {
        for (i = 1; i <= NF; i++) if ($i ~ /^s,?$/) t = $(i-1); print 64 / t }'
done | median)
h_small=$(for _ in $(seq 11); do "$work/host_peer" "$work/share/small1k.bin"; done | median)

echo "bench/fs: medians, accelerator $ACCEL ($(date -u +%F)); guest through virtiofsd, host from its page cache"
printf '  %-44s %10s %10s %8s\n' "" "Miura" "host" "ratio"
printf '  %-44s %10s %10s %8s\n' "sequential read 64 MiB (MiB/s)" "$g_seq" "$h_seq" \
    "$(awk "BEGIN {printf \"%.3f\", $g_seq / $h_seq}")"
printf '  %-44s %10s %10s %8s\n' "open+read 1 KiB+close (us/op)" "$g_small" "$h_small" \
    "$(awk "BEGIN {printf \"%.1f\", $g_small / $h_small}")"
