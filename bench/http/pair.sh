#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/http/pair.sh: this tree's microvm web server against BEFORE's (another
# built checkout: its build/ image and miura-vsockd) and nginx (1 worker),
# interleaved: every round measures all three, in an order that rotates from
# round to round, so that a machine whose load drifts during the run (a
# shared one) hits each alike. run.sh measures each server once, one after
# the other; on a noisy machine its before/after columns can differ by 2x
# either way. Per round and server: wrk -t1 -c32 on the 1 KiB and 1 MiB files,
# keep-alive and `Connection: close`, then ab -n N -c1 (1 KiB, a new
# connection each) with the host CPU time that connection cost (QEMU,
# miura-vsockd and the launcher; nginx's own) and, for Miura, miura-vsockd's
# kicks and interrupts per connection. Prints each round, then medians and
# the medians of the per-round ratios.
# Usage: BEFORE=DIR bench/http/pair.sh   (ROUNDS=5 DURATION=5 N=1000)
set -eu
cd "$(dirname "$0")/../.."
source bench/lib.sh
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
N=${N:-1000}
[ -n "${BEFORE:-}" ] || { echo "usage: BEFORE=<a built checkout> bench/http/pair.sh" >&2; exit 2; }
BEFORE=$(cd "$BEFORE" && pwd)
for f in build/bin/miura-vsockd build/apps/webserver/webserver.elf; do
    [ -e "$BEFORE/$f" ] || { echo "bench/http/pair.sh: BEFORE=$BEFORE has no $f (run make there)" >&2; exit 1; }
done
bash tools/deps.sh bench
make --no-print-directory -s all
MIURA=build/bin/miura
work=$(mktemp -d /tmp/miura-bench-pair.XXXXXX)
export MIURA_RUNTIME_DIR=$work/rt
nginx_pid=
cleanup() {
    "$MIURA" stop pair >/dev/null 2>&1 || true
    [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
site=$work/site
bench_site "$site"
chmod -R a+rX "$work"
base=$(free_port 2)
P_MIURA=$base P_NGINX=$((base + 1))
start_nginx "$work/nginx" "$P_NGINX" "$site" 1k.bin

cpu_ticks() { # PID...: their utime + stime, summed
    local p
    for p in "$@"; do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null; done | awk '{s += $1} END {print s + 0}'
}
counters() { "$MIURA" stats pair 2>/dev/null | tr '\n' ' '; }
per_conn() { # before after key: (after - before) / N
    awk -v a="$1" -v b="$2" -v k="$3" -v n="$N" 'BEGIN {
        split(a, x, " "); split(b, y, " ")
        for (i = 1; i < length(x); i += 2) A[x[i]] = x[i + 1]
        for (i = 1; i < length(y); i += 2) B[y[i]] = y[i + 1]
        if (k in B) printf "%.2f", (B[k] - A[k]) / n; else printf "-" }'
}
wrk_rps() { # URL [header]
    wrk -t1 -c32 -d"${DURATION}s" ${2:+-H "$2"} "$1" 2>/dev/null | awk '/Requests\/sec/ {print $2}'
}

rows=("1k keep-alive" "1k close" "1m keep-alive" "1m close" "ab-c1 ms" "host CPU ms/conn" \
    "tx kicks/conn" "rx interrupts/conn" "tx interrupts/conn")
declare -A val # [server|row|round]
measure() { # server round
    local s=$1 r=$2 port pids a b t0 t1
    if [ "$s" = nginx ]; then
        port=$P_NGINX
        pids=$(pgrep -P "$nginx_pid" | tr '\n' ' ')
        pids="$nginx_pid $pids"
    else
        local tree=$PWD
        [ "$s" = before ] && tree=$BEFORE
        port=$P_MIURA
        MIURA_VSOCKD=$tree/build/bin/miura-vsockd "$MIURA" run --detach --name pair --mem 128M \
            --share "$site" --publish "127.0.0.1:$port:80" --append log=0 \
            "$tree/build/apps/webserver/webserver.elf" >/dev/null 2>&1
        pids=$(pgrep -f "$MIURA_RUNTIME_DIR/" | tr '\n' ' ')
    fi
    val[$s|1k keep-alive|$r]=$(wrk_rps "http://127.0.0.1:$port/1k.bin")
    val[$s|1k close|$r]=$(wrk_rps "http://127.0.0.1:$port/1k.bin" "Connection: close")
    val[$s|1m keep-alive|$r]=$(wrk_rps "http://127.0.0.1:$port/1m.bin")
    val[$s|1m close|$r]=$(wrk_rps "http://127.0.0.1:$port/1m.bin" "Connection: close")
    a=$(counters)
    t0=$(cpu_ticks $pids)
    val[$s|ab-c1 ms|$r]=$(ab -q -n "$N" -c 1 "http://127.0.0.1:$port/1k.bin" 2>/dev/null |
        awk '/Time per request:.*\(mean\)$/ {print $4; exit}')
    t1=$(cpu_ticks $pids)
    b=$(counters)
    val[$s|host CPU ms/conn|$r]=$(awk -v a="$t0" -v b="$t1" -v n="$N" -v hz="$(getconf CLK_TCK)" \
        'BEGIN {printf "%.3f", (b - a) * 1000 / hz / n}')
    val[$s|tx kicks/conn|$r]=$(per_conn "$a" "$b" tx_kicks)
    val[$s|rx interrupts/conn|$r]=$(per_conn "$a" "$b" rx_calls)
    val[$s|tx interrupts/conn|$r]=$(per_conn "$a" "$b" tx_calls)
    [ "$s" = nginx ] || "$MIURA" stop pair >/dev/null
    echo "round $r $s: $(for row in "${rows[@]}"; do printf '%s=%s ' "${row// /_}" "${val[$s|$row|$r]:--}"; done)load $(cut -d' ' -f1 /proc/loadavg)"
}

servers=(before after nginx)
echo "bench/http/pair.sh: BEFORE=$BEFORE, after=$PWD ($(git log -1 --format=%h)), $ROUNDS rounds, wrk -t1 -c32 -d${DURATION}s, ab -n $N -c1, accelerator $(tools/qemu-accel.sh) ($(date -u +%F)), load at start $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
    for i in 0 1 2; do measure "${servers[$(((r + i) % 3))]}" "$r"; done
done

col() { # server row: the values of every round, one per line
    local r
    for r in $(seq "$ROUNDS"); do echo "${val[$1|$2|$r]:--}"; done | grep -v '^-$' || true
}
ratio() { # server1 row server2: median over rounds of server1 / server2
    local r
    for r in $(seq "$ROUNDS"); do
        awk -v a="${val[$1|$2|$r]:-}" -v b="${val[$3|$2|$r]:-}" 'BEGIN {if (a != "" && b > 0) printf "%.3f\n", a / b}'
    done | median
}
echo "medians of $ROUNDS rounds (req/s unless named; ratios: median of the per-round ratios), load at end $(cut -d' ' -f1-3 /proc/loadavg)"
printf '  %-20s %10s %10s %10s %14s %14s\n' row before after nginx after/before after/nginx
for row in "${rows[@]}"; do
    printf '  %-20s %10s %10s %10s %14s %14s\n' "$row" "$(col before "$row" | median)" \
        "$(col after "$row" | median)" "$(col nginx "$row" | median)" \
        "$(ratio after "$row" before)" "$(ratio after "$row" nginx)"
done
