#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Every part that fails is explained and can be recovered: one check per
# fault, with the outcome docs/launcher.md ("Faults") documents.
#   - virtiofsd, miura-vsockd or QEMU killed under a detached web server:
#     without --restart the instance ends and says why (`miura ps -a`,
#     `miura logs`, logs kept); with --restart it comes back on the same
#     name, CID and port, and a client that connects meanwhile is served;
#     it keeps its cgroup across the restart, and loses it at the end.
#   - the guest panicking: status 100, the report with its backtrace in
#     `miura logs`; with --restart on-failure:2, two restarts, then the end.
#   - the share made unreadable or removed while serving: 403/404 per file,
#     500 when the host runs out of descriptors, and the rest keeps serving.
#   - the host disk full under a writing appliance (a 1 MiB tmpfs): ENOSPC
#     reaches the app and nothing already written is lost.
#   - SIGTERM (`miura stop`) during a 64 MiB download: it completes, whole.
# Needs root (Debian's virtiofsd, and the tmpfs mount).
SUITE=faults
source "$(dirname "$0")/lib.sh"
MIURA=$ROOT/build/bin/miura
VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
for t in "$MIURA" "$ROOT/build/bin/miura-vsockd" "$VIRTIOFSD"; do
    [ -x "$t" ] || { fail setup "$t missing (run make; apt-get install qemu-system-x86)"; finish; }
done
[ "$(id -u)" = 0 ] || { fail setup "needs root (virtiofsd and a tmpfs mount)"; finish; }
web=$(need_image webserver)
crash=$(need_image test_crash)
testfs=$(need_image test_fs)

work=$(mktemp -d /tmp/miura-faults.XXXXXX)
RT=$work/rt
export MIURA_RUNTIME_DIR=$RT MIURA_VSOCKD=$ROOT/build/bin/miura-vsockd MIURA_VIRTIOFSD=$VIRTIOFSD
bg=()
cleanup_more() { umount "$work/small" 2>/dev/null; }
trap miura_cleanup EXIT

site=$work/site
mkdir -p "$site"
echo "index" >"$site/index.html"
echo "file a" >"$site/a.txt"
head -c $((64 * 1024 * 1024)) /dev/urandom >"$site/big64.bin"

# start_web NAME SHARE [miura run options...]: a detached web server on a
# free port (PORT); retried on another port if that one was taken meanwhile.
start_web() {
    local name=$1 share=$2 try
    shift 2
    for try in 1 2 3 4 5; do
        PORT=$(free_ports 1)
        timeout -k 2 120 "$MIURA" run --detach --name "$name" --share "$share" \
            --publish "127.0.0.1:$PORT:80" "$@" "$web" >"$work/$name.start" 2>&1 && return 0
        grep -q 'Address already in use' "$work/$name.start" || break
    done
    fail "$name/start" "$(cat "$work/$name.start")"
    return 1
}
http() { # PORT PATH -> the status code (000: no answer)
    curl -s -o /dev/null -w '%{http_code}' --max-time 60 "http://127.0.0.1:$1/$2"
}
# part_pid NAME PART: the pid of an instance's part (a child of its launcher).
part_pid() {
    local lp
    lp=$(launcher_pid "$1")
    case $2 in # (by the program: instance names and paths may contain these words)
    qemu) pgrep -P "$lp" -f '^[^ ]*/qemu-system-x86_64 ' ;;
    vsockd) pgrep -P "$lp" -f '^[^ ]*/miura-vsockd ' ;;
    virtiofsd) pgrep -P "$lp" -f '^[^ ]*/virtiofsd ' ;;
    esac
}
wait_gone() { # PID SECONDS
    local i
    for ((i = 0; i < $2 * 20; i++)); do running "$1" || return 0; sleep 0.05; done
    return 1
}
# An ended instance left its logs and meta, and nothing else: no process,
# no socket, no CID lock, and its port refuses connections.
expect_ended_clean() { # CHECK NAME CID PORT
    local procs socks rc
    procs=$(pgrep -af "$RT/$2/" | cut -c1-100)
    socks=$(find "$RT/$2" -type s)
    curl -s -o /dev/null --max-time 10 "http://127.0.0.1:$4/"
    rc=$?
    if [ -z "$procs$socks" ] && [ ! -e "$RT/cid-$3.lock" ] && [ -f "$RT/$2/meta" ] && [ $rc -eq 7 ]; then
        pass "$1"
    else
        fail "$1" "processes [$procs] sockets [$socks] lock $(ls "$RT"/cid-"$3".lock 2>&1) curl $rc"
    fi
}
cid_of() { sed -n 's/^cid //p' "$RT/$1/meta"; }

