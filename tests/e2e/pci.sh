#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# virtio-pci (issue 13): the fs, vsock and web server suites again on QEMU
# q35 (ECAM from the MCFG, MSI-X), fs and the web server on pc (ports
# 0xCF8/0xCFC; fs with devices that have no MSI-X, so interrupts are INTx
# through the IOAPIC), a legacy-only virtio device refused with one line,
# the launcher refusing an image whose transport the machine lacks, the
# CPU list read from ACPI's MADT, and two queues of one device interrupting
# two CPUs (MSI-X, irq_cpu.NAME.QUEUE=).
SUITE=pci
source "$(dirname "$0")/lib.sh"
dir=$(dirname "$0")
MIURA=$ROOT/build/bin/miura
[ -x "$MIURA" ] || { fail setup "$MIURA missing (run make)"; finish; }
mmio_img=$(need_image webserver)
pci_img=$(need_image webserver_pci)
fs_img=$(need_image test_fs)

# ---- the launcher matches image and machine (the image's transports note)
out=$("$MIURA" run --machine q35 --dry-run "$mmio_img" 2>&1)
rc=$?
[ $rc -eq 125 ] && [[ $out == *"has no virtio-pci transport, which --machine q35 needs"* ]] &&
    pass refuse-mmio-image-on-q35 || fail refuse-mmio-image-on-q35 "rc $rc: $out"
out=$("$MIURA" run --dry-run "$pci_img" 2>&1)
rc=$?
[ $rc -eq 125 ] && [[ $out == *"has no virtio-mmio transport, which --machine microvm needs"* ]] &&
    pass refuse-pci-image-on-microvm || fail refuse-pci-image-on-microvm "rc $rc: $out"
out=$("$MIURA" run --machine pc --dry-run --share /tmp "$pci_img" 2>&1)
[[ $out == *" -M pc,memory-backend=mem "*"-device vhost-user-fs-pci,chardev=fs0,tag=share "*"-device vhost-user-vsock-pci,chardev=vs0 "* ]] &&
    pass dry-run-pc || fail dry-run-pc "$out"

# ---- a legacy-only device is refused with one line; the modern one beside
# it (no driver in this image) is left alone quietly; the guest goes on.
out=$OUTDIR/pci-legacy.log
MACHINE_ARG=q35 boot_image "$fs_img" "$out" "fs=share test=readonly" 120 \
    -device virtio-rng-pci,disable-modern=on,disable-legacy=off -device virtio-rng-pci
expect_grep legacy-refused "$out" \
    '^virtio-pci 00:0[0-9a-f]\.0: legacy-only device \(virtio id 4\) left alone; Miura drives virtio 1\.x devices only$'
[ "$(grep -c 'virtio-pci' "$out")" -eq 1 ] && pass legacy-one-line || fail legacy-one-line "$(grep virtio-pci "$out")"
expect_grep legacy-guest-goes-on "$out" "^virtio-fs: no device with tag 'share'"
[ "$STATUS" != timeout ] && ! grep -q 'crash\|panic' "$out" && pass legacy-no-crash ||
    fail legacy-no-crash "status $STATUS; $(tail -3 "$out")"

# ---- the CPU list from ACPI's MADT (q35 has no MP table under PVH): three
# CPUs listed there, all three started
out=$OUTDIR/pci-madt.log
MACHINE_ARG=q35 CPUS=3 boot_image "$(need_image hello_pci)" "$out" "" 120
expect_status madt-status 0
expect_grep madt-listed "$out" '^acpi: 3 CPUs in the MADT$'
expect_grep madt-online "$out" '^smp: 3 CPUs online$'

# ---- two queues of one device on two CPUs (MSI-X: a vector per queue):
# the web server on q35 with 3 CPUs, vsock's rx queue (0) to CPU 1, its tx
# queue (1) to CPU 2, the rest to CPU 0. The stats line counts vsock's
# interrupts by CPU: none on CPU 0, some on 1 and 2. Tx completions
# interrupt while the ring is busy (a large download fills it); a few
# downloads at most, until CPU 2 has counted one.
work=$(mktemp -d /tmp/miura-pci.XXXXXX)
trap '"$MIURA" stop pciirq >/dev/null 2>&1; rm -rf "$work"' EXIT
export MIURA_RUNTIME_DIR=$work/rt MIURA_VSOCKD=$ROOT/build/bin/miura-vsockd
mkdir -p "$work/site"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$work/site/m4.bin"
for _ in $(seq "$PORT_TRIES"); do
    port=$(free_port) || break
    timeout -k 2 120 "$MIURA" run --machine q35 --cpus 3 --detach --name pciirq --share "$work/site" \
        --publish "127.0.0.1:$port:80" --append log=0 --append stats=1 \
        --append 'irq_cpu.vsock.0=1 irq_cpu.vsock.1=2' "$pci_img" >"$work/start" 2>&1 && break
    grep -q 'Address already in use' "$work/start" || break
done
if grep -q "^serving http://127.0.0.1:$port" "$work/start"; then
    con=$work/rt/pciirq/console.log
    expect_grep irq-queue-0-line "$con" "^virtio-vsock: queue 0's interrupts to CPU 1([^0-9]|$)"
    expect_grep irq-queue-1-line "$con" "^virtio-vsock: queue 1's interrupts to CPU 2([^0-9]|$)"
    want='interrupts.* vsock 0/[1-9][0-9]*/[1-9][0-9]*( |$)'
    line=
    for try in 1 2 3 4 5; do
        seen=$(wc -l <"$con")
        curl -s --max-time 120 -o "$work/got" "http://127.0.0.1:$port/m4.bin"
        if [ $try = 1 ]; then
            cmp -s "$work/got" "$work/site/m4.bin" && pass irq-queues-serve || fail irq-queues-serve "m4.bin differs"
        fi
        for _ in $(seq 30); do # the first stats line after the download (one a second)
            # a complete line (CR LF ended), not one being written
            line=$(tail -n +$((seen + 1)) "$con" | grep -a $'^webserver: stats: 0 connections.*\r$' | tail -1 | tr -d '\r')
            [ -n "$line" ] && break
            sleep 1
        done
        [[ $line =~ $want ]] && break
    done
    [[ $line =~ $want ]] && pass irq-queues-counts || fail irq-queues-counts "stats: ${line:-none}"
    timeout 60 "$MIURA" stop pciirq >/dev/null 2>&1 || fail irq-queues-stop "miura stop failed"
else
    fail irq-queues-start "$(tail -3 "$work/start" | tr '\n' ' ')"
fi
unset MIURA_RUNTIME_DIR MIURA_VSOCKD

# ---- the suites, on the PCI machines
suite() { # MACHINE SCRIPT [VIRTIO_OPTS]
    MACHINE=$1 VIRTIO_OPTS=${3:-} bash "$dir/$2.sh"
    local rc=$?
    [ $rc -eq 0 ] || fail "$2@$1" "the suite exited with status $rc"
}
suite q35 fs
suite q35 vsock
suite q35 webserver
suite pc fs ,vectors=0
suite pc webserver
finish
