#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The Filesystem unit over virtio-fs, against Debian's virtiofsd: checksummed
# reads of 0 B to 16 MiB, a 1,000-entry directory, create/append/truncate/
# rename/delete checked on the host, errnos, 8 parallel readers, a host-side
# change seen after its timeout, and a read-only share giving EROFS.
SUITE=fs
source "$(dirname "$0")/lib.sh"
img=$(need_image test_fs)
VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
[ -x "$VIRTIOFSD" ] || { fail setup "$VIRTIOFSD missing (apt-get install qemu-system-x86)"; finish; }

work=$(mktemp -d /tmp/miura-fs.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    umount "$work/ro" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

share=$work/share
mkdir -p "$share/small" "$share/mid" "$share/big" "$share/par"
: >"$share/small/empty.bin"
printf 'A' >"$share/small/one.bin"
for n in 4095 4096 4097; do head -c $n /dev/urandom >"$share/small/p$n.bin"; done
head -c $((1024 * 1024 + 1)) /dev/urandom >"$share/mid/m1.bin"
head -c $((16 * 1024 * 1024)) /dev/urandom >"$share/big16.bin"
for i in $(seq 0 999); do : >"$share/big/$(printf 'f%04d.txt' "$i")"; done
for i in $(seq 0 7); do head -c $((1024 * 1024 + i * 4099)) /dev/urandom >"$share/par/p$i.bin"; done
printf 'old contents' >"$share/trunc_me.txt"
printf 'version one' >"$share/changing.txt"

# ---- the read-write share
sock=$work/vfs.sock
start_virtiofsd "$sock" "$share" || { fail virtiofsd "did not create $sock: $(cat "$sock.log")"; finish; }
out=$OUTDIR/fs.log
rm -f "$out"
mapfile -t args < <(MEM=256M qemu_base_args "$img" "fs=share"; fs_qemu_args "$sock")
timeout -k 2 240 "$QEMU" "${args[@]}" -serial "file:$out" </dev/null >"$out.qemu" 2>&1 &
qpid=$!
# Rewrite the file on the host once the guest has read it the first time.
changed=0
for _ in $(seq 2400); do
    if grep -q '^change: now' "$out" 2>/dev/null; then
        printf 'version two' >"$share/changing.txt.new" && mv "$share/changing.txt.new" "$share/changing.txt"
        changed=1
        break
    fi
    kill -0 $qpid 2>/dev/null || break
    sleep 0.1
done
wait $qpid
RC=$?
sed -i 's/\r$//' "$out"
[ "$RC" -eq 1 ] && pass status || fail status "qemu rc $RC (want 1 = guest status 0); $(tail -3 "$out")"
expect_grep done "$out" '^test_fs: done$'

for f in small/empty.bin small/one.bin small/p4095.bin small/p4096.bin small/p4097.bin mid/m1.bin big16.bin; do
    want="sum /$f $(stat -c %s "$share/$f") $(sha256sum "$share/$f" | cut -d' ' -f1)"
    grep -qxF "$want" "$out" && pass "read/$f" || fail "read/$f" "want '$want', got '$(grep "^sum /$f " "$out")'"
done
expect_grep readdir-1000 "$out" '^dir big: 1000 entries, 1000 expected names$'

# Mutations, checked on the host.
[ "$(cat "$share/new/a.txt" 2>/dev/null)" = "hello world" ] && pass create-append || fail create-append "new/a.txt is '$(cat "$share/new/a.txt" 2>&1)'"
expect_grep stat-size "$out" '^stat a.txt: size 11 regular 1$'
[ "$(stat -c %s "$share/trunc.txt" 2>/dev/null)" = 10 ] && pass ftruncate || fail ftruncate "trunc.txt size $(stat -c %s "$share/trunc.txt" 2>&1)"
expect_grep fstat-size "$out" '^fstat trunc.txt: size 10$'
expect_grep lseek-read "$out" '^read after lseek: 8 bytes$'
[ "$(cat "$share/trunc_me.txt")" = new ] && pass o-trunc || fail o-trunc "trunc_me.txt is '$(cat "$share/trunc_me.txt")'"
[ ! -e "$share/ren1.txt" ] && [ "$(cat "$share/ren2.txt" 2>/dev/null)" = R ] && pass rename || fail rename "ren1/ren2 wrong"
[ ! -e "$share/gone_dir" ] && pass rmdir || fail rmdir "gone_dir still there"
[ ! -e "$share/gone.txt" ] && pass unlink || fail unlink "gone.txt still there"
[ "$(stat -c %s "$share/sparse.txt" 2>/dev/null)" = 101 ] && [ "$(tail -c 1 "$share/sparse.txt")" = X ] && pass pwrite || fail pwrite "sparse.txt wrong"
if grep -q '^mutate: .* error' "$out"; then fail mutate-errors "$(grep -m3 '^mutate: .* error' "$out" | tr '\n' ';')"; else pass mutate-no-errors; fi

expect_grep errno-enoent "$out" '^errno missing: 2$'
expect_grep errno-enametoolong "$out" '^errno longname: 36$'
expect_grep errno-eisdir "$out" '^errno isdir: 21$'
expect_grep errno-enotdir "$out" '^errno notdir: 20$'
expect_grep errno-eexist "$out" '^errno exists: 17$'
expect_grep errno-enotempty "$out" '^errno rmdir-notempty: 39$'
expect_grep errno-ebadf "$out" '^errno badfd: 9$'
expect_grep errno-stat-enoent "$out" '^errno stat-missing: 2$'
want="dotdot /../../small/./../small/one.bin 1 $(sha256sum "$share/small/one.bin" | cut -d' ' -f1)"
grep -qxF "$want" "$out" && pass dotdot-stays-inside || fail dotdot-stays-inside "$(grep '^dotdot' "$out")"

for i in $(seq 0 7); do
    f=par/p$i.bin
    want="par /$f $(stat -c %s "$share/$f") $(sha256sum "$share/$f" | cut -d' ' -f1)"
    grep -qxF "$want" "$out" && pass "parallel/$i" || fail "parallel/$i" "$(grep "^par /$f" "$out")"
done

expect_grep change-first "$out" "^change: first read 'version one'$"
# Seen at all (the entry and attribute timeouts that make it so are
# unit-tested in test_fs_vfs); how long it took depends on the host too.
ms=$(sed -n "s/^change: read 'version two' after \([0-9]*\) ms$/\1/p" "$out")
if [ "$changed" = 1 ] && [ -n "$ms" ]; then
    echo "# host change seen after $ms ms"
    pass host-change-seen
else
    fail host-change-seen "changed=$changed, $(grep '^change: read' "$out")"
fi

# ---- a request held up by the host: the guest sleeps, QEMU uses no CPU.
# The guest says "armed", waits 2 s (the host stops virtiofsd meanwhile), says
# "requesting" and reads. The host samples QEMU's CPU over 2 s of its own
# clock once the request is out. If the host stopped virtiofsd too late (the
# reply came, "slow: done" is there), the window proves nothing: run again
# (three times at most), never judge it.
window=
for attempt in 1 2 3; do
    sock2=$work/vfs2-$attempt.sock
    start_virtiofsd "$sock2" "$share" || { fail slow-virtiofsd "$(cat "$sock2.log")"; finish; }
    out=$OUTDIR/fs-slow.log
    rm -f "$out"
    mapfile -t args < <(MEM=256M qemu_base_args "$img" "fs=share test=slow"; fs_qemu_args "$sock2")
    timeout -k 2 120 "$QEMU" "${args[@]}" -serial "file:$out" </dev/null >"$out.qemu" 2>&1 &
    tpid=$!
    while ! grep -q '^slow: armed' "$out" 2>/dev/null && kill -0 $tpid 2>/dev/null; do sleep 0.05; done
    # virtiofsd runs its workers in a child (its sandbox); stop the whole group.
    vfs_all=$(pgrep -f -- "--socket-path=$sock2" | tr '\n' ' ')
    kill -STOP $vfs_all
    while ! grep -q '^slow: requesting' "$out" 2>/dev/null && kill -0 $tpid 2>/dev/null; do sleep 0.05; done
    sleep 0.5
    qemu=$(pgrep -P "$tpid" -f qemu-system | head -1)
    hz=$(getconf CLK_TCK)
    c0=$([ -n "$qemu" ] && awk '{print $14 + $15}' "/proc/$qemu/stat")
    t0=$(date +%s%N)
    sleep 2
    c1=$([ -n "$qemu" ] && awk '{print $14 + $15}' "/proc/$qemu/stat")
    t1=$(date +%s%N)
    early=$(grep -c '^slow: done' "$out")
    kill -CONT $vfs_all
    wait $tpid
    RC=$?
    sed -i 's/\r$//' "$out"
    if [ "$early" = 0 ] && [ -n "$c0" ] && [ -n "$c1" ]; then
        window=$(((t1 - t0) / 1000000))
        break
    fi
    echo "# attempt $attempt: virtiofsd was stopped after the reply; again"
done
if [ -z "$window" ]; then
    fail blocked-request-no-cpu "three times the request was served before virtiofsd stopped"
else
    cpu_ms=$(((c1 - c0) * 1000 / hz))
    echo "# blocked request: ${cpu_ms} ms of QEMU CPU in ${window} ms"
    if grep -q '^slow: done rc=0 size 4096$' "$out" && [ $((cpu_ms * 10)) -lt "$window" ]; then
        pass blocked-request-no-cpu
    else
        fail blocked-request-no-cpu "cpu ${cpu_ms} ms in ${window} ms, $(grep '^slow' "$out" | tr '\n' ' ') rc $RC"
    fi
fi

# ---- a read-only share (a read-only bind mount in a private mount namespace)
mkdir -p "$work/ro"
ro_sock=$work/ro.sock
if start_virtiofsd "$ro_sock" "$work/ro" unshare -m sh -c \
    "mount --bind '$share' '$work/ro' && mount -o remount,bind,ro '$work/ro' && exec \"\$0\" \"\$@\""; then
    out=$OUTDIR/fs-readonly.log
    mapfile -t args < <(MEM=256M qemu_base_args "$img" "fs=share test=readonly"; fs_qemu_args "$ro_sock")
    timeout -k 2 120 "$QEMU" "${args[@]}" -serial "file:$out" </dev/null >"$out.qemu" 2>&1
    RC=$?
    sed -i 's/\r$//' "$out"
    [ "$RC" -eq 1 ] && pass readonly-status || fail readonly-status "qemu rc $RC"
    for what in rofs-create rofs-write rofs-mkdir rofs-unlink; do
        expect_grep "readonly/$what" "$out" "^errno $what: 30$"
    done
    expect_grep readonly-read "$out" "^sum /small/one.bin 1 "
else
    fail readonly-virtiofsd "$(cat "$ro_sock.log")"
fi
finish
