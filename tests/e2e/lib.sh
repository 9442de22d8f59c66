# SPDX-License-Identifier: BSD-2-Clause
# Helpers for end-to-end tests: boot an appliance in QEMU and check what it
# did from outside. Source it; set SUITE first.
#   MACHINE=microvm|q35|pc (default microvm): the QEMU machine; on q35 and pc
#     devices are virtio-pci (VIRTIO_BUS=pci: vhost-user-fs-$VIRTIO_BUS),
#     SUITE becomes SUITE@MACHINE and logs go to build/e2e/MACHINE.
#   VIRTIO_OPTS: appended to the suites' own virtio devices (",vectors=0":
#     virtio-pci devices without MSI-X, so the guest takes INTx).
#   boot_image IMAGE OUT [APPEND] [TIMEOUT] [extra qemu args...]
#     runs QEMU under `timeout -k`, serial console to OUT; sets RC (QEMU's
#     exit code) and STATUS (the guest's exit status, or "timeout").
#   pass NAME / fail NAME WHY / expect_grep NAME FILE PATTERN / finish
#   free_port [N] / free_ports N: loopback ports below 32768 (tools/ports.sh)
#   start_virtiofsd SOCKET DIR / fs_qemu_args SOCKET / vsock_dev_args SOCKET:
#     a virtio-fs share and a vsock device (miura-vsockd), for suites that boot
#     QEMU themselves
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$ROOT/tools/ports.sh"
ACCEL=${MIURA_ACCEL:-$("$ROOT/tools/qemu-accel.sh")}
QEMU=${QEMU:-qemu-system-x86_64}
OUTDIR=${OUTDIR:-$ROOT/build/e2e}
mkdir -p "$OUTDIR"
FAILED=0
MACHINE=${MACHINE:-microvm}
case $MACHINE in
microvm) MACHINE_ARG=microvm,acpi=off VIRTIO_BUS=device ;;
q35 | pc) MACHINE_ARG=$MACHINE VIRTIO_BUS=pci SUITE=${SUITE:-e2e}@$MACHINE ;;
*) echo "not ok - ${SUITE:-e2e}/setup: MACHINE=$MACHINE (want microvm, q35 or pc)" && exit 1 ;;
esac
VIRTIO_OPTS=${VIRTIO_OPTS:-}
[ "$MACHINE" = microvm ] || { OUTDIR=$OUTDIR/$MACHINE && mkdir -p "$OUTDIR"; }
command -v "$QEMU" >/dev/null || { echo "not ok - ${SUITE:-e2e}/setup: $QEMU not found (apt-get install qemu-system-x86)"; exit 1; }

qemu_base_args() { # IMAGE APPEND
    local cpu=max accel=$ACCEL
    [ "$ACCEL" = kvm ] && cpu=host,-arch-capabilities
    # TCG with several vCPUs: one host thread each (issue 12's test setting)
    [ "$ACCEL" = tcg ] && [ "${CPUS:-1}" -gt 1 ] && accel=tcg,thread=multi
    printf '%s\n' -M "$MACHINE_ARG" -accel "$accel" -cpu "$cpu" -m "${MEM:-128M}" \
        -smp "${CPUS:-1}" -nodefaults -no-user-config -display none -no-reboot \
        -kernel "$1" -append "$2"
    [ -n "${NO_EXIT_DEVICE:-}" ] || printf '%s\n' -device isa-debug-exit,iobase=0xf4,iosize=4
}

