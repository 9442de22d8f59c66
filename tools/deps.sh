#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Makes sure the tools a make target needs are present. As root with apt it
# installs what is missing; otherwise it names the missing packages and fails.
# Usage: tools/deps.sh test|run|bench
set -eu
want=${1:-test}
need=() # "command:package"
need+=(gcc:gcc make:make ld:binutils nm:binutils timeout:coreutils)
need+=(qemu-system-x86_64:qemu-system-x86 /usr/lib/qemu/virtiofsd:qemu-system-x86)
need+=(/usr/include/jansson.h:libjansson-dev) # miura-oci reads config.json with jansson
need+=(/usr/include/seccomp.h:libseccomp-dev) # miura-vsockd and miura-proxy confine themselves
case $want in
test) need+=(clang:clang clang-format:clang-format git:git /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a:libclang-rt-14-dev
             socat:socat curl:curl wget:wget ab:apache2-utils wrk:wrk sha256sum:coreutils
             podman:podman conmon:conmon runc:runc containerd:containerd ctr:containerd ip:iproute2
             gdb:gdb python3:python3 spin:spin) ;;
bench) need+=(wrk:wrk nginx:nginx socat:socat hyperfine:hyperfine curl:curl ab:apache2-utils
              podman:podman conmon:conmon runc:runc ip:iproute2 /bin/busybox:busybox-static) ;;
run) need+=(curl:curl) ;;
*) echo "usage: tools/deps.sh test|run|bench" >&2; exit 2 ;;
esac
missing=()
for item in "${need[@]}"; do
    cmd=${item%%:*} pkg=${item#*:}
    if [[ $cmd == /* ]]; then [ -e "$cmd" ] && continue; else command -v "$cmd" >/dev/null 2>&1 && continue; fi
    [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    exit 0
fi
echo "missing packages: ${missing[*]} (install with: sudo apt-get install ${missing[*]})" >&2
exit 1
