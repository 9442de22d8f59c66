# SPDX-License-Identifier: BSD-2-Clause
# Shared by the miura-oci tests (tests/e2e/oci*.sh); source it after lib.sh.
#
# Each test gets its own work directory: RT (MIURA_RUNTIME_DIR: CID locks and
# run directories) and STATE (miura-oci's --root), reached through a wrapper,
# $RUNTIME, that engines call as their runtime. Network tests use namespaces
# the test creates with only lo up (make_netns); everything is removed on
# exit, and `leftovers` names whatever of ours is still there.
OCI=$ROOT/build/bin/miura-oci
APP=$ROOT/build/apps/webserver/webserver
[ -x "$OCI" ] || { fail setup "$OCI missing (run make)"; finish; }
[ -x "$ROOT/build/bin/miura-vsockd" ] || { fail setup "miura-vsockd missing (run make)"; finish; }
[ -f "$APP" ] || { fail setup "$APP missing (run make)"; finish; }
command -v ip >/dev/null || { fail setup "ip not found (apt-get install iproute2)"; finish; }

work=$(mktemp -d /tmp/miura-oci.XXXXXX)
RT=$work/rt
STATE=$work/state
RUNTIME=$work/miura-oci
mkdir -p "$RT" "$STATE"
cat >"$RUNTIME" <<EOF
#!/bin/sh
# The engines' runtime in these tests: miura-oci with this test's directories.
export MIURA_RUNTIME_DIR=$RT
exec $OCI --root $STATE "\$@"
EOF
chmod +x "$RUNTIME"
export MIURA_RUNTIME_DIR=$RT
# podman keeps its images, containers and state in the work directory too:
# two runs on one host share no image layers (a build racing another run's
# `podman rmi` of a shared layer fails in podman itself) and nothing of the
# host's store is touched. The cleanup below unmounts and removes it.
podman() { command podman --root "$work/podman" --runroot "$work/podman-run" "$@"; }
NETNS=()
CLEANUP=() # commands run first on exit
QEMUS=()   # QEMU processes seen (qemu_of): as root their command line names no path of RT

oci_cleanup() {
    local c p
    for c in "${CLEANUP[@]}"; do eval "$c" >/dev/null 2>&1; done
    for p in $(pgrep -f "$RT/" 2>/dev/null) $(qemus_left); do kill -KILL "$p" 2>/dev/null; done
    for c in "${NETNS[@]}"; do ip netns delete "$c" 2>/dev/null; done
    # A mount left by an engine under the work directory must not stop rm.
    awk -v w="$work" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r |
        while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf "$work"
}
trap oci_cleanup EXIT

make_netns() { # NAME: a network namespace with only lo, up
    ip netns add "$1" && ip -n "$1" link set lo up && NETNS+=("$1")
}

# Polls (every 0.1 s) until the command succeeds, for at most SECONDS but
# never less than 60 s: it waits for an event, which a loaded host may delay.
wait_until() { # SECONDS command...
    local i n=$((($1 < 60 ? 60 : $1) * 10))
    shift
    for ((i = 0; i < n; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# GET in a namespace (or on the host with "-"): body to FILE; fails unless 200.
ns_get() { # NS URL FILE
    local pre=()
    [ "$1" = - ] || pre=(ip netns exec "$1")
    [ "$("${pre[@]}" curl -s -m 5 -o "$3" -w '%{http_code}' "$2")" = 200 ]
}

# qemu_of ID: sets QEMU to the pid of container ID's QEMU (a child of its
# supervisor; empty if none) and remembers it for leftovers. Under an
# identity QEMU gets its kernel and sockets as descriptors, so its command
# line names no path of ours.
qemu_of() {
    QEMU=$(pgrep -P "$(state_field "$1" pid)" -f '^[^ ]*qemu-system' 2>/dev/null | head -1)
    [ -z "$QEMU" ] || QEMUS+=("$QEMU")
}
qemus_left() { # those of QEMUS still running
    local p
    for p in "${QEMUS[@]}"; do
        [[ "$(cat "/proc/$p/cmdline" 2>/dev/null | tr '\0' ' ')" == *qemu-system* ]] && echo "$p"
    done
}

# What of ours is left: processes with the run directories in their command
# line and the QEMUs seen, files under RT (run directories, CID locks) and
# containers in STATE.
leftovers() {
    local procs files
    procs=$(pgrep -af "$RT/" 2>/dev/null | cut -c1-100)
    procs+=$(qemus_left | sed 's/^/qemu /' | tr '\n' ' ')
    files=$(cd "$RT" 2>/dev/null && find . -mindepth 1 | tr '\n' ' ')
    files+=$(cd "$STATE" 2>/dev/null && find . -mindepth 1 -name state.json | tr '\n' ' ')
    [ -z "$procs$files" ] || echo "processes: [$procs] files: [$files]"
}
expect_clean() { # NAME [extra condition text]
    local l
    l=$(leftovers)
    if [ -z "$l" ]; then pass "$1"; else fail "$1" "$l"; fi
}

# The memory cgroup directory of a container's cgroupsPath, on v1 or v2.
memory_cgroup() { # CGROUPS_PATH
    if [ -d /sys/fs/cgroup/memory ]; then echo "/sys/fs/cgroup/memory$1"; else echo "/sys/fs/cgroup$1"; fi
}

# A field of a container's state.json (miura-oci's record), by a sed pattern.
state_field() { # ID FIELD (numbers only)
    sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$STATE/$1/state.json" 2>/dev/null
}
