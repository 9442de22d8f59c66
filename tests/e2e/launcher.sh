#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The launcher, end to end: usage and one-line causes, --dry-run's exact
# command lines, real runs of hello / test_crash / test_sleep under QEMU
# (console, exit statuses, --append, --mem/--cpus, --share with virtiofsd),
# detached instances with distinct CIDs in `miura ps` and ended by `miura
# stop`, a killed QEMU or daemon, and signals. After each run: no process,
# socket, run directory or CID lock left.
SUITE=launcher
source "$(dirname "$0")/lib.sh"
MIURA=$ROOT/build/bin/miura
VSOCKD=${MIURA_VSOCKD:-$ROOT/build/bin/miura-vsockd}
VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
[ -x "$MIURA" ] || { fail setup "$MIURA missing (run make)"; finish; }
[ -x "$VSOCKD" ] || { fail setup "$VSOCKD missing (make build/bin/miura-vsockd, or set MIURA_VSOCKD)"; finish; }
[ -x "$VIRTIOFSD" ] || { fail setup "$VIRTIOFSD missing (apt-get install qemu-system-x86)"; finish; }
hello=$(need_image hello)
crash=$(need_image test_crash)
sleeper=$(need_image test_sleep)
QEMU_PATH=$(command -v "$QEMU")

work=$(mktemp -d /tmp/miura-launcher.XXXXXX)
RT=$work/rt # the launcher's runtime base: CID locks and run directories
export MIURA_RUNTIME_DIR=$RT MIURA_VSOCKD=$VSOCKD MIURA_VIRTIOFSD=$VIRTIOFSD
unset MIURA_ID_RANGE # the default range (docs/security.md)
bg=()
trap miura_cleanup EXIT
mkdir -p "$work/share"
# CPUS=N (tests/e2e/smp.sh): every run that starts a guest has N CPUs, but
# those that check --cpus themselves and the dry runs (exact command lines;
# they start nothing).
C=(--cpus "${CPUS:-1}")

# Processes (by their command lines) and files left under the runtime base.
leftovers() {
    local procs files
    procs=$(pgrep -af "$RT/" 2>/dev/null | cut -c1-120)
    files=$(cd "$RT" 2>/dev/null && find . -mindepth 1 | tr '\n' ' ')
    [ -z "$procs$files" ] || echo "processes: [$procs] files: [$files]"
}
expect_clean() { # NAME
    local l
    l=$(leftovers)
    if [ -z "$l" ]; then pass "$1"; else fail "$1" "$l"; fi
}
run_miura() { # OUT TIMEOUT args... ; sets RC, OUT (console with CR removed) and OUT.err
    local out=$1 tmo=$2
    shift 2
    timeout -k 2 "$tmo" "$MIURA" "$@" </dev/null >"$out" 2>"$out.err"
    RC=$?
    sed -i 's/\r$//' "$out"
}
# ---- usage and one-line causes
"$MIURA" --help | grep -q '^usage: miura COMMAND' && pass help || fail help "miura --help"
want="miura $(sed -n 's/^#define MIURA_VERSION "\(.*\)"$/\1/p' "$ROOT/host/common/version.h")"
[ "$("$MIURA" --version)" = "$want" ] && [ "$("$MIURA" version)" = "$want" ] && pass version ||
    fail version "miura --version: '$("$MIURA" --version 2>&1)', want '$want'"
"$MIURA" run --help | grep -q -- '--publish \[ADDR:\]HOSTPORT:GUESTPORT' && pass run-help || fail run-help "miura run --help"
"$MIURA" run >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] && pass usage-no-image || fail usage-no-image "status $rc, want 2"
for bad in "--publish 80" "--mem 1.5G" "--cid 2" "--cpus 0" "--name ../x" "--accel xen" "--bogus" \
    "--restart sometimes" "--restart on-failure:0" "--gdb 0.0.0.0:1234" "--gdb-wait" "--stop-timeout -1" \
    "--preopen 65"; do
    # shellcheck disable=SC2086
    "$MIURA" run $bad "$hello" >/dev/null 2>"$work/usage.err"
    rc=$?
    if [ $rc -eq 2 ] && head -1 "$work/usage.err" | grep -q '^miura: '; then
        pass "usage/${bad%% *}"
    else
        fail "usage/${bad%% *}" "status $rc, want 2; $(head -1 "$work/usage.err")"
    fi
