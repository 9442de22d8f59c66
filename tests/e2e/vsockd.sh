#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# miura-vsockd end to end, without QEMU or a guest: build/bin/vsockd-driver
# plays QEMU (vhost-user frontend, memfd guest RAM) and a guest vsock stack,
# and moves data through --uds and --publish (see tests/vsockd/driver.c).
# Then: SIGTERM must close everything and remove the sockets.
set -u
SUITE=vsockd-e2e
source "$(dirname "$0")/lib.sh" # free_ports
cd "$ROOT"
daemon=build/bin/miura-vsockd
driver=build/bin/vsockd-driver
fails=0
ok() { echo "ok - vsockd-e2e/$1"; }
notok() { echo "not ok - vsockd-e2e/$1: $2"; fails=$((fails + 1)); }

for b in $daemon $driver; do
    [ -x "$b" ] || { notok build "$b missing (run make host)"; exit 1; }
done
dir=$(mktemp -d /tmp/vsockd-e2e.XXXXXX)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

# Three free loopback ports below the ephemeral range (so no client socket of
# another program holds them) for the published services.
read -r p1 p2 p3 < <(free_ports 3)

$daemon --socket "$dir/vhost.sock" --cid 3 --uds "$dir/v.sock" \
    --publish "$p1:5000" --publish "127.0.0.1:$p2:5001" --publish "$p3:5002" -v \
    2>"$dir/daemon.log" &
pid=$!
for _ in $(seq 600); do [ -S "$dir/vhost.sock" ] && break; sleep 0.1; done
[ -S "$dir/vhost.sock" ] && ok listening || notok listening "no socket; $(tail -3 "$dir/daemon.log")"

timeout -k 5 100 $driver test --socket "$dir/vhost.sock" --uds "$dir/v.sock" \
    --echo-port "$p1" --sink-port "$p2" --source-port "$p3"
rc=$?
[ $rc -eq 0 ] || notok driver "exited with status $rc"

if kill -0 "$pid" 2>/dev/null; then ok daemon_alive_after_tests; else notok daemon_alive_after_tests "daemon died; $(tail -5 "$dir/daemon.log")"; fi
grep -q 'established' "$dir/daemon.log" && ok logs_connection_events || notok logs_connection_events "no 'established' line at -v"

# A second daemon given the live daemon's paths refuses them (exit 1, one
# line) instead of taking them over; the first keeps serving.
for which in socket uds; do
    if [ $which = socket ]; then args=(--socket "$dir/vhost.sock" --cid 3); else args=(--socket "$dir/other.sock" --cid 3 --uds "$dir/v.sock"); fi
    timeout -k 2 10 $daemon "${args[@]}" >/dev/null 2>"$dir/err2"
    rc=$?
    if [ $rc -eq 1 ] && [ "$(wc -l <"$dir/err2")" -eq 1 ] && grep -q 'is in use: another process listens on it$' "$dir/err2"; then
        ok "second_daemon_refuses_live_$which"
    else
        notok "second_daemon_refuses_live_$which" "exit $rc: $(head -2 "$dir/err2" | tr '\n' '|')"
    fi
done
[ ! -e "$dir/other.sock" ] && ok second_daemon_cleaned_up || notok second_daemon_cleaned_up "other.sock left"
# (the paths still lead to the first daemon: a connect is accepted, not refused)
if python3 -c 'import socket, sys
for p in sys.argv[1:]:
    s = socket.socket(socket.AF_UNIX); s.connect(p); s.close()' "$dir/vhost.sock" "$dir/v.sock" 2>"$dir/err2"; then
    ok first_daemon_keeps_its_paths
else
    notok first_daemon_keeps_its_paths "$(tail -1 "$dir/err2")"
fi

kill -TERM "$pid"
for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
    notok sigterm_exits "still running 60 s after SIGTERM"
else
    wait "$pid"
    st=$?
    pid=
    [ $st -eq 0 ] && ok sigterm_exits || notok sigterm_exits "exit status $st"
fi
if [ ! -e "$dir/vhost.sock" ] && [ ! -e "$dir/v.sock" ]; then ok sockets_removed; else notok sockets_removed "$(ls "$dir")"; fi

