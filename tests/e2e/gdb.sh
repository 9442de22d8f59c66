#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Debugging a live appliance (docs/debugging.md): `miura run --gdb PORT
# --gdb-wait` holds the guest until gdb, in batch mode, attaches; a
# breakpoint on the appliance's main is hit, then one in the HTTP parser
# (the launcher's readiness probe is the request), and after gdb detaches
# the web server serves. A crash is stopped in trap_crash and unwound from
# the trap frame to the faulting function.
SUITE=gdb
source "$(dirname "$0")/lib.sh"
MIURA=$ROOT/build/bin/miura
command -v gdb >/dev/null || { fail setup "gdb not found (apt-get install gdb)"; finish; }
[ -x "$MIURA" ] || { fail setup "$MIURA missing (run make)"; finish; }
web=$(need_image webserver)
crash=$(need_image test_crash)

work=$(mktemp -d /tmp/miura-gdb.XXXXXX)
RT=$work/rt
export MIURA_RUNTIME_DIR=$RT MIURA_VSOCKD=$ROOT/build/bin/miura-vsockd
bg=()
trap miura_cleanup EXIT
mkdir -p "$work/site"
echo "under gdb" >"$work/site/index.html"

# The web server, waiting for gdb (a detached start returns at once then).
for try in 1 2 3 4 5; do
    port=$(free_ports 1)
    gport=$(free_ports 1)
    timeout -k 2 60 "$MIURA" run --detach --name dbg --share "$work/site" --publish "127.0.0.1:$port:80" \
        --gdb "$gport" --gdb-wait "$web" >"$work/start" 2>&1 && break
    grep -q 'Address already in use' "$work/start" "$RT/dbg/qemu.log" 2>/dev/null || break
    "$MIURA" rm dbg >/dev/null 2>&1
done
grep -q "^miura: dbg: gdbstub on 127.0.0.1:$gport, the guest waits for gdb's continue" "$work/start" &&
    pass gdbstub-said || fail gdbstub-said "$(cat "$work/start")"
cat >"$work/session.gdb" <<EOF
set pagination off
set confirm off
set tcp connect-timeout 60
target remote 127.0.0.1:$gport
tbreak main
continue
bt
break http_parse_request
continue
bt
delete
detach
EOF
timeout -k 2 120 gdb -batch -nx -x "$work/session.gdb" "$web" >"$work/session.out" 2>&1
rc=$?
# (A temporary breakpoint at main: continuing from it needs no step over an
# inserted breakpoint, which QEMU's gdbstub under TCG once answered with a
# second stop at main. That the guest really started once is checked below.)
grep -qE '^Temporary breakpoint 1, main \(argc=[0-9]+, argv=0x[0-9a-f]+ <[a-z_]+>\) at apps/webserver/main.c:[0-9]+$' "$work/session.out" &&
    pass break-main-hit || fail break-main-hit "gdb status $rc: $(head -c 1500 "$work/session.out")"
if grep -qE '^Breakpoint 2, http_parse_request \(buf=.*"HEAD / HTTP/1.0\\r\\n\\r\\n"' "$work/session.out" &&
    grep -qE '^#1  0x[0-9a-f]+ in connection \(arg=.*\) at lib/http/server.c:[0-9]+$' "$work/session.out"; then
    pass break-in-request-path
else
    fail break-in-request-path "$(head -c 1500 "$work/session.out")"
fi
[ "$(curl -s --max-time 60 "http://127.0.0.1:$port/")" = "under gdb" ] && pass serves-after-detach ||
    fail serves-after-detach "no page after gdb detached"
# tools/guest-profile.py (bench/profile) samples the guest through the stub:
# an idle web server is halted in its idle loop, which runs on kmain's stack.
timeout -k 2 60 python3 "$ROOT/tools/guest-profile.py" "$gport" 3 "$web" 20 >"$work/profile.out" 2>&1
samples=$(awk '/ samples of 1 vCPU/ {print $1}' "$work/profile.out")
idle_self=$(awk '$3 == "sched_idle_loop" {print int($2); exit}' "$work/profile.out")
kmain_inc=$(awk '$3 == "kmain" {print int($1); exit}' "$work/profile.out")
if [ "${samples:-0}" -ge 20 ] && [ "${idle_self:-0}" -ge 50 ] && [ "${kmain_inc:-0}" -ge 50 ] &&
    [ "$(curl -s --max-time 60 "http://127.0.0.1:$port/")" = "under gdb" ]; then
    pass profile-samples
else
    fail profile-samples "samples ${samples:-none}, idle self ${idle_self:-?} %, kmain ${kmain_inc:-?} %: $(head -c 1500 "$work/profile.out")"
fi
n=$(grep -c '^webserver: serving ' "$RT/dbg/console.log")
[ "$n" = 1 ] && pass started-once || fail started-once "the web server started $n times: $(head -c 600 "$RT/dbg/console.log")"
timeout 30 "$MIURA" stop dbg >/dev/null
"$MIURA" rm dbg >/dev/null

# A crash under gdb: stopped in trap_crash, unwound from the trap frame.
for try in 1 2 3 4 5; do
    gport=$(free_ports 1)
    timeout -k 2 120 "$MIURA" run --name dbgcrash --gdb "$gport" --gdb-wait --append crash=pagefault "$crash" \
        </dev/null >"$work/crash.out" 2>"$work/crash.err" &
    mpid=$!
    bg+=("$mpid")
    wait_grep "$work/crash.err" 'gdbstub on' 30
    cat >"$work/crash.gdb" <<EOF
set pagination off
set confirm off
set tcp connect-timeout 60
target remote 127.0.0.1:$gport
break trap_crash
continue
p why
info symbol f->rip
set \$trap_pc = \$pc
set \$trap_sp = \$sp
set \$trap_bp = \$rbp
set \$rbp = f->rbp
set \$sp = f->rsp
set \$pc = f->rip
bt
set \$pc = \$trap_pc
set \$sp = \$trap_sp
set \$rbp = \$trap_bp
delete
continue
EOF
    timeout -k 2 120 gdb -batch -nx -x "$work/crash.gdb" "$crash" >"$work/crash-session.out" 2>&1
    wait "$mpid"
    rc=$?
    grep -q 'Address already in use' "$RT/dbgcrash/qemu.log" "$work/crash.err" 2>/dev/null || break
done
if grep -qxE '\$1 = 0x[0-9a-f]+( <[a-z_]+\+[0-9]+>)? "page fault"' "$work/crash-session.out" &&
    grep -qx 'crash_pagefault + [0-9]* in section .text' "$work/crash-session.out" &&
    grep -qE '^#0  0x[0-9a-f]+ in crash_pagefault \(\) at apps/test_crash/main.c:[0-9]+$' "$work/crash-session.out" &&
    grep -qE '^#1  0x[0-9a-f]+ in main \(' "$work/crash-session.out"; then
    pass crash-unwound
else
    fail crash-unwound "$(head -c 1500 "$work/crash-session.out")"
fi
# Registers put back: the guest's own report is the true one.
[ $rc -eq 100 ] && grep -q 'faulting address (CR2) 0x00000000dead0000' "$work/crash.out" && pass crash-status ||
    fail crash-status "status $rc: $(tail -3 "$work/crash.err")"
# ... its frames named by miura from test_crash.elf, as gdb named them.
grep -qE '^      #0 0x[0-9a-f]{16} crash_pagefault\+0x[0-9a-f]+' "$work/crash.out" && pass crash-named ||
    fail crash-named "$(grep -A3 backtrace "$work/crash.out")"
finish
