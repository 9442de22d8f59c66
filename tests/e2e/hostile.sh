#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# A hostile guest against the confined miura-vsockd, through the real device
# (docs/security.md): the test_hostile appliance, started by `miura run` as
# root (its own identity, QEMU's -sandbox, miura-vsockd confined), writes
# garbage packets and then broken rings into its virtio-vsock queues; a web
# server instance runs beside it on the same host.
#   garbage:  the device gives every chain back, answers RST where a
#             well-formed reply exists, counts 6 bad packets, and the guest
#             still serves an echo byte-exact;
#   tx cases: each broken tx ring (a loop, an address or a length past guest
#             memory, a chain longer than the queue, a next index out of
#             range, the avail index too far ahead, an indirect descriptor,
#             a readable descriptor after a writable one) makes miura-vsockd
#             log one line and stop using the queue; after the guest resets
#             the device, it serves again;
#   rx case:  a device-readable chain in the rx ring: one line, no write;
# and all along: the same miura-vsockd process, confined, never killed by its
# seccomp filter; the other instance serves its page byte-exact.
SUITE=hostile
source "$(dirname "$0")/lib.sh"
MIURA=$ROOT/build/bin/miura
VSOCKD=$ROOT/build/bin/miura-vsockd
CLIENT=$ROOT/build/bin/vsock_client
for b in "$MIURA" "$VSOCKD" "$CLIENT"; do
    [ -x "$b" ] || { fail setup "$b missing (run make)"; finish; }
done
command -v socat >/dev/null || { fail setup "socat missing (apt-get install socat)"; finish; }
[ "$(id -u)" -eq 0 ] || { fail setup "instance identities need root (run as root)"; finish; }
web=$(need_image webserver)
hostile=$(need_image test_hostile)

work=$(mktemp -d /tmp/miura-hostile.XXXXXX)
RT=$work/rt
export MIURA_RUNTIME_DIR=$RT MIURA_VSOCKD=$VSOCKD
bg=()
trap miura_cleanup EXIT
mkdir -p "$work/share"
head -c 20000 /dev/urandom >"$work/share/page.bin"
ph=$(free_ports 1)

timeout -k 2 120 "$MIURA" run -d -n hh --accel "$ACCEL" --share "$work/share" \
    --publish "127.0.0.1:$ph:80" "$web" </dev/null >"$work/hh.out" 2>"$work/hh.err"
timeout -k 2 120 "$MIURA" run -d -n hx --accel "$ACCEL" "$hostile" </dev/null \
    >"$work/hx.out" 2>"$work/hx.err"
if grep -q '^started hh' "$work/hh.out" && grep -q '^started hx' "$work/hx.out"; then
    pass two-started
else
    fail two-started "hh: $(cat "$work/hh.err") hx: $(cat "$work/hx.err")"
    finish
fi
con=$RT/hx/console.log
vlog=$RT/hx/vsockd.log
sock=$RT/hx/vsock.sock
field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null; } # PID KEY
vpid=$(pgrep -f -- "miura-vsockd --socket $RT/hx/vhost.sock" | head -1)
if [ -n "$vpid" ] && [ "$(field "$vpid" Seccomp)" = 2 ] && [ "$(field "$vpid" Uid | cut -f1)" != 0 ]; then
    pass vsockd-confined
else
    fail vsockd-confined "pid '$vpid': Seccomp $(field "$vpid" Seccomp) Uid $(field "$vpid" Uid)"
fi
# The web server beside it serves its page byte-exact.
healthy() { # NAME
    rm -f "$work/got"
    if curl -s --max-time 20 -o "$work/got" "http://127.0.0.1:$ph/page.bin" &&
        cmp -s "$work/got" "$work/share/page.bin"; then
        pass "$1/other-instance-serves"
    else
        fail "$1/other-instance-serves" "$(wc -c <"$work/got" 2>/dev/null) bytes"
    fi
}
# miura-vsockd of the hostile instance: the same process, alive, still confined.
vsockd_alive() { # NAME
    if running "$vpid" && [ "$(field "$vpid" Seccomp)" = 2 ]; then
        pass "$1/vsockd-alive"
    else
        fail "$1/vsockd-alive" "pid $vpid: $(tail -2 "$vlog")"
    fi
}
echo_ok() { # NAME BYTES: an echo through the hostile guest, checked byte for byte
    local res
    res=$(timeout -k 2 120 "$CLIENT" --uds "$sock" --port 5000 --bytes "$2" --timeout 90 2>&1)
    if [[ $res =~ ^1/1\ connections\ verified,\ $2\ bytes ]]; then
        pass "$1"
    else
        fail "$1" "$res"
    fi
}
connect() { # PORT: a host connection to the guest's PORT; prints the device's first line
    printf 'CONNECT %s\n' "$1" | timeout -k 2 120 socat -t 90 - "UNIX-CONNECT:$sock" 2>&1 | head -1
}
count() { grep -c -- "$2" "$1" 2>/dev/null || true; } # FILE STRING
wait_count() { # FILE STRING N: until FILE has N lines with STRING (bounded)
    local i
    for ((i = 0; i < 1200; i++)); do
        [ "$(count "$1" "$2")" -ge "$3" ] && return 0
        sleep 0.05
    done
    return 1
}

