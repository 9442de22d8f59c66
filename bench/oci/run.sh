#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/oci: the web server appliance under podman (miura-oci) beside `miura
# run`, and beside an ordinary runc container (busybox httpd) so podman's own
# overhead is measured in the same run.
#
#   1. start -> first response, ROUNDS rounds, the four side by side in each:
#        miura run --detach            (the launcher; guest 128M)
#        podman run -d --runtime miura-oci   (the same image as an OCI image; guest 128M)
#        busybox httpd                 (a plain process)
#        podman run -d --runtime runc  (busybox httpd in a FROM scratch image)
#      Each starts in a network namespace of its own (only lo, port 80), and a
#      client in that namespace (build/bin/http_first) asks HEAD / every
#      millisecond from the moment the command is started until the first
#      HTTP answer: the time to that answer.
#   2. host memory of one instance (PSS of all its processes): miura run
#      (launcher, QEMU, virtiofsd, miura-vsockd) vs podman (conmon, miura-oci's
#      supervisor, QEMU, virtiofsd, miura-vsockd), after 20 requests.
#   3. COUNT (50) instances under podman, one after another (host network, a
#      port each from the annotation org.miura.ports, --memory 36m: a 4 MiB
#      guest): total time, each start to its first answer, all serving a page
#      byte-exact, PSS per instance, nothing left after stop and rm.
# Usage: bench/oci/run.sh   (ROUNDS=7 COUNT=50)
set -eu
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-7}
COUNT=${COUNT:-50}
bash tools/deps.sh bench
make --no-print-directory -s all
source bench/lib.sh
ROOT=$PWD
MIURA=$ROOT/build/bin/miura
OCI=$ROOT/build/bin/miura-oci
work=$(mktemp -d /tmp/miura-bench-oci.XXXXXX)
RT=$work/rt
STATE=$work/state
export MIURA_RUNTIME_DIR=$RT
mkdir -p "$RT" "$STATE" "$work/bb/www"
IMG=localhost/miura-bench-www:$$
BB=localhost/miura-bench-busybox:$$
NS=miura-bench-$$
names=()
cleanup() {
    podman rm -f -t 0 "${names[@]}" >/dev/null 2>&1 || true
    for n in m b; do "$MIURA" stop "bench-$n" >/dev/null 2>&1 || true; done
    for p in $(pgrep -f "$RT/" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    pkill -f "busybox httpd -f -p 80 -h $work/" 2>/dev/null || true
    for n in miura oci bb runc; do ip netns delete "$NS-$n" 2>/dev/null || true; done
    podman rmi -f "$IMG" "$BB" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
cat >"$work/runtime" <<EOF
#!/bin/sh
export MIURA_RUNTIME_DIR=$RT
exec $OCI --root $STATE "\$@"
EOF
chmod +x "$work/runtime"
ULIMITS=(--ulimit nofile=4096:4096 --ulimit nproc=4096:4096) # runc needs them on this machine

podman build -q -f examples/www/Containerfile -t "$IMG" . >/dev/null
cp /bin/busybox "$work/bb/busybox"
cp examples/www/* "$work/bb/www/"
rm -f "$work/bb/www/Containerfile"
printf 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY www /www\nENTRYPOINT ["/bin/busybox","httpd","-f","-p","80","-h","/www"]\n' \
    >"$work/bb/Containerfile"
podman build -q -t "$BB" "$work/bb" >/dev/null
for n in miura oci bb runc; do ip netns add "$NS-$n" && ip -n "$NS-$n" link set lo up; done

# first_response NS: from now until GET / answers in NS, in ms (run it in the background
# as the command starts; it prints the elapsed milliseconds).
first_response() {
    ip netns exec "$1" "$ROOT/build/bin/http_first" 127.0.0.1 80 "$(date +%s%N)" 60
}
pss_kib() { awk '/^Pss:/ {print $2; exit}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
sum_pss() { local s=0 p; for p in "$@"; do s=$((s + $(pss_kib "$p"))); done; echo "$s"; }
load() { ip netns exec "$1" bash -c 'for i in $(seq 20); do curl -s -o /dev/null http://127.0.0.1/; done'; }

: >"$work/t.miura" && : >"$work/t.oci" && : >"$work/t.bb" && : >"$work/t.runc"
for r in $(seq "$ROUNDS"); do
    # miura run (detached), in its namespace: the launcher publishes 127.0.0.1:80 there
    first_response "$NS-miura" >"$work/fr" &
    frpid=$!
    ip netns exec "$NS-miura" "$MIURA" run --detach --name bench-m --share examples/www \
        --publish 127.0.0.1:80:80 build/apps/webserver/webserver >/dev/null 2>&1
    wait "$frpid"
    cat "$work/fr" >>"$work/t.miura"
    if [ "$r" = 1 ]; then
        load "$NS-miura"
        mpids=($(sed -n 's/^pid //p' "$RT/bench-m/meta") $(pgrep -f "$RT/bench-m/"))
        mem_miura=$(sum_pss "${mpids[@]}")
        mem_miura_parts="QEMU $(sum_pss $(pgrep -f "^[^ ]*qemu-system[^ ]* .*$RT/bench-m/")), virtiofsd $(sum_pss $(pgrep -f "^[^ ]*virtiofsd .*$RT/bench-m/"))"
    fi
    "$MIURA" stop bench-m >/dev/null

    # podman + miura-oci
    names+=(bench-o)
    first_response "$NS-oci" >"$work/fr" &
    frpid=$!
    podman run -d --name bench-o --runtime "$work/runtime" --network "ns:/run/netns/$NS-oci" \
        "${ULIMITS[@]}" "$IMG" >/dev/null 2>&1
    wait "$frpid"
    cat "$work/fr" >>"$work/t.oci"
    if [ "$r" = 1 ]; then
        load "$NS-oci"
        id=$(podman inspect -f '{{.Id}}' bench-o)
        cid=$(sed -n 's/.*"cid":\([0-9]*\).*/\1/p' "$STATE/$id/state.json")
        opids=($(podman inspect -f '{{.State.ConmonPid}} {{.State.Pid}}' bench-o) $(pgrep -f "$RT/oci-$cid/"))
        mem_oci=$(sum_pss "${opids[@]}")
        mem_conmon=$(sum_pss "${opids[0]}")
        mem_oci_parts="QEMU $(sum_pss $(pgrep -f "^[^ ]*qemu-system[^ ]* .*$RT/oci-$cid/")), virtiofsd $(sum_pss $(pgrep -f "^[^ ]*virtiofsd .*$RT/oci-$cid/")), supervisor $(sum_pss "${opids[1]}")"
    fi
    podman rm -f -t 10 bench-o >/dev/null 2>&1

    # busybox httpd as a plain process
    first_response "$NS-bb" >"$work/fr" &
    frpid=$!
    ip netns exec "$NS-bb" /bin/busybox httpd -f -p 80 -h "$work/bb/www" &
    bbpid=$!
    wait "$frpid"
    cat "$work/fr" >>"$work/t.bb"
    kill "$bbpid" && wait "$bbpid" 2>/dev/null || true

    # podman + runc, busybox httpd
    names+=(bench-r)
    first_response "$NS-runc" >"$work/fr" &
    frpid=$!
    podman run -d --name bench-r --runtime runc --network "ns:/run/netns/$NS-runc" "${ULIMITS[@]}" "$BB" >/dev/null 2>&1
    wait "$frpid"
    cat "$work/fr" >>"$work/t.runc"
    podman rm -f -t 10 bench-r >/dev/null 2>&1
done

t_miura=$(median <"$work/t.miura") t_oci=$(median <"$work/t.oci")
t_bb=$(median <"$work/t.bb") t_runc=$(median <"$work/t.runc")
echo "bench/oci: accelerator $(tools/qemu-accel.sh), podman $(podman --version | awk '{print $3}'), $ROUNDS rounds ($(date -u +%F))"
echo "  start -> first response, median ms (all rounds: miura [$(tr '\n' ' ' <"$work/t.miura")] podman+miura-oci [$(tr '\n' ' ' <"$work/t.oci")])"
echo "    miura run --detach:               $t_miura"
echo "    podman run -d --runtime miura-oci: $t_oci"
echo "    busybox httpd (a process):        $t_bb"
echo "    podman run -d --runtime runc:     $t_runc (busybox httpd)"
echo "    podman's own overhead (runc - process): $(awk -v a="$t_runc" -v b="$t_bb" 'BEGIN {print a - b}') ms;" \
    "target: podman+miura-oci <= miura run + that = $(awk -v a="$t_miura" -v b="$t_runc" -v c="$t_bb" 'BEGIN {print a + b - c}') ms"
echo "  host memory of one instance (PSS, KiB, guest 128M, after 20 requests):"
echo "    miura run: $mem_miura ($mem_miura_parts, launcher and vsockd the rest)"
echo "    podman + miura-oci: $mem_oci ($mem_oci_parts, conmon $mem_conmon, vsockd the rest);" \
    "target: <= miura run + conmon = $((mem_miura + mem_conmon))"

# ---- COUNT instances under podman
base=21000
: >"$work/start" && : >"$work/pss" && : >"$work/pss_conmon"
page=$work/page
t0=$(date +%s%N)
for i in $(seq "$COUNT"); do
    names+=("bench-$i")
    a=$(date +%s%N)
    podman run -d --name "bench-$i" --runtime "$work/runtime" --network host --memory 36m \
        --annotation "org.miura.ports=127.0.0.1:$((base + i)):80" "$IMG" >/dev/null 2>&1 ||
        { echo "bench/oci: instance $i did not start" >&2; exit 1; }
    "$ROOT/build/bin/http_first" 127.0.0.1 $((base + i)) "$a" 60 >>"$work/start"
done
t_all=$((($(date +%s%N) - t0) / 1000000))
served=0
for i in $(seq "$COUNT"); do
    curl -s -m 10 -o "$page" "http://127.0.0.1:$((base + i))/about.txt" && cmp -s "$page" examples/www/about.txt &&
        served=$((served + 1))
done
for i in $(seq "$COUNT"); do
    id=$(podman inspect -f '{{.Id}}' "bench-$i")
    cid=$(sed -n 's/.*"cid":\([0-9]*\).*/\1/p' "$STATE/$id/state.json")
    ps=($(podman inspect -f '{{.State.ConmonPid}} {{.State.Pid}}' "bench-$i") $(pgrep -f "$RT/oci-$cid/"))
    sum_pss "${ps[@]}" >>"$work/pss"
    sum_pss "${ps[0]}" >>"$work/pss_conmon"
done
total_kib=$(awk '{s += $1} END {print s}' "$work/pss")
t_stop0=$(date +%s%N)
podman stop -t 30 $(seq -f 'bench-%g' "$COUNT") >/dev/null 2>&1
podman rm $(seq -f 'bench-%g' "$COUNT") >/dev/null 2>&1
t_stop=$((($(date +%s%N) - t_stop0) / 1000000))
left=$(($(pgrep -f "$RT/" | wc -l) + $(find "$RT" -mindepth 1 | wc -l) + $(find "$STATE" -name state.json | wc -l)))
echo "  $COUNT instances under podman (--memory 36m: 4 MiB guests), one after another:"
echo "    all started and answering in $t_all ms; each podman run -> first response: median $(median <"$work/start") ms"
echo "    serving a page byte-exact: $served of $COUNT"
echo "    host memory per instance (PSS, median): $(median <"$work/pss") KiB (conmon $(median <"$work/pss_conmon")); all $COUNT: $((total_kib / 1024)) MiB"
echo "    podman stop + rm of all: $t_stop ms; left behind: $left"
[ "$served" = "$COUNT" ] && [ "$left" = 0 ]
