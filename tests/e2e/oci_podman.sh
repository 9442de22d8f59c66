#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# podman with miura-oci as its runtime (through conmon): `podman build` of
# examples/www/Containerfile, `podman run -d --runtime` in a network namespace
# of the test's own (only lo), pages byte-exact, the access log in `podman
# logs`, every process in the container's cgroup, memory and CPUs from
# --memory/--cpus, `podman stop` by SIGTERM (exit 143), `podman rm`, nothing
# left; a memory limit too small fails with its cause; two instances side by
# side, each with its own CID and network namespace; the guest's exit status
# as the container's; a pod sandbox container handed to runc.
SUITE=oci_podman
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/tools/oci_env.sh"
command -v podman >/dev/null || { fail setup "podman not found (apt-get install podman)"; finish; }

IMG=localhost/miura-oci-test-www:$$
NAME=miura-oci-test-$$
NS=miura-oci-$$
CLEANUP+=("podman rm -f -t 0 $NAME-1 $NAME-2 $NAME-a $NAME-b $NAME-s $NAME-h $NAME-c"
    "podman rmi -f $IMG $IMG-static $IMG-exit")
page_files=(index.html about.txt style.css miura.svg)

podman build -q -f "$ROOT/examples/www/Containerfile" -t "$IMG" "$ROOT" >"$work/build.log" 2>&1 &&
    [ "$(podman image inspect -f '{{json .Config.Entrypoint}}' "$IMG")" = '["/webserver"]' ] &&
    pass build || fail build "$(tail -3 "$work/build.log")"

run() { # NAME NETNS [podman run options]: starts a container of IMG, detached
    local name=$1 ns=$2
    shift 2
    podman run -d --name "$name" --runtime "$RUNTIME" --network "ns:/run/netns/$ns" "$@" "$IMG"
}
serves_all() { # NETNS: every page of the site byte-exact
    local f
    for f in "${page_files[@]}"; do
        ns_get "$1" "http://127.0.0.1/$f" "$work/got" && cmp -s "$work/got" "$ROOT/examples/www/$f" || return 1
    done
}
first_answer() { ns_get "$1" http://127.0.0.1/ "$work/got"; }

# ---- one container, start to finish
make_netns "$NS-1" || fail setup "ip netns add"
if run "$NAME-1" "$NS-1" --memory 64m --cpus 2 >"$work/id" 2>"$work/run.err"; then
    pass run
else
    fail run "$(cat "$work/run.err")"
fi
id=$(cat "$work/id")
wait_until 60 first_answer "$NS-1" && serves_all "$NS-1" && pass serve-byte-exact ||
    fail serve-byte-exact "pages in $NS-1 not served byte-exact"
wait_until 10 eval 'podman logs "$NAME-1" 2>/dev/null | grep -q "GET /about.txt HTTP/1.1 200 "' &&
    pass podman-logs || fail podman-logs "$(podman logs "$NAME-1" 2>&1 | tail -3)"
pid=$(podman inspect -f '{{.State.Pid}}' "$NAME-1")
cid=$(state_field "$id" cid)
[ -n "$pid" ] && [ "$pid" = "$(state_field "$id" pid)" ] && pass engine-pid || fail engine-pid "podman $pid"
qemu_of "$id"
qemu=$QEMU
parts="$(pgrep -f "$RT/oci-$cid/" | tr '\n' ' ')$qemu"
cgroups=$(grep -o '"/sys/fs/cgroup[^"]*"' "$STATE/$id/state.json" | tr -d '"')
in_all=yes
for dir in $cgroups; do
    for p in $pid $parts; do grep -qx "$p" "$dir/cgroup.procs" 2>/dev/null || in_all="no ($p not in $dir)"; done
done
[ -n "$cgroups" ] && [ -n "$qemu" ] && [ "$(wc -w <<<"$parts")" -ge 4 ] && [ "$in_all" = yes ] &&
    pass all-in-cgroup || fail all-in-cgroup "parts [$parts] cgroups [$cgroups]: $in_all"
limit=
for dir in $cgroups; do
    [ -f "$dir/memory.limit_in_bytes" ] && limit=$(cat "$dir/memory.limit_in_bytes")
    [ -f "$dir/memory.max" ] && limit=$(cat "$dir/memory.max")
done
cmd=$(tr '\0' ' ' <"/proc/$qemu/cmdline" 2>/dev/null)
# 64 MiB for the container: 32 for the guest, 32 for QEMU and its daemons (docs/containers.md).
[ "$limit" = 67108864 ] && [[ $cmd == *" -m 32M -smp 2 "* ]] && pass memory-cpus ||
    fail memory-cpus "cgroup limit '$limit', qemu: ${cmd:0:200}"
t0=$(date +%s.%N)
podman stop -t 60 "$NAME-1" >/dev/null 2>&1
t1=$(date +%s.%N)
code=$(podman inspect -f '{{.State.ExitCode}}' "$NAME-1")
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
# 143 = 128 + SIGTERM: the guest stopped on TERM, not on the SIGKILL that comes after -t 60.
[ "$code" = 143 ] && pass "stop-by-sigterm (podman stop took $secs s)" || fail stop-by-sigterm "exit code $code"
podman rm "$NAME-1" >/dev/null 2>&1 && pass rm || fail rm "podman rm"
left=
for dir in $cgroups; do [ -e "$dir" ] && left+="$dir "; done
grep -q "$id" /proc/mounts && left+="mount "
[ -e "$STATE/$id" ] && left+="state "
[ -z "$left" ] && pass rm-leaves-no-cgroup-mount-state || fail rm-leaves-no-cgroup-mount-state "$left"
expect_clean rm-clean

# ---- a memory limit below what the image needs: the cause reaches the user
podman run -d --name "$NAME-2" --runtime "$RUNTIME" --network none --memory 16m "$IMG" \
    >"$work/bad.out" 2>&1
rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <"$work/bad.out")" -eq 1 ] &&
    grep -q "miura-oci: memory limit 16 MiB is below what the image needs" "$work/bad.out" &&
    pass small-memory-refused || fail small-memory-refused "status $rc: $(cat "$work/bad.out")"