# ---- garbage packets on well-formed chains
if wait_grep "$con" 'hostile: serving on port 5000' 180; then
    pass garbage/guest-done
else
    fail garbage/guest-done "$(tail -5 "$con" | tr '\r\n' '  '); vsockd: $(tail -5 "$vlog" | tr '\n' ' ')"
    finish
fi
grep -q 'hostile: garbage: stalled' "$con" && fail garbage/no-stall "$(grep 'hostile: garbage: stalled' "$con")" ||
    pass garbage/no-stall
expect_grep garbage/rst-and-given-back "$con" \
    'hostile: garbage: 8 packets given back by the device, RST for 4 of them \(ports 40001 40002 40005 40007\)'
stats=$("$MIURA" stats hx 2>&1)
bad=$(sed -n 's/^bad_packets //p' <<<"$stats")
[ "$bad" = 6 ] && pass garbage/bad-packets-counted || fail garbage/bad-packets-counted "$stats"
echo_ok garbage/still-serves 3000
healthy garbage
vsockd_alive garbage

# ---- broken tx rings, one per device reset
cases=(descriptor-loop address-past-memory length-past-memory chain-longer-than-queue
    next-out-of-range avail-index-ahead indirect-not-negotiated readable-after-writable)
broke='guest broke the tx queue: closing all connections until the device is reset'
k=0
for name in "${cases[@]}"; do
    k=$((k + 1))
    reply=$(connect $((7000 + k)))
    [[ $reply == "OK "* ]] && pass "$name/command" || fail "$name/command" "reply '$reply'"
    if wait_grep "$con" "hostile: case $name sent" 60 && wait_count "$vlog" "$broke" "$k"; then
        pass "$name/vsockd-logged"
    else
        fail "$name/vsockd-logged" "$(count "$vlog" "$broke") lines; $(tail -2 "$vlog")"
    fi
    vsockd_alive "$name"
    healthy "$name"
    connect 7999 >/dev/null # the guest resets its device
    if wait_grep "$con" "hostile: device reset $k\b" 60; then
        echo_ok "$name/serves-after-reset" 5000
    else
        fail "$name/serves-after-reset" "no reset: $(tail -3 "$con" | tr '\r\n' '  ')"
    fi
done
[ "$(count "$vlog" "$broke")" = ${#cases[@]} ] && pass tx/one-line-each ||
    fail tx/one-line-each "$(count "$vlog" "$broke") lines for ${#cases[@]} cases"
# miura-vsockd also told QEMU through the queue's error eventfd (SET_VRING_ERR).
qerr='vhost vring error in virtqueue 1'
wait_count "$RT/hx/qemu.log" "$qerr" ${#cases[@]}
[ "$(count "$RT/hx/qemu.log" "$qerr")" = ${#cases[@]} ] && pass tx/error-fd-signalled ||
    fail tx/error-fd-signalled "$(count "$RT/hx/qemu.log" "$qerr") lines in qemu.log"

# ---- a device-readable chain in the rx ring
connect 7100 >/dev/null
if wait_grep "$con" 'hostile: rx case armed' 60; then
    # Something for the guest: the device finds only the readable chain.
    timeout -k 2 30 "$CLIENT" --uds "$sock" --port 5000 --bytes 10 --timeout 5 >/dev/null 2>&1
    if wait_count "$vlog" 'guest broke the rx queue' 1; then
        pass rx-readable/vsockd-logged
    else
        fail rx-readable/vsockd-logged "$(tail -2 "$vlog")"
    fi
else
    fail rx-readable/armed "$(tail -3 "$con" | tr '\r\n' '  ')"
fi
wait_count "$RT/hx/qemu.log" 'vhost vring error in virtqueue 0' 1
[ "$(count "$RT/hx/qemu.log" 'vhost vring error in virtqueue 0')" = 1 ] &&
    pass rx-readable/error-fd-signalled || fail rx-readable/error-fd-signalled "$(tail -2 "$RT/hx/qemu.log")"
vsockd_alive rx-readable
healthy rx-readable
! grep -q 'hostile: unexpected' "$con" && pass guest-saw-nothing-unexpected ||
    fail guest-saw-nothing-unexpected "$(grep 'hostile: unexpected' "$con" | head -2)"
! grep -qi 'seccomp' "$vlog" && pass no-seccomp-kill || fail no-seccomp-kill "$(grep -i seccomp "$vlog")"

# ---- stopped: miura-vsockd ends as asked, not by a signal
timeout 30 "$MIURA" stop hx >/dev/null 2>&1
for _ in $(seq 1 200); do running "$vpid" || break; sleep 0.05; done
cause=$(sed -n 's/^cause //p' "$RT/hx/meta" 2>/dev/null)
if ! running "$vpid" && [[ $cause != *"killed by signal"* ]]; then
    pass stopped-cleanly
else
    fail stopped-cleanly "cause '$cause'"
fi
healthy after-stop
finish
