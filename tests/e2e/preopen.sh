#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Pre-opened connections (miura run --preopen N, docs/vsockd.md): the web
# server, detached, with a pool of N per port and the guest's idle timeout
# at 4 s (so that the guest, not the client, ends unpaired connections).
#   - the pool fills (miura stats: preopen_ready N, waited for);
#   - the guest ends unpaired ones at its idle timeout: they are dropped and
#     replaced (preopen_dropped, preopened grows, the pool is full again),
#     and the pool learns to close its own before that age (preopen_retired);
#   - N+4 sequential and 12 concurrent clients, each on a new connection,
#     get their files byte for byte; clients were paired from the pool;
#   - the console has an access-log line per request and nothing else about
#     the silent connections;
#   - `miura stop` (with --stop-timeout 120) does not wait for unpaired
#     connections: the launcher counts none in flight, and the stop is clean.
# Needs root (Debian's virtiofsd).
SUITE=preopen
source "$(dirname "$0")/lib.sh"
MIURA=$ROOT/build/bin/miura
VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
for t in "$MIURA" "$ROOT/build/bin/miura-vsockd" "$VIRTIOFSD"; do
    [ -x "$t" ] || { fail setup "$t missing (run make; apt-get install qemu-system-x86)"; finish; }
done
[ "$(id -u)" = 0 ] || { fail setup "needs root (virtiofsd)"; finish; }
command -v curl >/dev/null || { fail setup "curl missing (apt-get install curl)"; finish; }
web=$(need_image webserver)

work=$(mktemp -d /tmp/miura-preopen.XXXXXX)
RT=$work/rt
export MIURA_RUNTIME_DIR=$RT MIURA_VSOCKD=$ROOT/build/bin/miura-vsockd MIURA_VIRTIOFSD=$VIRTIOFSD
bg=()
trap miura_cleanup EXIT
N=4
site=$work/site
mkdir -p "$site"
echo "index" >"$site/index.html"
echo "file a" >"$site/a.txt"
head -c $((200 * 1024)) /dev/urandom >"$site/big.bin"

stat_of() { # KEY: the instance's counter, or -1
    local v
    v=$(timeout 10 "$MIURA" stats pool 2>/dev/null | sed -n "s/^$1 //p")
    echo "${v:--1}"
}
# wait_stat KEY OP VALUE SECONDS: until the counter compares (-ge, -eq, -gt) to VALUE.
wait_stat() {
    local i v
    for ((i = 0; i < $4 * 5; i++)); do
        v=$(stat_of "$1")
        [ "$v" "$2" "$3" ] && return 0
        sleep 0.2
    done
    return 1
}
# get PATH OUT: a new connection each time; 0 if the body is the file's, byte for byte.
get() {
    curl -s --max-time 60 -o "$2" "http://127.0.0.1:$PORT/$1" && cmp -s "$2" "$site/$1"
}

started=
for try in 1 2 3 4 5; do
    PORT=$(free_ports 1)
    timeout -k 2 120 "$MIURA" run --detach --name pool --share "$site" --preopen $N \
        --stop-timeout 120 --publish "127.0.0.1:$PORT:80" --append idle_timeout=4 \
        "$web" >"$work/start" 2>&1 && started=1 && break
    grep -q 'Address already in use' "$work/start" || break
done
[ -n "$started" ] && pass start || { fail start "$(cat "$work/start")"; finish; }
vpid=$(pgrep -P "$(launcher_pid pool)" -f '^[^ ]*/miura-vsockd ')
tr '\0' ' ' <"/proc/$vpid/cmdline" 2>/dev/null | grep -q -- " --preopen $N " && pass vsockd-gets-preopen ||
    fail vsockd-gets-preopen "no --preopen $N on miura-vsockd's command line"

# ---- the pool fills
if wait_stat preopen_ready -eq $N 60; then
    pass pool-fills
else
    fail pool-fills "$(timeout 10 "$MIURA" stats pool | grep preopen | tr '\n' ' ')"
fi

# ---- the guest ends unpaired ones (its 4 s idle timeout): dropped, replaced
# (not necessarily all N of the first fill: the launcher's readiness probe
# may have taken one or more of them, and once the pool has learnt the age
# limit, it retires its own before the guest ends them)
before=$(stat_of preopened)
if wait_stat preopen_dropped -ge 1 60; then
    pass guest-close-dropped
