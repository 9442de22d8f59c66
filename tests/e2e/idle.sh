#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# An idle guest halts: while it sleeps 2 s, QEMU uses under 10% of one CPU.
SUITE=idle
source "$(dirname "$0")/lib.sh"
img=$(need_image test_idle)
out=$OUTDIR/idle.log
rm -f "$out"
mapfile -t args < <(qemu_base_args "$img" "")
timeout -k 2 60 "$QEMU" "${args[@]}" -serial "file:$out" </dev/null >"$out.qemu" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
hz=$(getconf CLK_TCK)
qpid=
cpu_ticks() { # utime + stime of the QEMU process (timeout's child)
    [ -n "$qpid" ] || qpid=$(pgrep -P "$pid" -f qemu-system | head -1)
    [ -n "$qpid" ] && awk '{print $14 + $15}' "/proc/$qpid/stat" 2>/dev/null
}
wait_line() { # pattern, seconds
    for _ in $(seq $(($2 * 20))); do
        grep -q "$1" "$out" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}
if ! wait_line '^idle start' 50; then
    fail idle-start "guest never printed 'idle start'"
    finish
fi
c0=$(cpu_ticks)
t0=$(date +%s%N)
[ -n "$c0" ] || { fail idle-cpu-sample "cannot read QEMU's CPU time"; finish; }
if ! wait_line '^idle end' 20; then
    fail idle-end "guest never printed 'idle end'"
    finish
fi
c1=$(cpu_ticks) # the guest stays up 1 s after 'idle end', so QEMU is still there
t1=$(date +%s%N)
[ -n "$c1" ] || { fail idle-cpu-sample "QEMU gone before the second sample"; finish; }
wait $pid
RC=$?
trap - EXIT
[ "$RC" -eq 1 ] && pass status || fail status "qemu rc $RC, want 1 (guest status 0)"
wall_ms=$(((t1 - t0) / 1000000))
cpu_ms=$(((c1 - c0) * 1000 / hz))
echo "# idle window ${wall_ms} ms wall, ${cpu_ms} ms CPU"
if [ "$wall_ms" -ge 1900 ] && [ $((cpu_ms * 10)) -lt "$wall_ms" ]; then
    pass idle-cpu-under-10pct
else
    fail idle-cpu-under-10pct "${cpu_ms} ms CPU in ${wall_ms} ms"
fi
finish
