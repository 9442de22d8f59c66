#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The Linux build of an appliance as a user meets it (docs/appliances.md,
# "Test on Linux"): Miura installed into a prefix outside the tree;
# examples/kv copied out of the tree and built with `make MIURA=PREFIX
# linux`, run as build/kv-linux on a share directory with its vsock port 80
# published on a loopback TCP port, and checked over HTTP: PUT/GET/DELETE/
# list with exact bodies and status codes, each value a file of the share
# directory, then tests/e2e/kv_client.py's basic, 1,000-key and one-key race
# phases (as tests/e2e/kv.sh runs them against the VM), and the basic phase
# again with the program built with ASan and UBSan; and the `miura new`
# template built with `make linux` and answering GET /. No VM, no vsock.
SUITE=linux
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { fail setup "curl missing (apt-get install curl)"; finish; }
command -v python3 >/dev/null || { fail setup "python3 missing (apt-get install python3)"; finish; }
work=$(mktemp -d /tmp/miura-linux.XXXXXX)
prefix=$work/prefix
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT

if make -C "$ROOT" --no-print-directory -s install PREFIX="$prefix" >"$work/install.log" 2>&1 &&
    [ -f "$prefix/lib/miura/src/sdk/linux/start.c" ]; then
    pass install
else
    fail install "make install PREFIX=$prefix: $(tail -3 "$work/install.log" | tr '\n' ' ')"
    finish
fi

# start NAME LOG PROGRAM ARGS...: runs PROGRAM --publish 127.0.0.1:$port:80
# ARGS in the background (pid in $pid), on a new free port while the one
# taken is in use, until it says which TCP port its vsock port 80 is.
start() {
    local name=$1 log=$2 prog=$3
    shift 3
    for _ in $(seq "$PORT_TRIES"); do
        port=$(free_port) || { fail "$name" "no free loopback port"; return 1; }
        "$prog" --publish "127.0.0.1:$port:80" "$@" >"$log" 2>&1 &
        pid=$!
        pids+=("$pid")
        if wait_grep "$log" "vsock port 80 is http://127.0.0.1:$port\$" 30; then
            pass "$name"
            return 0
        fi
        kill -TERM "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        grep -q "Address already in use" "$log" || break
    done
    fail "$name" "$(tail -3 "$log" | tr '\n' ' ')"
    return 1
}

# http NAME WANT_STATUS WANT_BODY curl-args...: the status and the body, exactly.
http() {
    local name=$1 want_status=$2 want_body=$3 status
    shift 3
    status=$(curl -s --max-time 30 -o "$work/body" -w '%{http_code}' "$@")
    printf '%s' "$want_body" >"$work/want"
    if [ "$status" = "$want_status" ] && cmp -s "$work/body" "$work/want"; then
        pass "$name"
    else
        fail "$name" "status $status (want $want_status), body '$(head -c 200 "$work/body")' (want '$want_body')"
    fi
}

# ---- examples/kv, copied out of the tree
cp -r "$ROOT/examples/kv" "$work/kv-src"
rm -rf "$work/kv-src/build"
if make -C "$work/kv-src" MIURA="$prefix" linux >"$work/kv-build.log" 2>&1 &&
    [ -x "$work/kv-src/build/kv-linux" ]; then
    pass kv-build
else
    fail kv-build "make -C $work/kv-src MIURA=$prefix linux: $(tail -3 "$work/kv-build.log" | tr '\n' ' ')"
    finish
fi
# The program's own command line: usage errors exit 2 with the cause on
# the first line, a --share that cannot be entered exits 1.
kvl=$work/kv-src/build/kv-linux
check_cmd kv-bad-option 2 "kv-linux: unknown option --frob" "$kvl" --frob
check_cmd kv-option-no-value 2 "kv-linux: a value is missing after --publish" "$kvl" --publish
check_cmd kv-bad-publish 2 "kv-linux: bad --publish value (want [ADDR:]HOSTPORT:GUESTPORT (IPv4 ADDR, ports 1..65535 and 1..4294967294)): 80" "$kvl" --publish 80
check_cmd kv-bad-share 1 "kv-linux: --share $work/nowhere: No such file or directory" "$kvl" --share "$work/nowhere"

