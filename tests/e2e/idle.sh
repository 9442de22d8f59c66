#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# An idle guest halts: while it sleeps, QEMU uses under 10% of one CPU.
#
# The window is the host's: from the moment the guest has said "idle start",
# the host samples QEMU's CPU time, sleeps 2 s itself (so the window is at
# least that long, whatever the load) and samples again, and checks on its own
# clock how long that was. The guest sleeps 5 s, so the window lies inside its
# sleep unless the host stalled for 3 s; if "idle end" was already printed at
# the second sample, the window saw more than sleep and the run is done again
# (three times at most), never judged.
SUITE=idle
source "$(dirname "$0")/lib.sh"
img=$(need_image test_idle)
out=$OUTDIR/idle.log
hz=$(getconf CLK_TCK)
cpu_ticks() { # utime + stime of process $1
    awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null
}
measured=
for attempt in 1 2 3; do
    rm -f "$out"
    mapfile -t args < <(qemu_base_args "$img" "idle=5")
    timeout -k 2 120 "$QEMU" "${args[@]}" -serial "file:$out" </dev/null >"$out.qemu" 2>&1 &
    pid=$!
    trap 'kill $pid 2>/dev/null' EXIT
    # Wait for the event (bounded only by QEMU's own timeout).
    while ! grep -q '^idle start' "$out" 2>/dev/null && kill -0 $pid 2>/dev/null; do sleep 0.05; done
    qpid=$(pgrep -P "$pid" -f qemu-system | head -1)
    c0=$([ -n "$qpid" ] && cpu_ticks "$qpid")
    t0=$(date +%s%N)
    sleep 2
    c1=$([ -n "$qpid" ] && cpu_ticks "$qpid")
    t1=$(date +%s%N)
    ended=$(grep -c '^idle end' "$out" 2>/dev/null)
    wait $pid
    RC=$?
    trap - EXIT
    if [ -z "$c0" ] || [ -z "$c1" ]; then
        fail idle-cpu-sample "cannot read QEMU's CPU time (guest: $(tr '\n' ' ' <"$out"))"
        finish
    fi
    if [ "$ended" = 0 ]; then
        measured=1
        break
    fi
    echo "# attempt $attempt: the host took $(((t1 - t0) / 1000000)) ms for a 2 s window, past the guest's sleep; again"
done
[ "$RC" -eq 1 ] && pass status || fail status "qemu rc $RC, want 1 (guest status 0)"
if [ -z "$measured" ]; then
    fail idle-cpu-under-10pct "three windows of 2 s all outlasted a 5 s sleep: the host is stalled"
    finish
fi
wall_ms=$(((t1 - t0) / 1000000))
cpu_ms=$(((c1 - c0) * 1000 / hz))
echo "# idle window ${wall_ms} ms wall, ${cpu_ms} ms CPU"
if [ $((cpu_ms * 10)) -lt "$wall_ms" ]; then
    pass idle-cpu-under-10pct
else
    fail idle-cpu-under-10pct "${cpu_ms} ms CPU in ${wall_ms} ms"
fi
finish
