#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/http: the web server appliance (started with `miura run`) under wrk,
# side by side in one run with nginx (1 worker) serving the same directory on
# the host, and with the Linux microVM peer when bench/linux-peer is built.
# Reports requests/s, MiB/s and p99 latency for a 1 KiB and a 1 MiB file,
# keep-alive and not; ab -c1 mean latency; time from `miura run` to the first
# response; the image size; the smallest --mem that serves 100 connections.
# The web server runs twice: on QEMU microvm (virtio-mmio, image webserver)
# and on q35 (virtio-pci, image webserver_pci; Miura-q35), one after the other.
# BEFORE=DIR adds, side by side, the microvm web server of another built
# checkout (its build/ image and miura-vsockd: the code before a change).
# After the wrk runs, miura-vsockd's counters give kicks and interrupts per
# request for `ab -k -c32` and per connection for `ab -c1` (for a BEFORE build
# too, if its vsockd counts), and with MIURA_VSOCKD_TRACE=1 where the time of
# one connection's life goes, step by step, as miura-vsockd sees it.
# Usage: bench/http/run.sh   (DURATION=5 RUNS=3 by default; Q35=0 leaves q35 out)
set -eu
cd "$(dirname "$0")/../.."
source bench/lib.sh
DURATION=${DURATION:-5}
RUNS=${RUNS:-3}
bash tools/deps.sh bench
make --no-print-directory -s all
MIURA=build/bin/miura
work=$(mktemp -d /tmp/miura-bench-http.XXXXXX)
export MIURA_RUNTIME_DIR=$work/rt MIURA_VSOCKD=$PWD/build/bin/miura-vsockd MIURA_VSOCKD_TRACE=1
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
bench_site "$site"
chmod -R a+rX "$work"
base=$(free_port 3)
P_MIURA=$base P_NGINX=$((base + 1)) P_LINUX=$((base + 2))


# ---- servers. Each VM is measured alone (an idle Linux guest still costs
# CPU under TCG): Miura and nginx first, then Miura is stopped and the Linux
# peer started. nginx, idle, costs nothing meanwhile.
image_for() { # machine
    if [ "$1" = microvm ]; then echo build/apps/webserver/webserver.elf; else echo build/apps/webserver_pci/webserver_pci.elf; fi
}
start_miura() { # [machine [checkout]]
    local m=${1:-microvm} tree=${2:-$PWD}
    MIURA_VSOCKD=$tree/build/bin/miura-vsockd "$MIURA" run --detach --name bench --machine "$m" \
        --mem 128M --share "$site" --publish "127.0.0.1:$P_MIURA:80" --append log=0 \
        "$tree/$(image_for "$m")" >/dev/null
}
if [ -n "${BEFORE:-}" ]; then
    BEFORE=$(cd "$BEFORE" && pwd)
    for f in build/bin/miura-vsockd "$(image_for microvm)"; do
        [ -e "$BEFORE/$f" ] || { echo "bench/http: BEFORE=$BEFORE has no $f (run make there)" >&2; exit 1; }
    done
fi
start_nginx "$work/nginx" "$P_NGINX" "$site" 1k.bin

wrk_one() { # port, path, extra args → "req/s MiB/s p99_ms"
    wrk -t1 -c32 -d"${DURATION}s" --latency "$@" 2>/dev/null | awk '
        /Requests\/sec/ {r = $2}
        /Transfer\/sec/ {v = $2; if (v ~ /GB/) m = v * 1024; else if (v ~ /MB/) m = v + 0; else if (v ~ /KB/) m = v / 1024; else m = v / 1048576}
        / 99%/ {l = $2; if (l ~ /ms/) p = l + 0; else if (l ~ /us/) p = l / 1000; else p = l * 1000}
        END {printf "%s %.2f %.2f\n", r, m, p}'
}

declare -A result abmean
measure() { # name port: every wrk test (median of RUNS), then ab -c1
    local name=$1 port=$2 file mode
    for file in 1k.bin 1m.bin; do
        for mode in keep-alive close; do
            local extra=()
            [ "$mode" = close ] && extra=(-H "Connection: close")
            : >"$work/r"
            for _ in $(seq "$RUNS"); do wrk_one "${extra[@]}" "http://127.0.0.1:$port/$file" >>"$work/r"; done
            result[$name|$file $mode]="$(cut -d' ' -f1 "$work/r" | median) $(cut -d' ' -f2 "$work/r" | median) $(cut -d' ' -f3 "$work/r" | median)"
        done
    done
    : >"$work/r"
    for _ in $(seq "$RUNS"); do
        ab -q -n 1000 -c 1 "http://127.0.0.1:$port/1k.bin" 2>/dev/null |
            awk '/Time per request:.*\(mean\)$/ {print $4; exit}' >>"$work/r"
    done
    abmean[$name]=$(median <"$work/r")
}

