#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Backpressure, never drops (issue 10): a burst of clients waits and every one
# is served, through `miura run` and its miura-vsockd.
#   web/*     the web server with default options: ab -n 3000 -c 600 and
#             wrk -t2 -c600 -d5s end with 0 failed requests and 0 socket
#             errors; `miura stats` and `miura ps -v` show the counters.
#   burst/*   test_echo with default options: 1,000 hybrid clients at once
#             (CONNECT 5000, 16 KiB echoed each), all verified.
#   limit/*   test_echo behind a miura-vsockd with --max-conns 50: 1,000
#             hybrid and 600 TCP clients at once wait in the listen queues and
#             are all verified; accepting paused, peak exactly 50, one log
#             line per 10 s at most.
#   retry/*   test_echo with backlog=1 accepting one connection per 20 ms:
#             50 hybrid clients at once are all verified; the guest refused
#             REQUESTs and miura-vsockd retried every client into it. The
#             web server with backlog=1: ab -n 500 -c 50 ends with 0 failed.
# Bounded: each load has a fixed count or duration and a timeout; every wait
# is for an event (a line, a counter), never a wall-clock window.
SUITE=backpressure
source "$(dirname "$0")/lib.sh"
MIURA=$ROOT/build/bin/miura
VSOCKD=$ROOT/build/bin/miura-vsockd
CLIENT=$ROOT/build/bin/vsock_client
web=$(need_image webserver)
echo_img=$(need_image test_echo)
for b in "$MIURA" "$VSOCKD" "$CLIENT"; do [ -x "$b" ] || { fail setup "$b missing (run make)"; finish; }; done
for t in ab:apache2-utils wrk:wrk socat:socat; do
    command -v "${t%%:*}" >/dev/null || { fail setup "${t%%:*} missing (apt-get install ${t#*:})"; finish; }
