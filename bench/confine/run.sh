#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/confine: what confinement (docs/security.md) costs, confined against
# --unconfined side by side, the two interleaved in every round (the order
# alternates from round to round, so that a drift of the machine's load hits
# both alike). Needs root (identities, virtiofsd).
#   http:   the web server under `miura run` (an identity and a cgroup, QEMU
#           -sandbox in its own view, miura-vsockd confined) and under
#           `miura run --unconfined`, each round a fresh instance of each;
#           wrk -t1 -c32 keep-alive on a 1 KiB and a 1 MiB file (bench/http's
#           measure).
#   vsockd: two miura-vsockd daemons up together, one confined (--user, as
#           the launcher starts it) and one --unconfined, each with its own
#           fake guest (build/bin/vsockd-driver, bench/vsockd's); per round,
#           a BYTES stream to the guest and one from it (MiB/s), the daemon's
#           CPU time per MiB, and CONNS short connections 8 at a time.
#   syscall: the seccomp filter alone (bench/confine/syscall_cost.c): ns per
#           cheap allowed system call before and after confine_self with
#           miura-vsockd's rules, in one process.
# Before measuring, each round checks /proc/PID/status of the confined
# daemon (Seccomp 2, a non-zero uid) and of the unconfined one (Seccomp 0),
# so that the two columns are what they say.
# Prints medians and the ratio confined / unconfined.
# Usage: bench/confine/run.sh   (env: ROUNDS=5 DURATION=5 BYTES=134217728 CONNS=1000;
#        PARTS="http vsockd" runs both, PARTS=vsockd or PARTS=http one of them)
set -eu
cd "$(dirname "$0")/../.."
source bench/lib.sh
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
BYTES=${BYTES:-$((128 << 20))}
CONNS=${CONNS:-1000}
PARTS=${PARTS:-http vsockd}
has() { [[ " $PARTS " == *" $1 "* ]]; }
[ "$(id -u)" = 0 ] || { echo "bench/confine: needs root (identities per instance, virtiofsd)" >&2; exit 1; }
bash tools/deps.sh bench
make --no-print-directory -s all build/bin/vsockd-driver
MIURA=build/bin/miura
drv=build/bin/vsockd-driver
work=$(mktemp -d /tmp/miura-bench-confine.XXXXXX)
export MIURA_RUNTIME_DIR=$work/rt MIURA_VSOCKD=$PWD/build/bin/miura-vsockd
pids=()
cleanup() {
    "$MIURA" stop bench-c >/dev/null 2>&1 || true
    "$MIURA" stop bench-u >/dev/null 2>&1 || true
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
site=$work/site
bench_site "$site"
chmod -R a+rX "$work"
status_field() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
# check_confined PID yes|no: the daemon is what the column says
check_confined() {
    local sc uid
    sc=$(status_field "$1" Seccomp)
    uid=$(status_field "$1" Uid)
    if [ "$2" = yes ] && { [ "$sc" != 2 ] || [ "$uid" = 0 ]; }; then
        echo "bench/confine: pid $1 is not confined (Seccomp $sc, uid $uid)" >&2
        exit 1
    fi
    if [ "$2" = no ] && [ "$sc" != 0 ]; then
        echo "bench/confine: pid $1 is confined (Seccomp $sc) under --unconfined" >&2
        exit 1
    fi
}
# check_qemu PID c|u: QEMU has its own view and cgroup (c), or neither (u)
check_qemu() {
    local root cg
    root=$(awk '$5 == "/" {print $(NF - 1); exit}' "/proc/$1/mountinfo")
    cg=$(grep -c "/miura.slice/" "/proc/$1/cgroup" || true)
    if [ "$2" = c ] && { [ "$root" != miura-qemu-root ] || [ "$cg" = 0 ]; }; then
        echo "bench/confine: QEMU $1 has no view or cgroup of its own (root '$root')" >&2
        exit 1
    fi
    if [ "$2" = u ] && { [ "$root" = miura-qemu-root ] || [ "$cg" != 0 ]; }; then
        echo "bench/confine: QEMU $1 is confined under --unconfined" >&2
        exit 1
    fi
}

# ---- the filter's cost per system call
gcc -O2 -I host -o "$work/syscall_cost" bench/confine/syscall_cost.c build/host/libhostconfine.a \
    build/host/libhostcommon.a -lseccomp
mkdir -p "$work/sc"
"$work/syscall_cost" "$work/sc" >"$work/syscall"
cut -d' ' -f1 "$work/syscall" >"$work/syscall-u"
cut -d' ' -f2 "$work/syscall" >"$work/syscall-c"

# ---- http
wrk_one() { # URL → "req/s MiB/s"
    wrk -t1 -c32 -d"${DURATION}s" "$1" 2>/dev/null | awk '
        /Requests\/sec/ {r = $2}
        /Transfer\/sec/ {v = $2; if (v ~ /GB/) m = v * 1024; else if (v ~ /MB/) m = v + 0; else if (v ~ /KB/) m = v / 1024; else m = v / 1048576}
        END {printf "%s %.2f\n", r, m}'
}
http_round() { # c|u PORT: one instance, both files, appended to $work/http-MODE-FILE
    local mode=$1 port=$2 extra=() v f
    [ "$mode" = u ] && extra=(--unconfined)
    "$MIURA" run --detach --name "bench-$mode" "${extra[@]}" --mem 128M --share "$site" \
        --publish "127.0.0.1:$port:80" --append log=0 build/apps/webserver/webserver.elf >/dev/null
    v=$(pgrep -f -- "miura-vsockd --socket $MIURA_RUNTIME_DIR/bench-$mode/vhost.sock" | head -1)
    if [ "$mode" = c ]; then check_confined "$v" yes; else check_confined "$v" no; fi
    check_qemu "$(pgrep -f -- "qemu-system-x86_64 .*-name bench-$mode " | head -1)" "$mode"
    for f in 1k.bin 1m.bin; do
        wrk_one "http://127.0.0.1:$port/$f" >>"$work/http-$mode-$f"
    done
    "$MIURA" stop "bench-$mode" >/dev/null
}

# ---- vsockd: two daemons, each with its fake guest
wait_for() { for _ in $(seq 200); do [ -e "$1" ] && return 0; sleep 0.05; done; echo "no $1" >&2; exit 1; }
read -r pc1 pc2 pu1 pu2 P_HTTP < <(free_ports 5)
# The confined daemon runs as an identity of the range (as the launcher
# starts it); its directory must let that uid in.
ID=$(awk 'BEGIN {srand(); print 1879048192 + 60000 + int(rand() * 5000)}')
mkdir -p "$work/vc" "$work/vu"
chown "$ID:$ID" "$work/vc"
chmod 0700 "$work/vc"
build/bin/miura-vsockd --socket "$work/vc/vhost.sock" --cid 3 --uds "$work/vc/v.sock" \
    --publish "$pc1:5001" --publish "$pc2:5002" --user "$ID:$ID" 2>"$work/vc.log" &
pids+=($!)
vc_pid=$!
build/bin/miura-vsockd --socket "$work/vu/vhost.sock" --cid 3 --uds "$work/vu/v.sock" \
    --publish "$pu1:5001" --publish "$pu2:5002" --unconfined 2>"$work/vu.log" &
pids+=($!)
vu_pid=$!
wait_for "$work/vc/vhost.sock"
wait_for "$work/vu/vhost.sock"
"$drv" guest --socket "$work/vc/vhost.sock" >/dev/null &
pids+=($!)
"$drv" guest --socket "$work/vu/vhost.sock" >/dev/null &
pids+=($!)
sleep 0.5
check_confined "$vc_pid" yes
check_confined "$vu_pid" no
tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
field() { sed -n "s/.* $1=\([0-9.]*\) .*failed=0\$/\1/p" <<<" $2"; }
vsockd_round() { # c|u PID PORT1 PORT2 SOCKDIR: "to from cpu_ms_per_mib conns/s" to $work/vsockd-MODE
    local mode=$1 pid=$2 c0 c1 o1 o2 o3 s1 s2 s3
    c0=$(cpu_ticks "$pid")
    o1=$("$drv" client --tcp "$3" --port 5001 --bytes "$BYTES")
    o2=$("$drv" client --uds "$5/v.sock" --port 5002 --bytes "$BYTES")
    c1=$(cpu_ticks "$pid")
    o3=$("$drv" client --tcp "$3" --port 5001 --bytes 0 --conns "$CONNS" --parallel 8)
    s1=$(field xfer_seconds "$o1")
    s2=$(field xfer_seconds "$o2")
    s3=$(field seconds "$o3")
    [ -n "$s1" ] && [ -n "$s2" ] && [ -n "$s3" ] || { echo "vsockd $mode failed: $o1 / $o2 / $o3" >&2; exit 1; }
    awk -v b="$BYTES" -v s1="$s1" -v s2="$s2" -v c="$((c1 - c0))" -v t="$tck" -v n="$CONNS" \
        -v s3="$s3" 'BEGIN { mib = b / 1048576
            printf "%.1f %.1f %.3f %.0f\n", mib / s1, mib / s2, c / t * 1000 / (2 * mib), n / s3 }' \
        >>"$work/vsockd-$mode"
}