# QEMU itself as the frontend: microvm realizes vhost-user-vsock-device only
# after GET_FEATURES, the protocol features (CONFIG) and GET_CONFIG succeed;
# a failed handshake makes QEMU exit at once. (No guest drives the rings.)
command -v qemu-system-x86_64 >/dev/null || notok qemu_handshake "qemu-system-x86_64 missing"
if command -v qemu-system-x86_64 >/dev/null; then
    $daemon --socket "$dir/q.sock" --cid 9 -vv 2>"$dir/q.log" &
    qpid=$!
    for _ in $(seq 600); do [ -S "$dir/q.sock" ] && break; sleep 0.1; done
    # Waits for the handshake's last step, then a second more: QEMU must
    # still be running (it exits at once when the handshake fails).
    timeout -k 2 120 qemu-system-x86_64 -M microvm,memory-backend=mem \
        -object memory-backend-memfd,id=mem,size=64M,share=on \
        -chardev socket,id=vs0,path="$dir/q.sock" -device vhost-user-vsock-device,chardev=vs0 \
        -display none -serial none -monitor none -nodefaults >"$dir/qemu.log" 2>&1 &
    qemu_pid=$!
    while ! grep -q 'vhost-user request 24 (GET_CONFIG)' "$dir/q.log" && kill -0 $qemu_pid 2>/dev/null; do sleep 0.1; done
    sleep 1
    kill -0 $qemu_pid 2>/dev/null && qrc=124 || qrc=exited
    kill $qemu_pid 2>/dev/null
    wait $qemu_pid 2>/dev/null
    kill "$qpid" 2>/dev/null
    wait "$qpid" 2>/dev/null
    if [ $qrc = 124 ] && grep -q 'vhost-user request 24 (GET_CONFIG)' "$dir/q.log" && ! grep -qi error "$dir/qemu.log"; then
        ok qemu_microvm_handshake
    else
        notok qemu_microvm_handshake "qemu status $qrc; $(grep -i -m2 error "$dir/qemu.log") $(tail -2 "$dir/q.log")"
    fi
fi

want="miura-vsockd $(sed -n 's/^#define MIURA_VERSION "\(.*\)"$/\1/p' "$ROOT/host/common/version.h")"
[ "$($daemon --version)" = "$want" ] && ok version || notok version "'$($daemon --version 2>&1)', want '$want'"
$daemon --help | grep -q 'vhost-user-vsock-device,chardev=' && ok help_shows_qemu_flags || notok help_shows_qemu_flags "--help lacks the QEMU flags"
$daemon --cid 3 >/dev/null 2>&1; [ $? -eq 2 ] && ok missing_socket_is_usage_error || notok missing_socket_is_usage_error "want status 2"
# A bad value: exit 2, its cause first (named by the program, not its path), then the usage.
for args in "--socket $dir/u.sock --cid 2" "--socket $dir/u.sock --cid 3 --publish 99999:80" \
    "--socket $dir/u.sock --cid 3 --max-conns 0" "--socket $dir/u.sock --cid 3 --publish-fd 1:80" \
    "--socket $dir/u.sock --cid 3 --bogus" "--socket"; do
    n=$((${n:-0} + 1))
    # shellcheck disable=SC2086
    $daemon $args >/dev/null 2>"$dir/err"
    rc=$?
    if [ $rc -eq 2 ] && head -1 "$dir/err" | grep -q '^miura-vsockd: ' && grep -q '^usage: miura-vsockd' "$dir/err"; then
        ok "bad_value_usage_$n"
    else
        notok "bad_value_usage_$n" "exit $rc, stderr: $(head -2 "$dir/err" | tr '\n' '|')"
    fi
done
$daemon --socket "$dir/x" --cid 3 --publish 1:2:3:4 >/dev/null 2>&1; [ $? -eq 2 ] && ok bad_publish_rejected || notok bad_publish_rejected "want status 2"
# --socket-fd: a number >= 3, an open descriptor, a listening Unix stream socket.
$daemon --socket "$dir/x" --cid 3 --socket-fd 2 >/dev/null 2>&1; [ $? -eq 2 ] && ok socket_fd_range || notok socket_fd_range "want status 2"
out=$($daemon --socket "$dir/x" --cid 3 --unconfined --socket-fd 9 2>&1 9>&-)
[ $? -eq 1 ] && [ "$out" = "miura-vsockd: --socket-fd 9: not an open file descriptor" ] && ok socket_fd_closed || notok socket_fd_closed "$out"
out=$($daemon --socket "$dir/x" --cid 3 --unconfined --socket-fd 9 2>&1 9<"$0")
[ $? -eq 1 ] && [ "$out" = "miura-vsockd: --socket-fd 9: not a listening Unix stream socket" ] && ok socket_fd_not_socket || notok socket_fd_not_socket "$out"
# A listener bound by someone else: the daemon serves on it (a frontend's
# connection made before the daemon ran waits in its queue and is taken).
python3 - "$daemon" "$dir/pre.sock" <<'PY' && ok socket_fd_adopted || notok socket_fd_adopted "see above"
import os, socket, struct, subprocess, sys
daemon, path = sys.argv[1], sys.argv[2]
l = socket.socket(socket.AF_UNIX)
l.bind(path)
l.listen(8)
c = socket.socket(socket.AF_UNIX)
c.connect(path)  # before the daemon runs
p = subprocess.Popen([daemon, "--socket", path, "--socket-fd", str(l.fileno()), "--cid", "3",
                      "--unconfined"], pass_fds=[l.fileno()], stderr=subprocess.PIPE)
l.close()
c.settimeout(30)
c.sendall(struct.pack("<III", 1, 1, 0))  # VHOST_USER_GET_FEATURES, version 1
hdr = c.recv(12)
ok = len(hdr) == 12 and struct.unpack("<III", hdr)[0] == 1
p.terminate()
p.wait(10)
print("reply header", hdr.hex(), "stderr", p.stderr.read().decode()[-200:])
sys.exit(0 if ok else 1)
PY
[ $fails -eq 0 ]