done

check_cmd usage/preopen-needs-publish 2 "miura: --preopen needs --publish" "$MIURA" run --preopen 4 "$hello"

out=$work/noqemu
PATH=/nonexistent "$MIURA" run "$hello" >"$out" 2>"$out.err"
rc=$?
if [ $rc -ne 0 ] && [ "$(wc -l <"$out.err")" -eq 1 ] &&
    grep -qx 'miura: qemu-system-x86_64 not found in PATH (install it: apt-get install qemu-system-x86)' "$out.err"; then
    pass missing-qemu
else
    fail missing-qemu "status $rc; stderr: $(cat "$out.err")"
fi
MIURA_VIRTIOFSD=/nonexistent/virtiofsd "$MIURA" run --share "$work/share" "$hello" >"$out" 2>"$out.err"
rc=$?
if [ $rc -ne 0 ] && [ "$(wc -l <"$out.err")" -le 2 ] &&
    grep -q '^miura: virtiofsd not found (install it: apt-get install qemu-system-x86)$' "$out.err"; then
    pass missing-virtiofsd
else
    fail missing-virtiofsd "status $rc; stderr: $(cat "$out.err")"
fi
"$MIURA" run "$work/no-such.elf" >/dev/null 2>"$out.err"
rc=$?
[ $rc -eq 125 ] && grep -q "^miura: image $work/no-such.elf: No such file or directory$" "$out.err" &&
    pass missing-image || fail missing-image "status $rc; $(cat "$out.err")"

# Not a Miura image: said before anything starts.
echo "not an ELF" >"$work/bogus.elf"
cp /bin/true "$work/dynamic.elf"
for bad in "bogus:not an ELF file" "dynamic:not an executable ELF file (a Miura image is linked static, not PIE)"; do
    f=$work/${bad%%:*}.elf
    run_miura "$work/${bad%%:*}" 30 run "${C[@]}" "$f"
    [ $RC -eq 125 ] && [ "$(cat "$work/${bad%%:*}.err")" = "miura: image $f: not a Miura image: ${bad#*:}" ] &&
        pass "not-an-image/${bad%%:*}" || fail "not-an-image/${bad%%:*}" "status $RC: $(cat "$work/${bad%%:*}.err")"
done
expect_clean not-an-image/clean
# QEMU failing at its start (a stand-in that fails as QEMU does on a bad
# kernel): its status and last line are the cause, and nothing is left.
printf '#!/bin/sh\necho "qemu: invalid kernel header" >&2\nexit 1\n' >"$work/failing-qemu"
chmod 755 "$work/failing-qemu"
MIURA_QEMU=$work/failing-qemu run_miura "$work/qfail" 30 run "${C[@]}" "$sleeper"
[ $RC -eq 125 ] && grep -qx 'miura: qemu failed (exit 1): qemu: invalid kernel header' "$work/qfail.err" &&
    pass qemu-fails || fail qemu-fails "status $RC: $(cat "$work/qfail.err")"
expect_clean qemu-fails-clean

# ---- --dry-run prints the exact command lines and starts nothing
run_miura "$work/dry" 10 run --dry-run --accel tcg --share "$work/share" --publish 18080:80 \
    --publish 0.0.0.0:18081:81 --cid 7 --mem 256M --cpus 2 --append "a=1 b='2'" "$hello"
d=$RT/hello-7
cat >"$work/dry.want" <<EOF
$VIRTIOFSD --fd=3 -o source=$work/share -o cache=auto -o sandbox=namespace
$VSOCKD --socket $d/vhost.sock --socket-fd 5 --cid 7 --uds $d/vsock.sock --control $d/vsockd.ctl --user ID:ID --publish-fd 3:80 --publish-fd 4:81
$QEMU_PATH -M microvm,acpi=off,memory-backend=mem -accel tcg,thread=multi -cpu max -m 256M -smp 2 -global virtio-mmio.force-legacy=false -object memory-backend-memfd,id=mem,size=256M,share=on -nodefaults -no-user-config -display none -no-reboot -name hello-7,debug-threads=on -sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny -chardev stdio,id=con0,mux=on -serial chardev:con0 -device virtio-serial-device,max_ports=1 -device virtconsole,chardev=con0 -device isa-debug-exit,iobase=0xf4,iosize=4 -chardev socket,id=fs0,fd=5 -device vhost-user-fs-device,chardev=fs0,tag=share -chardev socket,id=vs0,fd=4 -device vhost-user-vsock-device,chardev=vs0 -kernel /proc/self/fd/3 -append 'fs=share a=1 b='\\''2'\\'''
EOF
# As root each instance has its own uid and gid (docs/security.md): which
# ones depends on the other instances on the host, so the line says ID:ID.
id_of_dry=$(grep -o -- '--user [0-9]*:[0-9]*' "$work/dry" | cut -d' ' -f2)
sed -i 's/--user [0-9]*:[0-9]*/--user ID:ID/' "$work/dry"
if [ $RC -eq 0 ] && diff -u "$work/dry.want" "$work/dry" >"$work/dry.diff"; then
    pass dry-run-lines
