#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# miura-oci driven directly, as an engine would (no engine): the command
# line, bad bundles and bad config.json failing `create` with a one-line
# cause, and the lifecycle of a hand-made bundle of the web server: create
# (daemons up, no guest), start (pages byte-exact, a bind mount served from
# its own virtio-fs share), state, ps, list, kill TERM (clean stop), kill
# KILL (everything gone at once, delete clears the rest), delete. After each:
# no process, socket, run directory, CID lock or state left. As root, each
# container runs under its own identity (a second container beside the first).
SUITE=oci
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/tools/oci_env.sh"
command -v setpriv >/dev/null || { fail setup "setpriv missing (apt-get install util-linux)"; finish; }
command -v socat >/dev/null || { fail setup "socat missing (apt-get install socat)"; finish; }

# ---- the command line
"$OCI" --version | grep -q '^miura-oci version ' && pass version || fail version "no version line"
"$OCI" --root "$STATE" features >"$work/features" && grep -q '"ociVersionMax": "1.0.2"' "$work/features" &&
    grep -q '"org.miura.ports"' "$work/features" && pass features || fail features "$(head -3 "$work/features")"
"$OCI" >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] && pass usage-no-command || fail usage-no-command "status $rc, want 2"
for cmd in exec checkpoint pause; do
    "$OCI" --root "$STATE" "$cmd" x >/dev/null 2>"$work/cmd.err"
    rc=$?
    if [ $rc -eq 1 ] && [ "$(wc -l <"$work/cmd.err")" -eq 1 ] && grep -q "^miura-oci: $cmd: " "$work/cmd.err"; then
        pass "unsupported/$cmd"
    else
        fail "unsupported/$cmd" "status $rc: $(cat "$work/cmd.err")"
    fi
done
"$OCI" --root "$STATE" state nosuch >/dev/null 2>"$work/cmd.err"
rc=$?
[ $rc -eq 1 ] && grep -qx 'miura-oci: container nosuch does not exist' "$work/cmd.err" &&
    pass state-unknown || fail state-unknown "status $rc: $(cat "$work/cmd.err")"
"$OCI" --root "$STATE" delete --force nosuch >/dev/null 2>"$work/cmd.err" && [ ! -s "$work/cmd.err" ] &&
    pass delete-force-unknown || fail delete-force-unknown "$(cat "$work/cmd.err")"
"$OCI" --root "$STATE" --log-format yaml list >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] && pass bad-log-format || fail bad-log-format "status $rc, want 2"

# ---- bundles
PORT=$(free_port) || { fail setup "no free port"; finish; }
b=$work/bundle
mkdir -p "$b/rootfs/www" "$work/data"
cp "$APP" "$b/rootfs/webserver"
cp -r "$ROOT/examples/www/." "$b/rootfs/www/"
head -c 100000 /dev/urandom >"$work/data/blob.bin"
echo "from a bind mount" >"$work/data/x.txt"
echo "a file" >"$work/app.conf"
printf 'int main(void) { return 0; }\n' | gcc -static -no-pie -x c -o "$b/rootfs/linux-static" - ||
    fail setup "gcc -static"
ln -s /etc/passwd "$b/rootfs/escape"

# config BUNDLE ARGS [TOP-LEVEL MEMBERS] [PROCESS MEMBERS]: writes BUNDLE/config.json
config() {
    printf '{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":%s%s}%s}\n' \
        "$2" "${4:+,$4}" "${3:+,$3}" >"$1/config.json"
}

