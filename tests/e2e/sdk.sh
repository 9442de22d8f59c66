#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The appliance SDK as a user meets it (docs/appliances.md): `make install
# PREFIX=` into a directory outside the tree, `PREFIX/bin/miura new hello` in
# another, `make` there, and `miura run` of the image: GET / answers exactly
# "Hello from hello!\n". Also: bad command lines of `miura new` (usage, one
# line of cause), a project's bad MIURA or UNITS (one clear make error), and
# the miura of the build tree finding the in-place SDK (build/sdk).
SUITE=sdk
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { fail setup "curl missing (apt-get install curl)"; finish; }
work=$(mktemp -d /tmp/miura-sdk.XXXXXX)
export MIURA_RUNTIME_DIR=$work/rt
unset MIURA_VSOCKD
prefix=$work/prefix
MIURA=$prefix/bin/miura
cleanup() {
    "$MIURA" stop hello1 >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

if make -C "$ROOT" --no-print-directory -s install PREFIX="$prefix" >"$work/install.log" 2>&1 &&
    [ -x "$MIURA" ] && [ -f "$prefix/lib/miura/appliance.mk" ]; then
    pass install
else
    fail install "make install PREFIX=$prefix: $(tail -3 "$work/install.log" | tr '\n' ' ')"
    finish
fi

mkdir -p "$work/projects"
cd "$work/projects" || finish
check_cmd new-no-name 2 "miura: NAME missing" "$MIURA" new
check_cmd new-bad-name 2 "miura: bad NAME 'Hello': want a lower-case letter, then up to 63 lower-case letters, digits, '_' or '-'" "$MIURA" new Hello
check_cmd new-slash 2 "miura: bad NAME '../x': want a lower-case letter, then up to 63 lower-case letters, digits, '_' or '-'" "$MIURA" new ../x
check_cmd new-extra 2 "miura: unexpected argument 'c'" "$MIURA" new a b c
check_cmd new-bad-option 2 "miura: unknown option '--frob'" "$MIURA" new --frob a
check_cmd new-sdk-missing-value 2 "miura: option '--sdk' needs a value" "$MIURA" new a --sdk
check_cmd new-bad-sdk 1 "miura: --sdk $work/nowhere is not an installed Miura (no lib/miura/template in it)" "$MIURA" new --sdk "$work/nowhere" a
[ ! -e a ] && pass new-bad-sdk-made-nothing || fail new-bad-sdk-made-nothing "directory a was made"

# The template: made, built, run.
check_cmd new 0 "" "$MIURA" new hello
if grep -qx "NAME := hello" hello/Makefile && grep -qx "MIURA ?= $prefix" hello/Makefile &&
    grep -q '"Hello from hello!\\n"' hello/main.c; then
    pass new-filled
else
    fail new-filled "hello/Makefile or hello/main.c lack the name or the prefix"
fi
check_cmd new-exists 1 "miura: cannot make hello: File exists" "$MIURA" new hello
cd hello || finish
if make >"$work/build.log" 2>&1 && [ -f build/hello ] && [ -f build/hello.elf ]; then
    pass build
    echo "# $(tail -1 "$work/build.log")"
else
    fail build "make in $work/projects/hello: $(tail -3 "$work/build.log" | tr '\n' ' ')"
    finish
fi
# make's errors: exit status 2 and the cause on one line.
make_error() { # NAME WANT_SUBSTRING make-args...
    local name=$1 want=$2 out
    shift 2
    out=$(make "$@" 2>&1 >/dev/null)
    local rc=$?
    if [ "$rc" -eq 2 ] && [[ $out == *"$want"* ]]; then
        pass "$name"
    else
        fail "$name" "make $* exited $rc: $out"
    fi
}
make_error make-bad-unit "unknown unit(s) in UNITS: nosuch (the units: " UNITS="sched nosuch"
make_error make-bad-miura "MIURA=$work/nowhere is not an installed Miura" MIURA="$work/nowhere"

port=$(free_port) || { fail setup "no free loopback port"; finish; }
for _ in $(seq "$PORT_TRIES"); do
    out=$(timeout -k 2 120 "$MIURA" run --detach --name hello1 --publish "127.0.0.1:$port:80" \
        build/hello 2>&1)
    rc=$?
    [ $rc -ne 0 ] && [[ $out == *"Address already in use"* ]] || break
    port=$(free_port)
done
if [ $rc -eq 0 ] && [[ $out == *"serving http://127.0.0.1:$port"* ]]; then
    pass run
else
    fail run "$(echo "$out" | tail -3 | tr '\n' ' ')"
    finish
fi
body=$(curl -s --max-time 30 -o "$work/body" -w '%{http_code}' "http://127.0.0.1:$port/")
printf 'Hello from hello!\n' >"$work/want"
if [ "$body" = 200 ] && cmp -s "$work/body" "$work/want"; then
    pass get-hello
else
    fail get-hello "status $body, body '$(head -c 100 "$work/body")'"
fi
code=$(curl -s --max-time 30 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nope")
[ "$code" = 404 ] && pass get-unknown-404 || fail get-unknown-404 "status $code"
"$MIURA" stop hello1 >/dev/null 2>&1 && pass stop || fail stop "miura stop hello1 failed"

# The build tree's miura uses the in-place SDK, build/sdk (make sdk).
cd "$work/projects" || finish
if [ -f "$ROOT/build/sdk/lib/miura/units.mk" ]; then
    check_cmd new-in-tree 0 "" "$ROOT/build/bin/miura" new intree
    grep -qx "MIURA ?= $ROOT/build/sdk" intree/Makefile && pass new-in-tree-sdk ||
        fail new-in-tree-sdk "intree/Makefile: $(grep '^MIURA' intree/Makefile)"
else
    fail new-in-tree "$ROOT/build/sdk missing (make builds it)"
fi
finish
