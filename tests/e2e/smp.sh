#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# SMP (issue 12), from outside: the stress appliance (apps/test_smp) at 1, 2
# and 4 CPUs under multi-threaded TCG — placement, cross-CPU wake-ups
# through mutex/condition ping-pong, contended counting, remote frees back
# to the heap's start, per-CPU timers, create/join across CPUs — each an
# exact count; a panic and a crash on the last CPU while the others print
# (the report must be the last output: the other CPUs were stopped); and
# the Process and Memory suites' own appliances at 2 and 4 CPUs.
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

# The Process and Memory units' own suites with several CPUs.
for n in 2 4; do
    for s in sched alloc hello; do
        if CPUS=$n OUTDIR=$OUTDIR/cpus$n bash "$(dirname "$0")/$s.sh" >"$OUTDIR/smp-$s-$n.txt" 2>&1; then
            pass "cpus$n/$s-suite"
        else
            fail "cpus$n/$s-suite" "$(grep -m1 '^not ok' "$OUTDIR/smp-$s-$n.txt")"
        fi
    done
done
finish