# bad NAME PHRASE: create fails with status 1 and exactly one line holding PHRASE
bad() {
    local id=bad-$1 rc
    "$OCI" --root "$STATE" create --bundle "$b" "$id" >"$work/bad.out" 2>"$work/bad.err"
    rc=$?
    if [ $rc -eq 1 ] && [ "$(wc -l <"$work/bad.err")" -eq 1 ] && grep -qF -- "$2" "$work/bad.err"; then
        pass "bad/$1"
    else
        fail "bad/$1" "status $rc, want 1 and one line with '$2': $(cat "$work/bad.err")"
    fi
    [ ! -e "$STATE/$id" ] || fail "bad/$1" "state directory left"
}
rm -f "$b/config.json"
bad no-config "config.json: No such file or directory"
echo '{"ociVersion": "1.0.2", "process": ' >"$b/config.json"
bad not-json "config.json: line 2 column 0"
config "$b" '"/webserver"'
bad args-not-array "process.args: want an array"
config "$b" '["/nothing"]'
bad no-elf "not a Miura image: /nothing is not in the image (No such file or directory)"
config "$b" '["/www/index.html"]'
bad not-elf "not a Miura image: /www/index.html: not an ELF file"
config "$b" '["/linux-static"]'
bad not-pvh "not a Miura image: /linux-static: no PVH entry note"
config "$b" '["/escape"]'
bad symlink-escape "not a Miura image: /escape is not in the image"
config "$b" '["/webserver"]' '"linux":{"resources":{"memory":{"limit":16777216}}}'
bad memory "memory limit 16 MiB is below what the image needs: 3 MiB for the guest + 32 MiB for QEMU and its daemons"
config "$b" '["/webserver"]' '"linux":{"namespaces":[{"type":"user"}]}'
bad userns "user namespaces (rootless containers) are not supported"
config "$b" '["/webserver"]' '' '"terminal":true'
bad terminal "process.terminal is set but no --console-socket was given"
config "$b" '["/webserver"]' '"annotations":{"org.miura.ports":"80:http"}'
bad ports "org.miura.ports: bad entry '80:http'"
config "$b" '["/webserver","say=\"hi\""]'
bad quote 'process.args[1]: a '"'"'"'"'"' or control character cannot reach'
config "$b" '["/webserver"]' '"linux":{"resources":{"memory":{"limit":"64m"}}}'
bad field-type "linux.resources.memory.limit: want an integer"
"$OCI" --root "$STATE" --log "$work/log.json" --log-format json create --bundle "$b" bad-log \
    >/dev/null 2>&1
grep -q '^{"level":"error","msg":"linux.resources.memory.limit: want an integer","time":"' "$work/log.json" &&
    pass log-json || fail log-json "$(cat "$work/log.json" 2>/dev/null)"
expect_clean bad-clean

# ---- lifecycle of a good bundle (host network namespace, port from the annotation)
config "$b" '["/webserver","root=/"]' \
    '"annotations":{"org.miura.ports":"127.0.0.1:'"$PORT"':80"},"mounts":[{"destination":"/data","type":"bind","source":"'"$work/data"'","options":["rbind"]},{"destination":"/etc/app.conf","type":"bind","source":"'"$work/app.conf"'","options":["rbind"]}]'
oci() { "$OCI" --root "$STATE" "$@"; }
status_of() { oci state "$1" 2>/dev/null | sed -n 's/^  "status": "\(.*\)",$/\1/p'; }
is_status() { [ "$(status_of "$1")" = "$2" ]; }
served() { ns_get - "http://127.0.0.1:$PORT/www/index.html" "$work/page"; }

oci create --bundle "$b" --pid-file "$work/c1.pid" c1 >"$work/c1.console" 2>"$work/c1.err"
rc=$?
if [ $rc -eq 0 ] && grep -q "^miura-oci: mount /etc/app.conf: not a directory, so not shared" "$work/c1.err"; then
    pass create
else
    fail create "status $rc: $(cat "$work/c1.err")"
fi
pid=$(cat "$work/c1.pid" 2>/dev/null)
cid=$(state_field c1 cid)
qemu_of c1
if is_status c1 created && [ "$pid" = "$(state_field c1 pid)" ] && pgrep -f "$RT/oci-$cid/vhost.sock" >/dev/null &&
    pgrep -f "$RT/oci-$cid/fs-m1.sock" >/dev/null && [ -z "$QEMU" ]; then
    pass created-daemons-no-guest
else
    fail created-daemons-no-guest "status $(status_of c1), pid $pid / $(state_field c1 pid), cid $cid: $(pgrep -af "$RT/" | cut -c1-150)"
fi
oci start c1 >"$work/start.out" 2>&1 && is_status c1 running && qemu_of c1 && [ -n "$QEMU" ] &&
    pass start || fail start "$(cat "$work/start.out") (qemu '$QEMU')"
if wait_until 60 served && cmp -s "$work/page" "$ROOT/examples/www/index.html"; then
    pass serve-rootfs
else
    fail serve-rootfs "no byte-exact index.html on 127.0.0.1:$PORT"