else
    fail dry-run-lines "status $RC; $(head -c 600 "$work/dry.diff")"
fi
# The QEMU line, run by a shell, is the same argv (the quoting round-trips).
eval "set -- $(tail -1 "$work/dry")"
[ "${!#}" = "fs=share a=1 b='2'" ] && pass dry-run-quoting || fail dry-run-quoting "last word '${!#}'"
expect_clean dry-run-starts-nothing
# The default range (MIURA_ID_RANGE unset, no subordinate ids of miura): uid = gid.
id_uid=${id_of_dry%%:*}
if [ -n "$id_of_dry" ] && [ "$id_uid" = "${id_of_dry#*:}" ] && [ "$id_uid" -ge 1879048192 ]; then
    pass dry-run-identity
else
    fail dry-run-identity "--user '$id_of_dry'"
fi
run_miura "$work/dry-auto" 10 run --dry-run "$hello"
want=$("$ROOT/tools/qemu-accel.sh")
if grep -q -- "-accel $want " "$work/dry-auto" && grep -qE "^miura: accel $want: /dev/kvm " "$work/dry-auto.err"; then
    pass accel-auto-says-why
else
    fail accel-auto-says-why "want $want; $(cat "$work/dry-auto.err") $(grep -o -- '-accel [a-z]*' "$work/dry-auto")"
fi
grep -q -- "--socket $RT/hello-3/vhost.sock " "$work/dry-auto" &&
    pass dry-run-default-cid || fail dry-run-default-cid "$(tail -1 "$work/dry-auto")"

# ---- real runs
run_miura "$work/hello" 60 run "${C[@]}" "$hello"
[ $RC -eq 0 ] && pass hello/status || fail hello/status "status $RC: $(tail -2 "$work/hello.err")"
expect_grep hello/console "$work/hello" '^Hello from Miura!$'
expect_clean hello/clean

run_miura "$work/hello-sized" 60 run --mem 96M --cpus 2 "$hello"
expect_grep mem-cpus/cpus "$work/hello-sized" '^cpus: 2$'
kib=$(sed -n 's/^memory: \([0-9]*\) KiB$/\1/p' "$work/hello-sized")
[ -n "$kib" ] && [ "$kib" -gt $((95 * 1024)) ] && [ "$kib" -le $((96 * 1024)) ] &&
    pass mem-cpus/memory || fail mem-cpus/memory "memory '${kib:-missing}' KiB for --mem 96M"

run_miura "$work/crash" 60 run "${C[@]}" --append crash=divide "$crash"
[ $RC -eq 100 ] && pass append-crash/status || fail append-crash/status "status $RC, want 100"
expect_grep append-crash/report "$work/crash" 'CRASH: divide error \(vector 0,'
# The console comes through the launcher, which names the report's addresses.
expect_grep append-crash/named "$work/crash" '^      #0 0x[0-9a-f]{16} crash_divide(\.[a-z0-9.]+)?\+0x[0-9a-f]+$'
expect_grep append-crash/caller-named "$work/crash" '^ +(#[1-9]|called from) 0x[0-9a-f]{16} main\+0x[0-9a-f]+$'
expect_clean append-crash/clean

run_miura "$work/status" 60 run "${C[@]}" --append "sleep=0 status=42" "$sleeper"
[ $RC -eq 42 ] && pass guest-status || fail guest-status "status $RC, want 42"