# kicks (guest -> vsockd) and interrupts (vsockd -> guest) per request of
# `ab -k -c32 -n N`, from miura-vsockd's counters ("-" if it has none)
declare -A notify conn_notify conn_steps
stats_delta() { # before after n key...: (after - before) / n of each key, "-" if absent
    awk -v a="$1" -v b="$2" -v n="$3" -v keys="${*:4}" 'BEGIN {
        split(a, x, " "); split(b, y, " "); k = split(keys, key, " ")
        for (i = 1; i < length(x); i += 2) before[x[i]] = x[i + 1]
        for (i = 1; i < length(y); i += 2) after[y[i]] = y[i + 1]
        for (i = 1; i <= k; i++)
            printf "%s%s", (key[i] in after && n > 0) ? sprintf("%.2f", (after[key[i]] - before[key[i]]) / n) : "-", i < k ? " " : "\n" }'
}
count_notify() { # name
    local n=20000 a b
    a=$("$MIURA" stats bench 2>/dev/null | tr '\n' ' ')
    ab -q -k -c 32 -n $n "http://127.0.0.1:$P_MIURA/1k.bin" >/dev/null 2>&1
    b=$("$MIURA" stats bench 2>/dev/null | tr '\n' ' ')
    notify[$1]=$(stats_delta "$a" "$b" $n tx_kicks rx_kicks rx_calls tx_calls)
    # One connection's life: ab -c1, a new connection per request.
    n=500
    a=$("$MIURA" stats bench 2>/dev/null | tr '\n' ' ')
    ab -q -c 1 -n $n "http://127.0.0.1:$P_MIURA/1k.bin" >/dev/null 2>&1
    b=$("$MIURA" stats bench 2>/dev/null | tr '\n' ' ')
    conn_notify[$1]=$(stats_delta "$a" "$b" $n tx_kicks rx_kicks rx_calls tx_calls)
    n=$(stats_delta "$a" "$b" 1 trace_conns)
    [ "$n" = - ] && n=0
    conn_steps[$1]=$(stats_delta "$a" "$b" "${n%.*}" trace_request_us trace_response_us \
        trace_to_guest_us trace_from_guest_us trace_guest_shut_us trace_closed_us)
}

servers=(Miura nginx)
start_miura
measure Miura "$P_MIURA"
count_notify Miura
measure nginx "$P_NGINX"
"$MIURA" stop bench >/dev/null
if [ -n "${BEFORE:-}" ]; then
    start_miura microvm "$BEFORE"
    measure Miura-before "$P_MIURA"
    count_notify Miura-before
    "$MIURA" stop bench >/dev/null
    servers=(Miura Miura-before nginx)
fi
machines=(microvm)
if [ "${Q35:-1}" = 1 ]; then
    start_miura q35
    measure Miura-q35 "$P_MIURA"
    "$MIURA" stop bench >/dev/null
    servers=("${servers[@]:0:${#servers[@]}-1}" Miura-q35 nginx)
    machines+=(q35)
fi
if [ -x bench/linux-peer/run.sh ] && [ "${LINUX_PEER:-1}" = 1 ]; then
    bash bench/linux-peer/run.sh http "$site" "$P_LINUX" >"$work/peer.log" 2>&1 &
    peer_pid=$!
    for _ in $(seq 600); do grep -q 'peer: ready' "$work/peer.log" 2>/dev/null && break; sleep 0.1; done
    if grep -q 'peer: ready' "$work/peer.log"; then
        measure Linux-microVM "$P_LINUX"
        servers+=(Linux-microVM)
    fi
    kill "$peer_pid" 2>/dev/null
    wait "$peer_pid" 2>/dev/null || true
    peer_pid=
fi

echo "bench/http: wrk -t1 -c32 -d${DURATION}s, median of $RUNS, accelerator $(tools/qemu-accel.sh) ($(date -u +%F))"
printf '  %-16s %-22s %12s %10s %10s\n' server test req/s MiB/s p99-ms
for file in 1k.bin 1m.bin; do
    for mode in keep-alive close; do
        for name in "${servers[@]}"; do
            read -r r m l <<<"${result[$name|$file $mode]}"
            printf '  %-16s %-22s %12s %10s %10s\n' "$name" "$file $mode" "$r" "$m" "$l"
        done
    done
