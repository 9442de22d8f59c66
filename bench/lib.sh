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