# --share: virtiofsd runs while the guest does, and is gone after. "While":
# between the guest's "sleep: up" and "sleep: done" lines; a host so slow
# that the guest was done before the check runs it again (three times at
# most), never judges it.
for attempt in 1 2 3; do
    timeout -k 2 180 "$MIURA" run "${C[@]}" --name shared --share "$work/share" --append "sleep=4" "$sleeper" \
        </dev/null >"$work/share.out" 2>"$work/share.err" &
    mpid=$!
    bg+=("$mpid")
    if ! wait_grep "$work/share.out" '^sleep: up' 60; then
        fail share/guest-up "$(cat "$work/share.err")"
        break
    fi
    vpid=$(virtiofsd_of shared)
    [ -S "$RT/shared/fs.sock" ] || vpid=
    if grep -q '^sleep: done' "$work/share.out" && [ -z "$vpid" ]; then
        wait $mpid
        echo "# attempt $attempt: the guest was done before the check; again"
        continue
    fi
    [ -n "$vpid" ] && pass share/virtiofsd-running || fail share/virtiofsd-running "no virtiofsd child of the launcher of 'shared'"
    expect_grep share/cmdline "$work/share.out" $'^arg: fs=share\r?$'
    break
done
wait $mpid
rc=$?
[ $rc -eq 0 ] && pass share/status || fail share/status "status $rc: $(cat "$work/share.err")"
expect_clean share/clean
run_miura "$work/share-hello" 60 run "${C[@]}" --share "$work/share" "$hello"
[ $RC -eq 0 ] && grep -q '^Hello from Miura!$' "$work/share-hello" && pass share/hello ||
    fail share/hello "status $RC: $(cat "$work/share-hello.err")"
expect_clean share/hello-clean

# A published port that is taken: miura cannot listen on it, and that is the cause.
python3 -c 'import random, socket, sys, time
s = socket.socket()
while True:  # a port below the ephemeral range that nobody holds
    try:
        s.bind(("127.0.0.1", random.randrange(10000, 32768))); break
    except OSError:
        pass
s.listen()
print(s.getsockname()[1], flush=True); time.sleep(120)' >"$work/taken" &
tpid=$!
bg+=("$tpid")
wait_grep "$work/taken" '^[0-9]+$' 60
port=$(cat "$work/taken")
run_miura "$work/taken-run" 30 run --publish "$port:80" "$hello"
if [ $RC -eq 125 ] && grep -qx "miura: --publish 127.0.0.1:$port: Address already in use" "$work/taken-run.err"; then
    pass port-in-use
else
    fail port-in-use "status $RC: $(cat "$work/taken-run.err")"
fi
# The same detached: the cause on stderr (not stdout), no "started" line.
run_miura "$work/taken-det" 30 run --detach --name taken --publish "$port:80" "$hello"
if [ $RC -eq 125 ] && grep -q "127.0.0.1:$port: Address already in use" "$work/taken-det.err" &&
    ! grep -q . "$work/taken-det"; then
    pass port-in-use-detached
else
    fail port-in-use-detached "status $RC; out: $(cat "$work/taken-det"); err: $(cat "$work/taken-det.err")"
fi
kill $tpid 2>/dev/null
expect_clean port-in-use-clean

# ---- detached instances: distinct CIDs, listed, stopped cleanly
dport=$(free_port)
timeout -k 2 120 "$MIURA" run "${C[@]}" --detach --name d1 "$sleeper" >"$work/d1" 2>&1 &
p1=$!
timeout -k 2 120 "$MIURA" run "${C[@]}" --detach --name d2 --publish 127.0.0.1:$dport:80 --ready-timeout 1 \
    "$sleeper" >"$work/d2" 2>&1 &
p2=$!
wait $p1
rc1=$?
wait $p2
rc2=$?
c1=$(sed -n 's/^started d1 (pid [0-9]*, cid \([0-9]*\))$/\1/p' "$work/d1")
c2=$(sed -n 's/^started d2 (pid [0-9]*, cid \([0-9]*\))$/\1/p' "$work/d2")
if [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ -n "$c1" ] && [ -n "$c2" ] && [ "$c1" != "$c2" ]; then
    pass detach/distinct-cids
else
    fail detach/distinct-cids "status $rc1/$rc2, cids '$c1' '$c2': $(cat "$work/d1" "$work/d2")"
fi
[ -f "$RT/cid-$c1.lock" ] && [ -f "$RT/cid-$c2.lock" ] && pass detach/cid-locks ||
    fail detach/cid-locks "$(ls "$RT")"
