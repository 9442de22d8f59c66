#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/preopen: what pre-opened connections (miura run --preopen N,
# docs/vsockd.md) do to `ab -c1` latency: `ab -n REQUESTS -c 1` (1 KiB, a new
# connection per request) against the web server with the pool off and on,
# and nginx (1 worker, if installed) serving the same directory, in
# interleaved rounds (off, on, nginx; off, on, nginx; ...), medians of the
# rounds' means. Both web servers run at once, on microvm (an idle Miura guest
# halts: the one not measured costs next to nothing). With
# MIURA_VSOCKD_TRACE=1 it also prints where a connection's life goes, step by
# step, in each (the handshake steps of a paired client are 0).
# Usage: bench/preopen/run.sh   (ROUNDS=9 PREOPEN=8 REQUESTS=1000 by default)
set -eu
cd "$(dirname "$0")/../.."
source bench/lib.sh
ROUNDS=${ROUNDS:-9}
PREOPEN=${PREOPEN:-8}
REQUESTS=${REQUESTS:-1000}
command -v ab >/dev/null || { echo "bench/preopen: ab missing (apt-get install apache2-utils)" >&2; exit 1; }
make --no-print-directory -s host apps
MIURA=build/bin/miura
work=$(mktemp -d /tmp/miura-bench-preopen.XXXXXX)
export MIURA_RUNTIME_DIR=$work/rt MIURA_VSOCKD=$PWD/build/bin/miura-vsockd MIURA_VSOCKD_TRACE=1
nginx_pid=
cleanup() {
    "$MIURA" stop pool-off >/dev/null 2>&1 || true
    "$MIURA" stop pool-on >/dev/null 2>&1 || true
    [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
site=$work/site
bench_site "$site"
chmod -R a+rX "$work"
base=$(free_port 3)
P_OFF=$base P_ON=$((base + 1)) P_NGINX=$((base + 2))

"$MIURA" run --detach --name pool-off --share "$site" --publish "127.0.0.1:$P_OFF:80" \
    --append log=0 build/apps/webserver/webserver.elf >/dev/null
"$MIURA" run --detach --name pool-on --share "$site" --publish "127.0.0.1:$P_ON:80" \
    --preopen "$PREOPEN" --append log=0 build/apps/webserver/webserver.elf >/dev/null
servers=(off on)
if command -v nginx >/dev/null; then
    start_nginx "$work/nginx" "$P_NGINX" "$site" 1k.bin
    servers+=(nginx)
fi
port_of() { case $1 in off) echo "$P_OFF" ;; on) echo "$P_ON" ;; nginx) echo "$P_NGINX" ;; esac }
stat_of() { "$MIURA" stats "$1" | sed -n "s/^$2 //p"; }
# The pool is full before the first round (and between rounds: ab -c1 takes
# one at a time, and the refill runs while ab waits for its response).
for _ in $(seq 300); do [ "$(stat_of pool-on preopen_ready)" = "$PREOPEN" ] && break; sleep 0.1; done
for s in off on; do # warm the file caches
    ab -q -n 50 -c 1 "http://127.0.0.1:$(port_of $s)/1k.bin" >/dev/null 2>&1
done
paired0=$(stat_of pool-on preopen_paired) misses0=$(stat_of pool-on preopen_misses)
declare -A means k0 k1
kicks() { # NAME: tx kicks, rx kicks, rx interrupts, tx interrupts so far
    local t
    t=$("$MIURA" stats "$1")
    for k in tx_kicks rx_kicks rx_calls tx_calls; do sed -n "s/^$k //p" <<<"$t"; done | tr '\n' ' '
}
k0[off]=$(kicks pool-off) k0[on]=$(kicks pool-on)
load0=$(cut -d' ' -f1 /proc/loadavg)
for ((r = 1; r <= ROUNDS; r++)); do
    for s in "${servers[@]}"; do
        m=$(ab -q -n "$REQUESTS" -c 1 "http://127.0.0.1:$(port_of "$s")/1k.bin" 2>/dev/null |
            awk '/^Time per request:.*\(mean\)$/ {print $4}')
        means[$s]="${means[$s]:-} $m"
    done
done
load1=$(cut -d' ' -f1 /proc/loadavg)
k1[off]=$(kicks pool-off) k1[on]=$(kicks pool-on)
paired=$(($(stat_of pool-on preopen_paired) - paired0))
misses=$(($(stat_of pool-on preopen_misses) - misses0))

echo "bench/preopen: ab -n $REQUESTS -c 1 (1 KiB, a new connection per request), $ROUNDS interleaved rounds, --preopen $PREOPEN, accelerator $(tools/qemu-accel.sh) ($(date -u +%F), load average $load0 -> $load1)"
for s in "${servers[@]}"; do
    med=$(tr ' ' '\n' <<<"${means[$s]}" | grep . | median)
    printf '  %-6s mean latency per round:%s ms; median %s ms\n' "$s" "${means[$s]}" "$med"
    declare "med_$s=$med"
done
ratios=$(paste <(tr ' ' '\n' <<<"${means[off]}" | grep .) <(tr ' ' '\n' <<<"${means[on]}" | grep .) |
    awk '{printf "%.2f\n", $2 / $1}')
echo "  on / off: $(awk -v a="$med_off" -v b="$med_on" 'BEGIN {printf "%.2f", b / a}') (medians); per round:" \
    $ratios "(median $(median <<<"$ratios"))"
if [ -n "${med_nginx:-}" ]; then
    awk -v a="$med_off" -v b="$med_on" -v n="$med_nginx" \
        'BEGIN {printf "  off / nginx: %.1fx, on / nginx: %.1fx (issue 11 target: <= 2x)\n", a / n, b / n}'
fi
echo "  pool: $paired clients paired, $misses misses during the rounds"
for s in off on; do
    awk -v a="${k0[$s]}" -v b="${k1[$s]}" -v n=$((ROUNDS * REQUESTS)) -v s="$s" 'BEGIN {
        split(a, x, " "); split(b, y, " ")
        printf "  pool %-3s per connection: %.2f tx kicks, %.2f rx kicks, %.2f rx interrupts, %.2f tx interrupts\n",
            s, (y[1] - x[1]) / n, (y[2] - x[2]) / n, (y[3] - x[3]) / n, (y[4] - x[4]) / n }'
done
for s in off on; do
    t=$("$MIURA" stats "pool-$s")
    n=$(sed -n 's/^trace_conns //p' <<<"$t")
    [ "${n:-0}" -gt 0 ] || continue
    printf '  pool %-3s mean µs from the step before: ' "$s"
    for k in request response to_guest from_guest guest_shut closed; do
        v=$(sed -n "s/^trace_${k}_us //p" <<<"$t")
        awk -v v="$v" -v n="$n" -v k="$k" 'BEGIN {printf "%s %.1f  ", k, v / n}'
    done
    echo
done
