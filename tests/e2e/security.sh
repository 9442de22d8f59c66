#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Confinement, end to end (docs/security.md): two instances started by `miura
# run` as root, each under its own uid and gid; QEMU, miura-vsockd and
# miura-proxy with a non-zero uid, no_new_privs, a seccomp filter and no
# effective capability; virtiofsd in its own sandbox with the shared
# directory as its root; neither instance's identity can enter the other's
# run directory, connect to its sockets or read its processes, while each
# reaches its own; a test-only miura-vsockd that makes a forbidden system
# call after confining itself ends by SIGSYS and the launcher reports it.
# QEMU sees only its private view of the file system (/usr, three device
# nodes, its own /proc); each instance's QEMU, virtiofsd and miura-vsockd
# are in the instance's own cgroup, with its limits, removed at the stop.
SUITE=security
source "$(dirname "$0")/lib.sh"
MIURA=$ROOT/build/bin/miura
VSOCKD=$ROOT/build/bin/miura-vsockd
FORBIDDEN=$ROOT/build/bin/miura-vsockd-forbidden
PROXY=$ROOT/build/bin/miura-proxy
VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
for b in "$MIURA" "$VSOCKD" "$FORBIDDEN" "$PROXY"; do
    [ -x "$b" ] || { fail setup "$b missing (run make)"; finish; }
done
[ -x "$VIRTIOFSD" ] || { fail setup "$VIRTIOFSD missing (apt-get install qemu-system-x86)"; finish; }
command -v setpriv >/dev/null || { fail setup "setpriv missing (apt-get install util-linux)"; finish; }
command -v socat >/dev/null || { fail setup "socat missing (apt-get install socat)"; finish; }
[ "$(id -u)" -eq 0 ] || { fail setup "instance identities need root (run as root)"; finish; }
web=$(need_image webserver)

work=$(mktemp -d /tmp/miura-security.XXXXXX)
RT=$work/rt
export MIURA_RUNTIME_DIR=$RT MIURA_VSOCKD=$VSOCKD MIURA_VIRTIOFSD=$VIRTIOFSD
unset MIURA_ID_RANGE # the default range
bg=()
trap miura_cleanup EXIT
mkdir -p "$work/share"
echo "page of the security test" >"$work/share/index.html"
read -r pa pb pp < <(free_ports 3)