boot_image() {
    local image=$1 out=$2 append=${3:-} tmo=${4:-60}
    shift 4 2>/dev/null || shift $#
    local args
    mapfile -t args < <(qemu_base_args "$image" "$append")
    timeout -k 2 "$tmo" "$QEMU" "${args[@]}" -serial "file:$out" "$@" </dev/null >"$out.qemu" 2>&1
    RC=$?
    sed -i 's/\r$//' "$out" 2>/dev/null # the console writes CR LF
    if [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then
        STATUS=timeout
    elif [ $((RC % 2)) -eq 1 ]; then
        STATUS=$(((RC - 1) / 2))
    else
        STATUS="qemu-exit-$RC"
    fi
}

pass() { echo "ok - $SUITE/$1"; }
fail() {
    echo "not ok - $SUITE/$1: $2"
    FAILED=1
}
# expect_grep NAME FILE PATTERN (extended regex): passes when a line matches.
expect_grep() {
    if grep -qE -- "$3" "$2"; then pass "$1"; else fail "$1" "no line matching /$3/ in $2"; fi
}
expect_status() { # NAME WANT
    if [ "$STATUS" = "$2" ]; then pass "$1"; else fail "$1" "guest status $STATUS, want $2 (qemu rc $RC)"; fi
}
finish() { exit "$FAILED"; }
# check_cmd NAME WANT_RC WANT_FIRST_STDERR_LINE cmd...: the exit status and
# the first line of standard error, exactly (the command bounded to 60 s).
check_cmd() {
    local name=$1 want_rc=$2 want_err=$3 rc first err
    shift 3
    err=$(mktemp)
    timeout -k 2 60 "$@" >/dev/null 2>"$err"
    rc=$?
    first=$(head -1 "$err")
    rm -f "$err"
    if [ "$rc" = "$want_rc" ] && [ "$first" = "$want_err" ]; then
        pass "$name"
    else
        fail "$name" "exit $rc (want $want_rc), stderr '$first' (want '$want_err')"
    fi
}

# Waits (bounded) until FILE has a line matching PATTERN.
wait_grep() { # FILE PATTERN SECONDS
    local i
    for ((i = 0; i < $3 * 20; i++)); do
        grep -qE -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}
# Whether pid runs (a zombie does not: this machine's init may reap late).
# One read of its stat: a process reaped between two reads must not count as running.
running() {
    local st
    st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $st && $st != *") Z "* && $st != *") X "* ]]
}
# Whether the identity lock of UID is still ours to release: its file
# (/run/miura-ids, host-wide) exists and no one holds it. A file another
# instance holds is not a leftover: the ids are shared with every run on
# the host, and a released slot is the lowest free one again at once.
id_lock_stale() { # UID
    local fd r=1
    { exec {fd}<"/run/miura-ids/id-$1.lock"; } 2>/dev/null || return 1
    flock -n "$fd" && r=0
    exec {fd}<&-
    return $r
}
# The pid of the launcher of instance NAME (from its meta file under $MIURA_RUNTIME_DIR).
launcher_pid() { sed -n 's/^pid //p' "$MIURA_RUNTIME_DIR/$1/meta" 2>/dev/null; }
# The virtiofsd processes of instance NAME: its launcher's child and that
# one's sandboxed child (virtiofsd gets its socket as a descriptor, so its
# command line does not name the instance).
virtiofsd_of() {
    local v
    for v in $(pgrep -P "$(launcher_pid "$1")" -x virtiofsd); do
        echo "$v"
        pgrep -P "$v" -x virtiofsd
    done
}
# The mount points process PID sees, sorted, on one line (QEMU's private view:
# docs/security.md; the expected set is "/ /dev/null /dev/urandom /dev/zero
# /proc /usr", with /dev/kvm under KVM).
view_mounts() { awk '{print $5}' "/proc/$1/mountinfo" 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//'; }
qemu_view_want() { # ACCEL
    if [ "$1" = kvm ]; then echo "/ /dev/kvm /dev/null /dev/urandom /dev/zero /proc /usr"; else echo "/ /dev/null /dev/urandom /dev/zero /proc /usr"; fi
}
# The directory of PID's cgroup in the hierarchy that holds controller CTRL
# (a v1 hierarchy of its own, else the v2 tree if it has CTRL), or nothing.
cgroup_dir_of() { # PID CTRL
    local m p
    m=$(awk -v c="$2" '{ for (i = 7; $i != "-"; i++); if ($(i + 1) == "cgroup") { n = split($(i + 3), o, ",");
        for (k = 1; k <= n; k++) if (o[k] == c) { print $5; exit } } }' /proc/self/mountinfo)
    if [ -n "$m" ]; then
        p=$(awk -F: -v c="$2" '{ n = split($2, o, ","); for (k = 1; k <= n; k++) if (o[k] == c) print $3 }' "/proc/$1/cgroup")
    else
        m=$(awk '{ for (i = 7; $i != "-"; i++); if ($(i + 1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo)
        [ -n "$m" ] && grep -qw "$2" "$m/cgroup.controllers" 2>/dev/null || return 0
        p=$(sed -n 's/^0:://p' "/proc/$1/cgroup")
    fi
    [ -n "$p" ] && echo "$m$p"
}

# A virtio-fs share (fs.sh, smp.sh): virtiofsd serving DIR at SOCKET, its
# pid added to the suite's pids array (which it kills on exit); false if the
# socket did not appear (its log is SOCKET.log). The QEMU arguments for a
# device with tag "share" at SOCKET, with the 256 MiB of shared guest
# memory (MEM=256M) vhost-user devices need.
start_virtiofsd() { # SOCKET DIR [wrapper...]
    local sock=$1 dir=$2
    shift 2
    "$@" "${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}" --socket-path="$sock" -o source="$dir" -o cache=auto \
        >"$sock.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1200); do [ -S "$sock" ] && return 0; sleep 0.05; done # 60 s at least
    return 1
}
fs_qemu_args() { # SOCKET
    printf '%s\n' -global virtio-mmio.force-legacy=false \
        -object memory-backend-memfd,id=mem,size=256M,share=on -machine memory-backend=mem \
        -chardev "socket,id=fs0,path=$1" -device vhost-user-fs-$VIRTIO_BUS,chardev=fs0,tag=share$VIRTIO_OPTS
}
# A vsock device backed by miura-vsockd's vhost-user SOCKET; add it after
# fs_qemu_args, whose shared memory it uses too.
vsock_dev_args() { # SOCKET
    printf '%s\n' -chardev "socket,id=vs0,path=$1" -device vhost-user-vsock-$VIRTIO_BUS,chardev=vs0$VIRTIO_OPTS
}

# For tests that run miura (MIURA, MIURA_RUNTIME_DIR, work, bg set): on exit,
# stop every instance under the runtime base, end the background jobs in bg,
# kill what still has the runtime base in its command line (ours), call
# cleanup_more if the test defines it, and remove $work.
miura_cleanup() {
    local d p
    for d in "$MIURA_RUNTIME_DIR"/*/; do
        [ -f "$d/meta" ] && timeout 30 "$MIURA" stop "$(basename "$d")" >/dev/null 2>&1
    done
    for p in "${bg[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    for p in $(pgrep -f "$MIURA_RUNTIME_DIR/" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    declare -F cleanup_more >/dev/null && cleanup_more
    rm -rf "$work"
}

# Images are built by `make`; a missing one is a failure, not a skip.
need_image() {
    local img=$ROOT/build/apps/$1/$1.elf
    [ -f "$img" ] || { fail "image-$1" "$img missing (run make)"; finish; }
    echo "$img"
}
