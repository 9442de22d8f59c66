#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# miura-proxy end to end: the test_echo appliance under QEMU behind
# miura-vsockd --uds, reached only through miura-proxy's TCP ports.
# Checksummed echoes of 1 B, 1 MiB and 64 MiB, 100 concurrent connections,
# half-close, a guest port without a listener, an absent (then late) Unix
# socket, a socket it may not connect to (said without -v), a silent VMM
# (--connect-timeout), running out of descriptors,
# --max-conns (clients beyond it wait and are served; stats on --control),
# usage and listen errors, SIGTERM.
SUITE=proxy
source "$(dirname "$0")/lib.sh"
img=$(need_image test_echo)
PROXY=$ROOT/build/bin/miura-proxy
VSOCKD=$ROOT/build/bin/miura-vsockd
CLIENT=$ROOT/build/bin/vsock_client
for b in "$PROXY" "$VSOCKD" "$CLIENT"; do [ -x "$b" ] || { fail setup "$b missing (run make)"; finish; }; done
command -v socat >/dev/null || { fail setup "socat missing (apt-get install socat)"; finish; }

work=$(mktemp -d /tmp/miura-proxy.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
base=$(free_port 7) || { fail setup "no free loopback ports"; finish; }
P_ECHO=$base P_NOLISTEN=$((base + 1)) P_ABSENT=$((base + 2)) P_MAX=$((base + 3)) P_SILENT=$((base + 4)) P_DENIED=$((base + 6))

# Waits (bounded by 60 s, far beyond what it takes) until PORT listens.
wait_listen() { for _ in $(seq 1200); do port_listening "$1" && return 0; sleep 0.05; done; return 1; }

# Usage errors: exit 2 with the usage; a port in use: exit 1 with one line.
"$PROXY" >/dev/null 2>"$work/err"
rc=$?
[ $rc -eq 2 ] && grep -q '^usage: miura-proxy' "$work/err" && pass usage-no-args ||
    fail usage-no-args "rc $rc: $(head -2 "$work/err")"
"$PROXY" -h >"$work/out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q '^usage: miura-proxy' "$work/out" && pass help-exit-0 || fail help-exit-0 "rc $rc"
want="miura-proxy $(sed -n 's/^#define MIURA_VERSION "\(.*\)"$/\1/p' "$ROOT/host/common/version.h")"
[ "$("$PROXY" --version)" = "$want" ] && pass version || fail version "'$("$PROXY" --version 2>&1)', want '$want'"
bad=0
for args in "--uds x --publish 80" "--uds x --publish 8080:80 --max-conns 0" "--uds x --publish 1.2.3:8080:80" \
    "--publish 8080:80" "--uds x --publish 8080:80 --connect-timeout abc" "--uds x --publish 8080:80 extra" \
    "--uds x --publish 8080:80 --bogus" "--uds x --publish 99999:80" "--uds x -p 8080:80 -p 8080:81" \
    "--uds x --publish 8080:80 --user no-such-user-here" "--uds"; do
    # shellcheck disable=SC2086
    timeout 30 "$PROXY" $args >/dev/null 2>"$work/err"
    rc=$?
    [ $rc -eq 2 ] || { bad=1; fail usage-errors "'$args' exited $rc, want 2"; }
    # the cause first, named by the program (not its path), then the usage
    grep -q '^miura-proxy: ' <(head -1 "$work/err") && grep -q '^usage: miura-proxy' "$work/err" ||
        { bad=1; fail usage-errors "'$args': want the cause, then the usage: $(head -2 "$work/err" | tr '\n' '|')"; }
done
[ $bad -eq 0 ] && pass usage-errors
socat TCP-LISTEN:$P_MAX,bind=127.0.0.1,reuseaddr - </dev/null >/dev/null 2>&1 &
holder=$!
wait_listen $P_MAX
timeout 30 "$PROXY" --uds "$work/v.sock" --publish "127.0.0.1:$P_MAX:1" >/dev/null 2>"$work/err"
rc=$?
kill $holder 2>/dev/null
wait $holder 2>/dev/null
[ $rc -eq 1 ] && [ "$(wc -l <"$work/err")" -eq 1 ] && grep -q 'Address already in use' "$work/err" &&
    pass listen-error-exit-1 || fail listen-error-exit-1 "rc $rc: $(cat "$work/err")"

# The VMM: miura-vsockd --uds in front of the test_echo guest.
"$VSOCKD" --socket "$work/vhost.sock" --cid 3 --uds "$work/v.sock" >"$work/vsockd.log" 2>&1 &
pids+=($!)
for _ in $(seq 1200); do [ -S "$work/vhost.sock" ] && break; sleep 0.05; done
[ -S "$work/vhost.sock" ] || { fail vsockd "no socket: $(cat "$work/vsockd.log")"; finish; }
out=$OUTDIR/proxy.log
rm -f "$out"
mapfile -t args < <(MEM=256M qemu_base_args "$img" "")
args+=(-global virtio-mmio.force-legacy=false
    -object memory-backend-memfd,id=mem,size=256M,share=on -machine memory-backend=mem
    -chardev "socket,id=vs0,path=$work/vhost.sock" -device vhost-user-vsock-device,chardev=vs0)
timeout -k 2 120 "$QEMU" "${args[@]}" -serial "file:$out" </dev/null >"$out.qemu" 2>&1 &
qpid=$!
pids+=($qpid)

# The proxy under test, and a second one whose Unix socket does not exist yet.
"$PROXY" --uds "$work/v.sock" --publish "127.0.0.1:$P_ECHO:5000" --publish "$P_NOLISTEN:4999" \
    --connect-timeout 5000 -v >"$work/proxy.log" 2>&1 &
ppid=$!
pids+=($ppid)
"$PROXY" --uds "$work/late.sock" --publish "127.0.0.1:$P_ABSENT:5000" -v >"$work/proxy2.log" 2>&1 &
ppid2=$!
pids+=($ppid2)

for _ in $(seq 1200); do grep -q '^echo: listening' "$out" 2>/dev/null && break; sleep 0.05; done
if ! grep -q '^echo: listening' "$out"; then
    fail boot "the echo server did not start: $(tail -5 "$out" | tr '\n' ' ')"
    finish
fi
for p in $P_ECHO $P_NOLISTEN $P_ABSENT; do
    wait_listen $p || { fail listen "nothing listens on $p: $(tail -2 "$work"/proxy*.log)"; finish; }
done

client() { # name, expected summary pattern, args...
    local name=$1 want=$2
    shift 2
    local res
    res=$(timeout -k 2 60 "$CLIENT" "$@" 2>&1)
    if [ $? -eq 0 ] && [[ $res =~ $want ]]; then pass "$name"; else fail "$name" "$res"; fi
}
T=(--tcp "127.0.0.1:$P_ECHO")
client echo-1B '^1/1 connections verified, 1 bytes' "${T[@]}" --bytes 1
client echo-1MiB '^1/1 connections verified, 1048576 bytes' "${T[@]}" --bytes 1048576
client echo-64MiB '^1/1 connections verified, 67108864 bytes' "${T[@]}" --bytes 67108864 --timeout 50
client concurrent-100 '^100/100 connections verified, 16384 bytes' "${T[@]}" --conns 100 --bytes 16384
client half-close '^20/20 connections verified, 102400 bytes each, half-closed' "${T[@]}" --conns 20 --bytes 102400 --half-close

# closed_promptly NAME PORT: a client gets no byte and is closed by the proxy.
# socat would give up by itself 60 s after its own end (-t 60): ending well
# before that means the proxy closed (it takes milliseconds; 50 s is the
# margin for a loaded host).
closed_promptly() {
    local t0 t1 res rc
    t0=$(date +%s%N)
    res=$(printf 'hello\n' | timeout 90 socat -t 60 - TCP:127.0.0.1:"$2" 2>/dev/null)
    rc=$?
    t1=$(date +%s%N)
    local ms=$(((t1 - t0) / 1000000))
    if [ $rc -ne 124 ] && [ -z "$res" ] && [ $ms -lt 50000 ]; then
        pass "$1"
    else
        fail "$1" "rc $rc after $ms ms, got '$res'"
    fi
}
closed_promptly no-listener-closed $P_NOLISTEN
grep -q 'guest port 4999: the VMM closed the connection without OK' "$work/proxy.log" &&
    pass no-listener-logged || fail no-listener-logged "$(tail -3 "$work/proxy.log")"
client still-serving '^4/4 connections verified, 65536 bytes' "${T[@]}" --conns 4 --bytes 65536

closed_promptly uds-absent-closed $P_ABSENT
grep -q 'connect to the VMM socket: No such file or directory' "$work/proxy2.log" &&
    kill -0 $ppid2 2>/dev/null && pass uds-absent-alive || fail uds-absent-alive "$(tail -3 "$work/proxy2.log")"
ln -s "$work/v.sock" "$work/late.sock" # the VMM's socket appears later
client uds-late '^1/1 connections verified, 4096 bytes' --tcp "127.0.0.1:$P_ABSENT" --bytes 4096

# A VMM socket the proxy may not connect to (as a launcher instance's
# vsock.sock is, to a proxy run by root without that instance's --user):
# clients are closed, and the cause is said without -v (every client would
# fail so).
socat UNIX-LISTEN:"$work/denied.sock" /dev/null >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1200); do [ -S "$work/denied.sock" ] && break; sleep 0.05; done
chmod 000 "$work/denied.sock"
"$PROXY" --uds "$work/denied.sock" --publish "127.0.0.1:$P_DENIED:5000" >"$work/proxy6.log" 2>&1 &
ppid6=$!
pids+=($ppid6)
wait_listen $P_DENIED
closed_promptly uds-denied-closed $P_DENIED
grep -q "connect to the VMM socket $work/denied.sock: Permission denied" "$work/proxy6.log" &&
    kill -0 $ppid6 2>/dev/null && pass uds-denied-logged || fail uds-denied-logged "$(tail -3 "$work/proxy6.log")"
