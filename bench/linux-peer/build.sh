#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Builds the Linux microVM peer that Miura's benchmarks compare against, from
# Debian's packages alone: the kernel that linux-image-amd64 depends on
# (unpacked with dpkg -x, never installed) and busybox-static. Produces
#   build/linux-peer/vmlinuz        the stock bzImage
#   build/linux-peer/vmlinux        the same kernel unpacked, booted by PVH
#   build/linux-peer/initrd.gz      busybox + the virtio modules + /init
# The .debs are cached in build/linux-peer/debs (never committed).
# Usage: bench/linux-peer/build.sh        (as root: apt-get download/update)
set -eu
cd "$(dirname "$0")/../.."
out=build/linux-peer
debs=$out/debs
# Modules the peer needs beyond the built-in kernel; their dependencies are
# added from each module's own .modinfo "depends=" list.
want="virtio_mmio virtio_net fuse virtiofs"

mkdir -p "$debs"
newest() { ls "$debs"/$1 2>/dev/null | sort -V | tail -n 1; }
download() { # $1: package name
    if ! (cd "$debs" && apt-get -q download "$1" >/dev/null 2>&1); then
        apt-get -q update >/dev/null
        (cd "$debs" && apt-get -q download "$1" >/dev/null)
    fi
}
kernel_pkg() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-6\.1.*-amd64$/ {print $2; exit}'
}

if [ -z "$(newest 'linux-image-6.1*-amd64_*.deb')" ]; then
    pkg=$(kernel_pkg)
    if [ -z "$pkg" ]; then
        apt-get -q update >/dev/null
        pkg=$(kernel_pkg)
    fi
    [ -n "$pkg" ] || { echo "linux-peer: no linux-image-6.1.*-amd64 behind linux-image-amd64" >&2; exit 1; }
    download "$pkg"
fi
[ -n "$(newest 'busybox-static_*.deb')" ] || download busybox-static
kdeb=$(newest 'linux-image-6.1*-amd64_*.deb')
bdeb=$(newest 'busybox-static_*.deb')
if [ ! -f "$kdeb" ] || [ ! -f "$bdeb" ]; then
    echo "linux-peer: download failed" >&2
    exit 1
fi

# Unpack (not install) both packages.
rm -rf "$out/root" "$out/initramfs"
mkdir -p "$out/root"
dpkg -x "$kdeb" "$out/root"
dpkg -x "$bdeb" "$out/root"
kver=$(ls "$out/root/lib/modules" | head -n 1)
mdir=$out/root/lib/modules/$kver
cp "$out/root/boot/vmlinuz-$kver" "$out/vmlinuz"
cp "$out/root/boot/config-$kver" "$out/config"

# A PVH-bootable vmlinux, unpacked from the bzImage: the boot header gives the
# compressed payload's place (setup_sects at 0x1f1, payload_offset and
# payload_length at 0x248/0x24c, boot protocol 2.08+); Debian compresses it
# with xz (BCJ filter, which busybox's unxz lacks, so the host's xz is used).
# The ELF carries XEN_ELFNOTE_PHYS32_ENTRY, so QEMU boots it as Miura's
# images are booted. Without xz, only the bzImage is there.
rm -f "$out/vmlinux"
u8() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
if command -v xz >/dev/null && grep -q '^CONFIG_KERNEL_XZ=y' "$out/config" &&
    grep -q '^CONFIG_PVH=y' "$out/config"; then
    setup=$(u8 "$out/vmlinuz" $((0x1f1)))
    [ "$setup" = 0 ] && setup=4
    poff=$(($((setup + 1)) * 512 + $(u32 "$out/vmlinuz" $((0x248)))))
    plen=$(u32 "$out/vmlinuz" $((0x24c)))
    tail -c +$((poff + 1)) "$out/vmlinuz" | head -c "$plen" |
        xz -dc --single-stream >"$out/vmlinux.tmp" &&
        [ "$(head -c 4 "$out/vmlinux.tmp" | od -An -c | tr -d ' ')" = '177ELF' ] &&
        mv "$out/vmlinux.tmp" "$out/vmlinux"
    rm -f "$out/vmlinux.tmp"
fi

# Resolve modules in dependency order (dependencies first), skipping built-ins.
declare -A seen=()
order=()
modfile() { find "$mdir/kernel" \( -name "$1.ko" -o -name "${1//_/-}.ko" \) | head -n 1; }
add() {
    local m=$1 f d
    [ -n "${seen[$m]:-}" ] && return 0
    seen[$m]=1
    if grep -qE "/(${m}|${m//_/-})\.ko\$" "$mdir/modules.builtin"; then
        return 0
    fi
    f=$(modfile "$m")
    [ -n "$f" ] || { echo "linux-peer: module $m not in $kdeb" >&2; exit 1; }
    for d in $(grep -a -o 'depends=[A-Za-z0-9_,-]*' "$f" | head -n 1 | sed 's/^depends=//; s/,/ /g'); do
        add "$d"
    done
    order+=("$m")
}
for m in $want; do add "$m"; done

# The initramfs tree.
ir=$out/initramfs
mkdir -p "$ir"/{bin,dev,etc,proc,sys,tmp,www,lib/modules}
cp "$out/root/bin/busybox" "$ir/bin/busybox"
for a in $("$ir/bin/busybox" --list); do
    [ "$a" = busybox ] || ln -s busybox "$ir/bin/$a"
done
: >"$ir/etc/modules"
for m in "${order[@]}"; do
    cp "$(modfile "$m")" "$ir/lib/modules/$m.ko"
    echo "$m" >>"$ir/etc/modules"
done
install -m 0755 bench/linux-peer/init "$ir/init"
(cd "$ir" && find . | sort | ../root/bin/busybox cpio -o -H newc 2>/dev/null) | gzip -9 >"$out/initrd.gz"
echo "$kver" >"$out/kernel-version"
echo "linux-peer: kernel $kver ($(basename "$kdeb")), busybox $(basename "$bdeb")"
echo "linux-peer: modules ${order[*]}"
echo "linux-peer: $out/vmlinuz $(stat -c %s "$out/vmlinuz") B, $out/initrd.gz $(stat -c %s "$out/initrd.gz") B"
if [ -f "$out/vmlinux" ]; then
    echo "linux-peer: $out/vmlinux $(stat -c %s "$out/vmlinux") B (PVH)"
else
    echo "linux-peer: no PVH vmlinux (needs xz and an xz-compressed kernel); the bzImage boots instead"
fi
