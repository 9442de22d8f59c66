#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/http: the web server appliance (started with `miura run`) under wrk,
# side by side in one run with nginx (1 worker) serving the same directory on
# the host, and with the Linux microVM peer when bench/linux-peer is built.
# Reports requests/s, MiB/s and p99 latency for a 1 KiB and a 1 MiB file,
# keep-alive and not; ab -c1 mean latency; time from `miura run` to the first
# response; the image size; the smallest --mem that serves 100 connections.
# Usage: bench/http/run.sh   (DURATION=5 RUNS=3 by default)
set -eu
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-5}
RUNS=${RUNS:-3}
bash tools/deps.sh bench
make --no-print-directory -s all
MIURA=build/bin/miura
work=$(mktemp -d /tmp/miura-bench-http.XXXXXX)
export MIURA_RUNTIME_DIR=$work/rt MIURA_VSOCKD=$PWD/build/bin/miura-vsockd
nginx_pid=
cleanup() {
    "$MIURA" stop bench >/dev/null 2>&1 || true
    [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null
    [ -n "${peer_pid:-}" ] && kill "$peer_pid" 2>/dev/null
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
site=$work/site
mkdir -p "$site" "$work/nginx"
head -c 1024 /dev/urandom >"$site/1k.bin"
head -c $((1024 * 1024)) /dev/urandom >"$site/1m.bin"
chmod -R a+rX "$work"
base=$((31000 + RANDOM % 10000))
P_MIURA=$base P_NGINX=$((base + 1)) P_LINUX=$((base + 2))

source bench/lib.sh

# ---- servers
"$MIURA" run --detach --name bench --mem 128M --share "$site" --publish "127.0.0.1:$P_MIURA:80" \
    --append log=0 build/apps/webserver/webserver.elf >/dev/null
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
error_log $work/nginx/error.log;
pid $work/nginx/nginx.pid;
user root;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
    uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
    server { listen 127.0.0.1:$P_NGINX; root $site; }
}
CONF
nginx -c "$work/nginx/nginx.conf" &
nginx_pid=$!
servers=("Miura:$P_MIURA" "nginx:$P_NGINX")
if [ -x bench/linux-peer/run.sh ] && [ "${LINUX_PEER:-1}" = 1 ]; then
    bash bench/linux-peer/run.sh http "$site" "$P_LINUX" >"$work/peer.log" 2>&1 &
    peer_pid=$!
    for _ in $(seq 600); do grep -q 'peer: ready' "$work/peer.log" 2>/dev/null && break; sleep 0.1; done
    grep -q 'peer: ready' "$work/peer.log" && servers+=("Linux-microVM:$P_LINUX")
fi
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$P_NGINX/1k.bin" && break; sleep 0.1; done

wrk_one() { # port, path, extra args → "req/s MiB/s p99_ms"
    wrk -t1 -c32 -d"${DURATION}s" --latency "$@" 2>/dev/null | awk '
        /Requests\/sec/ {r = $2}
        /Transfer\/sec/ {v = $2; if (v ~ /GB/) m = v * 1024; else if (v ~ /MB/) m = v + 0; else if (v ~ /KB/) m = v / 1024; else m = v / 1048576}
        / 99%/ {l = $2; if (l ~ /ms/) p = l + 0; else if (l ~ /us/) p = l / 1000; else p = l * 1000}
        END {printf "%s %.2f %.2f\n", r, m, p}'
}

echo "bench/http: wrk -t1 -c32 -d${DURATION}s, median of $RUNS, accelerator $(tools/qemu-accel.sh) ($(date -u +%F))"
printf '  %-16s %-22s %12s %10s %10s\n' server test req/s MiB/s p99-ms
for file in 1k.bin 1m.bin; do
    for mode in keep-alive close; do
        for s in "${servers[@]}"; do
            name=${s%%:*} port=${s##*:}
            extra=()
            [ "$mode" = close ] && extra=(-H "Connection: close")
            : >"$work/r"
            for _ in $(seq "$RUNS"); do wrk_one "${extra[@]}" "http://127.0.0.1:$port/$file" >>"$work/r"; done
            printf '  %-16s %-22s %12s %10s %10s\n' "$name" "$file $mode" \
                "$(cut -d' ' -f1 "$work/r" | median)" "$(cut -d' ' -f2 "$work/r" | median)" \
                "$(cut -d' ' -f3 "$work/r" | median)"
        done
    done
done
echo "  ab -n 500 -c 1 (1 KiB), mean latency:"
for s in "${servers[@]}"; do
    name=${s%%:*} port=${s##*:}
    ms=$(ab -q -n 500 -c 1 "http://127.0.0.1:$port/1k.bin" 2>/dev/null | awk '/Time per request:.*\(mean\)$/ {print $4; exit}')
    printf '  %-16s %10s ms\n' "$name" "$ms"
done
"$MIURA" stop bench >/dev/null

# ---- start-up: from `miura run` until it prints "serving" (it does once the
# published port has answered a real HTTP request)
: >"$work/start"
for _ in 1 2 3 4 5; do
    a=$(date +%s%N)
    "$MIURA" run --name bench --share "$site" --publish "127.0.0.1:$P_MIURA:80" --append log=0 \
        build/apps/webserver/webserver.elf 2>/dev/null | while IFS= read -r line; do
        if [[ $line == serving* ]]; then
            echo $((($(date +%s%N) - a) / 1000000)) >>"$work/start"
            "$MIURA" stop bench >/dev/null
        fi
    done
done
echo "  miura run -> first response served: $(median <"$work/start") ms (median of 5)"
echo "  webserver image, stripped: $(stat -c %s build/apps/webserver/webserver) B"

# ---- the smallest --mem that serves 100 concurrent connections without a
# failure: every request answered, all 100 connections open at once (the
# appliance's stats line gives the peak; under memory pressure it queues new
# connections instead of dropping them, which would also pass "no failure")
smallest=- smallest_line=
for mem in 3 4 5 6 8 12 16; do
    "$MIURA" run --detach --name bench --mem "${mem}M" --share "$site" \
        --publish "127.0.0.1:$P_MIURA:80" --append "log=0 stats=1" build/apps/webserver/webserver.elf \
        >/dev/null 2>&1 || { "$MIURA" stop bench >/dev/null 2>&1; continue; }
    res=$(timeout 120 ab -q -n 2000 -c 100 "http://127.0.0.1:$P_MIURA/1k.bin" 2>&1 || true)
    sleep 1.2 # one more stats line after the run
    line=$(grep 'webserver: stats:' "$MIURA_RUNTIME_DIR/bench/console.log" 2>/dev/null | tail -1)
    "$MIURA" stop bench >/dev/null 2>&1 || true
    if [[ $res == *"Complete requests:      2000"* && $res == *"Failed requests:        0"* &&
        $line =~ \(peak\ [1-9][0-9]{2,},\ 0\ dropped ]]; then
        smallest=${mem}M smallest_line=${line#webserver: stats: }
        break
    fi
done
echo "  smallest --mem serving ab -c100 -n2000, 100 connections at once, no failure: $smallest"
if [ -n "$smallest_line" ]; then echo "    (appliance at that size: $smallest_line)"; fi
