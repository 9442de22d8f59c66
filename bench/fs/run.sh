#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/fs: a Miura guest reading through virtio-fs (Debian's virtiofsd),
# side by side with the host reading the same files from its page cache.
#   sequential read of a 64 MiB file (1 MiB reads), MiB/s;
#   open + read 1 KiB + close, microseconds per operation.
# With LINUX_PEER=1 (the default when bench/linux-peer/build.sh succeeds) a
# Linux guest (Debian's kernel and busybox, bench/linux-peer) reads the same
# files through the same QEMU and virtiofsd, in a column of its own.
# Usage: [LINUX_PEER=0|1] bench/fs/run.sh
set -eu
cd "$(dirname "$0")/../.."
make --no-print-directory -s build/apps/bench_fs/bench_fs.elf
ACCEL=$(tools/qemu-accel.sh)
CPU=max
[ "$ACCEL" = kvm ] && CPU=host,-arch-capabilities
work=$(mktemp -d /tmp/miura-bench-fs.XXXXXX)
vpid=
trap 'set +e; [ -n "$vpid" ] && kill $vpid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
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

# The Linux guest peer, on the same files.
if [ -z "${LINUX_PEER:-}" ]; then
    if bash bench/linux-peer/build.sh >"$work/linux-peer-build.log" 2>&1; then
        LINUX_PEER=1
    else
        LINUX_PEER=0
        echo "bench/fs: Linux peer not built, its column left out:" >&2
        tail -n 5 "$work/linux-peer-build.log" >&2
    fi
fi
if [ "$LINUX_PEER" = 1 ]; then
    bash bench/linux-peer/run.sh fs "$work/share" >"$work/linux-out" 2>"$work/linux-err" ||
        { echo "bench/fs: the Linux peer failed:" >&2; tail -n 20 "$work/linux-err" >&2; }
fi

source bench/lib.sh
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
if [ "$LINUX_PEER" != 1 ]; then
printf '  %-44s %10s %10s %8s\n' "" "Miura" "host" "ratio"
printf '  %-44s %10s %10s %8s\n' "sequential read 64 MiB (MiB/s)" "$g_seq" "$h_seq" \
    "$(awk "BEGIN {printf \"%.3f\", $g_seq / $h_seq}")"
printf '  %-44s %10s %10s %8s\n' "open+read 1 KiB+close (us/op)" "$g_small" "$h_small" \
    "$(awk "BEGIN {printf \"%.1f\", $g_small / $h_small}")"
exit 0
fi

# With the Linux guest: "ratio" is Miura / host as above, "vs Linux" is
# Miura / Linux guest (above 1 is faster for MiB/s, slower for us/op).
l_seq='' l_small=''
grep -q '^seq' "$work/linux-out" &&
    l_seq=$(awk '/^seq/ {printf "%.1f\n", $2 / 1048576 / ($4 / 1e9)}' "$work/linux-out" | median)
grep -q '^small' "$work/linux-out" &&
    l_small=$(awk '/^small/ {printf "%.2f\n", $4 / 100 / 1000}' "$work/linux-out" | median)
l_shell=$(awk '/^# rootfs 100 ops ns/ {printf "%.2f", $6 / 100 / 1000}' "$work/linux-out")
l_ready=$(awk '/^linux-peer: ready in/ {print $4}' "$work/linux-out")
ratio() { if [ -n "$2" ]; then awk "BEGIN {printf \"$3\", $1 / $2}"; else echo n/a; fi; }
printf '  %-44s %10s %12s %10s %8s %9s\n' "" "Miura" "Linux guest" "host" "ratio" "vs Linux"
printf '  %-44s %10s %12s %10s %8s %9s\n' "sequential read 64 MiB (MiB/s)" "$g_seq" "${l_seq:-n/a}" "$h_seq" \
    "$(ratio "$g_seq" "$h_seq" %.3f)" "$(ratio "$g_seq" "$l_seq" %.2f)"
printf '  %-44s %10s %12s %10s %8s %9s\n' "open+read 1 KiB+close (us/op)" "$g_small" "${l_small:-n/a}" "$h_small" \
    "$(ratio "$g_small" "$h_small" %.1f)" "$(ratio "$g_small" "$l_small" %.2f)"
[ -n "$l_ready" ] && echo "  Linux guest: ready ${l_ready} ms after QEMU start; the same small-file loop on its" \
    "initramfs (no device) costs ${l_shell:-?} us/op"
exit 0