fi
ns_get - "http://127.0.0.1:$PORT/data/x.txt" "$work/x" && cmp -s "$work/x" "$work/data/x.txt" &&
    ns_get - "http://127.0.0.1:$PORT/data/blob.bin" "$work/blob" && cmp -s "$work/blob" "$work/data/blob.bin" &&
    pass serve-bind-mount || fail serve-bind-mount "/data/x.txt or /data/blob.bin not byte-exact"
wait_until 10 grep -q "GET /data/x.txt HTTP/1.1 200" "$work/c1.console" &&
    pass console-to-stdout || fail console-to-stdout "$(tail -3 "$work/c1.console")"
oci ps --format json c1 >"$work/ps" && [ "$(tr ',' '\n' <"$work/ps" | grep -c '[0-9]')" -ge 5 ] &&
    grep -q "^\[$pid," "$work/ps" && pass ps || fail ps "$(cat "$work/ps")"
oci list -q | grep -qx c1 && pass list || fail list "c1 not listed"

# ---- one identity per container (as root, like `miura run`: docs/security.md)
# A second container beside c1; each one's QEMU and miura-vsockd run as its
# own uid and gid, confined; neither identity can enter the other's run
# directory or connect to its sockets, while each reaches its own.
PORT2=$(free_port) || fail setup "no free port"
b2=$work/bundle2
mkdir -p "$b2"
cp -r "$b/rootfs" "$b2/"
config "$b2" '["/webserver","root=/"]' '"annotations":{"org.miura.ports":"127.0.0.1:'"$PORT2"':80"}'
oci create --bundle "$b2" i2 >"$work/i2.console" 2>"$work/i2.err" && oci start i2 &&
    wait_until 60 ns_get - "http://127.0.0.1:$PORT2/www/index.html" "$work/page2" &&
    cmp -s "$work/page2" "$ROOT/examples/www/index.html" && pass identity/second-serves ||
    fail identity/second-serves "$(cat "$work/i2.err")"
field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null; } # PID KEY
declare -A uid gid
for id in c1 i2; do
    d=$RT/oci-$(state_field "$id" cid)
    qemu_of "$id"
    q=$QEMU
    v=$(pgrep -f -- "miura-vsockd --socket $d/vhost.sock" | head -1)
    read -r -a uq <<<"$(field "$q" Uid)"
    read -r -a uv <<<"$(field "$v" Uid)"
    if [ -n "$q" ] && [ -n "$v" ] && [ "${uq[0]:-0}" != 0 ] && [ "${uq[0]}" = "${uq[3]}" ] &&
        [ "${uq[*]}" = "${uv[*]}" ] && [ "$(field "$q" NoNewPrivs)" = 1 ] && [ "$(field "$v" Seccomp)" = 2 ] &&
        [ "$(field "$q" CapEff)" = 0000000000000000 ] && [ "$(field "$v" CapEff)" = 0000000000000000 ]; then
        pass "identity/$id-confined"
    else
        fail "identity/$id-confined" "qemu '$q' Uid [${uq[*]}], vsockd '$v' Uid [${uv[*]}] Seccomp $(field "$v" Seccomp)"
    fi
    uid[$id]=${uq[0]}
    gid[$id]=$(field "$q" Gid | cut -f1)
    # QEMU's private view of the file system, as under miura run (docs/security.md).
    mounts=$(view_mounts "$q")
    [ -n "$q" ] && [ "$mounts" = "$(qemu_view_want "$ACCEL")" ] && [ ! -e "/proc/$q/root/etc/passwd" ] &&
        [ ! -e "/proc/$q/root$d" ] && pass "identity/$id-qemu-view" || fail "identity/$id-qemu-view" "'$mounts'"
    own=$(stat -c '%u %g %a' "$d")
    [ "$own" = "0 ${gid[$id]} 710" ] && [ -e "/run/miura-ids/id-${uid[$id]}.lock" ] &&
        pass "identity/$id-rundir" || fail "identity/$id-rundir" "$d: $own"
done
[ -n "${uid[c1]}" ] && [ "${uid[c1]}" != "${uid[i2]}" ] && [ "${gid[c1]}" != "${gid[i2]}" ] &&
    pass identity/different || fail identity/different "c1 ${uid[c1]}:${gid[c1]} i2 ${uid[i2]}:${gid[i2]}"
