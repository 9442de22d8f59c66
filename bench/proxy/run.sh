#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/proxy: miura-proxy -> miura-vsockd --uds -> the test_echo guest, side
# by side with miura-vsockd --publish straight to the same guest (one VM, the
# two paths measured alternately in the same run): one echo stream's
# throughput, the rate of short connections, and miura-proxy's CPU time per
# MiB carried.
# Usage: bench/proxy/run.sh   (environment: RUNS=3, BYTES=128 MiB, CONNS=500)
set -eu
cd "$(dirname "$0")/../.."
source bench/lib.sh
RUNS=${RUNS:-3}
BYTES=${BYTES:-$((128 * 1024 * 1024))}
CONNS=${CONNS:-500}
make --no-print-directory -s build/apps/test_echo/test_echo.elf build/bin/miura-vsockd \
    build/bin/miura-proxy build/bin/vsock_client
ACCEL=$(tools/qemu-accel.sh)
CPU=max
[ "$ACCEL" = kvm ] && CPU=host,-arch-capabilities
work=$(mktemp -d /tmp/miura-bench-proxy.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
base=$(free_port 2)
P_DIRECT=$base P_PROXY=$((base + 1))

build/bin/miura-vsockd --socket "$work/vhost.sock" --cid 3 --uds "$work/v.sock" \
    --publish "127.0.0.1:$P_DIRECT:5000" --max-conns 2048 >"$work/vsockd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$work/vhost.sock" ] && break; sleep 0.05; done
timeout -k 2 1800 qemu-system-x86_64 -M microvm,acpi=off,memory-backend=mem -accel "$ACCEL" -cpu "$CPU" -m 256M \
    -nodefaults -no-user-config -display none -no-reboot -global virtio-mmio.force-legacy=false \
    -object memory-backend-memfd,id=mem,size=256M,share=on \
    -chardev socket,id=vs0,path="$work/vhost.sock" -device vhost-user-vsock-device,chardev=vs0 \
    -kernel build/apps/test_echo/test_echo.elf -serial "file:$work/console" </dev/null >/dev/null 2>&1 &
pids+=($!)
build/bin/miura-proxy --uds "$work/v.sock" --publish "127.0.0.1:$P_PROXY:5000" \
    --max-conns 2048 >"$work/proxy.log" 2>&1 &
proxy=$!
pids+=($proxy)
for _ in $(seq 600); do grep -q 'echo: listening' "$work/console" 2>/dev/null && break; sleep 0.05; done
grep -q 'echo: listening' "$work/console" || { echo "bench/proxy: the guest did not start" >&2; exit 1; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
timed() { # → milliseconds of a vsock_client run (fails the bench if it fails)
    local a b
    a=$(date +%s%N)
    timeout -k 2 900 build/bin/vsock_client "$@" --timeout 600 >"$work/client.out" 2>&1 ||
        { echo "bench/proxy: client failed: $(cat "$work/client.out")" >&2; exit 1; }
    b=$(date +%s%N)
    echo $(((b - a) / 1000000))
}
hz=$(getconf CLK_TCK)
: >"$work/d_tp"; : >"$work/p_tp"; : >"$work/d_cr"; : >"$work/p_cr"; : >"$work/p_cpu"
for _ in $(seq "$RUNS"); do
    ms=$(timed --tcp "127.0.0.1:$P_DIRECT" --bytes "$BYTES")
    awk "BEGIN {printf \"%.1f\n\", $BYTES / 1048576 / ($ms / 1000)}" >>"$work/d_tp"
    t0=$(cpu_ticks $proxy)
    ms=$(timed --tcp "127.0.0.1:$P_PROXY" --bytes "$BYTES")
    t1=$(cpu_ticks $proxy)
    awk "BEGIN {printf \"%.1f\n\", $BYTES / 1048576 / ($ms / 1000)}" >>"$work/p_tp"
    # CPU per MiB carried over both directions (the echo doubles the bytes).
    awk "BEGIN {printf \"%.3f\n\", ($t1 - $t0) * 1000 / $hz / (2 * $BYTES / 1048576)}" >>"$work/p_cpu"
    ms=$(timed --tcp "127.0.0.1:$P_DIRECT" --conns "$CONNS" --bytes 64)
    awk "BEGIN {printf \"%.0f\n\", $CONNS / ($ms / 1000)}" >>"$work/d_cr"
    ms=$(timed --tcp "127.0.0.1:$P_PROXY" --conns "$CONNS" --bytes 64)
    awk "BEGIN {printf \"%.0f\n\", $CONNS / ($ms / 1000)}" >>"$work/p_cr"
done
d_tp=$(median <"$work/d_tp") p_tp=$(median <"$work/p_tp")
d_cr=$(median <"$work/d_cr") p_cr=$(median <"$work/p_cr")
p_cpu=$(median <"$work/p_cpu")
echo "bench/proxy: median of $RUNS, accelerator $ACCEL ($(date -u +%F))"
printf '  %-50s %14s %14s %7s\n' "" "vsockd direct" "proxy+uds" "ratio"
printf '  %-50s %14s %14s %7s\n' "echo stream, $((BYTES / 1048576)) MiB each way (MiB/s one way)" "$d_tp" "$p_tp" \
    "$(awk "BEGIN {printf \"%.2f\", $p_tp / $d_tp}")"
printf '  %-50s %14s %14s %7s\n' "connections/s ($CONNS concurrent, 64 B echo each)" "$d_cr" "$p_cr" \
    "$(awk "BEGIN {printf \"%.2f\", $p_cr / $d_cr}")"
printf '  %-50s %14s %14s\n' "miura-proxy CPU ms per MiB carried (both ways)" "-" "$p_cpu"