# ---- a part killed, no --restart: the instance ends and says which part, and how
killed_ends() { # PART CAUSE_REGEX WANT_STATUS
    local name=end-$1-$$ lp cid victim cg # $$: two runs at once never share a cgroup path
    start_web "$name" "$site" || return
    [ "$(http "$PORT" a.txt)" = 200 ] && pass "$1-killed/serving" || fail "$1-killed/serving" "no 200 before the kill"
    lp=$(launcher_pid "$name")
    cid=$(cid_of "$name")
    victim=$(part_pid "$name" "$1")
    [ -n "$victim" ] || { fail "$1-killed/victim" "no $1 under launcher $lp"; return; }
    cg=$(cgroup_dir_of "$(part_pid "$name" qemu)" memory) # as root: the instance's own (docs/security.md)
    kill -KILL $victim
    wait_gone "$lp" 30 && pass "$1-killed/instance-ends" || fail "$1-killed/instance-ends" "launcher $lp still runs"
    "$MIURA" ps -a >"$work/$name.ps"
    grep -qE "^$name +$lp +$cid .* exited $3: $2" "$work/$name.ps" && pass "$1-killed/ps-a-cause" ||
        fail "$1-killed/ps-a-cause" "$(grep "^$name " "$work/$name.ps")"
    "$MIURA" logs --part launcher "$name" | grep -qE "^miura: $2" && pass "$1-killed/logs-cause" ||
        fail "$1-killed/logs-cause" "$("$MIURA" logs --part launcher "$name" 2>&1 | tail -3)"
    "$MIURA" logs "$name" | grep -q '^GET /a.txt HTTP/1.1 200 7$' && pass "$1-killed/console-kept" ||
        fail "$1-killed/console-kept" "$("$MIURA" logs "$name" 2>&1 | tail -3)"
    expect_ended_clean "$1-killed/clean" "$name" "$cid" "$PORT"
    [[ $cg == */miura.slice/"$name"-* ]] && [ ! -e "$cg" ] && pass "$1-killed/cgroup-removed" ||
        fail "$1-killed/cgroup-removed" "'$cg'"
    "$MIURA" rm "$name" >/dev/null && [ ! -e "$RT/$name" ] && pass "$1-killed/rm" || fail "$1-killed/rm" "$(ls "$RT")"
}
killed_ends virtiofsd 'virtiofsd was killed by signal 9' 125
killed_ends vsockd 'miura-vsockd was killed by signal 9' 125
killed_ends qemu 'qemu was killed by signal 9 \(Killed\)' 137