# Nothing answers HTTP on the published port (test_sleep has no vsock server): no "serving" line.
if grep -q "^miura: http://127.0.0.1:$dport did not answer HTTP within 1 s" "$work/d2" &&
    ! grep -q '^serving' "$work/d2"; then
    pass detach/no-false-serving
else
    fail detach/no-false-serving "$(cat "$work/d2")"
fi
"$MIURA" ps >"$work/ps"
if grep -qE "^d1 +$(launcher_pid d1) +$c1 +- +[0-9]+s +$sleeper$" "$work/ps" &&
    grep -qE "^d2 +$(launcher_pid d2) +$c2 +127\.0\.0\.1:$dport->80 +[0-9]+s +$sleeper$" "$work/ps"; then
    pass detach/ps
else
    fail detach/ps "$(cat "$work/ps")"
fi
# A third instance may not take a name or a CID in use.
"$MIURA" run --detach --name d1 "$sleeper" >/dev/null 2>"$work/dup.err"
rc=$?
[ $rc -eq 125 ] && grep -q '^miura: an instance named d1 is running' "$work/dup.err" &&
    pass detach/name-in-use || fail detach/name-in-use "status $rc: $(cat "$work/dup.err")"
"$MIURA" run --detach --cid "$c1" "$sleeper" >/dev/null 2>"$work/dup.err"
rc=$?
[ $rc -eq 125 ] && grep -q "^miura: CID $c1 is in use by another instance$" "$work/dup.err" &&
    pass detach/cid-in-use || fail detach/cid-in-use "status $rc: $(cat "$work/dup.err")"
l1=$(launcher_pid d1)
"$MIURA" rm d1 >/dev/null 2>"$work/rm.err"
rc=$?
[ $rc -eq 1 ] && grep -qx 'miura: d1 is running (miura stop d1 first)' "$work/rm.err" && [ -d "$RT/d1" ] &&
    pass detach/rm-running-refused || fail detach/rm-running-refused "status $rc: $(cat "$work/rm.err")"
timeout 60 "$MIURA" stop d1 >"$work/stop1" 2>&1
rc=$?
# An ended detached instance keeps its meta and logs (no socket, no CID lock).
[ $rc -eq 0 ] && grep -qx 'stopped d1' "$work/stop1" && ! running "$l1" && [ -f "$RT/d1/console.log" ] &&
    [ -z "$(find "$RT/d1" -type s)" ] && [ ! -e "$RT/cid-$c1.lock" ] && pass detach/stop-one ||
    fail detach/stop-one "status $rc: $(cat "$work/stop1"); $(ls "$RT" "$RT/d1")"
"$MIURA" ps | grep -q '^d1 ' && fail detach/ps-after-stop "d1 still listed" || pass detach/ps-after-stop
"$MIURA" ps -a >"$work/ps-a"
grep -qE "^d1 +$l1 +$c1 +- +- +$sleeper  exited 143: stopped by signal 15 \(Terminated\)$" "$work/ps-a" &&
    grep -qE "^d2 +$(launcher_pid d2) +$c2 .* +$sleeper  running$" "$work/ps-a" &&
    pass detach/ps-all || fail detach/ps-all "$(cat "$work/ps-a")"
"$MIURA" logs d1 >"$work/logs-d1" 2>&1
grep -q '^sleep: up for [0-9]* s$' "$work/logs-d1" && ! grep -q $'\r' "$work/logs-d1" && pass detach/logs-after-end ||
    fail detach/logs-after-end "$(head -c 300 "$work/logs-d1")"
"$MIURA" logs --part launcher d1 | grep -qx 'miura: d1: stopping on Terminated' && pass detach/logs-launcher ||
    fail detach/logs-launcher "$("$MIURA" logs --part launcher d1 2>&1 | head -5)"
"$MIURA" logs --part all d1 | grep -c '^==> .*\.log <==$' | grep -qx 4 && pass detach/logs-all ||
    fail detach/logs-all "$("$MIURA" logs --part all d1 2>&1 | grep '^==>')"