done
ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d /tmp/miura-backpressure.XXXXXX)
RT=$work/rt
export MIURA_RUNTIME_DIR=$RT MIURA_VSOCKD=$VSOCKD
cleanup() {
    for n in bp-web bp-echo bp-limit bp-retry; do "$MIURA" stop "$n" >/dev/null 2>&1; done
    for p in $(pgrep -f "$RT/" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/site"
head -c 1500 /dev/urandom | base64 >"$work/site/index.html"

# Free loopback ports below the ephemeral range.
read -r P_WEB P_LIMIT P_RETRY < <(free_ports 3)

# start NAME ARGS...: a detached instance; fails the suite if it does not start.
start() {
    local name=$1
    shift
    if ! timeout -k 2 120 "$MIURA" run -d -n "$name" "$@" >"$work/$name.start" 2>&1; then
        fail "$name-start" "$(tail -3 "$work/$name.start")"
        finish
    fi
}
# listening NAME: waits (bounded) for test_echo's "echo: listening" on the console.
listening() {
    for _ in $(seq 1200); do grep -q '^echo: listening' "$RT/$1/console.log" 2>/dev/null && return; sleep 0.05; done
    fail "$1-listening" "no 'echo: listening': $(tail -3 "$RT/$1/console.log" 2>/dev/null)"
    finish
}
# stat NAME KEY: one counter of the instance's miura-vsockd (miura stats).
stat() { "$MIURA" stats "$1" | awk -v k="$2" '$1 == k { print $2 }'; }
# ab_ok NAME OUT: ab's report says every request completed and none failed.
ab_ok() {
    local want=$3
    if grep -qE "^Complete requests: +$want\$" "$2" && grep -qE '^Failed requests: +0$' "$2" &&
        ! grep -q 'Non-2xx' "$2"; then
        pass "$1"
    else
        fail "$1" "$(grep -E 'Complete|Failed|Non-2xx|apr_|Total of' "$2" | tr '\n' ' ')"
    fi
}

# ---- web: default options, 600 clients at once
start bp-web --share "$work/site" --publish "127.0.0.1:$P_WEB:80" "$web"
grep -q "^serving http://127.0.0.1:$P_WEB" "$work/bp-web.start" && pass web/serving ||
    fail web/serving "$(cat "$work/bp-web.start")"
refused0=$(stat bp-web refused)
timeout -k 2 300 ab -n 3000 -c 600 "http://127.0.0.1:$P_WEB/" >"$work/ab.out" 2>&1
ab_ok web/ab-3000-c600-no-failure "$work/ab.out" 3000
# wrk's own 2 s default timeout would count a slow answer (TCG) as an error: a
# slow answer is not a drop, so it waits up to 60 s.
timeout -k 2 120 wrk -t2 -c600 -d5s --timeout 60s "http://127.0.0.1:$P_WEB/" >"$work/wrk.out" 2>&1
if grep -qE '^ +[0-9]+ requests in' "$work/wrk.out" && ! grep -qE 'Socket errors|Non-2xx' "$work/wrk.out"; then
    pass web/wrk-c600-no-socket-error
else
    fail web/wrk-c600-no-socket-error "$(tr '\n' ' ' <"$work/wrk.out")"
fi
refused1=$(stat bp-web refused)
peak=$(stat bp-web peak)
[ -n "$refused0" ] && [ "$refused1" = "$refused0" ] && [ "$(stat bp-web limit)" = 4096 ] &&
    [ "$peak" -gt 256 ] && pass web/stats-none-refused ||
    fail web/stats-none-refused "refused $refused0 -> $refused1, peak $peak: $("$MIURA" stats bp-web | tr '\n' ' ')"
"$MIURA" ps -v >"$work/ps"
grep -qE "^    connections [0-9]+ \(peak $peak, limit 4096\), queued 0, accepted [0-9]+, refused $refused1," "$work/ps" &&
    pass web/ps-v-summary || fail web/ps-v-summary "$(cat "$work/ps")"
"$MIURA" stop bp-web >/dev/null

# ---- burst: 1,000 hybrid clients at once, default options
start bp-echo "$echo_img"
listening bp-echo
res=$(timeout -k 2 300 "$CLIENT" --uds "$RT/bp-echo/vsock.sock" --port 5000 --conns 1000 \
    --bytes 16384 --burst --timeout 240 2>&1)
[[ $res =~ ^1000/1000\ connections\ verified,\ 16384\ bytes ]] && pass burst/uds-1000-at-once ||
    fail burst/uds-1000-at-once "$res"
[ "$(stat bp-echo refused)" = 0 ] && [ "$(stat bp-echo established)" = 1000 ] &&
    pass burst/stats-all-established || fail burst/stats-all-established "$("$MIURA" stats bp-echo | tr '\n' ' ')"
"$MIURA" stop bp-echo >/dev/null

# ---- limit: --max-conns 50 (a wrapper puts it on the launcher's vsockd line)
printf '#!/bin/sh\nexec "%s" --max-conns 50 "$@"\n' "$VSOCKD" >"$work/vsockd-50"
chmod +x "$work/vsockd-50"
# (test_echo does not speak HTTP: no readiness wait for its published port.)
MIURA_VSOCKD=$work/vsockd-50 start bp-limit --ready-timeout 0 --publish "127.0.0.1:$P_LIMIT:5000" \
    "$echo_img"
listening bp-limit
"$MIURA" stats bp-limit >"$work/limit.stats0"
t0=$(date +%s)
res=$(timeout -k 2 300 "$CLIENT" --uds "$RT/bp-limit/vsock.sock" --port 5000 --conns 1000 \
    --bytes 16384 --burst --timeout 240 2>&1)
[[ $res =~ ^1000/1000\ connections\ verified,\ 16384\ bytes ]] && pass limit/uds-1000-through-50 ||
    fail limit/uds-1000-through-50 "$res"
res=$(timeout -k 2 300 "$CLIENT" --tcp "127.0.0.1:$P_LIMIT" --conns 600 --bytes 16384 --timeout 240 2>&1)
[[ $res =~ ^600/600\ connections\ verified,\ 16384\ bytes ]] && pass limit/tcp-600-through-50 ||
    fail limit/tcp-600-through-50 "$res"
elapsed=$(($(date +%s) - t0))
"$MIURA" stats bp-limit >"$work/limit.stats"
lstat() { awk -v k="$1" '$1 == k { print $2 }' "$work/limit.stats${2:-}"; }
[ "$(lstat limit)" = 50 ] && [ "$(lstat peak)" = 50 ] && [ "$(lstat limit_pauses)" -gt 0 ] &&
    [ "$(lstat refused)" = "$(lstat refused 0)" ] &&
    [ $(($(lstat established) - $(lstat established 0))) = 1600 ] && pass limit/stats-paused-none-refused ||
    fail limit/stats-paused-none-refused "before: $(tr '\n' ' ' <"$work/limit.stats0") after: $(tr '\n' ' ' <"$work/limit.stats")"
# The limit's log line: at least one, and at most one per 10 s of the loads (+1).
lines=$(grep -c 'connection limit 50 reached' "$RT/bp-limit/vsockd.log")
[ "$lines" -ge 1 ] && [ "$lines" -le $((elapsed / 10 + 2)) ] && pass limit/log-line-rate-limited ||
    fail limit/log-line-rate-limited "$lines lines in ${elapsed}s: $(head -3 "$RT/bp-limit/vsockd.log")"
"$MIURA" stop bp-limit >/dev/null

# ---- retry: the guest's accept queue holds one connection. test_echo with
# backlog=1 takes a connection every 20 ms at most, so a burst of 50 hybrid
# clients overflows the queue whatever the machine's speed: the guest
# refuses REQUESTs (RST), miura-vsockd holds those clients and retries them
# into it, and every one is served, none refused.
start bp-retry --ready-timeout 0 --publish "127.0.0.1:$P_RETRY:5000" --append backlog=1 \
    --append accept_gap_ms=20 "$echo_img"
listening bp-retry
refused0=$(stat bp-retry refused)
res=$(timeout -k 2 300 "$CLIENT" --uds "$RT/bp-retry/vsock.sock" --port 5000 --conns 50 \
    --bytes 16384 --burst --timeout 240 2>&1)
[[ $res =~ ^50/50\ connections\ verified,\ 16384\ bytes ]] && pass retry/uds-50-through-backlog-1 ||
    fail retry/uds-50-through-backlog-1 "$res"
resets=$(stat bp-retry guest_resets)
retries=$(stat bp-retry retries)
[ "$resets" -gt 0 ] && [ "$retries" -gt 0 ] && [ "$(stat bp-retry refused)" = "$refused0" ] &&
    pass retry/guest-refusals-retried || fail retry/guest-refusals-retried "$("$MIURA" stats bp-retry | tr '\n' ' ')"
"$MIURA" stop bp-retry >/dev/null
# The web server with backlog=1: whether its accept loop falls behind a burst
# depends on the machine's speed; whatever it does, nothing fails.
start bp-retry --share "$work/site" --publish "127.0.0.1:$P_RETRY:80" --append backlog=1 "$web"
refused0=$(stat bp-retry refused)
timeout -k 2 300 ab -n 500 -c 50 "http://127.0.0.1:$P_RETRY/" >"$work/ab2.out" 2>&1
ab_ok retry/ab-500-c50-no-failure "$work/ab2.out" 500
[ "$(stat bp-retry refused)" = "$refused0" ] && pass retry/web-none-refused ||
    fail retry/web-none-refused "$("$MIURA" stats bp-retry | tr '\n' ' ')"
"$MIURA" stop bp-retry >/dev/null
[ -z "$(pgrep -af "$RT/" 2>/dev/null)" ] && pass clean || fail clean "left: $(pgrep -af "$RT/")"
finish
