#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/boot: image size, guest time from the PVH entry to main(), and wall
# time from starting QEMU to its exit, hello side by side with `floor` (an
# image that powers off at its first instruction: the VMM's own cost); then
# the same on QEMU q35 with hello_pci (hello + virtio-pci, PCI, ACPI) and a
# virtio-pci device to probe (virtio-rng: found, mapped, no driver), so
# entry -> main includes ACPI and PCI enumeration.
# Usage: bench/boot/run.sh [RUNS]   (default 15; medians are reported)
set -eu
cd "$(dirname "$0")/../.."
RUNS=${1:-15}
make --no-print-directory -s build/apps/hello/hello build/apps/floor/floor build/apps/hello_pci/hello_pci
ACCEL=$(tools/qemu-accel.sh)
CPU=max
[ "$ACCEL" = kvm ] && CPU=host,-arch-capabilities
common=(-cpu "$CPU" -m 128M -smp 1 -nodefaults -no-user-config
    -display none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4)
microvm=(-M microvm,acpi=off "${common[@]}")
q35=(-M q35 "${common[@]}" -device virtio-rng-pci)
base=("${microvm[@]}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

source bench/lib.sh

run_wall() { # image, accel args... → prints wall ns; serial to $tmp/out
    local img=$1
    shift
    local t0 t1
    t0=$(date +%s%N)
    timeout -k 2 60 qemu-system-x86_64 "${base[@]}" "$@" -kernel "$img" -serial "file:$tmp/out" \
        </dev/null >/dev/null 2>&1 || true
    t1=$(date +%s%N)
    echo $((t1 - t0))
}

: >"$tmp/hello_wall"
: >"$tmp/floor_wall"
: >"$tmp/boot_tcg"
: >"$tmp/boot_icount"
: >"$tmp/q35_floor_wall"
: >"$tmp/q35_wall"
: >"$tmp/q35_icount"
for _ in $(seq "$RUNS"); do
    base=("${q35[@]}")
    run_wall build/apps/floor/floor.elf -accel "$ACCEL" >>"$tmp/q35_floor_wall"
    run_wall build/apps/hello_pci/hello_pci.elf -accel "$ACCEL" >>"$tmp/q35_wall"
    run_wall build/apps/hello_pci/hello_pci.elf -accel tcg -icount shift=0 >/dev/null
    sed -n 's/^boot: \([0-9.]*\) us.*/\1/p' "$tmp/out" >>"$tmp/q35_icount"
    base=("${microvm[@]}")
    # Interleaved so that machine noise hits both alike.
    run_wall build/apps/floor/floor.elf -accel "$ACCEL" >>"$tmp/floor_wall"
    run_wall build/apps/hello/hello.elf -accel "$ACCEL" >>"$tmp/hello_wall"
    sed -n 's/^boot: \([0-9.]*\) us.*/\1/p' "$tmp/out" >>"$tmp/boot_tcg"
    # -icount shift=0: one instruction = 1 ns of guest time, so the guest's
    # own clock counts its work, not the emulator's translation overhead.
    run_wall build/apps/hello/hello.elf -accel tcg -icount shift=0 >/dev/null
    sed -n 's/^boot: \([0-9.]*\) us.*/\1/p' "$tmp/out" >>"$tmp/boot_icount"
done

size=$(stat -c %s build/apps/hello/hello)
fw=$(median <"$tmp/floor_wall")
hw=$(median <"$tmp/hello_wall")
bt=$(median <"$tmp/boot_tcg")
bi=$(median <"$tmp/boot_icount")
echo "bench/boot: $RUNS runs each, medians, accelerator $ACCEL ($(date -u +%F))"
printf '  %-46s %12s  %s\n' "hello image, stripped" "$size B" "(target <= 32768 B)"
printf '  %-46s %12s  %s\n' "guest PVH entry -> main (icount, 1 insn = 1 ns)" "$bi us" "(target <= 100 us)"
printf '  %-46s %12s\n' "guest PVH entry -> main ($ACCEL wall clock)" "$bt us"
printf '  %-46s %12s\n' "QEMU start -> exit, floor image" "$(awk "BEGIN {printf \"%.1f ms\", $fw / 1e6}")"
printf '  %-46s %12s\n' "QEMU start -> exit, hello" "$(awk "BEGIN {printf \"%.1f ms\", $hw / 1e6}")"
printf '  %-46s %12s  %s\n' "hello / floor" "$(awk "BEGIN {printf \"%.3f\", $hw / $fw}")" "(target <= 1.10)"

qf=$(median <"$tmp/q35_floor_wall")
qw=$(median <"$tmp/q35_wall")
printf '  q35 (virtio-pci; SeaBIOS runs before the PVH entry):\n'
printf '  %-46s %12s\n' "hello_pci image, stripped" "$(stat -c %s build/apps/hello_pci/hello_pci) B"
printf '  %-46s %12s  %s\n' "guest PVH entry -> main, q35 (icount)" "$(median <"$tmp/q35_icount") us" "(target <= 150 us)"
printf '  %-46s %12s\n' "QEMU start -> exit, floor image, q35" "$(awk "BEGIN {printf \"%.1f ms\", $qf / 1e6}")"
printf '  %-46s %12s\n' "QEMU start -> exit, hello_pci, q35" "$(awk "BEGIN {printf \"%.1f ms\", $qw / 1e6}")"
