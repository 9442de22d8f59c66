#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# miura-vsockd throughput and connection rate, side by side with socat.
#
# Paths, each ending at the same two services: "sink" (hashes what it gets,
# answers {count, hash}) and "source" (sends N pattern bytes); the client
# checks every answer:
#   vsockd --publish   TCP client <-> miura-vsockd <-> virtqueues <-> fake guest
#   vsockd --uds       Unix client (CONNECT line) <-> miura-vsockd <-> fake guest
#   socat tcp<->unix   TCP client <-> socat (fork) <-> Unix socket <-> server
#   socat unix<->unix  Unix client <-> socat (fork) <-> Unix socket <-> server
# The fake guest is build/bin/vsockd-driver (QEMU's and the guest's part, in
# user space); the servers are the same program's sink-/source-server modes.
#
# Reported per path, median of RUNS runs: MiB/s of one BYTES-byte stream to
# the guest (sink) and from it (source), timed from connect to the last byte;
# the relay's CPU time per MiB over both (miura-vsockd, or the socats and
# their forked children: utime+stime from /proc); connections per second for
# CONNS short connections, 8 at a time (connect, send nothing, get the answer).
#
# BEFORE=DIR adds, side by side, the miura-vsockd of another built checkout
# (DIR/build/bin/miura-vsockd, the code before a change) on --publish, with
# the same fake guest and client. At the end, this daemon's bytes_buffered
# (guest data the host socket did not take at once, so copied into the
# connection's buffer; everything else goes from guest memory to the socket
# and back with no copy in between) over everything it carried.
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
tcp_v2=$(free_port)
$daemon --socket "$dir/vhost.sock" --cid 3 --uds "$dir/v.sock" --control "$dir/ctl.sock" \
    --publish "$tcp_v:5001" --publish "$tcp_v2:5002" &
pids+=($!)
vsockd_pid=$!
wait_for "$dir/vhost.sock"
$drv guest --socket "$dir/vhost.sock" >/dev/null &
pids+=($!)
paths=(vsockd_publish vsockd_uds)
if [ -n "${BEFORE:-}" ]; then
    before_daemon=$(cd "$BEFORE" && pwd)/build/bin/miura-vsockd
    [ -x "$before_daemon" ] || { echo "bench/vsockd: BEFORE=$BEFORE has no build/bin/miura-vsockd" >&2; exit 1; }
    tcp_b=$(free_port)
    tcp_b2=$(free_port)
    "$before_daemon" --socket "$dir/vhost-b.sock" --cid 3 --publish "$tcp_b:5001" \
        --publish "$tcp_b2:5002" &
    pids+=($!)
    before_pid=$!
    wait_for "$dir/vhost-b.sock"
    $drv guest --socket "$dir/vhost-b.sock" >/dev/null &
    pids+=($!)
    paths=(vsockd_publish vsockd_before vsockd_uds)
fi
$drv sink-server --uds "$dir/sink.sock" >/dev/null &
pids+=($!)
$drv source-server --uds "$dir/source.sock" >/dev/null &
pids+=($!)
wait_for "$dir/sink.sock"
wait_for "$dir/source.sock"
# One socat per path and direction, as one would run them (fork per connection).
socat_relay() { # LISTEN-ADDRESS TARGET-SOCKET
    socat "$1",fork,backlog=512 UNIX-CONNECT:"$2" &
    pids+=($!)
}
tcp_s=$(free_port)
tcp_s2=$(free_port)
socat_relay TCP-LISTEN:"$tcp_s",reuseaddr "$dir/sink.sock"
socat_tcp_pid=$!
socat_relay TCP-LISTEN:"$tcp_s2",reuseaddr "$dir/source.sock"
socat_tcp2_pid=$!
socat_relay UNIX-LISTEN:"$dir/socat.sock" "$dir/sink.sock"
socat_unix_pid=$!
socat_relay UNIX-LISTEN:"$dir/socat2.sock" "$dir/source.sock"
socat_unix2_pid=$!
wait_for "$dir/socat.sock"
wait_for "$dir/socat2.sock"
sleep 0.3

