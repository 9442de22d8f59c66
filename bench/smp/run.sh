#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/smp/run.sh: issue 12's figures, side by side in one run.
#  1. The web server at --cpus 1, 2 and 4, interleaved round by round (the
#     order rotates): wrk -t1 -c32 on the 1 KiB and 1 MiB files (keep-alive)
#     with the guest's CPU time per request, read from QEMU's vCPU threads
#     ("CPU n/TCG" or "CPU n/KVM": the guest's instructions, not the device
#     emulation), and the host CPU an idle guest costs over IDLE seconds.
#  2. apps/test_smp at 1, 2 and 4 CPUs: a hand-over between threads of two
#     CPUs (mutex + condition variable ping-pong: one cross-CPU wake-up
#     each) and the cost of a free on the CPU that allocated vs another one.
# Prints each round, then medians and per-round ratios against --cpus 1.
# BEFORE=<a built checkout>: its web server too, at the same CPU counts in
# the same rounds (the order of all runs rotates), with after/before ratios.
# Usage: bench/smp/run.sh   (ROUNDS=5 DURATION=5 IDLE=3 BEFORE=)
set -eu
cd "$(dirname "$0")/../.."
source bench/lib.sh
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
IDLE=${IDLE:-3}
bash tools/deps.sh bench
make --no-print-directory -s all
MIURA=build/bin/miura
BEFORE=${BEFORE:-}
if [ -n "$BEFORE" ] && [ ! -x "$BEFORE/build/bin/miura" ]; then
    echo "bench/smp: BEFORE=$BEFORE has no build/bin/miura (build it first)" >&2
    exit 1