kill $ppid6 2>/dev/null
wait $ppid6 2>/dev/null

# A VMM that accepts and never answers: the client is closed after --connect-timeout.
mkfifo "$work/fifo"
socat UNIX-LISTEN:"$work/silent.sock" STDIO <>"$work/fifo" >/dev/null 2>&1 &
pids+=($!)
"$PROXY" --uds "$work/silent.sock" --publish "127.0.0.1:$P_SILENT:5000" --connect-timeout 400 -v \
    >"$work/proxy4.log" 2>&1 &
ppid4=$!
pids+=($ppid4)
for _ in $(seq 1200); do [ -S "$work/silent.sock" ] && break; sleep 0.05; done
wait_listen $P_SILENT
# Not before 400 ms (the host's clock measures more than the proxy's timer;
# 350 for clock-rate and rounding slack);
# closed by the proxy (its log says so), well before socat's own 60 s.
t0=$(date +%s%N)
res=$(timeout 90 socat -t 60 - TCP:127.0.0.1:$P_SILENT </dev/null 2>/dev/null)
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ $rc -ne 124 ] && [ -z "$res" ] && [ $ms -ge 350 ] && [ $ms -lt 50000 ] &&
    grep -q "timed out waiting for the VMM's OK" "$work/proxy4.log" && pass connect-timeout ||
    fail connect-timeout "rc $rc after $ms ms (want ~400), got '$res': $(tail -2 "$work/proxy4.log")"

