#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/density: many web server instances on one host. Starts COUNT instances
# (default 20) with `miura run --detach --mem 4M`, each with its own CID, share
# and port; checks that every one serves a file byte-exact; reports the time
# each start took, the host memory each instance costs (PSS of its processes:
# QEMU, virtiofsd, miura-vsockd, the launcher) and the CPU all of them use
# while idle; stops them and checks that nothing is left.
# Usage: bench/density/run.sh   (COUNT=20 IDLE_S=5)
set -eu
cd "$(dirname "$0")/../.."
COUNT=${COUNT:-20}
IDLE_S=${IDLE_S:-5}
bash tools/deps.sh bench
make --no-print-directory -s all
MIURA=build/bin/miura
work=$(mktemp -d /tmp/miura-bench-density.XXXXXX)
export MIURA_RUNTIME_DIR=$work/rt MIURA_VSOCKD=$PWD/build/bin/miura-vsockd
cleanup() {
    for i in $(seq "$COUNT"); do "$MIURA" stop "d$i" >/dev/null 2>&1 || true; done
    rm -rf "$work"
}
trap cleanup EXIT
source bench/lib.sh
mkdir -p "$work/site"
head -c 1024 /dev/urandom >"$work/site/1k.bin"
want=$(sha256sum <"$work/site/1k.bin" | cut -d' ' -f1)
base=$(free_port "$COUNT")

pss_kib() { # pid → PSS in KiB (0 if gone)
    awk '/^Pss:/ {print $2; exit}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0
}
pids_of() { # instance → its processes: the launcher (meta) and all whose arguments name its run dir
    local rd=$MIURA_RUNTIME_DIR/$1
    sed -n 's/^pid //p' "$rd/meta" 2>/dev/null
    pgrep -f "$rd/" || true
}

: >"$work/start"
t0=$(date +%s%N)
for i in $(seq "$COUNT"); do
    a=$(date +%s%N)
    "$MIURA" run --detach --name "d$i" --mem 4M --share "$work/site" \
        --publish "127.0.0.1:$((base + i)):80" --append log=0 build/apps/webserver/webserver.elf \
        >/dev/null 2>"$work/err" || { echo "bench/density: instance $i did not start: $(grep -v "accel tcg" "$work/err" | tail -2)" >&2; exit 1; }
    echo $((($(date +%s%N) - a) / 1000000)) >>"$work/start"
done
t_all=$((($(date +%s%N) - t0) / 1000000))
served=0
for i in $(seq "$COUNT"); do
    got=$(curl -s --max-time 10 "http://127.0.0.1:$((base + i))/1k.bin" | sha256sum | cut -d' ' -f1)
    [ "$got" = "$want" ] && served=$((served + 1))
done

: >"$work/qemu" && : >"$work/vfs" && : >"$work/vsd" && : >"$work/lau" && : >"$work/tot"
all_pids=()
for i in $(seq "$COUNT"); do
    q=0 v=0 s=0 l=0
    for p in $(pids_of "d$i" | sort -u); do
        k=$(pss_kib "$p")
        case $(cat "/proc/$p/comm" 2>/dev/null) in
        qemu-system-x86) q=$((q + k)) ;;
        virtiofsd) v=$((v + k)) ;;
        miura-vsockd) s=$((s + k)) ;;
        *) l=$((l + k)) ;;
        esac
        all_pids+=("$p")
    done
    echo $q >>"$work/qemu"
    echo $v >>"$work/vfs"
    echo $s >>"$work/vsd"
    echo $l >>"$work/lau"
    echo $((q + v + s + l)) >>"$work/tot"
done
ticks() { for p in "${all_pids[@]}"; do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null; done | awk '{s += $1} END {print s + 0}'; }
c0=$(ticks)
sleep "$IDLE_S"
c1=$(ticks)
hz=$(getconf CLK_TCK)

for i in $(seq "$COUNT"); do "$MIURA" stop "d$i" >/dev/null 2>&1 || true; done
sleep 0.5
left=$(pgrep -f "$MIURA_RUNTIME_DIR/" | wc -l)

echo "bench/density: $COUNT web server instances, --mem 4M each, accelerator $(tools/qemu-accel.sh) ($(date -u +%F))"
echo "  started one after another in $t_all ms; each start (to its first answered request): median $(median <"$work/start") ms"
echo "  serving a 1 KiB file byte-exact: $served of $COUNT"
echo "  host memory per instance (PSS, KiB, median): total $(median <"$work/tot"): QEMU $(median <"$work/qemu"), virtiofsd $(median <"$work/vfs"), miura-vsockd $(median <"$work/vsd"), launcher $(median <"$work/lau")"
echo "  all $COUNT idle for $IDLE_S s: $(awk -v t=$((c1 - c0)) -v hz="$hz" -v s="$IDLE_S" 'BEGIN {printf "%.1f", 100 * t / hz / s}')% of one CPU in total"
echo "  processes left after stopping all: $left"
[ "$served" = "$COUNT" ] && [ "$left" = 0 ]
