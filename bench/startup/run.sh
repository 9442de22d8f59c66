#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/startup: where `miura run` -> first response goes, against the floor.
#
# Each round, one after another (machine noise hits them alike):
#   floor   QEMU start -> exit of the `floor` image (an image that exits at
#           once), QEMU's options as `miura run` gives them, no devices;
#   miura   `miura run --share --publish` of the web server until it prints
#           "serving" (its published port answered a real HTTP request), with
#           MIURA_START_TRACE=1: when each start step ended (docs/launcher.md);
#   base    the same with the launcher named by MIURA_BASE (optional: another
#           build of miura, e.g. main's, for a before/after in one run);
#   unconfined  this launcher with --unconfined (UNCONFINED=0: not run): what
#           the confinement (own uid, cgroup, namespaces, QEMU's -sandbox)
#           costs on the way to the first response.
# Prints medians; the target (issue 11) is miura <= floor + 15 ms.
#
#   ROUNDS=9 bash bench/startup/run.sh
#   MIURA_BASE=/path/to/other/build/bin/miura ROUNDS=9 bash bench/startup/run.sh
set -u
cd "$(dirname "$0")/../.."
source bench/lib.sh
ROUNDS=${ROUNDS:-9}
MIURA=build/bin/miura
make --no-print-directory -s build/apps/floor/floor build/apps/webserver/webserver "$MIURA" \
    build/bin/miura-vsockd >/dev/null || exit 1
ACCEL=$(tools/qemu-accel.sh)
CPU=max
[ "$ACCEL" = kvm ] && CPU=host,-arch-capabilities
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/site"
echo "hello" >"$work/site/index.html"
port=$(free_port)

floor_once() {
    local a
    a=$(date +%s%N)
    timeout -k 2 60 qemu-system-x86_64 -M microvm,acpi=off -accel "$ACCEL" -cpu "$CPU" -m 128M \
        -smp 1 -nodefaults -no-user-config -display none -no-reboot \
        -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel build/apps/floor/floor.elf \
        </dev/null >/dev/null 2>&1
    echo $((($(date +%s%N) - a) / 1000))
}

# miura_once LAUNCHER TAG [OPTION]: microseconds to "serving"; the trace line to $work/trace-TAG
miura_once() {
    local a line
    a=$(date +%s%N)
    MIURA_START_TRACE=1 timeout -k 2 120 "$1" run ${3:+"$3"} --name "bench-startup-$2" --share "$work/site" \
        --publish "127.0.0.1:$port:80" --append log=0 build/apps/webserver/webserver 2>&1 |
        while IFS= read -r line; do
            case $line in
            serving*)
                echo $((($(date +%s%N) - a) / 1000)) >>"$work/$2"
                "$1" stop "bench-startup-$2" >/dev/null
                ;;
            *"start (ms):"*) echo "${line#*start (ms): }" >>"$work/trace-$2" ;;
            esac
        done
}

tags=(miura)
[ -n "${MIURA_BASE:-}" ] && tags+=(base)
[ "${UNCONFINED:-1}" = 1 ] && tags+=(unconfined)
for _ in $(seq "$ROUNDS"); do
    floor_once >>"$work/floor"
    miura_once "$MIURA" miura
    [ -n "${MIURA_BASE:-}" ] && miura_once "$MIURA_BASE" base
    [ "${UNCONFINED:-1}" = 1 ] && miura_once "$MIURA" unconfined --unconfined
done

ms() { awk '{printf "%.1f", $1 / 1000}'; }
f=$(median <"$work/floor")
echo "bench/startup: median of $ROUNDS, accelerator $ACCEL ($(date -u +%F))"
printf '  %-44s %10s ms\n' "QEMU start -> exit, floor image" "$(echo "$f" | ms)"
for t in "${tags[@]}"; do
    m=$(median <"$work/$t")
    printf '  %-44s %10s ms  (floor + %s ms; target floor + 15)\n' \
        "$t: miura run -> first response served" "$(echo "$m" | ms)" "$(awk -v m="$m" -v f="$f" 'BEGIN {printf "%.1f", (m - f) / 1000}')"
    # The trace: "step +ms step +ms ...", each step's median.
    if [ -s "$work/trace-$t" ]; then
        for step in $(head -1 "$work/trace-$t" | tr ' ' '\n' | grep -v '^+'); do
            v=$(awk -v s="$step" '{for (i = 1; i < NF; i++) if ($i == s) print substr($(i + 1), 2)}' \
                "$work/trace-$t" | median)
            printf '    %-42s %10s ms\n' "$step ended at" "$v"
        done
    fi
done
