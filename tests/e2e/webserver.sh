#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The web server appliance started by `miura run`, checked with real clients
# (curl, wget, ab): byte-exact downloads of 0 B to 64 MiB, HEAD, Range, 304s,
# 301/400/404/405/414/431, keep-alive reuse, 200 concurrent clients, a slow
# client that does not block others (and gets 408), two instances with
# different shares and ports at once, each device's interrupts on a CPU of
# its own (irq_cpu.NAME=, counted by CPU), and a clean teardown.
SUITE=webserver
source "$(dirname "$0")/lib.sh"
MIURA=$ROOT/build/bin/miura
# On q35 and pc (MACHINE, lib.sh): the virtio-pci image; listings' image has both transports.
img=$(need_image "$([ "$MACHINE" = microvm ] && echo webserver || echo webserver_pci)")
M=(--machine "$MACHINE" --cpus "${CPUS:-1}")
for t in "$MIURA" "$ROOT/build/bin/miura-vsockd"; do [ -x "$t" ] || { fail setup "$t missing (run make)"; finish; }; done
for t in curl wget ab; do command -v $t >/dev/null || { fail setup "$t missing (apt-get install curl wget apache2-utils)"; finish; }; done

work=$(mktemp -d /tmp/miura-web.XXXXXX)
RT=$work/rt
export MIURA_RUNTIME_DIR=$RT MIURA_VSOCKD=$ROOT/build/bin/miura-vsockd
cleanup() {
    "$MIURA" stop web1 >/dev/null 2>&1
    "$MIURA" stop web2 >/dev/null 2>&1
    "$MIURA" stop web3 >/dev/null 2>&1
    "$MIURA" stop web4 >/dev/null 2>&1
    "$MIURA" stop web5 >/dev/null 2>&1
    "$MIURA" stop web7 >/dev/null 2>&1
    for p in $(pgrep -f "$RT/" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT

s1=$work/site1
s2=$work/site2
mkdir -p "$s1/sub" "$s1/noindex/inner" "$s2"
printf 'amp\n' >"$s1/noindex/a&b.txt"
: >"$s1/empty.bin"
printf 'x' >"$s1/one.bin"
head -c 1024 /dev/urandom >"$s1/k1.bin"
head -c $((1024 * 1024)) /dev/urandom >"$s1/m1.bin"
head -c $((64 * 1024 * 1024)) /dev/urandom >"$s1/m64.bin"
printf '<h1>site one</h1>\n' >"$s1/index.html"
printf '<h1>sub</h1>\n' >"$s1/sub/index.html"
printf 'body{}\n' >"$s1/style.css"
printf '<h1>site two</h1>\n' >"$s2/index.html"
p1=$(free_port 5) || { fail setup "no free loopback ports"; finish; }
p2=$((p1 + 1)) p3=$((p1 + 2)) p4=$((p1 + 3)) p5=$((p1 + 4))

# run_on PORTVAR NAME [options...] IMAGE: `miura run --detach` publishing
# 127.0.0.1:$PORTVAR:80 (output in $out); a port another test run took
# meanwhile is picked again.
run_on() {
    local var=$1 name=$2 rc
    shift 2
    for _ in $(seq "$PORT_TRIES"); do
        out=$(timeout -k 2 120 "$MIURA" run "${M[@]}" --detach --name "$name" \
            --publish "127.0.0.1:${!var}:80" "$@" 2>&1)
        rc=$?
        [ $rc -ne 0 ] && [[ $out == *"Address already in use"* ]] || return $rc
        printf -v "$var" %s "$(free_port)"
    done
    return 1
}
# The complete stats= lines of a console log (CR LF ended: not one being
# written as it is read), without their CRs.
stats_lines() { grep -a $'^webserver: stats: .*\r$' "$1" | tr -d '\r'; }
start() { # name share PORTVAR [more run options]
    # stackcheck: the kernel reports the deepest use of any exited thread's
    # stack, checked against the connection threads' 8 KiB below.
    if run_on "$3" "$1" --share "$2" --append header_timeout=2 --append log=0 "${@:4}" \
        --append stackcheck "$img" && [[ $out == *"serving http://127.0.0.1:${!3}"* ]]; then
        pass "start-$1"
    else
        fail "start-$1" "$(echo "$out" | tail -3 | tr '\n' ' ')"
        finish
    fi
}
start web1 "$s1" p1
B1=http://127.0.0.1:$p1

# ---- downloads, byte-exact
for f in empty.bin one.bin k1.bin m1.bin m64.bin; do
    got=$(curl -sf --max-time 300 "$B1/$f" | sha256sum | cut -d' ' -f1)
    want=$(sha256sum <"$s1/$f" | cut -d' ' -f1)
    [ "$got" = "$want" ] && pass "get/$f" || fail "get/$f" "sha256 $got != $want"
done
wget -q -O "$work/w.bin" "$B1/m1.bin" && cmp -s "$work/w.bin" "$s1/m1.bin" && pass wget-1MiB || fail wget-1MiB "wget download differs"

hdr() { curl -s -D - -o /dev/null --max-time 30 "$@" | tr -d '\r'; }
status() { curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$@"; }

# ---- HEAD
h=$(curl -sI --max-time 30 "$B1/m1.bin" | tr -d '\r')
[[ $h == *"Content-Length: 1048576"* && $h == HTTP/1.1\ 200* ]] && pass head || fail head "$h"
body=$(curl -s -X HEAD --max-time 10 "$B1/k1.bin" 2>/dev/null | wc -c)
[ "$body" = 0 ] && pass head-no-body || fail head-no-body "$body bytes"
ct=$(hdr "$B1/style.css" | sed -n 's/^Content-Type: //p')
[ "$ct" = "text/css; charset=utf-8" ] && pass content-type || fail content-type "'$ct'"
hdr "$B1/" | grep -q '^Date: .* GMT$' && pass date-header || fail date-header "no Date"

# ---- Range
r=$(curl -s -r 0-99 -w ' %{http_code}' "$B1/k1.bin" | tail -c 4)
[ "$r" = " 206" ] && cmp -s <(curl -s -r 0-99 "$B1/k1.bin") <(head -c 100 "$s1/k1.bin") && pass range-206 || fail range-206 "$r"
cmp -s <(curl -s -r -10 "$B1/k1.bin") <(tail -c 10 "$s1/k1.bin") && pass range-suffix || fail range-suffix "differs"
[ "$(status -r 5000- "$B1/k1.bin")" = 416 ] && pass range-416 || fail range-416 "$(status -r 5000- "$B1/k1.bin")"
hdr -r 5000- "$B1/k1.bin" | grep -q '^Content-Range: bytes \*/1024$' && pass range-416-header || fail range-416-header "missing"

# ---- conditional requests
etag=$(hdr "$B1/k1.bin" | sed -n 's/^ETag: //p')
lm=$(hdr "$B1/k1.bin" | sed -n 's/^Last-Modified: //p')
[ "$(status -H "If-None-Match: $etag" "$B1/k1.bin")" = 304 ] && pass if-none-match-304 || fail if-none-match-304 "etag '$etag'"
[ "$(status -H "If-Modified-Since: $lm" "$B1/k1.bin")" = 304 ] && pass if-modified-since-304 || fail if-modified-since-304 "lm '$lm'"
[ "$(status -H 'If-None-Match: "nope"' "$B1/k1.bin")" = 200 ] && pass if-none-match-200 || fail if-none-match-200 "not 200"

# ---- errors and paths
[ "$(status "$B1/nothing-here")" = 404 ] && pass 404 || fail 404 "$(status "$B1/nothing-here")"
allow=$(curl -s -X POST -D - -o /dev/null "$B1/" | tr -d '\r' | sed -n 's/^Allow: //p')
[ "$(status -X POST "$B1/")" = 405 ] && [ "$allow" = "GET, HEAD" ] && pass 405-allow || fail 405-allow "allow '$allow'"
# A method it does not serve is the answer even when a body came with it
# (not 413 for the body it takes none of, nor 411 for a chunked one).
st=$(status -X POST -d 'a=1&b=2' "$B1/")
[ "$st" = 405 ] && pass 405-post-with-body || fail 405-post-with-body "status $st"
st=$(status -X PUT -H 'Transfer-Encoding: chunked' -d 'abc' "$B1/x")
[ "$st" = 405 ] && pass 405-put-chunked || fail 405-put-chunked "status $st"
st=$(status -H 'Content-Length: 3' -d 'abc' -X GET "$B1/k1.bin")
[ "$st" = 413 ] && pass 413-get-with-body || fail 413-get-with-body "status $st"
long=$(head -c 9000 /dev/zero | tr '\0' a)
[ "$(status "$B1/$long")" = 414 ] && pass 414 || fail 414 "$(status "$B1/$long")"
hargs=()
for i in $(seq 80); do hargs+=(-H "X-Filler-$i: y"); done
[ "$(status "${hargs[@]}" "$B1/")" = 431 ] && pass 431 || fail 431 "$(status "${hargs[@]}" "$B1/")"
# A TLS ClientHello (https:// to the HTTP port) is no method: 400 at its
# first byte, and the end of the connection (before: nothing until the
# request timeout's 408, 10 s later).
st=$(python3 - "$p1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
s.sendall(bytes.fromhex("16030100a5010000a10303") + bytes(32))
got = b""
while True:
    try:
        chunk = s.recv(4096)
    except ConnectionResetError:
        break
    if not chunk:
        break
    got += chunk
print(got.split(b"\r\n")[0].decode(errors="replace"))
PY
)
[ "$st" = "HTTP/1.1 400 Bad Request" ] && pass tls-hello-400 || fail tls-hello-400 "got '$st'"
loc=$(hdr "$B1/sub" | sed -n 's/^Location: //p')
[ "$(status "$B1/sub")" = 301 ] && [ "$loc" = /sub/ ] && pass dir-301 || fail dir-301 "location '$loc'"
[ "$(curl -s "$B1/sub/")" = "<h1>sub</h1>" ] && pass dir-index || fail dir-index "no index"
for t in '/../../../../etc/passwd' '/%2e%2e/%2e%2e/etc/passwd' '/sub/..%2f..%2fetc/passwd' '/%00'; do
    code=$(curl -s --path-as-is -o "$work/t.out" -w '%{http_code}' "$B1$t")
    if [[ $code == 400 || $code == 404 ]] && ! grep -q 'root:' "$work/t.out"; then
        pass "traversal $t"
    else
        fail "traversal $t" "status $code"
    fi
done

# ---- a file changed on the host is served anew after the attribute timeout
# (same size, so only its mtime tells; the appliance keeps files open)
[ "$(curl -s "$B1/one.bin")" = x ] || fail host-change-before "one.bin not 'x'"
printf 'y' >"$s1/one.bin"
got=
for _ in $(seq 300); do # waits for it, 60 s at most
    got=$(curl -s "$B1/one.bin")
    [ "$got" = y ] && break
    sleep 0.2
done
[ "$got" = y ] && pass host-change-served || fail host-change-served "still '$got' after 60 s"

# ---- keep-alive: two requests, one connection
v=$(curl -sv -o /dev/null -o /dev/null "$B1/k1.bin" "$B1/one.bin" 2>&1)
[[ $v == *"Re-using existing connection"* ]] && pass keep-alive-reuse || fail keep-alive-reuse "no reuse"

# ---- 200 concurrent clients
ab_out=$(timeout 300 ab -q -n 2000 -c 200 -k "$B1/k1.bin" 2>&1)
if [[ $ab_out == *"Complete requests:      2000"* && $ab_out == *"Failed requests:        0"* ]]; then
    pass ab-200-concurrent
else
    fail ab-200-concurrent "$(echo "$ab_out" | grep -E 'Complete|Failed|rror' | tr '\n' ' ')"
fi

# ---- a slow client does not block others, and is answered 408. Told by the
# order of events, not by a time: another client's 200 comes while the slow
# one still waits for its 408 (due header_timeout = 2 s after its request).
# If the 408 was already there (a host stalled that long), the order proves
# nothing and it is done again, three times at most.
order=
for _ in 1 2 3; do
    exec 7<>/dev/tcp/127.0.0.1/$p1
    printf 'GET / HTTP/1.1\r\nHost: x\r\n' >&7 # and then nothing
    code=$(status --max-time 60 "$B1/k1.bin")
    read -r -t 0 -u 7 && early=1 || early=0
    reply=$(timeout 60 head -c 12 <&7)
    exec 7>&-
    [ $early = 0 ] && { order=1; break; }
done
[ "$code" = 200 ] && [ -n "$order" ] && pass slow-client-does-not-block ||
    fail slow-client-does-not-block "status $code; the 408 came first each time"
[ "$reply" = "HTTP/1.1 408" ] && pass slow-client-408 || fail slow-client-408 "got '$reply'"

# ---- a second instance with another share and port, at the same time; with
# several CPUs, its device interrupts (and vsock's service thread) on the
# last CPU (irq_cpu=)
if [ "${CPUS:-1}" -gt 1 ]; then
    start web2 "$s2" p2 --append irq_cpu=$((CPUS - 1))
    expect_grep irq-cpu "$RT/web2/console.log" "^smp: device interrupts to CPU $((CPUS - 1))"
else
    start web2 "$s2" p2
fi
B2=http://127.0.0.1:$p2
[ "$(curl -s "$B1/")" = "<h1>site one</h1>" ] && [ "$(curl -s "$B2/")" = "<h1>site two</h1>" ] && pass two-instances || fail two-instances "wrong contents"
for _ in 1 2 3 4 5 6 7 8; do curl -s "$B2/"; done >"$work/b2" 2>&1
[ "$(grep -c 'site two' "$work/b2")" = 8 ] && pass second-instance-serves || fail second-instance-serves "$(head -c 200 "$work/b2")"
ps_out=$("$MIURA" ps)
[[ $ps_out == *web1* && $ps_out == *web2* ]] && pass ps-lists-both || fail ps-lists-both "$ps_out"

# ---- interrupts per device (irq_cpu.NAME=), on two CPUs whatever CPUS says:
# vsock's to CPU 1 (its service thread there too), fs's to CPU 0. The stats
# line counts each device's interrupts by CPU ("vsock 0/N fs M/0"). Not on
# pc: its INTx lines may be shared by both devices (one CPU per line).
if [ "$MACHINE" != pc ]; then
    run_on p5 web5 --cpus 2 --share "$s1" --append log=0 --append stats=1 \
        --append 'irq_cpu.vsock=1 irq_cpu.fs=0' "$img" || fail irq-device-start "$(echo "$out" | tail -1)"
    got=$(curl -s --max-time 60 "http://127.0.0.1:$p5/m1.bin" | sha256sum | cut -d' ' -f1)
    [ "$got" = "$(sha256sum <"$s1/m1.bin" | cut -d' ' -f1)" ] && pass irq-device-serves ||
        fail irq-device-serves "sha256 $got"
    expect_grep irq-device-line "$RT/web5/console.log" '^virtio-vsock: interrupts to CPU 1([^0-9]|$)'
    line=
    for _ in $(seq 60); do # a stats line each second: the first after the download
        line=$(stats_lines "$RT/web5/console.log" | grep 'webserver: stats: 0 connections' | tail -1)
        [[ $line =~ \ vsock\ 0/[1-9][0-9]*(\ |$) && $line =~ \ fs\ [1-9][0-9]*/0(\ |$) ]] && break
        sleep 1
    done
    [[ $line =~ interrupts.*\ vsock\ 0/[1-9][0-9]*(\ |$) && $line =~ interrupts.*\ fs\ [1-9][0-9]*/0(\ |$) ]] &&
        pass irq-device-counts || fail irq-device-counts "stats: ${line:-none}"
    "$MIURA" stop web5 >/dev/null || fail irq-device-stop "miura stop web5 failed"
fi

# ---- directory listings: off by default (and absent from the default image,
# which says so when asked for them); the webserver_listing image with listing=1
[ "$(status "$B1/noindex/")" = 404 ] && pass listing-off-404 || fail listing-off-404 "$(status "$B1/noindex/")"
limg=$(need_image webserver_listing)
run_on p4 web4 --share "$s1" --append log=0 --append listing=1 "$limg" ||
    fail listing-start "$(echo "$out" | tail -1)"
B4=http://127.0.0.1:$p4
page=$(curl -s "$B4/noindex/")
if [[ $page == *'<li><a href="../">../</a></li>'* && $page == *'<li><a href="a%26b.txt">a&amp;b.txt</a></li>'* &&
    $page == *'<li><a href="inner/">inner/</a></li>'* && $page == *'<title>Index of /noindex/</title>'* ]]; then
    pass listing-page
else
    fail listing-page "$page"
fi
[ "$(curl -s "$B4/noindex/a%26b.txt")" = amp ] && pass listing-link-works || fail listing-link-works "link target"
[ "$(curl -s "$B4/sub/")" = "<h1>sub</h1>" ] && pass listing-index-wins || fail listing-index-wins "index.html not served"
hl=$(curl -s -I "$B4/noindex/" | tr -d '\r' | sed -n 's/^Content-Length: //p')
glen=$(curl -s "$B4/noindex/" | wc -c)
[ "$hl" = "$glen" ] && pass listing-head-length || fail listing-head-length "HEAD says '$hl', GET gave $glen bytes"
"$MIURA" stop web4 >/dev/null || fail listing-stop "miura stop web4 failed"

# ---- overload: 300 keep-alive clients at once in 3 MiB (about 110 fit). The
# appliance must not crash or stall: it ends idle connections to make room,
# answers afterwards, and every connection is gone a few seconds later.
run_on p3 web3 --mem 3M --share "$s1" --append log=0 --append stats=1 "$img" ||
    fail overload-start "$(echo "$out" | tail -1)"
# A 1 MiB body (not cached: over 64 KiB) goes by sendfile: the guest CPU
# copies none of it (stats: "N bytes of files copied"); the cached k1.bin
# below is copied, so the count then grows.
got=$(curl -s --max-time 30 "http://127.0.0.1:$p3/m1.bin" | sha256sum | cut -d' ' -f1)
line=
for _ in $(seq 120); do # waits for it, 60 s at most
    line=$(stats_lines "$RT/web3/console.log" | grep 'webserver: stats: 0 connections (peak 1,' | tail -1)
    [ -n "$line" ] && break
    sleep 0.5
done
[ "$got" = "$(sha256sum <"$s1/m1.bin" | cut -d' ' -f1)" ] && [[ $line == *", 0 bytes of files copied, by CPU "* ]] &&
    pass sendfile-copies-nothing || fail sendfile-copies-nothing "sha $got, stats: ${line:-none}"
timeout 300 ab -r -q -k -n 3000 -c 300 "http://127.0.0.1:$p3/k1.bin" >"$work/ab3.out" 2>&1
ab_rc=$?
got=$(curl -s --max-time 10 "http://127.0.0.1:$p3/k1.bin" | sha256sum | cut -d' ' -f1)
[ $ab_rc -ne 124 ] && [ "$got" = "$(sha256sum <"$s1/k1.bin" | cut -d' ' -f1)" ] &&
    pass overload-still-serving || fail overload-still-serving "ab rc $ab_rc, then sha $got"
# A stats line printed after the burst (its peak is over 1: the lines from
# before it say "peak 1" and also "0 connections").
settled=
for _ in $(seq 120); do # waits for it, 60 s at most
    line=$(stats_lines "$RT/web3/console.log" | tail -1)
    [[ $line =~ ^webserver:\ stats:\ 0\ connections\ \(peak\ ([2-9]|[1-9][0-9]+), ]] && settled=1 && break
    sleep 0.5
done
[ -n "$settled" ] && pass overload-connections-freed || fail overload-connections-freed "last: $line"
[[ $line =~ ,\ [1-9][0-9]*\ bytes\ of\ files\ copied, ]] && pass cached-file-bytes-counted ||
    fail cached-file-bytes-counted "k1.bin (cached) served but no copied bytes counted: $line"
[[ $line =~ \ [1-9][0-9]*\ idle\ closed\ for\ memory ]] && pass overload-idle-reclaimed ||
    fail overload-idle-reclaimed "no idle connection was ended for memory: $line"
# Connections are dealt to every CPU in turn: each served some of the 3,000.
want_cpus=$(printf '[1-9][0-9]*/%.0s' $(seq "${CPUS:-1}"))
[[ $line =~ ,\ by\ CPU\ ${want_cpus%/}(,|$) ]] && pass overload-every-cpu-served ||
    fail overload-every-cpu-served "want ${CPUS:-1} non-zero counts: $line"
grep -qE 'CRASH|panic' "$RT/web3/console.log" && fail overload-no-crash "$(grep -m1 -E 'CRASH|panic' "$RT/web3/console.log")" || pass overload-no-crash
"$MIURA" stop web3 >/dev/null || fail overload-stop "miura stop web3 failed"

# ---- a client that stops reading a response is closed after idle_timeout
# (the send timeout): its connection and memory come back. The client asks
# for 64 MiB (more than every buffer on the way holds), reads 1,000 bytes,
# then nothing, with the socket open; once the guest has counted the
# connection gone it reads on and must meet the end early.
run_on p5 web6 --share "$s1" --append log=0 --append stats=1 --append idle_timeout=3 "$img" ||
    fail send-timeout-start "$(echo "$out" | tail -1)"
python3 - "$p5" "$RT/web6/console.log" >"$work/stall.out" 2>&1 <<'PY' &
import re, socket, sys, time
port, log = int(sys.argv[1]), sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", port))
s.sendall(b"GET /m64.bin HTTP/1.1\r\nHost: x\r\n\r\n")
got = 0
while got < 1000:
    got += len(s.recv(1000 - got))
def stats():
    with open(log, errors="replace") as f:
        return re.findall(r"webserver: stats: (\d+) connections", f.read())
seen_open = seen_closed = None
for _ in range(1200):  # 120 s at most: counted open, then a later line with 0
    lines = stats()
    if seen_open is None and "1" in lines:
        seen_open = lines.index("1")
    if seen_open is not None and "0" in lines[seen_open:]:
        seen_closed = True
        break
    time.sleep(0.1)
s.settimeout(60)
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += len(b)
except OSError:
    pass  # a reset after the close is an end too
print("open", seen_open is not None, "closed", bool(seen_closed), "bytes", got)
PY
stall_pid=$!
wait $stall_pid
stall=$(cat "$work/stall.out")
[[ $stall =~ ^open\ True\ closed\ True\ bytes\ ([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -lt $((64 * 1024 * 1024)) ] &&
    pass send-timeout-closes || fail send-timeout-closes "$stall"
got=$(curl -s --max-time 30 "http://127.0.0.1:$p5/k1.bin" | sha256sum | cut -d' ' -f1)
[ "$got" = "$(sha256sum <"$s1/k1.bin" | cut -d' ' -f1)" ] && pass send-timeout-still-serves ||
    fail send-timeout-still-serves "sha $got"
"$MIURA" stop web6 >/dev/null || fail send-timeout-stop "miura stop web6 failed"

# ---- the connection threads' stacks (8 KiB) kept at least 2 KiB unused
# through everything above: big files, ranges, errors, 200 at once, a 408
deep=$(sed -n 's/^sched: stackcheck: deepest stack use \([0-9]*\) of 8192 bytes.*/\1/p' \
    "$RT/web1/console.log" | tail -1)
[ -n "$deep" ] && [ "$deep" -gt 1024 ] && [ "$deep" -le 6144 ] && pass stack-depth ||
    fail stack-depth "deepest connection stack use '${deep:-none reported}' (want 1025..6144 of 8192)"

# ---- the access log (log=1, the default) on the console's virtio device
# (miura run gives QEMU a virtconsole beside the UART, one chardev): a line
# for every request, none lost or torn, with 8 clients at once (on every CPU
# the suite's CPUS gives), each line longer than printf's 128-byte pieces
# (http_log writes a line in one write)
p7=$(free_port) || fail access-log "no free loopback port"
q=$(printf 'q%.0s' $(seq 150))
want="^GET /k1.bin\\?$q HTTP/1.0 200 1024"$'\r?$'
if run_on p7 web7 --share "$s1" "$img"; then
    ab -q -n 400 -c 8 "http://127.0.0.1:$p7/k1.bin?$q" >"$work/ab7.out" 2>&1
    for _ in $(seq 600); do # until the 400th line is there, 60 s at most
        n=$(grep -cE "$want" "$RT/web7/console.log")
        [ "$n" -ge 400 ] && break
        sleep 0.1
    done
    torn=$(grep -E '^GET /|qqqq' "$RT/web7/console.log" | grep -cvE "$want")
    [ "$n" = 400 ] && [ "$torn" = 0 ] && pass access-log-every-request ||
        fail access-log-every-request "$n of 400 lines, $torn torn ($(grep Failed "$work/ab7.out"))"
    "$MIURA" stop web7 >/dev/null || fail access-log-stop "miura stop web7 failed"
else
    fail access-log-every-request "start: $(echo "$out" | tail -1)"
fi

# ---- once its driver has probed, the guest's console is the virtio one;
# the UART keeps only what came before. Booted by hand, each front end on a
# file of its own, no share or vsock device: the web server still says it
# serves (the UART must not have that line), and is killed.
mapfile -t cargs < <(qemu_base_args "$img" "")
[ "$MACHINE" = microvm ] && cargs+=(-global virtio-mmio.force-legacy=false)
timeout -k 2 120 "$QEMU" "${cargs[@]}" -serial "file:$work/uart.out" \
    -device "virtio-serial-$VIRTIO_BUS,max_ports=1$VIRTIO_OPTS" \
    -chardev "file,id=vc,path=$work/vc.out" -device virtconsole,chardev=vc </dev/null >"$work/vc.qemu" 2>&1 &
cpid=$!
if wait_grep "$work/vc.out" $'^webserver: serving / on vsock port 80\r$' 60 && ! grep -q webserver "$work/uart.out"; then
    pass console-on-virtio
else
    fail console-on-virtio "virtconsole: '$(head -c 300 "$work/vc.out" | tr '\r\n' '  ')'; uart: '$(head -c 300 "$work/uart.out" | tr '\n' ' ')'"
fi
kill "$cpid" 2>/dev/null
wait "$cpid" 2>/dev/null

# ---- teardown
"$MIURA" stop web1 >/dev/null && "$MIURA" stop web2 >/dev/null && pass stop || fail stop "miura stop failed"
for _ in $(seq 600); do # waits for the processes to be gone, 60 s at most
    left=$(pgrep -af "$RT/" 2>/dev/null)
    files=$(find "$RT" -mindepth 1 \( -type s -o -name '*.lock' \) 2>/dev/null)
    [ -z "$left$files" ] && break
    sleep 0.1
done
[ -z "$left$files" ] && pass clean-teardown || fail clean-teardown "left: $left $files"
curl -s --max-time 2 "$B1/" >/dev/null && fail port-closed "still answering" || pass port-closed
finish
