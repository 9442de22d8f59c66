# SPDX-License-Identifier: BSD-2-Clause
# Loopback ports for tests and benchmarks (sourced by tests/e2e/lib.sh and
# bench/lib.sh). They listen below 32768, where the ephemeral range starts,
# so no client socket of another program holds them.
#   free_port [N]   prints P such that no TCP socket uses P .. P+N-1 now, P
#                   chosen at random in 10000..32767. Several test runs may
#                   share the machine and take one between this check and the
#                   bind: a caller that gets "Address already in use" picks
#                   again (PORT_TRIES times).
#   free_ports N    prints N such ports (not consecutive), separated by spaces.
#   port_taken P    whether a TCP socket (any state) has local port P.
#   port_listening P  whether one listens on P.
# Both read /proc/net/tcp{,6}: a connection to find out would be taken by a
# listener that serves one client only.
PORT_TRIES=5
port_sockets() { # PORT [STATE]: exit 0 if a socket has that local port (and state)
    awk -v p=":$(printf '%04X' "$1")" -v st="${2:-}" \
        '$2 ~ p "$" && (st == "" || $4 == st) { found = 1 } END { exit !found }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
port_taken() { port_sockets "$1"; }
port_listening() { port_sockets "$1" 0A; }
free_port() {
    local n=${1:-1} p i _
    for _ in $(seq 200); do
        p=$((10000 + RANDOM % (22768 - n)))
        for ((i = 0; i < n; i++)); do
            port_taken $((p + i)) && continue 2
        done
        echo "$p"
        return 0
    done
    echo "free_port: no $n free loopback ports below 32768" >&2
    return 1
}
free_ports() {
    local n=$1 ports=() p
    while [ ${#ports[@]} -lt "$n" ]; do
        p=$(free_port) || return 1
        [[ " ${ports[*]} " == *" $p "* ]] || ports+=("$p")
    done
    echo "${ports[*]}"
}
