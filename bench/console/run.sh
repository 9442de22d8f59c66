#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/console/run.sh: what the web server's access log (log=1, the
# default) costs. wrk -t1 -c32 keep-alive on the 1 KiB file for DURATION
# seconds, with log=0 and log=1, ROUNDS rounds, a detached `miura run`
# (console.log a file); with BEFORE=<a built checkout> its web server too,
# run beside this tree's in each round (the order alternating by round).
# Prints each run's req/s and, for log=1, the access-log lines console.log
# holds against the requests wrk counted (none may be lost); then medians,
# the log=1/log=0 ratio of each tree (median of per-round ratios) and, with
# BEFORE, after/before at log=1.
# Usage: bench/console/run.sh   (ROUNDS=3 DURATION=10 CPUS=1 BEFORE=)
set -eu
cd "$(dirname "$0")/../.."
source bench/lib.sh
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CPUS=${CPUS:-1}
BEFORE=${BEFORE:-}
ab_setup bench/console conb

# one TREE TAG LOG ROUND: prints the run's rate (and lines); the rate to $work/TAG-LOG
one() {
    local tree=$1 tag=$2 log=$3 round=$4 out rps reqs lines=
    "$tree/build/bin/miura" run --detach --name conb --cpus "$CPUS" --mem 128M \
        --share "$work/site" --publish "127.0.0.1:$port:80" --append "log=$log" \
        "$tree/build/apps/webserver/webserver" >/dev/null
    running=$tree
    curl -sf -o /dev/null "http://127.0.0.1:$port/1k.bin"
    out=$(timeout -k 2 $((DURATION + 60)) wrk -t1 -c32 -d"${DURATION}s" "http://127.0.0.1:$port/1k.bin" 2>&1) || true
    rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
    reqs=$(echo "$out" | awk '/requests in/ {print $1}')
    if [ "$log" = 1 ]; then # what wrk sent, and the warm-up's line
        for _ in $(seq 300); do
            lines=$(grep -c '^GET /1k.bin HTTP/1.1 200 1024' "$MIURA_RUNTIME_DIR/conb/console.log" || true)
            [ "$lines" -ge $((reqs + 1)) ] && break
            sleep 0.1
        done
        lines=", $((lines - 1)) lines logged of $reqs requests"
    fi
    "$tree/build/bin/miura" stop conb >/dev/null
    running=
    echo "round $round $tag log=$log: ${rps:-none} req/s$lines"
    echo "${rps:-0}" >>"$work/$tag-$log"
}

ab_rounds "$ROUNDS" 0 1

ratio() { paste "$work/$1" "$work/$2" | awk '$2 > 0 {print $1 / $2}' | median; }
echo "medians of $ROUNDS rounds, wrk -t1 -c32 -d${DURATION}s, 1 KiB keep-alive, --cpus $CPUS ($(git rev-parse --short HEAD))"
for tag in after ${BEFORE:+before}; do
    printf '  %s: log=0 %s req/s, log=1 %s req/s, log=1/log=0 %.2f\n' "$tag" \
        "$(median <"$work/$tag-0")" "$(median <"$work/$tag-1")" "$(ratio "$tag-1" "$tag-0")"
done
[ -z "$BEFORE" ] || printf '  after/before: log=0 %.2f, log=1 %.2f\n' "$(ratio after-0 before-0)" "$(ratio after-1 before-1)"
