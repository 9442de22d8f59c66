#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/smp/churn.sh: the web server with a new connection per request (each
# one a thread created and ended in the guest) at several CPU counts.
# `ab -n N -c 32` on the 1 KiB file, ROUNDS rounds; each round runs every
# CPU count, and with BEFORE=<a built checkout> its web server right after
# this tree's at the same count (which one goes first alternates by round:
# the second of two back-to-back runs on this host is a few per cent slower).
# Prints each run's req/s and failed requests, then medians and, with
# BEFORE, the median of the per-round after/before ratios.
# Usage: bench/smp/churn.sh   (CPUS="1 2 4" N=5000 ROUNDS=3 BEFORE=)
set -eu
cd "$(dirname "$0")/../.."
source bench/lib.sh
CPUS=${CPUS:-1 2 4}
N=${N:-5000}
ROUNDS=${ROUNDS:-3}
BEFORE=${BEFORE:-}
ab_setup bench/smp/churn churnb

# one TREE TAG CPUS ROUND: prints "round R cpus C TAG req/s failed"; the rate to $work/TAG-C
one() {
    local tree=$1 tag=$2 cpus=$3 round=$4 out rps failed
    "$tree/build/bin/miura" run --detach --name churnb --cpus "$cpus" --mem 128M \
        --share "$work/site" --publish "127.0.0.1:$port:80" --append log=0 \
        "$tree/build/apps/webserver/webserver" >/dev/null
    running=$tree
    curl -sf -o /dev/null "http://127.0.0.1:$port/1k.bin"
    out=$(timeout -k 2 300 ab -n "$N" -c 32 -s 30 "http://127.0.0.1:$port/1k.bin" 2>&1) || true
    "$tree/build/bin/miura" stop churnb >/dev/null
    running=
    rps=$(echo "$out" | awk '/^Requests per second/ {print $4}')
    failed=$(echo "$out" | awk '/^Failed requests/ {print $3}')
    echo "round $round cpus $cpus $tag: ${rps:-none} req/s, ${failed:-?} failed"
    echo "${rps:-0}" >>"$work/$tag-$cpus"
}

ab_rounds "$ROUNDS" $CPUS

echo "medians of $ROUNDS rounds, ab -n $N -c 32, a new connection per request ($(git rev-parse --short HEAD))"
for c in $CPUS; do
    a=$(median <"$work/after-$c")
    if [ -n "$BEFORE" ]; then
        b=$(median <"$work/before-$c")
        ratio=$(paste "$work/after-$c" "$work/before-$c" | awk '$2 > 0 {print $1 / $2}' | median)
        printf '  cpus %s: %s req/s, before %s req/s, after/before %.2f\n' "$c" "$a" "$b" "$ratio"
    else
        printf '  cpus %s: %s req/s\n' "$c" "$a"
    fi
done