podman rm -f "$NAME-2" >/dev/null 2>&1
expect_clean small-memory-clean

# ---- two instances side by side: own CID, own network namespace, both on port 80
make_netns "$NS-a" && make_netns "$NS-b" || fail setup "ip netns add"
run "$NAME-a" "$NS-a" >"$work/id-a" 2>&1 && run "$NAME-b" "$NS-b" >"$work/id-b" 2>&1 ||
    fail two-run "$(cat "$work/id-a" "$work/id-b")"
wait_until 60 first_answer "$NS-a" && wait_until 60 first_answer "$NS-b" && serves_all "$NS-a" &&
    serves_all "$NS-b" && pass two-serve || fail two-serve "not both serving"
ca=$(state_field "$(cat "$work/id-a")" cid)
cb=$(state_field "$(cat "$work/id-b")" cid)
[ -n "$ca" ] && [ -n "$cb" ] && [ "$ca" != "$cb" ] && pass two-cids || fail two-cids "cids '$ca' '$cb'"
va=$(pgrep -f "^[^ ]*miura-vsockd .*$RT/oci-$ca/")
vb=$(pgrep -f "^[^ ]*miura-vsockd .*$RT/oci-$cb/")
# Each vsockd's port 80 listener is in its container's namespace (the daemon
# itself then moves to an empty one of its own: docs/security.md).
listener_in() { ip netns exec "$1" ss -Hltnp 'sport = :80' 2>/dev/null | grep -q "pid=$2,"; }
[ -n "$va" ] && [ -n "$vb" ] && listener_in "$NS-a" "$va" && listener_in "$NS-b" "$vb" &&
    pass two-netns || fail two-netns "vsockd $va, $vb: $(ip netns exec "$NS-a" ss -Hltnp 2>&1 | head -2)"
podman stop -t 60 "$NAME-a" "$NAME-b" >/dev/null 2>&1
podman rm "$NAME-a" "$NAME-b" >/dev/null 2>&1
expect_clean two-clean

# ---- the guest's exit status is the container's (hello: 0; test_crash crash=divide: 100)
mkdir -p "$work/exit"
cp "$ROOT/build/apps/hello/hello" "$ROOT/build/apps/test_crash/test_crash" "$work/exit/" &&
    printf 'FROM scratch\nCOPY hello /hello\nCOPY test_crash /test_crash\nENTRYPOINT ["/hello"]\n' \
        >"$work/exit/Containerfile" && podman build -q -t "$IMG-exit" "$work/exit" >/dev/null 2>&1 ||
    fail setup "exit image (run make)"
podman run --rm --name "$NAME-h" --runtime "$RUNTIME" --network none "$IMG-exit" >"$work/hello.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "^Hello from Miura!" "$work/hello.out" && pass exit-status-0 ||
    fail exit-status-0 "status $rc: $(tail -2 "$work/hello.out")"
podman run --rm --name "$NAME-c" --runtime "$RUNTIME" --network none --entrypoint /test_crash \
    "$IMG-exit" crash=divide >"$work/crash.out" 2>&1
rc=$?
[ $rc -eq 100 ] && grep -q "CRASH: divide error" "$work/crash.out" && pass exit-status-guest ||
    fail exit-status-guest "status $rc, want 100: $(tail -2 "$work/crash.out")"
expect_clean exit-clean

# ---- a Kubernetes pod sandbox (a Linux program) goes to runc
mkdir -p "$work/static"
printf '#include <stdio.h>\nint main(void) { puts("sandbox under runc"); return 0; }\n' |
    gcc -static -x c -o "$work/static/hello" - && printf 'FROM scratch\nCOPY hello /hello\nENTRYPOINT ["/hello"]\n' \
    >"$work/static/Containerfile" && podman build -q -t "$IMG-static" "$work/static" >"$work/static.log" 2>&1 ||
    fail setup "static image: $(tail -2 "$work/static.log")"
podman run --rm --name "$NAME-s" --runtime "$RUNTIME" --network none --ulimit nofile=4096:4096 \
    --ulimit nproc=4096:4096 --annotation io.kubernetes.cri.container-type=sandbox "$IMG-static" \
    >"$work/sandbox.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -qx "sandbox under runc" "$work/sandbox.out" && [ -z "$(ls "$STATE/runc" 2>/dev/null)" ] &&
    pass sandbox-to-runc || fail sandbox-to-runc "status $rc: $(cat "$work/sandbox.out")"
expect_clean sandbox-clean
finish
