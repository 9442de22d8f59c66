#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/overload: bursts far past what used to be refused (issue 10), side by
# side with nginx (1 worker) serving the same directory on the host.
#   ab -n 3000 -c 600 and wrk -t2 -c600 -d5s (wrk's own defaults, 2 s
#   timeout included) against the web server under `miura run` with default
#   options, and against nginx: completed and failed requests, socket errors,
#   requests/s;
#   1,000 hybrid vsock clients at once (CONNECT 5000, 16 KiB echoed each)
#   against test_echo under `miura run` (default options): verified, seconds;
#   miura-vsockd's counters after each (miura stats).
# Usage: bench/overload/run.sh
set -eu
cd "$(dirname "$0")/../.."
bash tools/deps.sh bench
make --no-print-directory -s all
MIURA=build/bin/miura
work=$(mktemp -d /tmp/miura-bench-overload.XXXXXX)
export MIURA_RUNTIME_DIR=$work/rt MIURA_VSOCKD=$PWD/build/bin/miura-vsockd
nginx_pid=
cleanup() {
    "$MIURA" stop ov-web >/dev/null 2>&1 || true
    "$MIURA" stop ov-echo >/dev/null 2>&1 || true
    [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
ulimit -n 8192 2>/dev/null || true
site=$work/site
mkdir -p "$site"
cp examples/www/index.html "$site/index.html"
chmod -R a+rX "$work"
source bench/lib.sh
base=$(free_port 2)
P_MIURA=$base P_NGINX=$((base + 1))
start_nginx "$work/nginx" "$P_NGINX" "$site" ""
"$MIURA" run --detach --name ov-web --share "$site" --publish "127.0.0.1:$P_MIURA:80" \
    build/apps/webserver/webserver.elf >/dev/null

ab_line() { # port → "complete failed req/s"
    ab -n 3000 -c 600 "http://127.0.0.1:$1/" 2>&1 | awk '
        /^Complete requests/ {c = $3} /^Failed requests/ {f = $3} /^Requests per second/ {r = $4}
        /apr_/ {e = 1} END {if (e) print "aborted - -"; else printf "%s %s %s\n", c, f, r}'
}
wrk_line() { # port → "requests socket_errors req/s"
    wrk -t2 -c600 -d5s "http://127.0.0.1:$1/" 2>&1 | awk '
        /requests in/ {n = $1}
        /Socket errors/ {gsub(",", ""); e = $4 + $6 + $8 + $10}
        /Requests\/sec/ {r = $2} END {printf "%s %d %s\n", n, e, r}'
}
declare -A ab wrk
for s in Miura:$P_MIURA nginx:$P_NGINX; do
    ab[${s%%:*}]=$(ab_line "${s#*:}")
    wrk[${s%%:*}]=$(wrk_line "${s#*:}")
done
web_stats=$("$MIURA" stats ov-web | tr '\n' ' ')
"$MIURA" stop ov-web >/dev/null

"$MIURA" run --detach --name ov-echo build/apps/test_echo/test_echo.elf >/dev/null
for _ in $(seq 1200); do grep -q '^echo: listening' "$MIURA_RUNTIME_DIR/ov-echo/console.log" && break; sleep 0.05; done
t0=$(date +%s%N)
burst=$(build/bin/vsock_client --uds "$MIURA_RUNTIME_DIR/ov-echo/vsock.sock" --port 5000 \
    --conns 1000 --bytes 16384 --burst --timeout 300 2>&1 || true)
burst_s=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN {printf "%.2f", (b - a) / 1e9}')
echo_stats=$("$MIURA" stats ov-echo | tr '\n' ' ')
"$MIURA" stop ov-echo >/dev/null

printf '%-6s | %-36s | %-38s\n' server "ab -n 3000 -c 600: complete failed req/s" \
    "wrk -t2 -c600 -d5s: requests errors req/s"
for s in Miura nginx; do printf '%-6s | %-36s | %-38s\n' "$s" "${ab[$s]}" "${wrk[$s]}"; done
echo "miura stats (web): $web_stats"
echo "1,000 hybrid CONNECT 5000 clients at once, 16 KiB echoed each: $burst in ${burst_s} s"
echo "miura stats (echo): $echo_stats"