# ---- a part killed under --restart: the same name, CID and port serve again,
# and clients that come during the restart are held back, then served.
killed_restarts() { # PART POLICY
    local name=re-$1-$$ lp cid victim n=0 i cg
    start_web "$name" "$site" --restart "$2" || return
    lp=$(launcher_pid "$name")
    cid=$(cid_of "$name")
    victim=$(part_pid "$name" "$1")
    [ -n "$victim" ] || { fail "$1-restart/victim" "no $1 under launcher $lp"; return; }
    cg=$(cgroup_dir_of "$(part_pid "$name" qemu)" memory)
    kill -KILL $victim
    wait_grep "$RT/$name/launcher.log" "^miura: $name: .*; restart 1( of [0-9]+)? in [0-9]+ ms$" 30 &&
        pass "$1-restart/said" || fail "$1-restart/said" "$(cat "$RT/$name/launcher.log")"
    # The port is held from the part's end until the new guest accepts: these wait, then get the file.
    for i in 1 2 3 4 5; do
        curl -s --max-time 60 -o "$work/$name.got$i" "http://127.0.0.1:$PORT/a.txt" &
        bg+=($!)
    done
    wait "${bg[@]: -5}"
    for i in 1 2 3 4 5; do [ "$(cat "$work/$name.got$i" 2>/dev/null)" = "file a" ] && n=$((n + 1)); done
    [ $n -eq 5 ] && pass "$1-restart/clients-during-restart-served" ||
        fail "$1-restart/clients-during-restart-served" "$n of 5 got the file"
    [ "$(http "$PORT" a.txt)" = 200 ] && pass "$1-restart/same-port" || fail "$1-restart/same-port" "no 200 after the restart"
    "$MIURA" ps >"$work/$name.ps"
    grep -qE "^$name +$lp +$cid " "$work/$name.ps" && pass "$1-restart/same-launcher-and-cid" ||
        fail "$1-restart/same-launcher-and-cid" "want pid $lp cid $cid: $(cat "$work/$name.ps")"
    "$MIURA" ps -a | grep -qE "^$name .*  running, 1 restart$" && pass "$1-restart/ps-a-count" ||
        fail "$1-restart/ps-a-count" "$("$MIURA" ps -a | grep "^$name ")"
    # The instance keeps its cgroup across the restart; the stop removes it.
    [[ $cg == */miura.slice/"$name"-* ]] && [ "$(cgroup_dir_of "$(part_pid "$name" qemu)" memory)" = "$cg" ] &&
        [ "$(cgroup_dir_of "$(part_pid "$name" vsockd)" memory)" = "$cg" ] && pass "$1-restart/same-cgroup" ||
        fail "$1-restart/same-cgroup" "before '$cg', after '$(cgroup_dir_of "$(part_pid "$name" qemu)" memory)'"
    timeout 60 "$MIURA" stop "$name" >/dev/null
    [ ! -e "$cg" ] && pass "$1-restart/cgroup-removed" || fail "$1-restart/cgroup-removed" "$cg"
    "$MIURA" rm "$name" >/dev/null
}
killed_restarts virtiofsd on-failure:3
killed_restarts vsockd always
killed_restarts qemu on-failure

# ---- the guest panics: status 100, the report and its backtrace in `miura logs`
# (named there from test_crash.elf), the function it panicked in in the cause
# (A detached start returns 100 if the panic comes before the instance counts
# as started, 0 if after — a slow boot decides; the end and its cause are the same.)
timeout -k 2 60 "$MIURA" run --detach --name panic --append crash=panic "$crash" >"$work/panic.out" 2>"$work/panic.err"
rc=$?
wait_gone "$(launcher_pid panic)" 60
cat "$work/panic.err" "$RT/panic/launcher.log" 2>/dev/null >"$work/panic.said"
{ [ $rc -eq 100 ] || [ $rc -eq 0 ]; } && grep -qxE 'miura: guest crashed \(status 100\): panic: on purpose in main\+0x[0-9a-f]+' "$work/panic.said" &&
    grep -qx 'status 100' "$RT/panic/meta" && pass panic/status-and-cause ||
    fail panic/status-and-cause "status $rc: $(cat "$work/panic.said" "$RT/panic/meta")"
"$MIURA" logs panic >"$work/panic.log"
if grep -qx 'panic: on purpose' "$work/panic.log" && grep -qE '^    backtrace \(image [0-9a-f]{8}\):$' "$work/panic.log" &&
    grep -qE '^      #[0-9]+ 0x[0-9a-f]+ main\+0x[0-9a-f]+$' "$work/panic.log"; then
    pass panic/report-in-logs
else
    fail panic/report-in-logs "$(cat "$work/panic.log")"
fi
"$MIURA" ps -a | grep -qE '^panic .*  exited 100: guest crashed \(status 100\): panic: on purpose in main\+0x[0-9a-f]+$' &&
    pass panic/ps-a || fail panic/ps-a "$("$MIURA" ps -a)"