done
echo "  ab -n 1000 -c 1 (1 KiB, a new connection per request), mean latency (median of $RUNS):"
for name in "${servers[@]}"; do
    printf '  %-16s %10s ms\n' "$name" "${abmean[$name]}"
done
echo "  per request of ab -k -c32 (1 KiB): tx kicks, rx kicks, rx interrupts, tx interrupts:"
for name in "${!notify[@]}"; do
    printf '  %-16s %s\n' "$name" "${notify[$name]}"
done
echo "  per connection of ab -c1 -n 500 (1 KiB): tx kicks, rx kicks, rx interrupts, tx interrupts:"
for name in "${!conn_notify[@]}"; do
    printf '  %-16s %s\n' "$name" "${conn_notify[$name]}"
done
echo "  one connection's life in miura-vsockd (MIURA_VSOCKD_TRACE=1), mean us from the step before:"
echo "    accepted -> REQUEST on the rx ring -> RESPONSE taken -> request on the rx ring ->"
echo "    response taken -> guest SHUTDOWN -> closed"
for name in "${!conn_steps[@]}"; do
    printf '  %-16s %s\n' "$name" "${conn_steps[$name]}"
done

# ---- start-up: from `miura run` until it prints "serving" (it does once the
# published port has answered a real HTTP request)
for m in "${machines[@]}"; do : >"$work/start-$m"; done
for _ in 1 2 3 4 5; do
    for m in "${machines[@]}"; do # interleaved: machine noise hits both alike
        a=$(date +%s%N)
        "$MIURA" run --name bench --machine "$m" --share "$site" --publish "127.0.0.1:$P_MIURA:80" \
            --append log=0 "$(image_for "$m")" 2>/dev/null | while IFS= read -r line; do
            if [[ $line == serving* ]]; then
                echo $((($(date +%s%N) - a) / 1000000)) >>"$work/start-$m"
                "$MIURA" stop bench >/dev/null
            fi
        done
    done
done
for m in "${machines[@]}"; do
    echo "  miura run --machine $m -> first response served: $(median <"$work/start-$m") ms (median of 5)"
done
echo "  webserver image (virtio-mmio), stripped: $(stat -c %s build/apps/webserver/webserver) B"
echo "  webserver_pci image (virtio-pci), stripped: $(stat -c %s build/apps/webserver_pci/webserver_pci) B"

# ---- the smallest --mem that serves 100 connections at once without a
# failure: wrk holds 100 keep-alive connections open for 3 s (the appliance's
# stats line must show a peak of 100 and nothing dropped), then ab makes 2,000
# requests on new connections, 100 at a time, with no failure. (Under memory
# pressure the appliance queues new connections rather than dropping them, so
# ab alone would also pass where 100 connections cannot be open at once.)
smallest=- smallest_line=
for mem in 3 4 5 6 8 12 16; do
    "$MIURA" run --detach --name bench --mem "${mem}M" --share "$site" \
        --publish "127.0.0.1:$P_MIURA:80" --append "log=0 stats=1" build/apps/webserver/webserver.elf \
        >/dev/null 2>&1 || { "$MIURA" stop bench >/dev/null 2>&1; continue; }
    held=$(timeout 60 wrk -t1 -c100 -d3s "http://127.0.0.1:$P_MIURA/1k.bin" 2>&1 || true)
    sleep 1.2 # a stats line while the connections are still counted
    line=$(grep 'webserver: stats: [0-9]* connections' "$MIURA_RUNTIME_DIR/bench/console.log" 2>/dev/null | tail -1)
    res=$(timeout 120 ab -q -n 2000 -c 100 "http://127.0.0.1:$P_MIURA/1k.bin" 2>&1 || true)
    sleep 1.2
    line2=$(grep 'webserver: stats: [0-9]* connections' "$MIURA_RUNTIME_DIR/bench/console.log" 2>/dev/null | tail -1)
    "$MIURA" stop bench >/dev/null 2>&1 || true
    if [[ $held == *"requests in"* && $held != *"Socket errors"* && $held != *"Non-2xx"* &&
        $line =~ \(peak\ [1-9][0-9]{2,},\ 0\ dropped &&
        $res == *"Complete requests:      2000"* && $res == *"Failed requests:        0"* &&
        $line2 =~ \ 0\ dropped ]]; then
        smallest=${mem}M smallest_line=${line2#webserver: stats: }
        break
    fi
done
echo "  smallest --mem holding 100 connections (wrk -c100) and serving ab -c100 -n2000, no failure: $smallest"
if [ -n "$smallest_line" ]; then echo "    (appliance at that size afterwards: $smallest_line)"; fi
