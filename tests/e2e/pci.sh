#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# virtio-pci (issue 13): the fs, vsock and web server suites again on QEMU
# q35 (ECAM from the MCFG, MSI-X), fs and the web server on pc (ports
# 0xCF8/0xCFC; fs with devices that have no MSI-X, so interrupts are INTx
# through the IOAPIC), a legacy-only virtio device refused with one line,
# the launcher refusing an image whose transport the machine lacks, and
# the CPU list read from ACPI's MADT.
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