start() { # NAME PORT [env...]: a detached web server instance
    local name=$1 port=$2
    shift 2
    env "$@" timeout -k 2 120 "$MIURA" run -d -n "$name" --accel "$ACCEL" --share "$work/share" \
        --publish "127.0.0.1:$port:80" "$web" </dev/null >"$work/$name.out" 2>"$work/$name.err"
}
# The first pid whose command line matches an extended regex.
pid_of() { pgrep -f -- "$1" | head -1; }
# An instance's QEMU: the child of its own launcher (a name alone may match
# another suite's instance running at the same time).
qemu_of() { pgrep -P "$(launcher_pid "$1")" -f '^[^ ]*/qemu-system-x86_64 ' | head -1; }
field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null; } # PID KEY
# PID is confined: the same non-zero uid in all four places, no_new_privs,
# a seccomp filter, no effective capability. Prints the uid, or why not.
confined() {
    local uid nnp sc cap
    uid=$(field "$1" Uid)
    nnp=$(field "$1" NoNewPrivs)
    sc=$(field "$1" Seccomp)
    cap=$(field "$1" CapEff)
    read -r -a u <<<"$uid"
    if [ ${#u[@]} -eq 4 ] && [ "${u[0]}" != 0 ] && [ "${u[0]}" = "${u[1]}" ] &&
        [ "${u[0]}" = "${u[2]}" ] && [ "${u[0]}" = "${u[3]}" ] && [ "$nnp" = 1 ] && [ "$sc" = 2 ] &&
        [ "$cap" = 0000000000000000 ]; then
        echo "${u[0]}"
    else
        echo "pid $1: Uid [$uid] NoNewPrivs [$nnp] Seccomp [$sc] CapEff [$cap]"
        return 1
    fi
}
as_id() { # UID GID command...: runs it as that identity, nothing more
    local u=$1 g=$2
    shift 2
    setpriv --reuid "$u" --regid "$g" --clear-groups --no-new-privs -- "$@"
}
hybrid_ok() { # UID GID SOCKET: the hybrid handshake as that identity; prints the reply line
    printf 'CONNECT 80\n' | as_id "$1" "$2" timeout 5 socat -t 2 - "UNIX-CONNECT:$3" 2>&1 | head -1
}

# ---- two instances, two identities
start sa "$pa"
rc_a=$?
start sb "$pb"
rc_b=$?
if [ $rc_a -eq 0 ] && [ $rc_b -eq 0 ] && grep -q '^started sa' "$work/sa.out" &&
    grep -q '^started sb' "$work/sb.out"; then
    pass two-started
else
    fail two-started "sa $rc_a: $(cat "$work/sa.err") sb $rc_b: $(cat "$work/sb.err")"
    finish
fi
for n in a b; do
    port=$pa
    [ $n = b ] && port=$pb
    body=$(curl -s --max-time 10 "http://127.0.0.1:$port/index.html")
    [ "$body" = "page of the security test" ] && pass "s$n/serves" || fail "s$n/serves" "got '$body'"
done

declare -A uid gid memdir pidsdir
command -v nsenter >/dev/null || { fail setup "nsenter missing (apt-get install util-linux)"; finish; }
for n in sa sb; do
    q=$(qemu_of "$n")
    v=$(pid_of "miura-vsockd --socket $RT/$n/vhost.sock")
    if uq=$(confined "$q") && [ -n "$q" ]; then pass "$n/qemu-confined"; else fail "$n/qemu-confined" "$uq"; fi
    if uv=$(confined "$v") && [ -n "$v" ]; then pass "$n/vsockd-confined"; else fail "$n/vsockd-confined" "$uv"; fi
    [ "$uq" = "$uv" ] && pass "$n/one-identity" || fail "$n/one-identity" "qemu $uq, vsockd $uv"
    uid[$n]=$uq
    gid[$n]=$(field "$q" Gid | cut -f1)
    # QEMU's own filter is on, and it cannot gain a capability back.
    tr '\0' ' ' <"/proc/$q/cmdline" |
        grep -q -- ' -sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny ' &&
        pass "$n/qemu-sandbox" || fail "$n/qemu-sandbox" "$(tr '\0' ' ' <"/proc/$q/cmdline")"
    [ "$(field "$q" CapBnd)" = 0000000000000000 ] && pass "$n/qemu-no-bounding-caps" ||
        fail "$n/qemu-no-bounding-caps" "CapBnd $(field "$q" CapBnd)"
    # Its network is its own: no interface but lo (a namespace of its own).
    if [ "$(readlink "/proc/$q/ns/net")" != "$(readlink /proc/self/ns/net)" ]; then
        pass "$n/qemu-own-netns"
    else
        fail "$n/qemu-own-netns" "same network namespace as the host"
    fi
    # Its view of the file system (a mount namespace of its own): /usr read-only,
    # three device nodes and its own /proc; nothing of the host's /etc, the
    # run directories or the share, while its program is there.
    mounts=$(view_mounts "$q")
    [ "$mounts" = "$(qemu_view_want "$ACCEL")" ] && pass "$n/qemu-view-mounts" ||
        fail "$n/qemu-view-mounts" "'$mounts'"
    root=/proc/$q/root
    if [ -x "$root/usr/bin/qemu-system-x86_64" ] && [ ! -e "$root/etc/passwd" ] &&
        [ ! -e "$root$RT/sa" ] && [ ! -e "$root$RT/sb" ] && [ ! -e "$root$work/share/index.html" ] &&
        [ ! -e "$root/run" ] && [ ! -e "$root/tmp" ] && [ ! -e "$root/home" ]; then
        pass "$n/qemu-view-only"
    else
        fail "$n/qemu-view-only" "$(ls "$root/" 2>&1 | tr '\n' ' ')"
    fi
    # As its own uid, in its namespace: its /proc shows only itself (not miura-vsockd,
    # which is of the same uid but not dumpable), and its root is read-only.
    procs=$(nsenter -t "$q" -m setpriv --reuid "$(field "$q" Uid | cut -f1)" \
        --regid "$(field "$q" Gid | cut -f1)" --clear-groups -- sh -c 'ls /proc; touch /x 2>&1' 2>&1 | tr '\n' ' ')
    [[ " $procs " == *" $q "* && " $procs " != *" $v "* && " $procs " != *" 1 "* &&
        $procs == *"Read-only file system"* ]] && pass "$n/qemu-view-proc" || fail "$n/qemu-view-proc" "$procs"
    # Its cgroup: QEMU, virtiofsd and miura-vsockd in /miura.slice/NAME-UID
    # (v1: under ours), memory.max = --mem + 256 MiB, pids.max = 192 + 4 per vCPU.
    leaf=/miura.slice/$n-$uq
    mem_mib=$(tr '\0' '\n' <"/proc/$q/cmdline" | sed -n '/^-m$/{n;s/M$//p}')
    cpus=$(tr '\0' '\n' <"/proc/$q/cmdline" | sed -n '/^-smp$/{n;p}')
    memdir[$n]=$(cgroup_dir_of "$q" memory)
    pidsdir[$n]=$(cgroup_dir_of "$q" pids)
    same=ok
    for p in "$v" $(virtiofsd_of "$n"); do
        [ "$(cgroup_dir_of "$p" memory)" = "${memdir[$n]}" ] && [ "$(cgroup_dir_of "$p" pids)" = "${pidsdir[$n]}" ] ||
            same="pid $p in $(cgroup_dir_of "$p" memory) / $(cgroup_dir_of "$p" pids)"
    done
    [[ ${memdir[$n]} == *"$leaf" && ${pidsdir[$n]} == *"$leaf" && $same == ok ]] && pass "$n/cgroup-joined" ||
        fail "$n/cgroup-joined" "qemu in '${memdir[$n]}' '${pidsdir[$n]}', want *$leaf; $same"
    memmax=$(cat "${memdir[$n]}/memory.max" "${memdir[$n]}/memory.limit_in_bytes" 2>/dev/null | head -1)
    pidsmax=$(cat "${pidsdir[$n]}/pids.max" 2>/dev/null)
    [ -n "$mem_mib" ] && [ "$memmax" = $(((mem_mib + 256) * 1048576)) ] && [ "$pidsmax" = $((192 + 4 * cpus)) ] &&
        pass "$n/cgroup-limits" || fail "$n/cgroup-limits" "memory $memmax (-m ${mem_mib}M) pids $pidsmax (-smp $cpus)"
    # The run directory: root, the instance's group, 0710.
    own=$(stat -c '%u %g %a' "$RT/$n")
    [ "$own" = "0 ${gid[$n]} 710" ] && pass "$n/rundir-mode" || fail "$n/rundir-mode" "$own"
    # virtiofsd: its serving process has its own seccomp filter and sees the share as /.
    vf=""
    for p in $(virtiofsd_of "$n"); do
        [ "$(field "$p" Seccomp)" = 2 ] && vf=$p
    done
    if [ -n "$vf" ] && [ "$(field "$vf" NoNewPrivs)" = 1 ] &&
        [ "$(ls "/proc/$vf/root/")" = index.html ]; then
        pass "$n/virtiofsd-sandboxed"
    else
        fail "$n/virtiofsd-sandboxed" "pid '$vf': $(ls "/proc/$vf/root/" 2>&1 | head -3 | tr '\n' ' ')"
    fi
done
if [ -n "${uid[sa]}" ] && [ -n "${uid[sb]}" ] && [ "${uid[sa]}" != "${uid[sb]}" ] &&
    [ "${gid[sa]}" != "${gid[sb]}" ]; then
    pass different-identities
else
    fail different-identities "sa ${uid[sa]}:${gid[sa]} sb ${uid[sb]}:${gid[sb]}"
fi

# ---- each reaches its own sockets, and nothing of the other's
# QEMU needs no path (its kernel and sockets come as descriptors), and the
# runtime base is 0700; for the identities to try the run directories at all,
# the directories above them are opened to searching here.
chmod 711 "$work" "$RT"
ua=${uid[sa]} ga=${gid[sa]} ub=${uid[sb]} gb=${gid[sb]}
reply=$(hybrid_ok "$ua" "$ga" "$RT/sa/vsock.sock")
[[ $reply == "OK "* ]] && pass sa/own-socket || fail sa/own-socket "reply '$reply'"
reply=$(hybrid_ok "$ub" "$gb" "$RT/sb/vsock.sock")
[[ $reply == "OK "* ]] && pass sb/own-socket || fail sb/own-socket "reply '$reply'"
reply=$(hybrid_ok "$ua" "$ga" "$RT/sb/vsock.sock")
[[ $reply == *"Permission denied"* ]] && pass sa/not-sb-socket || fail sa/not-sb-socket "reply '$reply'"
reply=$(hybrid_ok "$ub" "$gb" "$RT/sa/vhost.sock")
[[ $reply == *"Permission denied"* ]] && pass sb/not-sa-vhost || fail sb/not-sa-vhost "reply '$reply'"
out=$(as_id "$ua" "$ga" ls "$RT/sb" 2>&1)
[[ $out == *"Permission denied"* ]] && pass sa/not-sb-rundir || fail sa/not-sb-rundir "$out"
out=$(as_id "$ua" "$ga" cat "$RT/sb/console.log" 2>&1)
[[ $out == *"Permission denied"* ]] && pass sa/not-sb-console || fail sa/not-sb-console "$out"
# Its own run directory: sockets by name only, no listing, no logs.
out=$(as_id "$ua" "$ga" ls "$RT/sa" 2>&1)
[[ $out == *"Permission denied"* ]] && pass sa/no-listing || fail sa/no-listing "$out"
out=$(as_id "$ua" "$ga" cat "$RT/sa/meta" 2>&1)
out2=$(as_id "$ua" "$ga" sh -c "echo x >>'$RT/sa/meta'" 2>&1)
[[ $out == "name sa"* && $out2 == *"Permission denied"* ]] && pass sa/meta-read-only ||
    fail sa/meta-read-only "read '$(head -c 80 <<<"$out")' write '$out2'"
qb=$(qemu_of sb)
out=$(as_id "$ua" "$ga" head -c 16 "/proc/$qb/environ" 2>&1)
[[ $out == *"Permission denied"* ]] && pass sa/not-sb-qemu || fail sa/not-sb-qemu "$out"

# ---- miura-proxy under an instance's identity
"$PROXY" --uds "$RT/sa/vsock.sock" --publish "127.0.0.1:$pp:80" --user "$ua:$ga" \
    >"$work/proxy.log" 2>&1 &
bg+=($!)
proxy=$!
wait_grep "$work/proxy.log" 'listening|confined' 10
body=""
for _ in $(seq 1 50); do
    body=$(curl -s --max-time 5 "http://127.0.0.1:$pp/index.html") && [ -n "$body" ] && break
    sleep 0.1
done
[ "$body" = "page of the security test" ] && pass proxy/serves || fail proxy/serves "got '$body': $(tail -2 "$work/proxy.log")"
if up=$(confined "$proxy") && [ "$up" = "$ua" ]; then pass proxy/confined; else fail proxy/confined "$up (want uid $ua)"; fi
kill "$proxy" 2>/dev/null
wait "$proxy" 2>/dev/null

# ---- a forbidden system call ends miura-vsockd by SIGSYS, and the launcher says so
"$MIURA" stats sa >"$work/stats-a" 2>&1 && grep -q '^accepted ' "$work/stats-a" &&
    pass real-vsockd-answers-stats || fail real-vsockd-answers-stats "$(head -3 "$work/stats-a")"
start sf "$(free_ports 1)" MIURA_VSOCKD="$FORBIDDEN"
grep -q '^started sf' "$work/sf.out" && pass forbidden/started || fail forbidden/started "$(cat "$work/sf.err")"
lp=$(launcher_pid sf)
"$MIURA" stats sf >/dev/null 2>&1 # the test-only build opens /etc/passwd here
for _ in $(seq 1 200); do running "$lp" || break; sleep 0.05; done
cause=$(sed -n 's/^cause //p' "$RT/sf/meta")
want="miura-vsockd was killed by signal 31: miura-vsockd: seccomp: system call 257 (openat) is not allowed: ending the process"
[ "$cause" = "$want" ] && pass forbidden/reported || fail forbidden/reported "cause '$cause'"
grep -qx 'status 125' "$RT/sf/meta" && pass forbidden/status || fail forbidden/status "$(grep status "$RT/sf/meta")"

# ---- a start that fails: the cgroup the stand-in QEMU ran in is gone after it
printf '#!/bin/sh\ncat /proc/self/cgroup\nexit 3\n' >"$work/failing-qemu"
chmod 755 "$work/failing-qemu"
sq=sq-$$ # a name of this run's own: the cgroup path (NAME-UID) is host-wide
start "$sq" "$(free_ports 1)" MIURA_QEMU="$work/failing-qemu"
lp=$(launcher_pid "$sq")
for _ in $(seq 1 200); do running "$lp" || break; sleep 0.05; done
seen=$(grep -o "/miura.slice/$sq-[0-9]*" "$RT/$sq/console.log" | head -1)
mdir=$(dirname "${memdir[sa]}")
if [ -n "$seen" ] && ! running "$lp" && ! ls -d "$mdir/${seen##*/}" >/dev/null 2>&1 && [ -d "$mdir" ]; then
    pass failed-start/cgroup-removed
else
    fail failed-start/cgroup-removed "ran in '$seen'; $(ls "$mdir" 2>&1 | tr '\n' ' '); $(cat "$work/$sq.err")"
fi

# ---- stopped: identities released, kept run directories back to root
for n in sa sb; do timeout 30 "$MIURA" stop "$n" >/dev/null 2>&1; done
for n in sa sb; do
    own=$(stat -c '%u %g' "$RT/$n")
    u=${uid[$n]}
    if [ "$own" = "0 0" ] && ! id_lock_stale "$u" && [ ! -e "$RT/$n/kernel" ]; then
        pass "$n/released"
    else
        fail "$n/released" "run dir $own, lock $(ls /run/miura-ids/id-"$u".lock 2>&1)"
    fi
    [ -n "${memdir[$n]}" ] && [ ! -e "${memdir[$n]}" ] && [ ! -e "${pidsdir[$n]}" ] && pass "$n/cgroup-removed" ||
        fail "$n/cgroup-removed" "'${memdir[$n]}' '${pidsdir[$n]}' still there (or never found)"
done
finish
