#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# What one connection costs in memory, in miura-vsockd and in the guest web
# server: the figures miura-vsockd's default --max-conns (4096) is sized by.
#
# One `miura run` of the web server (default options, plus stats=1 for its
# memory line, idle_timeout=600 and log=0); then:
#   idle  N_IDLE keep-alive clients, each after one answered GET of a 1 KiB
#         file, kept open and quiet
#   busy  N_BUSY clients each asking for a 32 MiB file and reading nothing (a
#         slow reader: the guest's 128 KiB chunk, miura-vsockd's buffer and
#         the host kernel's socket buffers all fill)
# and reports, per connection: miura-vsockd's RSS growth (VmRSS) and the
# guest's free-memory drop (the web server's stats line). Kernel socket
# buffers on the host are not in either figure.
#
# Usage: bench/conncost/run.sh     (env: N_IDLE=1000 N_BUSY=100)
set -eu
cd "$(dirname "$0")/../.."
source bench/lib.sh
N_IDLE=${N_IDLE:-1000}
N_BUSY=${N_BUSY:-100}
make --no-print-directory -s build/bin/miura build/bin/miura-vsockd build/apps/webserver/webserver.elf
work=$(mktemp -d /tmp/conncost.XXXXXX)
export MIURA_RUNTIME_DIR=$work/rt
holder=
cleanup() {
    [ -n "$holder" ] && kill "$holder" 2>/dev/null
    build/bin/miura stop cc >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
ulimit -n 8192 2>/dev/null || true
mkdir -p "$work/site"
head -c 1024 /dev/urandom | base64 -w 64 | head -c 1024 >"$work/site/small.html"
head -c $((32 << 20)) /dev/urandom >"$work/site/big.bin"
port=$(free_port)
build/bin/miura run -d -n cc --share "$work/site" --publish "127.0.0.1:$port:80" \
    --append "stats=1 idle_timeout=600 log=0" build/apps/webserver/webserver.elf >/dev/null
console=$MIURA_RUNTIME_DIR/cc/console.log
vpid=$(pgrep -f "miura-vsockd --socket $MIURA_RUNTIME_DIR/cc/")
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$vpid/status"; }
# The guest's free KiB from the first stats line saying N connections after line L.
guest_free() { # N FROM_LINE
    for _ in $(seq 600); do
        f=$(tail -n +"$2" "$console" | tr -d '\r' | awk -v n="$1" \
            '$2 == "stats:" && $3 == n { for (i = 1; i < NF; i++) if ($(i+1) == "of") { print $i; exit } }')
        [ -n "$f" ] && { echo "$f"; return; }
        sleep 0.2
    done
    echo "no stats line with $1 connections" >&2
    exit 1
}
lines() { wc -l <"$console"; }

measure() { # MODE N PATH
    local l0 free0 rss0 free1 rss1
    l0=$(lines)
    free0=$(guest_free 0 "$l0")
    rss0=$(rss_kib)
    mkfifo "$work/in.$1"
    python3 bench/conncost/hold.py "$1" 127.0.0.1 "$port" "$2" "$3" <"$work/in.$1" >"$work/out.$1" &
    holder=$!
    exec 3>"$work/in.$1"
    for _ in $(seq 1200); do grep -q '^ready' "$work/out.$1" && break; sleep 0.1; done
    grep -q '^ready' "$work/out.$1" || { echo "the $1 clients did not get in place" >&2; exit 1; }
    sleep 3 # buffers settle (busy: the pipes fill)
    l0=$(lines)
    free1=$(guest_free "$2" "$l0")
    rss1=$(rss_kib)
    exec 3>&-
    wait "$holder" || true
    holder=
    awk -v m="$1" -v n="$2" -v r0="$rss0" -v r1="$rss1" -v f0="$free0" -v f1="$free1" 'BEGIN {
        printf "%-5s %5d conns   miura-vsockd %8.0f B/conn (RSS %d -> %d KiB)   guest %8.0f B/conn (free %d -> %d KiB)\n",
            m, n, (r1 - r0) * 1024 / n, r0, r1, (f0 - f1) * 1024 / n, f0, f1 }'
    # Back to no connections before the next run.
    for _ in $(seq 600); do tail -n 1 "$console" | grep -q 'stats: 0 connections' && break; sleep 0.2; done
}
measure idle "$N_IDLE" /small.html
measure busy "$N_BUSY" /big.bin