fi
QEMU=${QEMU:-qemu-system-x86_64}
work=$(mktemp -d /tmp/miura-bench-smp.XXXXXX)
export MIURA_RUNTIME_DIR=$work/rt
cleanup() {
    "$MIURA" stop smpb >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
site=$work/site
bench_site "$site"
chmod -R a+rX "$work"
port=$(free_port 1)
hz=$(getconf CLK_TCK)
accel=$(tools/qemu-accel.sh)

vcpu_ticks() { # QEMU PID: utime + stime of its vCPU threads
    local t
    for t in /proc/"$1"/task/*; do
        grep -qE '^CPU [0-9]+/(TCG|KVM)$' "$t/comm" 2>/dev/null && awk '{print $14 + $15}' "$t/stat"
    done | awk '{s += $1} END {print s + 0}'
}
all_ticks() { # PID...
    local p
    for p in "$@"; do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null; done | awk '{s += $1} END {print s + 0}'
}
wrk_n() { # URL: requests done
    wrk -t1 -c32 -d"${DURATION}s" "$1" 2>/dev/null | awk '/requests in/ {print $1}'
}

declare -A val
rows=("1k req/s" "1k guest us/req" "1m MiB/s" "1m guest us/req" "idle host CPU %")
measure() { # cpus round [before]: the web server of this tree or of BEFORE
    local n=$1 r=$2 qemu a b req t0 t1 miura=$MIURA image=build/apps/webserver/webserver.elf
    if [ -n "${3:-}" ]; then
        miura=$BEFORE/build/bin/miura image=$BEFORE/build/apps/webserver/webserver.elf n=b$1
    fi
    "$miura" run --detach --name smpb --cpus "$1" --mem 128M --share "$site" \
        --publish "127.0.0.1:$port:80" --append log=0 "$image" >/dev/null
    qemu=$(pgrep -n -f "qemu-system-x86_64 .*-name smpb")
    # idle first: every CPU should halt
    t0=$(all_ticks $(pgrep -f "$MIURA_RUNTIME_DIR/" | tr '\n' ' ') "$qemu")
    sleep "$IDLE"
    t1=$(all_ticks $(pgrep -f "$MIURA_RUNTIME_DIR/" | tr '\n' ' ') "$qemu")
    val[$n|idle host CPU %|$r]=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s="$IDLE" 'BEGIN {printf "%.2f", (b - a) * 100 / hz / s}')
    a=$(vcpu_ticks "$qemu")
    req=$(wrk_n "http://127.0.0.1:$port/1k.bin")
    b=$(vcpu_ticks "$qemu")
    val[$n|1k req/s|$r]=$(awk -v q="$req" -v d="$DURATION" 'BEGIN {printf "%.0f", q / d}')
    val[$n|1k guest us/req|$r]=$(awk -v a="$a" -v b="$b" -v q="$req" -v hz="$hz" 'BEGIN {if (q > 0) printf "%.1f", (b - a) * 1e6 / hz / q}')
    a=$(vcpu_ticks "$qemu")
    req=$(wrk_n "http://127.0.0.1:$port/1m.bin")
    b=$(vcpu_ticks "$qemu")
    val[$n|1m MiB/s|$r]=$(awk -v q="$req" -v d="$DURATION" 'BEGIN {printf "%.0f", q / d}')
    val[$n|1m guest us/req|$r]=$(awk -v a="$a" -v b="$b" -v q="$req" -v hz="$hz" 'BEGIN {if (q > 0) printf "%.0f", (b - a) * 1e6 / hz / q}')
    "$miura" stop smpb >/dev/null
    echo "round $r cpus $n: $(for row in "${rows[@]}"; do printf '%s=%s ' "${row// /_}" "${val[$n|$row|$r]:--}"; done)load $(cut -d' ' -f1 /proc/loadavg)"
}

guest_costs() { # cpus round: apps/test_smp's cost lines
    local n=$1 r=$2 out=$work/smp-$n-$r.log acc=$accel
    [ "$acc" = tcg ] && [ "$n" -gt 1 ] && acc=tcg,thread=multi
    timeout -k 2 300 "$QEMU" -M microvm,acpi=off -accel "$acc" -cpu max -m 128M -smp "$n" \
        -nodefaults -no-user-config -display none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4 \
        -kernel build/apps/test_smp/test_smp -serial "file:$out" </dev/null >/dev/null 2>&1 || true
    val[$n|handover ns|$r]=$(sed -n 's/^cost: handover \([0-9]*\) ns.*/\1/p' "$out")
    val[$n|free local ns|$r]=$(sed -n 's/^cost: free local \([0-9]*\) ns.*/\1/p' "$out")
    val[$n|free remote ns|$r]=$(sed -n 's/^cost: free local [0-9]* ns, remote \([0-9]*\) ns.*/\1/p' "$out")
    grep -q '^smp: done, 0 failures' "$out" || echo "round $r cpus $n: test_smp did not pass (see $out)"
}

cpus=(1 2 4)
echo "bench/smp/run.sh: $(git log -1 --format=%h), $ROUNDS rounds, wrk -t1 -c32 -d${DURATION}s, idle ${IDLE}s, accelerator $accel ($(date -u +%F)), load at start $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
    if [ -n "$BEFORE" ]; then
        for i in 0 1 2 3 4 5; do
            k=$(((r + i) % 6))
            measure "${cpus[$((k % 3))]}" "$r" $([ "$k" -ge 3 ] && echo before)
        done
    else
        for i in 0 1 2; do measure "${cpus[$(((r + i) % 3))]}" "$r"; done
    fi
    for n in "${cpus[@]}"; do guest_costs "$n" "$r"; done
done

col() { local r; for r in $(seq "$ROUNDS"); do echo "${val[$1|$2|$r]:--}"; done | grep -v '^-$' || true; }
ratio() { # cpus row [base]: median of per-round value(cpus) / value(base, default 1)
    local r
    for r in $(seq "$ROUNDS"); do
        awk -v a="${val[$1|$2|$r]:-}" -v b="${val[${3:-1}|$2|$r]:-}" 'BEGIN {if (a != "" && b > 0) printf "%.3f\n", a / b}'
    done | median
}
echo "medians of $ROUNDS rounds (ratios: median of the per-round ratios to --cpus 1), load at end $(cut -d' ' -f1-3 /proc/loadavg)"
printf '  %-18s %10s %10s %10s %10s %10s\n' row cpus1 cpus2 cpus4 2/1 4/1
for row in "${rows[@]}"; do
    printf '  %-18s %10s %10s %10s %10s %10s\n' "$row" "$(col 1 "$row" | median)" "$(col 2 "$row" | median)" \
        "$(col 4 "$row" | median)" "$(ratio 2 "$row")" "$(ratio 4 "$row")"
done
for row in "handover ns" "free local ns" "free remote ns"; do
    printf '  %-18s %10s %10s %10s\n' "$row" "$(col 1 "$row" | median)" "$(col 2 "$row" | median)" "$(col 4 "$row" | median)"
done
if [ -n "$BEFORE" ]; then
    echo "BEFORE=$BEFORE ($(git -C "$BEFORE" log -1 --format=%h)): medians, its own ratios to its --cpus 1, and after/before at each count"
    printf '  %-18s %10s %10s %10s %10s %10s %10s %10s %10s\n' row cpus1 cpus2 cpus4 2/1 4/1 a/b1 a/b2 a/b4
    for row in "${rows[@]}"; do
        printf '  %-18s %10s %10s %10s %10s %10s %10s %10s %10s\n' "$row" "$(col b1 "$row" | median)" \
            "$(col b2 "$row" | median)" "$(col b4 "$row" | median)" "$(ratio b2 "$row" b1)" \
            "$(ratio b4 "$row" b1)" "$(ratio 1 "$row" b1)" "$(ratio 2 "$row" b2)" "$(ratio 4 "$row" b4)"
    done
fi