# Out of descriptors (ulimit -n 12: two or three connections at once): the
# others wait, in the backlog or for a retry, and all are served; no spinning.
# (Half-closed, so that each ends in the proxy while the client keeps its fd.)
P_FDS=$((base + 5))
(ulimit -n 12 && exec "$PROXY" --uds "$work/v.sock" --publish "127.0.0.1:$P_FDS:5000" -v) \
    >"$work/proxy5.log" 2>&1 &
ppid5=$!
pids+=($ppid5)
wait_listen $P_FDS
client fd-limit-all-served '^12/12 connections verified, 65536 bytes each, half-closed' \
    --tcp "127.0.0.1:$P_FDS" --conns 12 --bytes 65536 --half-close
ticks=$(awk '{print $14 + $15}' /proc/$ppid5/stat)
grep -q 'wants .* file descriptors, the limit is 12' "$work/proxy5.log" && [ "$ticks" -lt 100 ] &&
    pass fd-limit-no-spin || fail fd-limit-no-spin "$ticks ticks of CPU: $(head -3 "$work/proxy5.log")"

# --max-conns 2: two clients held open (no bytes sent); a third waits in the
# listen queue (accepting stops: `stats` on the control socket says queued 1,
# accepting 0; one log line says why) and is served once a holder leaves.
"$PROXY" --uds "$work/v.sock" --publish "127.0.0.1:$P_MAX:5000" --max-conns 2 \
    --control "$work/proxy3.ctl" -v >"$work/proxy3.log" 2>&1 &