"$MIURA" rm panic >/dev/null
# After it started (no ports: up 0.5 s), a panic is a failure that on-failure:2 restarts twice.
timeout -k 2 120 "$MIURA" run --detach --name panic2 --restart on-failure:2 \
    --append "crash=panic delay_ms=1000" "$crash" >"$work/panic2.out" 2>&1
lp=$(launcher_pid panic2)
wait_gone "$lp" 60 && pass panic-restart/ends || fail panic-restart/ends "still running: $(cat "$RT/panic2/launcher.log")"
n=$(grep -cx 'panic: on purpose' <("$MIURA" logs panic2))
if grep -qxE 'miura: panic2: guest crashed \(status 100\): panic: on purpose in main\+0x[0-9a-f]+; restart 2 of 2 in 200 ms' "$RT/panic2/launcher.log" &&
    grep -qx 'miura: panic2: not restarted: 2 restarts done, the most allowed' "$RT/panic2/launcher.log" && [ "$n" = 3 ]; then
    pass panic-restart/twice-then-ends
else
    fail panic-restart/twice-then-ends "$n reports; $(cat "$RT/panic2/launcher.log")"
fi
"$MIURA" ps -a | grep -qE '^panic2 .*  exited 100 after restarts: guest crashed' && pass panic-restart/ps-a ||
    fail panic-restart/ps-a "$("$MIURA" ps -a)"
"$MIURA" rm panic2 >/dev/null

# ---- the share made unreadable, or removed, while serving. Debian's
# virtiofsd runs as root, which reads any file whatever its mode; without
# those capabilities (as a virtiofsd run by an unprivileged user would be)
# file modes apply.
printf '#!/bin/sh\nexec %s -o modcaps=-dac_override:-dac_read_search "$@"\n' "$VIRTIOFSD" >"$work/virtiofsd-nocaps"
printf '#!/bin/sh\nexec %s --rlimit-nofile=48 "$@"\n' "$VIRTIOFSD" >"$work/virtiofsd-fewfds"
chmod +x "$work/virtiofsd-nocaps" "$work/virtiofsd-fewfds"
s2=$work/share2
mkdir -p "$s2/locked"
for f in ok.txt later.txt secret.txt locked/x.txt; do echo "$f" >"$s2/$f"; done
chmod 000 "$s2/secret.txt" "$s2/locked"
if MIURA_VIRTIOFSD=$work/virtiofsd-nocaps start_web unreadable "$s2"; then
    got="$(http "$PORT" ok.txt) $(http "$PORT" secret.txt) $(http "$PORT" locked/x.txt) $(http "$PORT" missing.txt) $(http "$PORT" ok.txt)"
    [ "$got" = "200 403 403 404 200" ] && pass unreadable/per-file ||
        fail unreadable/per-file "ok, secret, locked/x, missing, ok: $got (want 200 403 403 404 200)"
    rm -rf "$s2"
    [ "$(http "$PORT" later.txt)" = 404 ] && pass share-removed/404 || fail share-removed/404 "later.txt after the share went"
    # ok.txt was served from memory; once the stat cache (1 s) lapses it is gone too.
    for _ in $(seq 200); do [ "$(http "$PORT" ok.txt)" = 404 ] && break; sleep 0.05; done
    [ "$(http "$PORT" ok.txt)" = 404 ] && running "$(launcher_pid unreadable)" && pass share-removed/keeps-answering ||
        fail share-removed/keeps-answering "ok.txt $(http "$PORT" ok.txt)"
    "$MIURA" logs unreadable | grep -qE 'CRASH|panic' && fail share-removed/no-crash "$("$MIURA" logs unreadable | grep -m1 -E 'CRASH|panic')" ||
        pass share-removed/no-crash
    timeout 60 "$MIURA" stop unreadable >/dev/null
