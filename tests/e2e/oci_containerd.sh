#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# containerd with miura-oci as the runc shim's binary: a containerd of the
# test's own (its root, state and socket in the work directory, in the
# background), the demo image from `podman save --format oci-archive` |
# `ctr image import`, `ctr run -d --runc-binary` in a network namespace of
# the test's own, pages byte-exact, the console in ctr's log, `ctr task
# kill` (SIGTERM), `ctr task delete`, `ctr container rm`, nothing left.
SUITE=oci_containerd
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/tools/oci_env.sh"
for c in containerd ctr podman; do
    command -v $c >/dev/null || { fail setup "$c not found (apt-get install containerd podman)"; finish; }
done

IMG=localhost/miura-oci-test-ctd:$$
NS=miura-ctd-$$
CTD=$work/ctd
RUNC_ROOT=$work/ctd-runc
mkdir -p "$CTD"
cat >"$CTD/config.toml" <<EOF
version = 2
root = "$CTD/root"
state = "$CTD/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTD/containerd.sock"
[ttrpc]
  address = "$CTD/containerd.sock.ttrpc"
EOF
containerd --config "$CTD/config.toml" >"$CTD/containerd.log" 2>&1 &
ctd_pid=$!
# The namespace names the containers' cgroups (/NAMESPACE/web): one of this
# run's own, so that two runs at once never share (or kill) a cgroup.
CNS=miura-test-$$
ctr() { command ctr -a "$CTD/containerd.sock" -n "$CNS" "$@"; }
CLEANUP+=("ctr task kill -s KILL web" "sleep 0.5" "ctr task delete -f web" "ctr container rm web"
    "kill $ctd_pid" "wait $ctd_pid" "podman rmi -f $IMG")
wait_until 30 ctr version && pass containerd-up || { fail containerd-up "$(tail -3 "$CTD/containerd.log")"; finish; }

podman build -q -f "$ROOT/examples/www/Containerfile" -t "$IMG" "$ROOT" >"$work/build.log" 2>&1 ||
    fail build "$(tail -3 "$work/build.log")"
podman save --format oci-archive "$IMG" 2>/dev/null | ctr image import --base-name "${IMG%:*}" - >"$work/import.log" 2>&1 &&
    ctr image ls -q | grep -qx "$IMG" && pass image-import || fail image-import "$(cat "$work/import.log")"

make_netns "$NS" || fail setup "ip netns add"
ctr run -d --runc-binary "$RUNTIME" --runc-root "$RUNC_ROOT" --with-ns "network:/run/netns/$NS" \
    --log-uri "file://$work/web.log" "$IMG" web >"$work/run.out" 2>&1 && pass ctr-run || fail ctr-run "$(cat "$work/run.out")"
first_answer() { ns_get "$NS" http://127.0.0.1/ "$work/got"; }
if wait_until 60 first_answer && cmp -s "$work/got" "$ROOT/examples/www/index.html" &&
    ns_get "$NS" http://127.0.0.1/miura.svg "$work/got" && cmp -s "$work/got" "$ROOT/examples/www/miura.svg"; then
    pass serve-byte-exact
else
    fail serve-byte-exact "pages in $NS not served byte-exact"
fi
wait_until 10 grep -q "GET /miura.svg HTTP/1.1 200 " "$work/web.log" && pass console-in-ctr-log ||
    fail console-in-ctr-log "$(tail -3 "$work/web.log" 2>/dev/null)"
state=$RUNC_ROOT/$CNS/web/state.json
pid=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$state" 2>/dev/null)
ctr task ls | grep -qE "^web +$pid +RUNNING" && pass task-running || fail task-running "$(ctr task ls)"
cgroups=$(grep -o '"/sys/fs/cgroup[^"]*"' "$state" 2>/dev/null | tr -d '"')
# QEMU: the supervisor's child (under an identity no path of ours is in its command line).
qemu=$(pgrep -P "$pid" -f '^[^ ]*qemu-system' | head -1)
in_all=yes
for dir in $cgroups; do
    for p in $(pgrep -f "$RT/oci-") $qemu; do grep -qx "$p" "$dir/cgroup.procs" || in_all="no ($p not in $dir)"; done
done
[ -n "$cgroups" ] && [ -n "$qemu" ] && [ "$in_all" = yes ] && pass all-in-cgroup ||
    fail all-in-cgroup "[$cgroups] qemu '$qemu': $in_all"

stopped() { ctr task ls | grep -qE "^web +[0-9]+ +STOPPED"; }
ctr task kill web && wait_until 30 stopped && pass task-kill || fail task-kill "$(ctr task ls)"
ctr task delete web >"$work/delete.out" 2>&1 && pass task-delete || fail task-delete "$(cat "$work/delete.out")"
ctr container rm web && pass container-rm || fail container-rm "ctr container rm"
left=
for dir in $cgroups; do [ -e "$dir" ] && left+="$dir "; done
grep -qF "$CTD/state/" /proc/mounts && left+="mount " # this test's containerd only
[ -e "$RUNC_ROOT/$CNS/web" ] && left+="state "
[ -z "$left" ] && pass no-cgroup-mount-state || fail no-cgroup-mount-state "$left"
expect_clean clean
finish