# logs -f follows the console until the instance ends (a guest that exits by itself).
timeout -k 2 120 "$MIURA" run "${C[@]}" --detach --name follow --append "sleep=2" "$sleeper" >/dev/null 2>&1
timeout 120 "$MIURA" logs -f follow >"$work/follow.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q '^sleep: up for 2 s$' "$work/follow.out" && grep -qx 'sleep: done, status 0' "$work/follow.out" &&
    ! running "$(launcher_pid follow)" && pass logs-follow-until-end || fail logs-follow-until-end "status $rc: $(cat "$work/follow.out")"
"$MIURA" ps -a | grep -qE '^follow .*  exited 0: guest exited with status 0$' && pass ps-a-guest-status ||
    fail ps-a-guest-status "$("$MIURA" ps -a)"
"$MIURA" rm follow >/dev/null
"$MIURA" stop d1 >/dev/null 2>"$work/stop.err"
rc=$?
[ $rc -eq 1 ] && grep -qx 'miura: d1 is not running (it exited 143: stopped by signal 15 (Terminated))' "$work/stop.err" &&
    [ -d "$RT/d1" ] && pass detach/stop-ended || fail detach/stop-ended "status $rc: $(cat "$work/stop.err")"
timeout 60 "$MIURA" stop d2 >/dev/null 2>&1
"$MIURA" rm d1 >"$work/rm.out" 2>&1 && grep -qx 'removed d1' "$work/rm.out" && [ ! -e "$RT/d1" ] &&
    pass detach/rm || fail detach/rm "$(cat "$work/rm.out")"
"$MIURA" rm d2 >/dev/null 2>&1
expect_clean detach/stop-all-clean
"$MIURA" stop d2 >/dev/null 2>"$work/stop.err"
rc=$?
[ $rc -eq 1 ] && grep -qx 'miura: no instance named d2' "$work/stop.err" && pass stop-unknown ||
    fail stop-unknown "status $rc: $(cat "$work/stop.err")"
"$MIURA" logs d2 >/dev/null 2>"$work/logs.err"
rc=$?
[ $rc -eq 1 ] && grep -qx 'miura: no instance named d2' "$work/logs.err" && pass logs-unknown ||
    fail logs-unknown "status $rc: $(cat "$work/logs.err")"

# ---- "serving": miura's readiness path end to end, with fakes for the parts.
# A fake miura-vsockd (same options, same sockets) takes the listening
# sockets miura hands it (--publish-fd, --socket-fd) and stands in for the guest: for its
# first second it closes hybrid CONNECTs unanswered (as the real daemon does
# while no guest listens), then answers "OK"; on TCP it closes the first HEAD
# unanswered and answers every other request. A fake QEMU just waits.
cat >"$work/fake-vsockd" <<'EOF2'
#!/usr/bin/env python3
import signal, socket, sys, threading, time, os
args = sys.argv[1:]
opts = {}
pubs = []
while args:
    k, v = args[0], args[1]
    args = args[2:]
    if k == "--publish-fd":
        pubs.append(v)
    else:
        opts[k] = v
start = time.monotonic()
unix = {}
for k in ("--socket", "--uds"):
    if k == "--socket" and "--socket-fd" in opts:  # bound by miura at --socket
        unix[k] = socket.socket(fileno=int(opts["--socket-fd"]))
        continue
    u = socket.socket(socket.AF_UNIX)
    u.bind(opts[k])
    u.listen()
    unix[k] = u
def bye(*_):
    for k in ("--socket", "--uds"):
        os.unlink(opts[k])
    sys.exit(0)
signal.signal(signal.SIGTERM, bye)
def hybrid():
    while True:
        c, _ = unix["--uds"].accept()
        c.recv(100)
        if time.monotonic() - start > 1.0:
            c.sendall(b"OK 1073741824\n")
            print("hybrid ok", flush=True)
        c.close()
heads = 0
def serve(spec):
    global heads
    fd, gport = spec.split(":")
    t = socket.socket(fileno=int(fd))
    while True:
        c, _ = t.accept()
        req = c.recv(1000)
        if req.startswith(b"HEAD ") and heads == 0:
            heads += 1
        else:
            c.sendall(b"HTTP/1.0 200 OK\r\n\r\n" + req.split(b" ")[1])
            print("answered", req.split(b" ")[1].decode(), flush=True)
        c.close()
threading.Thread(target=hybrid, daemon=True).start()
for p in pubs:
    threading.Thread(target=serve, args=(p,), daemon=True).start()
while True:
    time.sleep(1)
