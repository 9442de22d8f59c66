#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/vsock: the Networking unit through miura-vsockd --publish. One echo
# stream's throughput and the rate of short connections to the test_echo
# appliance, side by side with the same relay done on the host alone (socat
# TCP -> Unix socket -> an echo), measured by the same client.
# Usage: bench/vsock/run.sh   (RUNS=3 by default)
set -eu
cd "$(dirname "$0")/../.."
source bench/lib.sh
RUNS=${RUNS:-3}
BYTES=${BYTES:-$((128 * 1024 * 1024))}
CONNS=${CONNS:-500}
make --no-print-directory -s build/apps/test_echo/test_echo.elf build/bin/miura-vsockd build/bin/vsock_client
ACCEL=$(tools/qemu-accel.sh)
CPU=max
[ "$ACCEL" = kvm ] && CPU=host,-arch-capabilities
work=$(mktemp -d /tmp/miura-bench-vsock.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
base=$(free_port 2)
P_GUEST=$base P_HOST=$((base + 1))

build/bin/miura-vsockd --socket "$work/vhost.sock" --cid 3 --uds "$work/v.sock" \
    --publish "127.0.0.1:$P_GUEST:5000" --max-conns 2048 >"$work/vsockd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$work/vhost.sock" ] && break; sleep 0.05; done
qemu-system-x86_64 -M microvm,acpi=off,memory-backend=mem -accel "$ACCEL" -cpu "$CPU" -m 256M \
    -nodefaults -no-user-config -display none -no-reboot -global virtio-mmio.force-legacy=false \
    -object memory-backend-memfd,id=mem,size=256M,share=on \
    -chardev socket,id=vs0,path="$work/vhost.sock" -device vhost-user-vsock-device,chardev=vs0 \
    -kernel build/apps/test_echo/test_echo.elf -serial "file:$work/console" </dev/null >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 600); do grep -q 'echo: listening' "$work/console" 2>/dev/null && break; sleep 0.05; done

# The host-only relay: TCP -> Unix socket (socat), and an echo server on that
# socket (one thread per connection, like the guest's).
gcc -O2 -pthread -o "$work/host_echo" bench/vsock/host_echo.c
"$work/host_echo" "$work/echo.sock" &
pids+=($!)
socat TCP-LISTEN:"$P_HOST",bind=127.0.0.1,fork,reuseaddr,backlog=1024 UNIX-CONNECT:"$work/echo.sock" >/dev/null 2>&1 &
pids+=($!)
sleep 0.5

timed() { # → milliseconds of a vsock_client run (fails the bench if it fails)
    local a b
    a=$(date +%s%N)
    build/bin/vsock_client "$@" --timeout 600 >"$work/client.out" 2>&1 || { echo "bench/vsock: client failed: $(cat "$work/client.out")" >&2; exit 1; }
    b=$(date +%s%N)
    echo $(((b - a) / 1000000))
}
: >"$work/g_tp"; : >"$work/h_tp"; : >"$work/g_cr"; : >"$work/h_cr"
for _ in $(seq "$RUNS"); do
    ms=$(timed --tcp "127.0.0.1:$P_GUEST" --bytes "$BYTES")
    awk "BEGIN {printf \"%.1f\n\", $BYTES / 1048576 / ($ms / 1000)}" >>"$work/g_tp"
    ms=$(timed --tcp "127.0.0.1:$P_HOST" --bytes "$BYTES")
    awk "BEGIN {printf \"%.1f\n\", $BYTES / 1048576 / ($ms / 1000)}" >>"$work/h_tp"
    ms=$(timed --tcp "127.0.0.1:$P_GUEST" --conns "$CONNS" --bytes 64)
    awk "BEGIN {printf \"%.0f\n\", $CONNS / ($ms / 1000)}" >>"$work/g_cr"
    ms=$(timed --tcp "127.0.0.1:$P_HOST" --conns "$CONNS" --bytes 64)
    awk "BEGIN {printf \"%.0f\n\", $CONNS / ($ms / 1000)}" >>"$work/h_cr"
done
g_tp=$(median <"$work/g_tp") h_tp=$(median <"$work/h_tp")
g_cr=$(median <"$work/g_cr") h_cr=$(median <"$work/h_cr")
echo "bench/vsock: median of $RUNS, accelerator $ACCEL ($(date -u +%F))"
printf '  %-52s %12s %12s %8s\n' "" "Miura guest" "host relay" "ratio"
printf '  %-52s %12s %12s %8s\n' "echo stream, $((BYTES / 1048576)) MiB each way (MiB/s one way)" "$g_tp" "$h_tp" \
    "$(awk "BEGIN {printf \"%.2f\", $g_tp / $h_tp}")"
printf '  %-52s %12s %12s %8s\n' "connections/s ($CONNS concurrent, 64 B echo each)" "$g_cr" "$h_cr" \
    "$(awk "BEGIN {printf \"%.2f\", $g_cr / $h_cr}")"
