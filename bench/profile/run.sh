#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/profile/run.sh: where the web server's guest time goes under load.
# Starts the web server (miura run --gdb), puts wrk -t1 -cCONNS on FILE for
# DURATION seconds and samples the guest's vCPUs through QEMU's gdbstub
# (tools/guest-profile.py): the share of samples in each function, inclusive
# and self. The stops slow the guest (about a fifth at the default interval):
# the shares are what to read, not the request rate printed beside them.
# Usage: bench/profile/run.sh   (DURATION=30 INTERVAL_MS=50 CONNS=32 FILE=1k.bin
#                                CPUS=1 IMAGE=build/apps/webserver/webserver.elf)
set -eu
cd "$(dirname "$0")/../.."
source bench/lib.sh
DURATION=${DURATION:-30}
INTERVAL_MS=${INTERVAL_MS:-50}
CONNS=${CONNS:-32}
FILE=${FILE:-1k.bin}
CPUS=${CPUS:-1}
IMAGE=${IMAGE:-build/apps/webserver/webserver.elf}
bash tools/deps.sh bench
make --no-print-directory -s all
MIURA=build/bin/miura
work=$(mktemp -d /tmp/miura-bench-profile.XXXXXX)
export MIURA_RUNTIME_DIR=$work/rt
name=prof-$$
cleanup() {
    [ -n "${wrk_pid:-}" ] && kill "$wrk_pid" 2>/dev/null
    if ! "$MIURA" stop "$name" >/dev/null 2>&1 && "$MIURA" ps 2>/dev/null | grep -qw "^$name"; then
        echo "bench/profile: $name did not stop; its run directory stays: MIURA_RUNTIME_DIR=$work/rt" >&2
        return
    fi
    rm -rf "$work"
}
trap cleanup EXIT
bench_site "$work/site"
chmod -R a+rX "$work"
read -r port gdb_port <<<"$(free_ports 2)"
"$MIURA" run --detach --name "$name" --cpus "$CPUS" --mem 128M --share "$work/site" \
    --publish "127.0.0.1:$port:80" --gdb "127.0.0.1:$gdb_port" --append log=0 "$IMAGE" >/dev/null
curl -sf -o /dev/null "http://127.0.0.1:$port/$FILE" # warm: the file cache, the stat
echo "bench/profile: $(git rev-parse --short HEAD), $IMAGE, --cpus $CPUS, wrk -t1 -c$CONNS /$FILE," \
    "${DURATION}s, a sample every ~${INTERVAL_MS} ms, accelerator $(tools/qemu-accel.sh), load $(cut -d' ' -f1-3 /proc/loadavg)"
wrk -t1 -c"$CONNS" -d"$((DURATION + 2))s" "http://127.0.0.1:$port/$FILE" >"$work/wrk.out" &
wrk_pid=$!
sleep 1
python3 tools/guest-profile.py "$gdb_port" "$DURATION" "$IMAGE" "$INTERVAL_MS"
wait "$wrk_pid"
wrk_pid=
echo "wrk while sampled: $(awk '/Requests\/sec/ {print $2}' "$work/wrk.out") req/s"