else
    fail guest-close-dropped "$(timeout 10 "$MIURA" stats pool | grep preopen | tr '\n' ' ')"
fi
# Learnt: the pool closes its own at half the guest's idle time, before the
# guest does. Two rounds of N retired: every connection opened before the
# lesson (the only ones the guest can still end under a client) has had
# its 4 s.
if wait_stat preopen_retired -ge $((2 * N)) 60 && wait_stat preopened -gt $((before + 2 * N)) 60 &&
    wait_stat preopen_ready -eq $N 60; then
    pass replaced-and-retired
else
    fail replaced-and-retired "$(timeout 10 "$MIURA" stats pool | grep preopen | tr '\n' ' ')"
fi
grep -qE '^miura-vsockd: guest port 80 ends idle connections after [0-9]+ ms: pre-opened ones are replaced after [0-9]+ ms$' \
    "$RT/pool/vsockd.log" && pass age-learnt-said || fail age-learnt-said "$(tail -3 "$RT/pool/vsockd.log")"

# ---- clients, sequential then concurrent, byte for byte
paired0=$(stat_of preopen_paired) refused0=$(stat_of refused)
bad=0
files=(index.html a.txt big.bin)
for ((i = 0; i < N + 4; i++)); do
    f=${files[i % 3]}
    get "$f" "$work/seq.$i" || bad=$((bad + 1))
done
[ $bad -eq 0 ] && pass sequential-byte-exact || fail sequential-byte-exact "$bad of $((N + 4)) differ"
pids=()
for ((i = 0; i < 12; i++)); do
    f=${files[i % 3]}
    get "$f" "$work/con.$i" &
    pids+=($!)
done
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
[ $bad -eq 0 ] && pass concurrent-byte-exact || fail concurrent-byte-exact "$bad of 12 differ"
paired=$(stat_of preopen_paired)
[ "$paired" -gt "$paired0" ] && pass paired-from-pool || fail paired-from-pool "preopen_paired $paired0 -> $paired"
# No client was turned away meanwhile (the launcher's readiness probes may
# have been, before the guest listened).
refused=$(stat_of refused)
[ "$refused" = "$refused0" ] && pass nothing-refused || fail nothing-refused "refused $refused0 -> $refused"

# ---- the console: the requests logged, the silent connections not at all
tr -d '\r' <"$RT/pool/console.log" >"$work/console" # the console writes CR LF
served=$(grep -cE '^GET /(index\.html|a\.txt|big\.bin) HTTP/1\.1 200 [0-9]+$' "$work/console")
[ "$served" -eq $((N + 4 + 12)) ] && pass console-one-line-per-request ||
    fail console-one-line-per-request "$served access lines, want $((N + 4 + 12))"
noise=$(grep -vE '^(GET|HEAD) [^ ]* HTTP/1\.[01] [0-9]{3} [0-9]+$' "$work/console" |
    grep -ciE 'error|reset|timeout|drop|fail|idle')
[ "$noise" = 0 ] && pass console-quiet ||
    fail console-quiet "$(grep -iE 'error|reset|timeout|drop|fail|idle' "$work/console" | head -3)"

# ---- miura stop does not wait for the unpaired connections
# (ready: a moment before the stop; the pool retires and refills its
# connections every 2 s, so it is waited for as at least one, not N)
wait_stat preopen_ready -ge 1 60
ready=$(stat_of preopen_ready)
timeout 180 "$MIURA" stop pool >"$work/stop" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ "$ready" -ge 1 ] && ! grep -q 'waiting up to' "$RT/pool/launcher.log" &&
    "$MIURA" ps -a | grep -qE '^pool .*  exited 143: stopped by signal 15 \(Terminated\)$'; then
    pass stop-ignores-pool
else
    fail stop-ignores-pool "stop $rc with $ready ready: $(cat "$work/stop"); $(grep miura: "$RT/pool/launcher.log" | tail -3)"
fi
procs=$(pgrep -af "$RT/pool/" | cut -c1-100)
[ -z "$procs" ] && [ -z "$(find "$RT/pool" -type s)" ] && pass stop-clean || fail stop-clean "left: $procs"
finish