EOF2
printf '#!/bin/sh\nexec sleep 60\n' >"$work/fake-qemu"
chmod +x "$work/fake-vsockd" "$work/fake-qemu"
# As root "QEMU" runs as the instance's own uid (docs/security.md): it must
# be able to reach its program.
chmod 711 "$work"
fp1=$(free_port 2)
fp2=$((fp1 + 1))
MIURA_VSOCKD=$work/fake-vsockd MIURA_QEMU=$work/fake-qemu timeout -k 2 90 "$MIURA" run --detach \
    --name fake --publish "$fp1:80" --publish "$fp2:81" "$hello" >"$work/fake.out" 2>"$work/fake.err" &
mpid=$!
# A client that comes before the "guest" accepts: held back (its SYN unanswered), not refused.
wait_grep "$work/fake.err" '^miura: accel' 60
curl -s --max-time 20 "http://127.0.0.1:$fp1/held" >"$work/held.out" 2>&1
crc=$?
wait $mpid
rc=$?
n1=$(grep -cx "serving http://127.0.0.1:$fp1" "$work/fake.out")
n2=$(grep -cx "serving http://127.0.0.1:$fp2" "$work/fake.out")
if [ $rc -eq 0 ] && [ "$n1" = 1 ] && [ "$n2" = 1 ] && grep -q '^answered /$' "$RT/fake/vsockd.log" &&
    grep -q '^hybrid ok' "$RT/fake/vsockd.log"; then
    pass serving/once-per-port
else
    fail serving/once-per-port "status $rc, lines $n1/$n2: $(cat "$work/fake.out" "$work/fake.err")"
fi
# Not before the fake answered: its unanswered CONNECTs and HEAD did not count.
grep -q "did not answer" "$work/fake.err" && fail serving/no-timeout-note "$(cat "$work/fake.err")" || pass serving/no-timeout-note
[ $crc -eq 0 ] && [ "$(cat "$work/held.out")" = /held ] && pass serving/early-client-held ||
    fail serving/early-client-held "curl status $crc: $(cat "$work/held.out")"
timeout 60 "$MIURA" stop fake >/dev/null 2>&1
"$MIURA" rm fake >/dev/null 2>&1
expect_clean serving/clean

# ---- the foreground's "serving" line and the guest's console share the
# terminal: neither is cut in two by the other (the console comes a few bytes
# at a time; ours waits for the end of the console's line).
wport=$(free_port)
timeout -k 2 180 "$MIURA" run "${C[@]}" --name fg --share "$work/share" --publish "127.0.0.1:$wport:80" \
    "$ROOT/build/apps/webserver/webserver" </dev/null >"$work/fg.out" 2>"$work/fg.err" &
mpid=$!
bg+=("$mpid")
for _ in $(seq 1200); do # waits for the event (120 s at most)
    grep -q '^serving' "$work/fg.out" && grep -q 'webserver: serving' "$work/fg.out" && break
    kill -0 $mpid 2>/dev/null || break
    sleep 0.1
done
kill -INT $mpid 2>/dev/null
wait $mpid
sed -i 's/\r$//' "$work/fg.out" # the guest's console ends its lines with CR LF
if grep -qx "serving http://127.0.0.1:$wport" "$work/fg.out" &&
    grep -qx "webserver: serving / on vsock port 80" "$work/fg.out"; then
    pass foreground/lines-whole
else
    fail foreground/lines-whole "$(head -c 600 "$work/fg.out" | tr '\n' '|')"
fi
# and in order: the guest printed its line before it accepted the probe that
# made ours (it waited in the console pipe while miura probed).
gl=$(grep -nx "webserver: serving / on vsock port 80" "$work/fg.out" | cut -d: -f1 | head -1)
ml=$(grep -nx "serving http://127.0.0.1:$wport" "$work/fg.out" | cut -d: -f1 | head -1)
[ -n "$gl" ] && [ -n "$ml" ] && [ "$gl" -lt "$ml" ] && pass foreground/lines-in-order ||
    fail foreground/lines-in-order "$(head -c 600 "$work/fg.out" | tr '\n' '|')"
expect_clean foreground/clean

