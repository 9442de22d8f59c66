#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The Networking unit end to end: the test_echo appliance behind miura-vsockd,
# reached through the hybrid Unix socket (--uds) and a published TCP port,
# with checksummed transfers of 1 B to 256 MiB, 500 concurrent connections,
# half-closing and vanishing clients, a slow reader, and a guest connecting
# out to a host Unix listener. Guest-to-host streams the host never answers
# (port 5002), with a 4 KiB SO_SNDBUF: a send blocked on its own packets is
# woken by the device's completions alone (the guest asks for tx interrupts
# only then), and miura-vsockd's tx_calls counter shows that it asked.
# 32 guest connections at once to a host listener whose accept queue holds
# one: the ones that find it full wait for room, none is refused.
SUITE=vsock
source "$(dirname "$0")/lib.sh"
img=$(need_image test_echo)
VSOCKD=$ROOT/build/bin/miura-vsockd
CLIENT=$ROOT/build/bin/vsock_client
for b in "$VSOCKD" "$CLIENT"; do [ -x "$b" ] || { fail setup "$b missing (run make)"; finish; }; done
command -v socat >/dev/null || { fail setup "socat missing (apt-get install socat)"; finish; }

work=$(mktemp -d /tmp/miura-vsock.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
# Host side of the guest's outgoing connection (CID 2, port 7000).
socat UNIX-LISTEN:"$work/v.sock_7000",fork SYSTEM:'read line; echo "hello from host, you said: $line"' \
    >/dev/null 2>&1 &
pids+=($!)
# Host side of the guest's 32 connections at once (port 7001): backlog 1.
python3 - "$work/v.sock_7001" <<'PY' >/dev/null 2>&1 &
import socket, sys, threading
l = socket.socket(socket.AF_UNIX)
l.bind(sys.argv[1])
l.listen(1)
def serve(c):
    d = b''
    while True:
        b = c.recv(256)
        if not b:
            break
        d += b
    c.sendall(b'hi ' + d)
    c.close()
while True:
    c, _ = l.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
pids+=($!)
for _ in $(seq 200); do [ -S "$work/v.sock_7001" ] && break; sleep 0.05; done
# miura-vsockd binds the published port before it creates its socket; a port
# another run took meanwhile is picked again.
for _ in $(seq "$PORT_TRIES"); do
    port=$(free_port) || break
    "$VSOCKD" --socket "$work/vhost.sock" --cid 3 --uds "$work/v.sock" \
        --publish "127.0.0.1:$port:5000" --max-conns 1024 --control "$work/ctl.sock" \
        >"$work/vsockd.log" 2>&1 &
    vpid=$!
    for _ in $(seq 1200); do [ -S "$work/vhost.sock" ] || ! kill -0 $vpid 2>/dev/null && break; sleep 0.05; done
    [ -S "$work/vhost.sock" ] && break
    grep -q 'Address already in use' "$work/vsockd.log" || break
done
pids+=($vpid)
[ -S "$work/vhost.sock" ] || { fail vsockd "no socket: $(cat "$work/vsockd.log")"; finish; }

out=$OUTDIR/vsock.log
rm -f "$out"
mapfile -t args < <(MEM=256M qemu_base_args "$img" "connect=7000 many_port=7001 many=32")
args+=(-global virtio-mmio.force-legacy=false
    -object memory-backend-memfd,id=mem,size=256M,share=on -machine memory-backend=mem
    -chardev "socket,id=vs0,path=$work/vhost.sock" -device vhost-user-vsock-$VIRTIO_BUS,chardev=vs0$VIRTIO_OPTS)
timeout -k 2 900 "$QEMU" "${args[@]}" -serial "file:$out" </dev/null >"$out.qemu" 2>&1 &
qpid=$!
pids+=($qpid)
for _ in $(seq 1200); do grep -q '^echo: listening' "$out" 2>/dev/null && break; sleep 0.05; done
if ! grep -q '^echo: listening' "$out"; then
    fail boot "the echo server did not start: $(tail -5 "$out" | tr '\n' ' ')"
    finish
fi
# (the console log is live here: its lines still end in CR)
CR=$'\r'
expect_grep connect-out-to-host "$out" "^connect-out: host said .hello from host, you said: hello from guest.${CR}?\$"
expect_grep connect-out-32-at-once-backlog-1 "$out" "^connect-many: 32/32 answered, 0 refused, 0 other errors${CR}?\$"

client() { # name, expected summary pattern, args...
    local name=$1 want=$2
    shift 2
    local res
    res=$(timeout -k 2 600 "$CLIENT" "$@" 2>&1)
    if [ $? -eq 0 ] && [[ $res =~ $want ]]; then pass "$name"; else fail "$name" "$res"; fi
}
U=(--uds "$work/v.sock" --port 5000)
T=(--tcp "127.0.0.1:$port")
client uds-1B '^1/1 connections verified, 1 bytes' "${U[@]}" --bytes 1
client uds-64KiB-x4 '^4/4 connections verified, 65536 bytes' "${U[@]}" --conns 4 --bytes 65536
client tcp-1B '^1/1 connections verified, 1 bytes' "${T[@]}" --bytes 1
client tcp-1MiB '^1/1 connections verified, 1048576 bytes' "${T[@]}" --bytes 1048576
client tcp-256MiB '^1/1 connections verified, 268435456 bytes' "${T[@]}" --bytes 268435456 --timeout 600
client uds-500-concurrent '^500/500 connections verified, 4096 bytes' "${U[@]}" --conns 500 --bytes 4096
client tcp-200-concurrent '^200/200 connections verified, 16384 bytes' "${T[@]}" --conns 200 --bytes 16384
client half-close '^20/20 connections verified, 102400 bytes each, half-closed' "${T[@]}" --conns 20 --bytes 102400 --half-close
client slow-reader '^1/1 connections verified, 2097152 bytes' "${T[@]}" --bytes 2097152 --slow 2
client vanish '^50/50 connections verified, 1048576 bytes each, vanished' "${T[@]}" --conns 50 --bytes 1048576 --vanish

# tx_calls: interrupts miura-vsockd raised for the guest's tx queue.
tx_calls() { printf 'stats\n' | timeout 5 socat - UNIX-CONNECT:"$work/ctl.sock" 2>/dev/null | awk '$1 == "tx_calls" { print $2 }'; }
c0=$(tx_calls)
client source-sndbuf-4KiB-slow-then-fast '^1/1 connections verified, 8388608 bytes' "${U[@]}" --port 5002 \
    --source 4096 --bytes 8388608 --slow 2 --slow-bytes 524288
c1=$(tx_calls)
# Nothing but completions and credit updates reached the guest meanwhile: it
# must have asked for tx interrupts while its sender waited (without the ask
# they stay off here: two packets in flight at most, none waiting for room).
[ -n "$c0" ] && [ -n "$c1" ] && [ "$c1" -gt "$c0" ] && pass source-asked-for-tx-interrupts ||
    fail source-asked-for-tx-interrupts "tx_calls '$c0' -> '$c1'"
echo "# source, 8 MiB with a 4 KiB SO_SNDBUF: $((c1 - c0)) tx interrupts"
client source-4-at-once-sndbuf-4KiB '^4/4 connections verified, 4194304 bytes' "${U[@]}" --port 5002 \
    --conns 4 --source 4096 --bytes 4194304
client source-default-sndbuf-64MiB '^1/1 connections verified, 67108864 bytes' "${U[@]}" --port 5002 \
    --source 0 --bytes 67108864

# The guest freed the vanished connections: nothing active a moment later.
stats=
for _ in $(seq 300); do
    stats=$(printf 'CONNECT 5001\n' | timeout 5 socat - UNIX-CONNECT:"$work/v.sock" 2>/dev/null | grep '^active')
    [[ $stats =~ ^active\ 0\  ]] && break
    sleep 0.2
done
[[ $stats =~ ^active\ 0\ served\ [0-9]+ ]] && pass vanished-freed || fail vanished-freed "stats: '$stats'"

# The CONNECT line as Firecracker's muxer also reads it (any case, blanks,
# leading zeros, CR LF), with stream bytes behind it in the same write.
res=$(printf ' connect\t 05000 \r\nvariant-line\n' | timeout 10 socat -t 5 - UNIX-CONNECT:"$work/v.sock" 2>&1)
[[ $res =~ ^OK\ [0-9]+$'\n'variant-line$ ]] && pass connect-line-variants || fail connect-line-variants "got '$res'"
res=$(printf 'CONNECT 5000 6\n' | timeout 10 socat -t 5 - UNIX-CONNECT:"$work/v.sock" 2>&1)
[ -z "$res" ] && pass connect-line-second-word-refused || fail connect-line-second-word-refused "got '$res'"

# No listener on a port: the host connection is closed without OK.
res=$(printf 'CONNECT 4999\n' | timeout 5 socat - UNIX-CONNECT:"$work/v.sock" 2>&1)
[ -z "$res" ] && pass no-listener-closed || fail no-listener-closed "got '$res'"
kill -0 $qpid 2>/dev/null && pass guest-still-up || fail guest-still-up "QEMU exited: $(tail -5 "$out" | tr '\n' ' ')"
finish