share=$work/outside/share
mkdir -p "$share"
start kv-start "$work/kv.log" "$work/kv-src/build/kv-linux" --share "$share" max_value=4096 || finish
url=http://127.0.0.1:$port/kv
http kv-put-new-201 201 '' -X PUT --data '{"name":"ada"}' "$url/user-1"
if [ "$(cat "$share/user-1" 2>/dev/null)" = '{"name":"ada"}' ]; then
    pass kv-put-file
else
    fail kv-put-file "$share/user-1 holds '$(head -c 100 "$share/user-1" 2>&1)'"
fi
http kv-get-200 200 '{"name":"ada"}' "$url/user-1"
http kv-put-replace-204 204 '' -X PUT --data '[1,2]' "$url/user-1"
http kv-get-replaced 200 '[1,2]' "$url/user-1"
http kv-put-other-201 201 '' -X PUT --data 'true' "$url/group-1"
http kv-list-prefix 200 '{"keys":["user-1"]}
' "$url?prefix=user-"
http kv-delete-204 204 '' -X DELETE "$url/user-1"
[ ! -e "$share/user-1" ] && pass kv-delete-file || fail kv-delete-file "$share/user-1 still there"
http kv-get-deleted-404 404 '{"error":"Not Found"}
' "$url/user-1"
http kv-delete-again-404 404 '{"error":"Not Found"}
' -X DELETE "$url/user-1"
http kv-list-after-delete 200 '{"keys":["group-1"]}
' "$url"
http kv-put-bad-json-400 400 '{"error":"Bad Request"}
' -X PUT --data '{"a":' "$url/bad"
[ ! -e "$share/bad" ] && pass kv-bad-json-no-file || fail kv-bad-json-no-file "$share/bad written"
rm -f "$share/group-1"
# The client the VM test uses: status codes, bad keys (nothing written
# outside the share), values at and past the limit, 1,000 keys, 8 writers
# on one key.
echo '{"outside": ["share"]}' >"$work/state.json"
for phase in basic many race; do
    KV_SUITE=linux/kv timeout -k 2 600 python3 "$ROOT/tests/e2e/kv_client.py" "$phase" "$port" \
        "$share" "$work/state.json" || FAILED=1
done
kill -TERM "$pid" 2>/dev/null
wait "$pid" 2>/dev/null

# The same with the sanitizers (docs/appliances.md): any memory error or
# undefined behaviour ends the program, and the client's checks fail.
if make -C "$work/kv-src" MIURA="$prefix" O=build-san linux \
    LINUX_CFLAGS='-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all' \
    >"$work/kv-san-build.log" 2>&1 && [ -x "$work/kv-src/build-san/kv-linux" ]; then
    pass kv-build-sanitizers
    rm -rf "$share" && mkdir -p "$share"
    if start kv-start-sanitizers "$work/kv-san.log" "$work/kv-src/build-san/kv-linux" \
        --share "$share" max_value=4096; then
        KV_SUITE=linux/kv-san timeout -k 2 600 python3 "$ROOT/tests/e2e/kv_client.py" basic \
            "$port" "$share" "$work/state.json" || FAILED=1
        kill -TERM "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
else
    fail kv-build-sanitizers "$(tail -3 "$work/kv-san-build.log" | tr '\n' ' ')"
fi

# ---- the `miura new` template
mkdir -p "$work/projects"
if (cd "$work/projects" && "$prefix/bin/miura" new hello >"$work/new.log" 2>&1 &&
    make -C hello linux >"$work/hello-build.log" 2>&1) && [ -x "$work/projects/hello/build/hello-linux" ]; then
    pass template-build
else
    fail template-build "miura new hello; make linux: $(tail -3 "$work/new.log" "$work/hello-build.log" | tr '\n' ' ')"
    finish
fi
start template-start "$work/hello.log" "$work/projects/hello/build/hello-linux" || finish
http template-get-hello 200 'Hello from hello!
' "http://127.0.0.1:$port/"
http template-get-unknown-404 404 '<!DOCTYPE html>
<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1></body></html>
' "http://127.0.0.1:$port/nope"
grep -qx "hello: serving HTTP on vsock port 80" "$work/hello.log" && pass template-says-serving ||
    fail template-says-serving "$(head -3 "$work/hello.log" | tr '\n' ' ')"
finish