ppid3=$!
pids+=($ppid3)
for _ in $(seq 1200); do [ -S "$work/proxy3.ctl" ] && break; sleep 0.05; done
wait_listen $P_MAX
pstat() { printf 'stats\n' | timeout 5 socat - UNIX-CONNECT:"$work/proxy3.ctl" 2>/dev/null | awk -v k="$1" '$1 == k { print $2 }'; }
holders=()
mkfifo "$work/hold1"
exec 7<>"$work/hold1" # the first holder's input, open until we close it
timeout 60 socat -t 1 - TCP:127.0.0.1:$P_MAX <"$work/hold1" >/dev/null 2>&1 7>&- &
holders+=($!)
pids+=($!)
# The second holder only reads (-u), until the proxy closes it. Nothing but
# this shell may hold fd 7, the write end of the first holder's input.
timeout 90 socat -u TCP:127.0.0.1:$P_MAX - >/dev/null 2>&1 7>&- &
holders+=($!)
pids+=($!)
for _ in $(seq 1200); do [ "$(grep -c 'OK [0-9]' "$work/proxy3.log")" -ge 2 ] && break; sleep 0.05; done
"$CLIENT" --tcp "127.0.0.1:$P_MAX" --bytes 4096 --timeout 50 >"$work/third.out" 2>&1 7>&- &
third=$!
pids+=($third)
q=
for _ in $(seq 1200); do
    q=$(pstat queued)
    [ "$q" = 1 ] && break
    sleep 0.05
done
acc=$(pstat accepting)
[ "$q" = 1 ] && [ "$acc" = 0 ] && kill -0 $third 2>/dev/null && pass max-conns-third-waits ||
    fail max-conns-third-waits "queued '$q', accepting '$acc'; client: $(cat "$work/third.out")"
grep -q 'connection limit 2 reached (--max-conns): new clients wait' "$work/proxy3.log" &&
    pass max-conns-logged || fail max-conns-logged "$(tail -3 "$work/proxy3.log")"
exec 7>&- # the first holder's input ends: it leaves, and the third gets its slot
wait $third
rc=$?
grep -q '^1/1 connections verified, 4096 bytes' "$work/third.out" && [ $rc -eq 0 ] &&
    pass max-conns-third-served || fail max-conns-third-served "rc $rc: $(cat "$work/third.out")"
[ "$(pstat refused)" = 0 ] && [ "$(pstat peak)" = 2 ] && pass max-conns-stats ||
    fail max-conns-stats "$(printf 'stats\n' | timeout 5 socat - UNIX-CONNECT:"$work/proxy3.ctl" | tr '\n' ' ')"

# SIGTERM with connections open: exit 0, the held clients see the end, nothing left.
kill -TERM $ppid3
rc=124
for _ in $(seq 600); do kill -0 $ppid3 2>/dev/null || break; sleep 0.1; done
if ! kill -0 $ppid3 2>/dev/null; then wait $ppid3; rc=$?; fi
[ $rc -eq 0 ] && pass sigterm-exit-0 || fail sigterm-exit-0 "status $rc"
left=1
for _ in $(seq 600); do
    left=0
    for h in "${holders[@]}"; do kill -0 "$h" 2>/dev/null && left=1; done
    [ $left -eq 0 ] && break
    sleep 0.1
done
[ $left -eq 0 ] && pass sigterm-clients-closed || fail sigterm-clients-closed "a held client is still connected after 60 s"
for p in $ppid $ppid2 $ppid4 $ppid5; do kill -TERM $p; done
rc=0
for p in $ppid $ppid2 $ppid4 $ppid5; do
    timeout 60 tail --pid=$p -f /dev/null
    wait $p || rc=$?
done
[ $rc -eq 0 ] && ! kill -0 $ppid 2>/dev/null && ! kill -0 $ppid2 2>/dev/null && ! kill -0 $ppid4 2>/dev/null && ! kill -0 $ppid5 2>/dev/null &&
    [ -z "$(pgrep -f "$PROXY .*$work" 2>/dev/null)" ] && pass sigterm-no-process ||
    fail sigterm-no-process "status $rc, left: $(pgrep -af "$PROXY .*$work")"
kill -0 $qpid 2>/dev/null && pass guest-still-up || fail guest-still-up "QEMU exited: $(tail -5 "$out" | tr '\n' ' ')"
finish
