#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/soak: the web server under wrk at saturation for SOAK_S seconds
# (default 600): a mix of a 1 KiB and a 1 MiB file (9 to 1), keep-alive and
# Connection: close side by side, the number of connections stepping through
# SOAK_CONNS (default "50 250 500 1000", PHASE_S seconds each, round and
# round) the whole time.
#
# Pass: 0 socket errors and 0 non-2xx responses in every wrk run, no crash,
# no restart; after the warm-up (the first round of SOAK_CONNS) the guest's
# heap low-water mark (the web server's stats line, "lowest") and the RSS of
# QEMU, virtiofsd and miura-vsockd stay flat: the low-water mark goes at most
# FLAT_KIB below its lowest during the warm-up (default 4096 KiB: each 1 MiB
# response in flight holds a 128 KiB chunk, so the worst moment's count of
# them moves it by that much; a leak moves it without bound), no RSS grows by
# more than FLAT_PCT percent (default 5) plus 1 MiB over its highest during
# the warm-up; and once every connection has closed, the guest's free memory
# is back within IDLE_KIB (default 512) of what it was before the load. Also
# measured, not judged: the guest's clock against the host's (clock.py) at
# the start and the end, and the drift rate between. The series goes to
# build/soak/series.tsv; the summary (what docs/benchmarks.md reports) to
# stdout and build/soak/summary.txt.
#
# Usage: bench/soak/run.sh   (SOAK_S=600 PHASE_S=60 SAMPLE_S=10 SOAK_CONNS="50 250 500 1000" SOAK_MEM=256M)
set -eu
cd "$(dirname "$0")/../.."
source bench/lib.sh
SOAK_S=${SOAK_S:-600}
PHASE_S=${PHASE_S:-60}
SAMPLE_S=${SAMPLE_S:-10}
SOAK_CONNS=${SOAK_CONNS:-50 250 500 1000}
# 1,000 clients each in a 1 MiB response hold about 200 KiB of guest memory
# apiece (the socket's 64 KiB send buffer in flight, a file chunk of up to
# 128 KiB, the connection's thread): 128 MiB is not enough for that, and the
# web server then ends idle keep-alive connections for memory (by design).
SOAK_MEM=${SOAK_MEM:-256M}
FLAT_KIB=${FLAT_KIB:-4096}
IDLE_KIB=${IDLE_KIB:-512}
FLAT_PCT=${FLAT_PCT:-5}
read -ra levels <<<"$SOAK_CONNS"
bash tools/deps.sh bench
make --no-print-directory -s all
MIURA=build/bin/miura
out=build/soak
mkdir -p "$out"
rm -f "$out"/wrk-*.txt "$out"/*.log
work=$(mktemp -d /tmp/miura-soak.XXXXXX)
export MIURA_RUNTIME_DIR=$work/rt MIURA_VSOCKD=$PWD/build/bin/miura-vsockd
cleanup() {
    for p in $(jobs -p); do kill "$p" 2>/dev/null; done
    "$MIURA" stop soak >/dev/null 2>&1 || true
    wait 2>/dev/null || true
    # The instance's logs outlive the run (a failure must be explainable).
    for f in console launcher qemu vsockd virtiofsd; do
        [ -f "$MIURA_RUNTIME_DIR/soak/$f.log" ] && cp "$MIURA_RUNTIME_DIR/soak/$f.log" "$out/$f.log"
    done
    rm -rf "$work"
}
trap cleanup EXIT
site=$work/site
bench_site "$site"
echo soak >"$site/index.html"
for kind in keepalive close; do
    {
        echo 'local n = 0'
        [ $kind = close ] && echo 'wrk.headers["Connection"] = "close"'
        echo 'request = function()'
        echo '    n = n + 1'
        echo '    return wrk.format("GET", n % 10 == 0 and "/1m.bin" or "/1k.bin")'
        echo 'end'
    } >"$work/$kind.lua"
done

# A port below the ephemeral range; another if that one was taken meanwhile.
for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 12000))
    "$MIURA" run --detach --name soak --mem "$SOAK_MEM" --share "$site" --publish "127.0.0.1:$port:80" \
        --append "log=0 stats=$SAMPLE_S${SOAK_APPEND:+ $SOAK_APPEND}" build/apps/webserver/webserver.elf >"$work/start" 2>&1 && break
    grep -q 'Address already in use' "$work/start" || { cat "$work/start" >&2; exit 1; }
done
lp=$(sed -n 's/^pid //p' "$MIURA_RUNTIME_DIR/soak/meta")
part() { pgrep -P "$lp" -f "^[^ ]*/$1 " | head -1; }
qemu=$(part qemu-system-x86_64)
vsockd=$(part miura-vsockd)
vfs=$(part virtiofsd)
rss_kib() { # PID and its children (virtiofsd forks one)
    local total=0 p
    for p in "$1" $(pgrep -P "$1"); do
        total=$((total + $(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
    done
    echo $total
}

# The guest's free memory once a stats line says no connection is open.
idle_free() {
    local line
    for _ in $(seq $((SAMPLE_S * 4 + 60))); do
        line=$(grep 'webserver: stats: [0-9]* connections' "$MIURA_RUNTIME_DIR/soak/console.log" | tail -1)
        if [[ $line == *"stats: 0 connections"* ]]; then
            sed -n 's/.*, \([0-9]*\) of [0-9]* KiB free.*/\1/p' <<<"$line"
            return
        fi
        sleep 0.5
    done
    echo -
}
curl -s -o /dev/null "http://127.0.0.1:$port/1k.bin" # the small file is cached from here on
sleep "$SAMPLE_S"
idle_before=$(idle_free)
clock_start=$(python3 bench/soak/clock.py "$port")
start=$(date +%s)
end=$((start + SOAK_S))

# The load: one phase after another until the end, each two wrk side by side.
(
    i=0
    while [ "$(date +%s)" -lt "$end" ]; do
        c=${levels[$((i % ${#levels[@]}))]}
        left=$((end - $(date +%s)))
        d=$((left < PHASE_S ? left : PHASE_S))
        [ "$d" -gt 0 ] || break
        half=$(((c + 1) / 2))
        echo "$c" >"$work/phase"
        for kind in keepalive close; do
            wrk -t1 -c"$half" -d"${d}s" --timeout 30s -s "$work/$kind.lua" "http://127.0.0.1:$port/" \
                >"$out/wrk-$i-$kind.txt" 2>&1 &
        done
        wait
        i=$((i + 1))
    done
) &
load=$!

# The series: every SAMPLE_S seconds.
printf 't_s\tconns_phase\tguest_free_kib\tguest_lowest_kib\tguest_conns\tqemu_rss_kib\tvirtiofsd_rss_kib\tvsockd_rss_kib\n' >"$out/series.tsv"
while kill -0 "$load" 2>/dev/null; do
    sleep "$SAMPLE_S"
    t=$(($(date +%s) - start))
    line=$(grep 'webserver: stats: [0-9]* connections' "$MIURA_RUNTIME_DIR/soak/console.log" | tail -1)
    free=$(sed -n 's/.*, \([0-9]*\) of [0-9]* KiB free (lowest \([0-9]*\)).*/\1/p' <<<"$line")
    lowest=$(sed -n 's/.*, \([0-9]*\) of [0-9]* KiB free (lowest \([0-9]*\)).*/\2/p' <<<"$line")
    gconns=$(sed -n 's/.*stats: \([0-9]*\) connections.*/\1/p' <<<"$line")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$(cat "$work/phase" 2>/dev/null || echo -)" "${free:--}" "${lowest:--}" \
        "${gconns:--}" "$(rss_kib "$qemu")" "$(rss_kib "$vfs")" "$(rss_kib "$vsockd")" >>"$out/series.tsv"
done
wait "$load" || true
stop_t=$(date +%s)
sleep "$SAMPLE_S"
idle_after=$(idle_free)
clock_end=$(python3 bench/soak/clock.py "$port")

# ---- verdict
errors=0 non2xx=0 requests=0 bytes=0
for f in "$out"/wrk-*-*.txt; do
    e=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$f")
    n=$(awk '/Non-2xx or 3xx responses/ {print $5}' "$f")
    r=$(awk '/requests in/ {print $1}' "$f")
    errors=$((errors + ${e:-0}))
    non2xx=$((non2xx + ${n:-0}))
    requests=$((requests + ${r:-0}))
    grep -q 'requests in' "$f" || errors=$((errors + 1)) # a wrk that did not finish counts
done
warm=$((PHASE_S * ${#levels[@]}))
flat=$(awk -F'\t' -v warm="$warm" -v kib="$FLAT_KIB" -v pct="$FLAT_PCT" '
    NR == 1 || $4 == "-" { next }
    $1 <= warm { if (low0 == "" || $4 < low0) low0 = $4
                 if ($6 > q0) q0 = $6; if ($7 > v0) v0 = $7; if ($8 > s0) s0 = $8; next }
    { if (low0 == "") { low0 = $4; q0 = $6; v0 = $7; s0 = $8 }
      if ($4 < minlow || minlow == "") minlow = $4
      if ($6 > q) q = $6; if ($7 > v) v = $7; if ($8 > s) s = $8; n++ }
    function grew(a, b) { return b > a * (1 + pct / 100) + 1024 }
    END {
      if (n == 0) { print "no samples after the warm-up"; exit }
      bad = ""
      if (low0 - minlow > kib) bad = bad " guest-low-water(" low0 "->" minlow " KiB)"
      if (grew(q0, q)) bad = bad " qemu(" q0 "->" q " KiB)"
      if (grew(v0, v)) bad = bad " virtiofsd(" v0 "->" v " KiB)"
      if (grew(s0, s)) bad = bad " vsockd(" s0 "->" s " KiB)"
      printf "%s after warm-up: lowest free %s->%s KiB, RSS max qemu %s->%s, virtiofsd %s->%s, vsockd %s->%s KiB\n", (bad == "" ? "flat" : "GREW:" bad), low0, minlow, q0, q, v0, v, s0, s
    }' "$out/series.tsv")
read -r off0 err0 t0 <<<"$clock_start"
read -r off1 err1 t1 <<<"$clock_end"
drift=$(awk -v a="$off0" -v b="$off1" -v t0="$t0" -v t1="$t1" 'BEGIN {
    printf "%+.1f ms over %.0f s = %+.4f %% (%+.1f s/day)", b - a, t1 - t0, (b - a) / ((t1 - t0) * 10), (b - a) / (t1 - t0) * 86.4 }')
crashed=$(grep -cE 'CRASH|panic' "$MIURA_RUNTIME_DIR/soak/console.log" || true)
# Who closed what: the web server's own counters and miura-vsockd's.
guest_line=$(grep 'webserver: stats: [0-9]* connections' "$MIURA_RUNTIME_DIR/soak/console.log" | tail -1)
guest_line=${guest_line#webserver: stats: }
vsockd_stats=$("$MIURA" stats soak 2>&1 | awk '$1 ~ /^(peak|accepted|established|refused|guest_resets|retries|limit_pauses|fd_pauses)$/ {printf "%s %s, ", $1, $2}')
restarts=$(sed -n 's/^restarts //p' "$MIURA_RUNTIME_DIR/soak/meta")
{
    echo "bench/soak: ${SOAK_S} s, connections ${SOAK_CONNS} (${PHASE_S} s each; half keep-alive, half close)," \
        "1 KiB : 1 MiB = 9 : 1, --mem $SOAK_MEM, accelerator $(tools/qemu-accel.sh) ($(date -u +%F))"
    echo "  requests $requests, socket errors $errors, non-2xx $non2xx, guest crashes $crashed, restarts ${restarts:-0}"
    echo "  $flat"
    echo "  guest free memory with no connection open: before the load $idle_before KiB, after it $idle_after KiB"
    echo "  web server at the end: ${guest_line:-no stats line}"
    echo "  miura-vsockd: ${vsockd_stats%, }"
    echo "  guest clock vs host: start ${off0} ms (±${err0}), end ${off1} ms (±${err1}); drift $drift"
    echo "  series: $out/series.tsv ($(($(wc -l <"$out/series.tsv") - 1)) samples, every ${SAMPLE_S} s or a little more); wrk output: $out/wrk-*.txt; the instance's logs: $out/*.log"
} | tee "$out/summary.txt"
[ "$errors" -eq 0 ] && [ "$non2xx" -eq 0 ] && [ "$crashed" -eq 0 ] && [ "${restarts:-0}" -eq 0 ] &&
    [[ $flat == flat* ]] && [ "$stop_t" -ge "$end" ] && [ "$idle_before" != - ] && [ "$idle_after" != - ] &&
    [ "$idle_after" -ge $((idle_before - IDLE_KIB)) ]
