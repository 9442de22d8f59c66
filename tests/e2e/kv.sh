#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The key-value store appliance (apps/kv) started by `miura run` on a
# virtio-fs share, checked over HTTP by tests/e2e/kv_client.py: PUT/GET/
# POST/DELETE/list with 201/204/404/409/405/413, bad JSON and bad keys
# rejected with nothing written outside the share, values at and past the
# limit, 1,000 keys, 8 writers on one key, every key kept across a restart,
# and SIGKILL of QEMU during a write storm: a new instance on the same share
# serves every acknowledged value (or the one in flight), never a torn one.
SUITE=kv
source "$(dirname "$0")/lib.sh"
MIURA=$ROOT/build/bin/miura
img=$(need_image kv)
for t in "$MIURA" "$ROOT/build/bin/miura-vsockd"; do [ -x "$t" ] || { fail setup "$t missing (run make)"; finish; }; done
command -v python3 >/dev/null || { fail setup "python3 missing (apt-get install python3)"; finish; }

work=$(mktemp -d /tmp/miura-kv.XXXXXX)
RT=$work/rt
export MIURA_RUNTIME_DIR=$RT MIURA_VSOCKD=$ROOT/build/bin/miura-vsockd
cleanup() {
    "$MIURA" stop kv1 >/dev/null 2>&1
    for p in $(pgrep -f "$RT/" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT

share=$work/outside/share
mkdir -p "$share" "$RT"
state=$work/state.json
echo '{"outside": ["share"]}' >"$state"
port=$(free_port) || { fail setup "no free loopback port"; finish; }

start() { # NAME: a detached instance on the share, max_value=4096
    local out rc
    for _ in $(seq "$PORT_TRIES"); do
        out=$(timeout -k 2 120 "$MIURA" run --detach --name kv1 --share "$share" \
            --publish "127.0.0.1:$port:80" --append max_value=4096 "$img" 2>&1)
        rc=$?
        [ $rc -ne 0 ] && [[ $out == *"Address already in use"* ]] || break
        port=$(free_port)
    done
    if [ $rc -eq 0 ] && [[ $out == *"serving http://127.0.0.1:$port"* ]]; then
        pass "start-$1"
    else
        fail "start-$1" "$(echo "$out" | tail -3 | tr '\n' ' ')"
        finish
    fi
}
client() { timeout -k 2 600 python3 "$ROOT/tests/e2e/kv_client.py" "$1" "$port" "$share" "$state"; }

start first
client basic
client many
client race
"$MIURA" stop kv1 >/dev/null 2>&1 && pass stop || fail stop "miura stop kv1 failed"

start restarted
client check

# SIGKILL of QEMU in the middle of a write storm, then a new instance.
coproc STORM { client storm; }
killed=
while IFS= read -r line <&"${STORM[0]}"; do
    echo "$line"
    if [ -z "$killed" ] && [ "$line" = storm-running ]; then
        qemu=$(pgrep -f "qemu-system.*$RT/" | head -1)
        [ -n "$qemu" ] && kill -KILL "$qemu" && killed=1
    fi
done
wait "$STORM_PID" 2>/dev/null
[ -n "$killed" ] && pass kill-qemu || fail kill-qemu "QEMU not found or never killed"
# the launcher sees QEMU die and cleans up; wait for the name to be free
for _ in $(seq 120); do "$MIURA" ps 2>/dev/null | grep -qw kv1 || break; sleep 0.5; done
start after-kill
client durable
"$MIURA" stop kv1 >/dev/null 2>&1
finish