as_id() { # UID GID command...
    local u=$1 g=$2
    shift 2
    setpriv --reuid "$u" --regid "$g" --clear-groups --no-new-privs -- "$@"
}
chmod 711 "$work" "$RT" # the directories above the run directories: searchable
d1=$RT/oci-$(state_field c1 cid)
d2=$RT/oci-$(state_field i2 cid)
out=$(as_id "${uid[c1]}" "${gid[c1]}" ls "$d2" 2>&1)
out2=$(as_id "${uid[i2]}" "${gid[i2]}" ls "$d1" 2>&1)
[[ $out == *"Permission denied"* && $out2 == *"Permission denied"* ]] && pass identity/not-the-others-rundir ||
    fail identity/not-the-others-rundir "c1: $out / i2: $out2"
hybrid() { # UID GID SOCKET: the hybrid handshake as that identity; the reply line
    printf 'CONNECT 80\n' | as_id "$1" "$2" timeout 5 socat -t 2 - "UNIX-CONNECT:$3" 2>&1 | head -1
}
r1=$(hybrid "${uid[c1]}" "${gid[c1]}" "$d1/vsock.sock")
r2=$(hybrid "${uid[c1]}" "${gid[c1]}" "$d2/vsock.sock")
[[ $r1 == "OK "* && $r2 == *"Permission denied"* ]] && pass identity/own-socket-only ||
    fail identity/own-socket-only "own '$r1', other's '$r2'"
oci kill i2 TERM && wait_until 20 is_status i2 stopped && oci delete i2 &&
    ! id_lock_stale "${uid[i2]}" && [ ! -e "$d2" ] && pass identity/released ||
    fail identity/released "$(leftovers)"
oci start c1 >/dev/null 2>"$work/cmd.err"
rc=$?
[ $rc -eq 1 ] && grep -qx 'miura-oci: container c1 is running: only a created container starts' "$work/cmd.err" &&
    pass start-twice || fail start-twice "status $rc: $(cat "$work/cmd.err")"
oci delete c1 >/dev/null 2>"$work/cmd.err"
rc=$?
[ $rc -eq 1 ] && grep -qx 'miura-oci: container c1 is running: stop it first, or delete --force' "$work/cmd.err" &&
    pass delete-running || fail delete-running "status $rc: $(cat "$work/cmd.err")"
oci kill c1 TERM && wait_until 20 is_status c1 stopped && pass kill-term || fail kill-term "still $(status_of c1)"
grep -qx "miura-oci: stopping on Terminated" "$work/c1.err" && pass term-clean-stop ||
    fail term-clean-stop "$(tail -2 "$work/c1.err")"
[ -z "$(pgrep -f "$RT/")$(qemus_left)" ] && [ ! -e "$RT/oci-$cid" ] && [ ! -e "$RT/cid-$cid.lock" ] &&
    pass stopped-clean || fail stopped-clean "$(leftovers)"
oci delete c1 && [ ! -e "$STATE/c1" ] && pass delete || fail delete "state left"
expect_clean delete-clean

# SIGKILL ends every process at once; delete then removes the run directory and CID lock.
oci create --bundle "$b" k1 >"$work/k1.console" 2>/dev/null && oci start k1 && wait_until 60 served ||
    fail kill-setup "k1 did not serve"
cid=$(state_field k1 cid)
kuid=$(state_field k1 uid)
qemu_of k1
oci kill k1 KILL
if [ -n "$QEMU" ] && wait_until 10 eval '[ -z "$(pgrep -f "$RT/")$(qemus_left)" ]' && is_status k1 stopped; then
    pass kill-9
else
    fail kill-9 "$(leftovers)"
fi
[ -d "$RT/oci-$cid" ] && pass kill-9-leaves-rundir || fail kill-9-leaves-rundir "no run directory to clear"
oci delete k1 && expect_clean kill-9-delete-clean
[ -n "$kuid" ] && [ "$kuid" != 0 ] && ! id_lock_stale "$kuid" && pass kill-9-identity-released ||
    fail kill-9-identity-released "uid '$kuid': $(ls /run/miura-ids)"

# A created container that never starts is deleted without --force.
oci create --bundle "$b" n1 >/dev/null 2>&1 && is_status n1 created && oci delete n1 &&
    [ ! -e "$STATE/n1" ] && pass delete-created || fail delete-created "$(leftovers)"
expect_clean delete-created-clean
finish