tck=$(getconf CLK_TCK)
cpu_ticks() { # PID...: utime+stime of the processes and their reaped children
    local t=0 p
    for p in "$@"; do t=$((t + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat"))); done
    echo $t
}
field() { sed -n "s/.* $1=\([0-9.]*\) .*failed=0\$/\1/p" <<<" $2"; }

# run NAME "PIDS" "TO-GUEST-ARGS" "FROM-GUEST-ARGS": appends
# "to_mibs from_mibs cpu_ms_per_mib conns_per_s" to $dir/NAME
run() {
    local name=$1 pids_=$2 to=$3 from=$4 c0 c1 o1 o2 o3 s1 s2 s3
    c0=$(cpu_ticks $pids_)
    o1=$($drv client $to --port 5001 --bytes "$BYTES")
    o2=$($drv client $from --port 5002 --bytes "$BYTES")
    sleep 0.2 # let socat reap its children so that their CPU time is counted
    c1=$(cpu_ticks $pids_)
    o3=$($drv client $to --port 5001 --bytes 0 --conns "$CONNS" --parallel 8)
    s1=$(field xfer_seconds "$o1")
    s2=$(field xfer_seconds "$o2")
    s3=$(field seconds "$o3")
    [ -n "$s1" ] && [ -n "$s2" ] && [ -n "$s3" ] || { echo "$name failed: $o1 / $o2 / $o3" >&2; exit 1; }
    awk -v b="$BYTES" -v s1="$s1" -v s2="$s2" -v c="$((c1 - c0))" -v t="$tck" -v n="$CONNS" \
        -v s3="$s3" 'BEGIN { mib = b / 1048576
            printf "%.1f %.1f %.3f %.0f\n", mib / s1, mib / s2, c / t * 1000 / (2 * mib), n / s3 }' \
        >>"$dir/$name"
}

for r in $(seq "$RUNS"); do
    run vsockd_publish "$vsockd_pid" "--tcp $tcp_v" "--tcp $tcp_v2"
    [ -n "${BEFORE:-}" ] && run vsockd_before "$before_pid" "--tcp $tcp_b" "--tcp $tcp_b2"
    run vsockd_uds "$vsockd_pid" "--uds $dir/v.sock" "--uds $dir/v.sock"
    run socat_tcp_unix "$socat_tcp_pid $socat_tcp2_pid" "--tcp $tcp_s" "--tcp $tcp_s2"
    run socat_unix_unix "$socat_unix_pid $socat_unix2_pid" "--unix $dir/socat.sock" \
        "--unix $dir/socat2.sock"
    echo "run $r/$RUNS done" >&2
done

source bench/lib.sh
col() { cut -d' ' -f"$2" "$dir/$1" | median; }
printf '\nmiura-vsockd vs socat: %s MiB per stream, %s connections, median of %s runs (%s CPUs)\n' \
    "$((BYTES >> 20))" "$CONNS" "$RUNS" "$(nproc)"
printf '%-24s %14s %16s %18s %9s\n' path 'to guest MiB/s' 'from guest MiB/s' 'relay CPU ms/MiB' 'conns/s'
for n in "${paths[@]}" socat_tcp_unix socat_unix_unix; do
    case $n in
    vsockd_publish) label='vsockd --publish (tcp)' ;;
    vsockd_before) label='  the same, BEFORE' ;;
    vsockd_uds) label='vsockd --uds (unix)' ;;
    socat_tcp_unix) label='socat tcp<->unix' ;;
    socat_unix_unix) label='socat unix<->unix' ;;
    esac
    printf '%-24s %14s %16s %18s %9s\n' "$label" "$(col $n 1)" "$(col $n 2)" "$(col $n 3)" "$(col $n 4)"
done
stats=$(printf 'stats\n' | socat - UNIX-CONNECT:"$dir/ctl.sock")
printf 'guest->host bytes copied into a connection buffer (host socket full): %s of %s\n' \
    "$(awk '$1 == "bytes_buffered" {print $2}' <<<"$stats")" "$((BYTES * RUNS * 2))"
