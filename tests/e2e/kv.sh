#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The key-value store appliance (examples/kv), built as a user builds it
# (docs/appliances.md): Miura installed into a prefix outside the tree,
# examples/kv copied out of the tree and built there with `make MIURA=PREFIX`,
# then started by that prefix's `miura run` on a virtio-fs share and checked
# over HTTP by tests/e2e/kv_client.py: PUT/GET/
# POST/DELETE/list with 201/204/404/409/405/413, bad JSON and bad keys
# rejected with nothing written outside the share, values at and past the
# limit, 1,000 keys, 8 writers on one key, every key kept across a restart,
# and SIGKILL of QEMU during a write storm: a new instance on the same share
# serves every acknowledged value (or the one in flight), never a torn one.
SUITE=kv
source "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { fail setup "python3 missing (apt-get install python3)"; finish; }

work=$(mktemp -d /tmp/miura-kv.XXXXXX)
RT=$work/rt
export MIURA_RUNTIME_DIR=$RT
unset MIURA_VSOCKD # the installed miura finds the installed miura-vsockd
MIURA=$work/prefix/bin/miura
cleanup() {
    "$MIURA" stop kv1 >/dev/null 2>&1
    for p in $(pgrep -f "$RT/" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT

if make -C "$ROOT" --no-print-directory -s install PREFIX="$work/prefix" >"$work/install.log" 2>&1; then
    pass install
else
    fail install "make install PREFIX=$work/prefix: $(tail -3 "$work/install.log" | tr '\n' ' ')"
    finish
fi
cp -r "$ROOT/examples/kv" "$work/kv-src"
rm -rf "$work/kv-src/build"
img=$work/kv-src/build/kv
if make -C "$work/kv-src" MIURA="$work/prefix" >"$work/build.log" 2>&1 && [ -f "$img" ]; then
    pass build-out-of-tree
else
    fail build-out-of-tree "make -C $work/kv-src MIURA=$work/prefix: $(tail -3 "$work/build.log" | tr '\n' ' ')"
    finish
fi

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
# QEMU is the instance's launcher's child (its command line names no path of
# the run directory: its sockets and kernel are descriptors).
launcher=$(launcher_pid kv1)
coproc STORM { client storm; }
storm_pid=$STORM_PID # bash unsets STORM_PID when the coprocess ends
killed=
while IFS= read -r line <&"${STORM[0]}"; do
    echo "$line"
    if [ -z "$killed" ] && [ "$line" = storm-running ]; then
        qemu=$(pgrep -P "$launcher" -f qemu-system | head -1)
        [ -n "$launcher" ] && [ -n "$qemu" ] && kill -KILL "$qemu" && killed=1
    fi
done
wait "$storm_pid" 2>/dev/null
[ -n "$killed" ] && pass kill-qemu || fail kill-qemu "QEMU not found or never killed"
# the launcher sees QEMU die and cleans up; wait for the name to be free
for _ in $(seq 120); do "$MIURA" ps 2>/dev/null | grep -qw kv1 || break; sleep 0.5; done
start after-kill
client durable
"$MIURA" stop kv1 >/dev/null 2>&1
finish
