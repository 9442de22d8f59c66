# SPDX-License-Identifier: BSD-2-Clause
# Shared by the bench scripts: source it. free_port [N]: loopback ports below
# 32768 (tools/ports.sh).
source "$(dirname "${BASH_SOURCE[0]}")/../tools/ports.sh"

# The web server benchmarks' site: DIR (created) with 1k.bin and 1m.bin of
# random bytes.
bench_site() { # DIR
    mkdir -p "$1"
    head -c 1024 /dev/urandom >"$1/1k.bin"
    head -c $((1024 * 1024)) /dev/urandom >"$1/1m.bin"
}

# The set-up of a benchmark that runs this tree's web server and, with
# BEFORE=<a built checkout>, that one's beside it: the tools and the build,
# BEFORE checked, a work directory $work (removed at exit, instance NAME
# stopped first if $running names the tree it still runs from), the site
# in $work/site and a free loopback port $port.
ab_setup() { # BENCH NAME
    bash tools/deps.sh bench
    make --no-print-directory -s all
    if [ -n "${BEFORE:-}" ] && [ ! -x "$BEFORE/build/bin/miura" ]; then
        echo "$1: BEFORE=$BEFORE has no build/bin/miura (build it first)" >&2
        exit 1
    fi
    work=$(mktemp -d "/tmp/miura-${1//\//-}.XXXXXX")
    export MIURA_RUNTIME_DIR=$work/rt
    running=
    ab_name=$2
    trap ab_cleanup EXIT
    bench_site "$work/site"
    chmod -R a+rX "$work"
    port=$(free_port)
}
ab_cleanup() {
    [ -n "$running" ] && "$running/build/bin/miura" stop "$ab_name" >/dev/null 2>&1
    rm -rf "$work"
}

# Calls the script's `one TREE TAG ITEM ROUND` for each round and item:
# this tree as "after" and, with BEFORE, that tree as "before" right beside
# it, which goes first alternating by round (the second of two
# back-to-back runs on this host is a few per cent slower).
ab_rounds() { # ROUNDS ITEM...
    local r x rounds=$1
    shift
    for r in $(seq "$rounds"); do
        for x in "$@"; do
            if [ -z "${BEFORE:-}" ]; then
                one . after "$x" "$r"
            elif [ $((r % 2)) = 1 ]; then
                one . after "$x" "$r"
                one "$BEFORE" before "$x" "$r"
            else
                one "$BEFORE" before "$x" "$r"
                one . after "$x" "$r"
            fi
        done
    done
}

# Median of the numbers on standard input, one per line ("-" when none).
median() {
    sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "-"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}

# nginx with one worker serving ROOT on 127.0.0.1:PORT, its files under DIR
# (created); sets nginx_pid and returns once it answers GET /PROBE.
start_nginx() { # DIR PORT ROOT PROBE
    mkdir -p "$1"
    cat >"$1/nginx.conf" <<CONF
worker_processes 1;
daemon off;
error_log $1/error.log;
pid $1/nginx.pid;
user root;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    client_body_temp_path $1; proxy_temp_path $1; fastcgi_temp_path $1;
    uwsgi_temp_path $1; scgi_temp_path $1;
    server { listen 127.0.0.1:$2; root $3; }
}
CONF
    nginx -c "$1/nginx.conf" &
    nginx_pid=$!
    for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$2/$4" && break; sleep 0.1; done
}