fi
# The host's virtiofsd out of file descriptors: 500 for the files it cannot open, 200 for the others.
s3=$work/share3
mkdir -p "$s3"
for i in $(seq 80); do echo "$i" >"$s3/f$i.txt"; done
if MIURA_VIRTIOFSD=$work/virtiofsd-fewfds start_web fewfds "$s3"; then
    codes=$(for i in $(seq 80); do printf '%s ' "$(http "$PORT" "f$i.txt")"; done)
    n200=$(grep -o 200 <<<"$codes" | wc -l)
    n500=$(grep -o 500 <<<"$codes" | wc -l)
    [ "$n200" -gt 0 ] && [ "$n500" -gt 0 ] && [ $((n200 + n500)) -eq 80 ] && pass host-out-of-fds/500-per-file ||
        fail host-out-of-fds/500-per-file "$codes"
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 -X DELETE "http://127.0.0.1:$PORT/f1.txt")" = 405 ] &&
        running "$(launcher_pid fewfds)" && pass host-out-of-fds/keeps-answering || fail host-out-of-fds/keeps-answering "no 405"
    timeout 60 "$MIURA" stop fewfds >/dev/null
fi

# ---- the host disk full under a writing appliance (test_fs test=enospc on a 1 MiB tmpfs)
mkdir -p "$work/small"
if mount -t tmpfs -o size=1M,mode=0755 tmpfs "$work/small"; then
    out=$work/enospc.out
    timeout -k 2 120 "$MIURA" run --share "$work/small" --append test=enospc "$testfs" </dev/null >"$out" 2>&1 &
    mpid=$!
    bg+=("$mpid")
    if wait_grep "$out" '^enospc: waiting for /go' 60; then
        tr -d '\r' <"$out" >"$out.now" # (the console writes CR LF; the guest is still writing)
        filled=$(sed -n 's/^enospc: fill wrote \([0-9]*\) then errno 28, close 0$/\1/p' "$out.now")
        [ -n "$filled" ] && [ "$filled" -gt 0 ] && pass disk-full/enospc-reaches-app ||
            fail disk-full/enospc-reaches-app "$(grep '^enospc' "$out.now")"
        # What the app was told is written is there, byte for byte.
        python3 - "$work/small" "${filled:-0}" <<'EOF' >"$work/enospc.check"
import sys
d, filled = sys.argv[1], int(sys.argv[2])
def pattern(n):
    return bytes((o ^ (o >> 8) ^ (o >> 16)) & 0xff for o in range(n))
keep = open(d + "/keep.bin", "rb").read()
fill = open(d + "/fill.bin", "rb").read()
print("keep", keep == pattern(65536), "fill", len(fill) == filled and fill == pattern(filled))
EOF
        grep -qx 'keep True fill True' "$work/enospc.check" && grep -qx "enospc: readback keep 65536 fill $filled" "$out.now" &&
            pass disk-full/nothing-written-lost || fail disk-full/nothing-written-lost "$(cat "$work/enospc.check"; grep readback "$out.now")"
        touch "$work/small/go"
        wait "$mpid"
        rc=$?
        sed -i 's/\r$//' "$out"
        [ $rc -eq 0 ] && grep -qx 'enospc: after wrote 65536 errno 0' "$out" && [ "$(stat -c %s "$work/small/after.bin")" = 65536 ] &&
            pass disk-full/writes-again-after-space-freed || fail disk-full/writes-again-after-space-freed "status $rc: $(grep '^enospc' "$out")"
    else
        fail disk-full/app-ran "$(cat "$out")"
    fi
    umount "$work/small"
else
    fail disk-full/mount "cannot mount a tmpfs on $work/small"
fi

# ---- SIGTERM during a 64 MiB download: the response in flight completes;
# an idle keep-alive connection (answered, then quiet) does not hold the stop
if start_web dl "$site" --stop-timeout 120; then
    # The idle client: one request on a kept connection, the whole response,
    # then it waits for the server to end the connection.
    python3 - "$PORT" "$work/idle" <<'PY' &
import socket, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=300)
s.sendall(b"GET /index.html HTTP/1.1\r\nHost: t\r\n\r\n")
data = b""
while b"\r\n\r\n" not in data:
    data += s.recv(4096)
