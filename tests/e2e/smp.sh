#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# SMP (issue 12), from outside: the stress appliance (apps/test_smp) at 1, 2
# and 4 CPUs under multi-threaded TCG — placement, cross-CPU wake-ups
# through mutex/condition ping-pong, contended counting, remote frees back
# to the heap's start, per-CPU timers, create/join across CPUs — each an
# exact count; a panic and a crash on the last CPU while the others print
# (the report must be the last output: the other CPUs were stopped); the
# sched, alloc, hello, fs and crash suites with several CPUs; and the web
# server through the launcher with --cpus 2.
SUITE=smp
source "$(dirname "$0")/lib.sh"
img=$(need_image test_smp)
checks=(placement pingpong mutex remote-free remote-count heap-pages sleep cond-timeout churn)

for n in 1 2 4; do
    out=$OUTDIR/smp-$n.log
    CPUS=$n boot_image "$img" "$out" "" 240
    expect_status "cpus$n/status" 0
    if [ "$n" -gt 1 ]; then
        expect_grep "cpus$n/online" "$out" "^smp: $n CPUs online$"
    fi
    expect_grep "cpus$n/count" "$out" "^smp: $n CPUs$"
    for c in "${checks[@]}"; do
        expect_grep "cpus$n/$c" "$out" "^$c: ok "
    done
    expect_grep "cpus$n/done" "$out" '^smp: done, 0 failures$'
    grep '^cost:' "$out" | sed "s/^/# cpus $n: /"
done

# A panic / a page fault on the last of 3 CPUs while the other two print
# "tick" lines: exit status 100, the report present, no tick after it.
for mode in panic crash; do
    out=$OUTDIR/smp-$mode.log
    CPUS=3 boot_image "$img" "$out" "mode=$mode" 120
    expect_status "$mode/status" 100
    if [ $mode = panic ]; then first='^panic: abort\(\) called$'; else first='^\*\*\* CRASH: page fault'; fi
    expect_grep "$mode/report" "$out" "$first"
    expect_grep "$mode/ticks-before" "$out" '^tick [0-9]+ cpu [01]$'
    after=$(awk -v re="$first" '$0 ~ re {f = 1} f && /tick/' "$out" | head -3)
    if grep -qE "$first" "$out" && [ -z "$after" ]; then
        pass "$mode/nothing-after-report"
    else
        fail "$mode/nothing-after-report" "output after the report: ${after:-no report}"
    fi
    expect_grep "$mode/backtrace" "$out" '^ +#0 0x'
done

# The units' own suites with several CPUs: Process and Memory at 2 and 4,
# the file system and the crash reports (every kind, with the stop of the
# other CPUs) at 2.
runs=("2 sched" "2 alloc" "2 hello" "2 fs" "2 crash" "4 sched" "4 alloc" "4 hello")
for r in "${runs[@]}"; do
    read -r n s <<<"$r"
    if CPUS=$n OUTDIR=$OUTDIR/cpus$n bash "$(dirname "$0")/$s.sh" >"$OUTDIR/smp-$s-$n.txt" 2>&1; then
        pass "cpus$n/$s-suite"
    else
        fail "cpus$n/$s-suite" "$(grep -m1 '^not ok' "$OUTDIR/smp-$s-$n.txt")"
    fi
done

# The web server with --cpus 2 through the launcher (it serves from CPU 0;
# the other CPU halts): a file byte for byte, and the guest saw both CPUs.
MIURA=$ROOT/build/bin/miura
web=$(need_image webserver)
work=$(mktemp -d /tmp/miura-smp.XXXXXX)
export MIURA_RUNTIME_DIR=$work/rt MIURA_VSOCKD=$ROOT/build/bin/miura-vsockd
cleanup() {
    "$MIURA" stop smpweb >/dev/null 2>&1
    for p in $(pgrep -f "$work/rt/" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/site"
head -c 300000 /dev/urandom >"$work/site/blob.bin"
for _ in $(seq "$PORT_TRIES"); do
    port=$(free_port) || break
    timeout -k 2 120 "$MIURA" run --detach --name smpweb --cpus 2 --share "$work/site" \
        --publish "127.0.0.1:$port:80" --append log=0 "$web" >"$work/start" 2>&1 && break
    grep -q 'Address already in use' "$work/start" || break
done
if grep -q "^serving http://127.0.0.1:$port" "$work/start"; then
    pass web/start
    curl -s --max-time 60 -o "$work/got" "http://127.0.0.1:$port/blob.bin"
    cmp -s "$work/got" "$work/site/blob.bin" && pass web/bytes || fail web/bytes "$(stat -c %s "$work/got" 2>/dev/null) bytes differ"
    expect_grep web/online "$work/rt/smpweb/console.log" '^smp: 2 CPUs online'
    timeout 60 "$MIURA" stop smpweb >/dev/null 2>&1 && pass web/stop || fail web/stop "miura stop failed"
else
    fail web/start "$(tail -3 "$work/start" | tr '\n' ' ')"
fi
finish
