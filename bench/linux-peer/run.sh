#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Boots the Linux peer (built by bench/linux-peer/build.sh) under QEMU microvm
# with the accelerator tools/qemu-accel.sh picks, SHARE_DIR over virtio-fs.
# Usage: bench/linux-peer/run.sh MODE SHARE_DIR [HOSTPORT]
#        bench/linux-peer/run.sh          (as bench/run.sh calls it: http.sh)
#   fs    the filesystem benchmark over SHARE_DIR/big64.bin and small1k.bin:
#         prints the guest's lines ("seq ...", "small ...", "# ...") and exits.
#   http  busybox httpd serving SHARE_DIR, published on 127.0.0.1:HOSTPORT
#         (default 8090) through QEMU's user network; runs until killed.
#   info  prints what the kernel made of the machine (clocksource, CPU,
#         vulnerabilities and mitigations, memory) and exits.
# Both print "linux-peer: ready in N ms" (QEMU start -> "peer: ready" on the
# console). Environment: PEER_MEM (default 256M), PEER_TIMEOUT (seconds QEMU
# may live: fs 300, http 900), PEER_LOG (copy the console log there),
# PEER_KERNEL=bzimage (boot the bzImage, not the PVH vmlinux), PEER_CPU (the
# -cpu model; default as Miura's benchmarks: max, or host under KVM), PEER_DRYRUN=1
# (print the virtiofsd and QEMU command lines and exit).
set -eu
cd "$(dirname "$0")/../.."
[ $# -eq 0 ] && exec bash bench/linux-peer/http.sh
mode=${1:-}
share=${2:-}
port=${3:-8090}
case $mode in
fs | info) limit=${PEER_TIMEOUT:-300} ;;
http) limit=${PEER_TIMEOUT:-900} ;;
*)
    echo "usage: $0 fs|http SHARE_DIR [HOSTPORT]" >&2
    exit 2
    ;;
esac
[ -d "$share" ] || { echo "linux-peer: no directory '$share'" >&2; exit 2; }
share=$(cd "$share" && pwd)
mem=${PEER_MEM:-256M}
out=build/linux-peer
if [ ! -f "$out/vmlinuz" ] || [ ! -f "$out/initrd.gz" ] || [ "$out/initrd.gz" -ot bench/linux-peer/init ]; then
    bash bench/linux-peer/build.sh >&2
fi

# The kernel: PVH vmlinux (as Miura boots) by default, or the bzImage
# through microvm's firmware with PEER_KERNEL=bzimage.
kernel=$out/vmlinux
[ "${PEER_KERNEL:-pvh}" = bzimage ] || [ ! -f "$kernel" ] && kernel=$out/vmlinuz
accel=$(tools/qemu-accel.sh)
cmdline="console=ttyS0 quiet panic=-1 peer=$mode"
if [ "$accel" = kvm ]; then
    cpu=host,-arch-capabilities
else
    cpu=max
    # TCG: give the kernel the TSC rate (it hangs calibrating without it) and
    # keep the TSC as clocksource (the watchdog would otherwise trade it for
    # jiffies against TCG's irregular ticks, leaving a 4 ms clock).
    khz=$(awk -F: '/^cpu MHz/ {printf "%d", $2 * 1000; exit}' /proc/cpuinfo)
    [ -n "$khz" ] || { echo "linux-peer: no cpu MHz in /proc/cpuinfo" >&2; exit 1; }
    cmdline="$cmdline tsc_early_khz=$khz tsc=reliable"
fi
cpu=${PEER_CPU:-$cpu}

work=$(mktemp -d /tmp/miura-linux-peer.XXXXXX)
vpid=
qpid=
cleanup() {
    set +e
    [ -n "$qpid" ] && kill "$qpid" 2>/dev/null
    [ -n "$vpid" ] && kill "$vpid" 2>/dev/null
    wait 2>/dev/null
    [ -n "${PEER_LOG:-}" ] && [ -f "$work/console" ] && cp "$work/console" "$PEER_LOG"
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

net=()
[ "$mode" = http ] && net=(-netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$port-:80"
    -device virtio-net-device,netdev=n0)
qemu=(qemu-system-x86_64 -M microvm,acpi=on,memory-backend=mem -accel "$accel" -cpu "$cpu"
    -m "$mem" -smp 1 -nodefaults -no-user-config -display none -no-reboot
    -global virtio-mmio.force-legacy=false
    -object "memory-backend-memfd,id=mem,size=$mem,share=on"
    -chardev "socket,id=fs0,path=$work/vfs.sock" -device vhost-user-fs-device,chardev=fs0,tag=share
    "${net[@]}"
    -kernel "$kernel" -initrd "$out/initrd.gz" -append "$cmdline"
    -serial "file:$work/console")
if [ "${PEER_DRYRUN:-0}" = 1 ]; then
    echo "/usr/lib/qemu/virtiofsd --socket-path=$work/vfs.sock -o source=$share -o cache=auto"
    for a in "${qemu[@]}"; do
        case $a in *' '*) printf "'%s' " "$a" ;; *) printf '%s ' "$a" ;; esac
    done
    echo
    exit 0
fi

/usr/lib/qemu/virtiofsd --socket-path="$work/vfs.sock" -o source="$share" -o cache=auto \
    >"$work/virtiofsd.log" 2>&1 &
vpid=$!
for _ in $(seq 200); do [ -S "$work/vfs.sock" ] && break; sleep 0.025; done
[ -S "$work/vfs.sock" ] || { echo "linux-peer: virtiofsd did not start" >&2; cat "$work/virtiofsd.log" >&2; exit 1; }

t0=$(date +%s%N)
timeout -k 2 "$limit" "${qemu[@]}" </dev/null >"$work/qemu.log" 2>&1 &
qpid=$!
: >"$work/console"
ready=
end=$((t0 + limit * 1000000000))
while [ "$(date +%s%N)" -lt "$end" ]; do
    if [ -z "$ready" ] && grep -q '^peer: ready' "$work/console"; then
        ready=$((($(date +%s%N) - t0) / 1000000))
        echo "linux-peer: ready in $ready ms ($mode, $accel, -m $mem, $(basename "$kernel"))"
        [ "$mode" = http ] && break
    fi
    grep -q '^peer: \(error\|fs done\)' "$work/console" && break
    kill -0 "$qpid" 2>/dev/null || break
    sleep 0.01
done
if grep -q '^peer: error' "$work/console" || [ -z "$ready" ]; then
    echo "linux-peer: failed; console:" >&2
    tail -n 20 "$work/console" "$work/qemu.log" >&2
    exit 1
fi
if [ "$mode" = info ]; then
    sed -n '/^peer: ready/,/^peer: fs done/p' "$work/console" | tr -d '\r'
    exit 0
fi
if [ "$mode" = fs ]; then
    grep -q '^peer: fs done' "$work/console" || { echo "linux-peer: fs run incomplete" >&2; tail -n 20 "$work/console" >&2; exit 1; }
    grep -E '^(seq|small|#) ' "$work/console" | tr -d '\r'
    exit 0
fi
wait "$qpid"
