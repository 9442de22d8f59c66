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
#   2. host memory of one instance (PSS and USS of all its processes): miura
#      run (launcher, QEMU, virtiofsd, miura-vsockd) vs podman (conmon,
#      miura-oci's supervisor, QEMU, virtiofsd, miura-vsockd), both running at
#      once, after 20 requests each.
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
# PSS (shared pages split among their users) and USS (pages only this process has), KiB.
pss_kib() { awk '/^Pss:/ {print $2; exit}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
uss_kib() { awk '/^Private_(Clean|Dirty):/ {s += $2} END {print s + 0}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
sum_pss() { local s=0 p; for p in "$@"; do s=$((s + $(pss_kib "$p"))); done; echo "$s"; }
sum_uss() { local s=0 p; for p in "$@"; do s=$((s + $(uss_kib "$p"))); done; echo "$s"; }
# "PSS/USS" of a list of pids
mem() { echo "$(sum_pss "$@")/$(sum_uss "$@")"; }
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
    "$MIURA" stop bench-m >/dev/null

    # podman + miura-oci
    names+=(bench-o)
    first_response "$NS-oci" >"$work/fr" &
    frpid=$!
    podman run -d --name bench-o --runtime "$work/runtime" --network "ns:/run/netns/$NS-oci" \
        "${ULIMITS[@]}" "$IMG" >/dev/null 2>&1
    wait "$frpid"
    cat "$work/fr" >>"$work/t.oci"
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

# ---- host memory: one instance of each, up at the same time (so that the
# pages they share with each other and with other processes split alike)
ip netns exec "$NS-miura" "$MIURA" run --detach --name bench-m --share examples/www \
    --publish 127.0.0.1:80:80 build/apps/webserver/webserver >/dev/null 2>&1
podman run -d --name bench-o --runtime "$work/runtime" --network "ns:/run/netns/$NS-oci" \
    "${ULIMITS[@]}" "$IMG" >/dev/null 2>&1
first_response "$NS-miura" >/dev/null && first_response "$NS-oci" >/dev/null
load "$NS-miura"
load "$NS-oci"
id=$(podman inspect -f '{{.Id}}' bench-o)
cid=$(sed -n 's/.*"cid":\([0-9]*\).*/\1/p' "$STATE/$id/state.json")
read -r conmon sup < <(podman inspect -f '{{.State.ConmonPid}} {{.State.Pid}}' bench-o)
launcher=$(sed -n 's/^pid //p' "$RT/bench-m/meta")
dir_m=$RT/bench-m/ dir_o=$RT/oci-$cid/
part() { pgrep -f "^[^ ]*$2 .*$1"; } # DIR PROGRAM-REGEX: an instance's processes of one program
# QEMU: the launcher's or the supervisor's child (as root it runs under the
# instance's identity with its kernel and sockets as descriptors, so its
# command line names no path of ours).
qemu_of() { pgrep -P "$1" -f '^[^ ]*qemu-system'; } # PARENT
pq_m=$(qemu_of "$launcher") pq_o=$(qemu_of "$sup")
qemu_m=$(mem $pq_m) qemu_o=$(mem $pq_o)
vfs_m=$(mem $(part "$dir_m" virtiofsd)) vfs_o=$(mem $(part "$dir_o" virtiofsd))
vsd_m=$(mem $(part "$dir_m" miura-vsockd)) vsd_o=$(mem $(part "$dir_o" miura-vsockd))
all_m=($launcher $pq_m $(part "$dir_m" '(virtiofsd|miura-vsockd)'))
all_o=($conmon $sup $pq_o $(part "$dir_o" '(virtiofsd|miura-vsockd)'))
mem_m=$(mem "${all_m[@]}") mem_o=$(mem "${all_o[@]}") mem_conmon=$(mem "$conmon")
mem_launcher=$(mem "$launcher") mem_sup=$(mem "$sup")
"$MIURA" stop bench-m >/dev/null
"$MIURA" rm bench-m >/dev/null # its kept logs (a detached run keeps them for miura logs)
podman rm -f -t 10 bench-o >/dev/null 2>&1

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
echo "  host memory of one instance, both up at once (KiB, PSS/USS; guest 128M, after 20 requests):"
echo "    miura run:          $mem_m: QEMU $qemu_m, virtiofsd $vfs_m, miura-vsockd $vsd_m, launcher $mem_launcher"
echo "    podman + miura-oci: $mem_o: QEMU $qemu_o, virtiofsd $vfs_o, miura-vsockd $vsd_o, supervisor $mem_sup, conmon $mem_conmon"
echo "    target: podman + miura-oci <= miura run + conmon = $((${mem_m%/*} + ${mem_conmon%/*}))/$((${mem_m#*/} + ${mem_conmon#*/}))"

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
    ps+=($(qemu_of "${ps[1]}"))
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
[ "$left" = 0 ] || echo "    left: $(pgrep -af "$RT/" | cut -c1-80 | tr '\n' ' ') $(find "$RT" "$STATE" -mindepth 1 | tr '\n' ' ')"
[ "$served" = "$COUNT" ] && [ "$left" = 0 ]