head, body = data.split(b"\r\n\r\n", 1)
n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0])
while len(body) < n:
    body += s.recv(4096)
open(out + ".answered", "w").write(head.split(b"\r\n")[0].decode() + "\n")
try:
    rest = s.recv(4096)  # blocks until the instance's end ends the connection
    end = "ended" if rest == b"" else "data"
except ConnectionResetError:
    end = "ended"
open(out + ".ended", "w").write(end + "\n")
PY
    ipid=$!
    bg+=("$ipid")
    for _ in $(seq 1200); do [ -s "$work/idle.answered" ] && break; sleep 0.05; done
    # The download: its first MiB, then it stops reading (the server's socket
    # holds unsent data: a response in flight) until the launcher says it
    # waits (or 60 s), then the rest at full speed. A rate-limited client
    # would not do: curl catches up after a slow start, and the download
    # was sometimes over before the stop began.
    python3 - "$PORT" "$work/dl" "$RT/dl/launcher.log" <<'PY' &
import socket, sys, time
port, out, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=120)
s.sendall(b"GET /big64.bin HTTP/1.1\r\nHost: t\r\n\r\n")
data = b""
while b"\r\n\r\n" not in data:
    chunk = s.recv(65536)
    if not chunk:
        sys.exit(1)
    data += chunk
head, body = data.split(b"\r\n\r\n", 1)
n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0])
parts = [body]
got = len(body)
def fill(limit):
    global got
    while got < limit:
        chunk = s.recv(min(1 << 20, limit - got))
        if not chunk:
            return
        parts.append(chunk)
        got += len(chunk)
fill(min(n, 1 << 20))
open(out + ".paused", "w").write("%d\n" % got)
t0 = time.monotonic()
while time.monotonic() - t0 < 60:
    try:
        if b"waiting up to" in open(log, "rb").read():
            break
    except OSError:
        pass
    time.sleep(0.02)
fill(n)
open(out + ".bin", "wb").write(b"".join(parts))
sys.exit(0 if got == n and head.startswith(b"HTTP/1.1 200 ") else 1)
PY
    cpid=$!
    bg+=("$cpid")
    for _ in $(seq 600); do [ -s "$work/dl.paused" ] && break; sleep 0.05; done
    sleep 1.5 # the idle connection quiet for longer than the launcher's 500 ms
    timeout 180 "$MIURA" stop dl >"$work/dl.stop" 2>&1
    src=$?
    wait "$cpid"
    crc=$?
    [ $src -eq 0 ] && [ $crc -eq 0 ] && cmp -s "$work/dl.bin" "$site/big64.bin" && pass sigterm-download/completes-whole ||
        fail sigterm-download/completes-whole "stop $src, client $crc, $(stat -c %s "$work/dl.bin") bytes: $(cat "$work/dl.stop")"
    grep -qx 'miura: dl: waiting up to 120 s for 1 connection in flight' "$RT/dl/launcher.log" &&
        grep -qE '^miura: dl: connections finished in [0-9]+ ms$' "$RT/dl/launcher.log" && pass sigterm-download/said ||
        fail sigterm-download/said "$(cat "$RT/dl/launcher.log")"
    "$MIURA" ps -a | grep -qE '^dl .*  exited 143: stopped by signal 15 \(Terminated\)$' && pass sigterm-download/ps-a ||
        fail sigterm-download/ps-a "$("$MIURA" ps -a | grep '^dl ')"
    # Counted above: "1 connection", the download, not the idle one.
    wait "$ipid"
    [ "$(cat "$work/idle.answered" 2>/dev/null)" = "HTTP/1.1 200 OK" ] &&
        [ "$(cat "$work/idle.ended" 2>/dev/null)" = ended ] && pass sigterm-download/idle-keepalive-ended ||
        fail sigterm-download/idle-keepalive-ended "answered '$(cat "$work/idle.answered" 2>/dev/null)', ended '$(cat "$work/idle.ended" 2>/dev/null)'"
fi
finish