# ---- supervision: a killed part ends the instance with a cause, and everything is removed
supervised() { # CHECK VICTIM(qemu|vsockd|launcher) SIGNAL WANT_STATUS CAUSE_REGEX
    local name=sv-$1
    timeout -k 2 180 "$MIURA" run "${C[@]}" --name "$name" "$sleeper" </dev/null >"$work/$name.out" 2>"$work/$name.err" &
    local mpid=$! victim lp
    bg+=("$mpid")
    if ! wait_grep "$work/$name.out" '^sleep: up' 60; then
        fail "$1/up" "$(cat "$work/$name.err")"
        return
    fi
    lp=$(launcher_pid "$name")
    case $2 in
    qemu) victim=$(pgrep -P "$lp" -f qemu-system-x86_64) ;;
    vsockd) victim=$(pgrep -P "$lp" -f miura-vsockd) ;;
    launcher) victim=$lp ;;
    esac
    [ -n "$victim" ] || { fail "$1/victim" "no $2 process under launcher $lp"; return; }
    kill -"$3" "$victim"
    wait $mpid
    local rc=$?
    if [ $rc -eq "$4" ] && grep -qE -- "$5" "$work/$name.err"; then
        pass "$1/status"
    else
        fail "$1/status" "status $rc (want $4): $(cat "$work/$name.err")"
    fi
    expect_clean "$1/clean"
}
# A SIGKILLed launcher cannot tear down, but its parts die with it
# (PR_SET_PDEATHSIG); what remains is a stale run directory that `stop` clears.
orphan=sv-orphan-$$ # a name of this run's own: the cgroup path is NAME-UID, host-wide
timeout -k 2 180 "$MIURA" run "${C[@]}" --name $orphan --share "$work/share" "$sleeper" </dev/null >"$work/orphan.out" 2>&1 &
mpid=$!
bg+=("$mpid")
if wait_grep "$work/orphan.out" '^sleep: up' 60; then
    kill -KILL "$(launcher_pid $orphan)"
    { wait "$mpid"; } 2>/dev/null # (bash would report the kill)
    for _ in $(seq 1200); do pgrep -f "$RT/" >/dev/null || break; sleep 0.05; done
    procs=$(pgrep -af "$RT/" | cut -c1-100)
    [ -z "$procs" ] && pass launcher-killed/parts-gone || fail launcher-killed/parts-gone "$procs"
    "$MIURA" ps | grep -q "^$orphan " && fail launcher-killed/not-listed "listed" || pass launcher-killed/not-listed
    "$MIURA" ps -a | grep -qE "^$orphan .*  gone: its launcher was killed \\(no status\\)\$" &&
        pass launcher-killed/ps-a-gone || fail launcher-killed/ps-a-gone "$("$MIURA" ps -a)"
    # As root it had a cgroup (docs/security.md), recorded in the run directory.
    cgs=$(cat "$RT/$orphan/cgroups" 2>/dev/null)
    if [ "$(id -u)" = 0 ]; then
        [ -n "$cgs" ] && for d in $cgs; do [ -d "$d" ] || cgs="missing $d"; done
        [[ -n $cgs && $cgs != missing* ]] && pass launcher-killed/cgroup-left ||
            fail launcher-killed/cgroup-left "recorded: '$cgs'"
    fi
    "$MIURA" stop $orphan >/dev/null 2>"$work/orphan.err"
    rc=$?
    [ $rc -eq 1 ] && grep -qx "miura: $orphan is not running (removed what it left)" "$work/orphan.err" &&
        pass launcher-killed/stop-clears || fail launcher-killed/stop-clears "status $rc: $(cat "$work/orphan.err")"
    if [ "$(id -u)" = 0 ]; then
        left=
        for d in $cgs; do [ -e "$d" ] && left="$left $d"; done
        [ -z "$left" ] && pass launcher-killed/cgroup-removed || fail launcher-killed/cgroup-removed "left:$left"
    fi
    rm -f "$RT"/cid-*.lock # free (no holder) and harmless, but the clean check counts files
    expect_clean launcher-killed/clean
else
    fail launcher-killed/up "$(cat "$work/orphan.out")"
fi
supervised qemu-killed qemu KILL 137 '^miura: qemu was killed by signal 9'
supervised qemu-terminated qemu TERM 143 '^miura: qemu was killed by signal 15'
supervised vsockd-died vsockd KILL 125 '^miura: miura-vsockd was killed by signal 9'
supervised sigterm launcher TERM 143 '^miura: sv-sigterm: stopping on Terminated'
supervised sigint launcher INT 130 '^miura: sv-sigint: stopping on Interrupt'
finish