for r in $(seq "$ROUNDS"); do
    if ((r % 2)); then order="c u"; else order="u c"; fi
    for m in $order; do
        has http && http_round "$m" "$P_HTTP"
        if ! has vsockd; then
            :
        elif [ "$m" = c ]; then
            vsockd_round c "$vc_pid" "$pc1" "$pc2" "$work/vc"
        else
            vsockd_round u "$vu_pid" "$pu1" "$pu2" "$work/vu"
        fi
    done
    echo "round $r/$ROUNDS done" >&2
done
check_confined "$vc_pid" yes # still alive and confined after all of it

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }
col() { cut -d' ' -f"$2" "$1" | median; }
spread() { cut -d' ' -f"$2" "$1" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s-%s", lo, hi}'; }
row() { # LABEL FILE-CONFINED FILE-UNCONFINED COLUMN
    local c u
    c=$(col "$2" "$4")
    u=$(col "$3" "$4")
    printf '  %-40s %10s %10s %7s   %s | %s\n' "$1" "$c" "$u" "$(ratio "$c" "$u")" \
        "$(spread "$2" "$4")" "$(spread "$3" "$4")"
}
echo "bench/confine: confined vs --unconfined, interleaved, median of $ROUNDS rounds, accelerator $(tools/qemu-accel.sh) ($(date -u +%F), load $(cut -d' ' -f1-3 /proc/loadavg))"
printf '  %-40s %10s %10s %7s   %s\n' measure confined unconfined ratio 'range confined | unconfined'
row "one allowed system call (read, EAGAIN), ns" "$work/syscall-c" "$work/syscall-u" 1
has http && for f in 1k.bin 1m.bin; do
    row "http $f keep-alive (wrk -c32) req/s" "$work/http-c-$f" "$work/http-u-$f" 1
    row "http $f keep-alive (wrk -c32) MiB/s" "$work/http-c-$f" "$work/http-u-$f" 2
done
n=1
has vsockd && for k in "to guest MiB/s" "from guest MiB/s" "daemon CPU ms/MiB" "conns/s (8 at a time)"; do
    row "vsockd $k" "$work/vsockd-c" "$work/vsockd-u" $n
    n=$((n + 1))
done
