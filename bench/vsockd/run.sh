#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# miura-vsockd throughput and connection rate, side by side with socat.
#
# Paths (each ends at the same "sink" service, which hashes what it gets and
# answers with {count, hash}; the client checks the answer):
#   vsockd --publish   TCP client -> miura-vsockd -> virtqueues -> fake guest
#   vsockd --uds       Unix client (CONNECT line) -> miura-vsockd -> fake guest
#   socat tcp->unix    TCP client -> socat (fork) -> Unix socket -> sink server
#   socat unix->unix   Unix client -> socat (fork) -> Unix socket -> sink server
# The fake guest is build/bin/vsockd-driver (QEMU's and the guest's part,
# in user space); the sink server is the same program's sink-server mode.
#
# Reported per path, median of RUNS runs: MiB/s for one BYTES-byte stream,
# the relay's CPU time per MiB moved (miura-vsockd, or socat and its forked
# children: utime+stime from /proc), and connections per second for CONNS
# short connections, 8 at a time (connect, send nothing, get the answer).
#
# Usage: bench/vsockd/run.sh     (env: RUNS=5 BYTES=268435456 CONNS=2000)
set -eu
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
BYTES=${BYTES:-$((256 << 20))}
CONNS=${CONNS:-2000}
command -v socat >/dev/null || { echo "socat is missing (apt-get install socat)" >&2; exit 1; }
make --no-print-directory -s build/bin/miura-vsockd build/bin/vsockd-driver
daemon=build/bin/miura-vsockd
drv=build/bin/vsockd-driver
dir=$(mktemp -d /tmp/vsockd-bench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT

free_port() {
    python3 -c '
import random, socket
while True:
    p = random.randrange(20000, 30000)
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", p)); s.close(); print(p); break
    except OSError:
        s.close()'
}
wait_for() { for _ in $(seq 100); do [ -e "$1" ] && return 0; sleep 0.05; done; echo "no $1" >&2; exit 1; }

tcp_v=$(free_port)
$daemon --socket "$dir/vhost.sock" --cid 3 --uds "$dir/v.sock" --publish "$tcp_v:5001" &
pids+=($!)
vsockd_pid=$!
wait_for "$dir/vhost.sock"
$drv guest --socket "$dir/vhost.sock" >/dev/null &
pids+=($!)
$drv sink-server --uds "$dir/sink.sock" >/dev/null &
pids+=($!)
wait_for "$dir/sink.sock"
tcp_s=$(free_port)
socat TCP-LISTEN:"$tcp_s",reuseaddr,fork,backlog=512 UNIX-CONNECT:"$dir/sink.sock" &
pids+=($!)
socat_tcp_pid=$!
socat UNIX-LISTEN:"$dir/socat.sock",fork,backlog=512 UNIX-CONNECT:"$dir/sink.sock" &
pids+=($!)
socat_unix_pid=$!
wait_for "$dir/socat.sock"
sleep 0.3

tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat"; }

# run NAME PID CLIENT-ARGS...: appends "mibs cpu_ms_per_mib conns_per_s" to $dir/NAME
run() {
    local name=$1 pid=$2
    shift 2
    local c0 c1 out secs out2 secs2
    c0=$(cpu_ticks "$pid")
    out=$($drv client "$@" --bytes "$BYTES")
    sleep 0.2 # let socat reap its child so that its CPU time is counted
    c1=$(cpu_ticks "$pid")
    secs=$(sed -n 's/.*seconds=\([0-9.]*\).*failed=0$/\1/p' <<<"$out")
    [ -n "$secs" ] || { echo "$name: transfer failed: $out" >&2; exit 1; }
    out2=$($drv client "$@" --bytes 0 --conns "$CONNS" --parallel 8)
    secs2=$(sed -n 's/.*seconds=\([0-9.]*\).*failed=0$/\1/p' <<<"$out2")
    [ -n "$secs2" ] || { echo "$name: connections failed: $out2" >&2; exit 1; }
    awk -v b="$BYTES" -v s="$secs" -v c="$((c1 - c0))" -v t="$tck" -v n="$CONNS" -v s2="$secs2" \
        'BEGIN { mib = b / 1048576; printf "%.1f %.3f %.0f\n", mib / s, c / t * 1000 / mib, n / s2 }' \
        >>"$dir/$name"
}

for r in $(seq "$RUNS"); do
    run vsockd_publish "$vsockd_pid" --tcp "$tcp_v"
    run vsockd_uds "$vsockd_pid" --uds "$dir/v.sock"
    run socat_tcp_unix "$socat_tcp_pid" --tcp "$tcp_s"
    run socat_unix_unix "$socat_unix_pid" --unix "$dir/socat.sock"
    echo "run $r/$RUNS done" >&2
done

median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
printf '\nmiura-vsockd vs socat: %s MiB per stream, %s connections, median of %s runs (%s CPUs)\n' \
    "$((BYTES >> 20))" "$CONNS" "$RUNS" "$(nproc)"
printf '%-26s %12s %16s %12s\n' path 'MiB/s' 'relay CPU ms/MiB' 'conns/s'
for n in vsockd_publish vsockd_uds socat_tcp_unix socat_unix_unix; do
    label=${n/vsockd_publish/vsockd --publish (tcp)}
    label=${label/vsockd_uds/vsockd --uds (unix)}
    label=${label/socat_tcp_unix/socat tcp->unix}
    label=${label/socat_unix_unix/socat unix->unix}
    printf '%-26s %12s %16s %12s\n' "$label" "$(cut -d' ' -f1 "$dir/$n" | median)" \
        "$(cut -d' ' -f2 "$dir/$n" | median)" "$(cut -d' ' -f3 "$dir/$n" | median)"
done
