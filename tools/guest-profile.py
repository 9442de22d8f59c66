#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Where a running guest spends its time: samples every vCPU's instruction
pointer and frame-pointer call chain through QEMU's gdbstub (the GDB remote
protocol), then names them from the image's .elf.

usage: guest-profile.py PORT SECONDS ELF [INTERVAL_MS]
       (CALLERS=f,g in the environment: also who called f and g when they ran)

Every INTERVAL_MS (default 50, randomised +-50 %) the VM is stopped (as gdb's
Ctrl-C), each vCPU's registers are read, its frame chain is walked through
guest memory (the guest keeps frame pointers), and the VM goes on. Prints the
share of samples in each function inclusive (anywhere on the chain) and self
(the function running). A halted vCPU is sampled in the idle loop, after its
hlt. The stops slow the guest down: read shares, not rates.
"""
import bisect
import collections
import os
import random
import socket
import subprocess
import sys
import time


def usage(msg):
    sys.stderr.write(f"guest-profile: {msg}\nusage: guest-profile.py PORT SECONDS ELF [INTERVAL_MS]\n")
    sys.exit(2)


class Stub:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def packet(self):
        """The next $...#cs packet's payload (acknowledged); '+' acks skipped."""
        while True:
            i = self.buf.find(b"$")
            if i >= 0:
                j = self.buf.find(b"#", i)
                if j >= 0 and len(self.buf) >= j + 3:
                    data = self.buf[i + 1:j]
                    self.buf = self.buf[j + 3:]
                    self.s.sendall(b"+")
                    return data
            d = self.s.recv(65536)
            if not d:
                raise SystemExit("guest-profile: the gdbstub closed the connection")
            self.buf += d

    def send(self, cmd):
        c = cmd.encode()
        self.s.sendall(b"$" + c + b"#%02x" % (sum(c) & 0xFF))

    def ask(self, cmd):
        self.send(cmd)
        while True:
            r = self.packet()
            if r[:1] not in (b"T", b"S"):  # a late stop reply is not the answer
                return r

    def stop(self):
        self.s.sendall(b"\x03")
        while self.packet()[:1] not in (b"T", b"S"):
            pass


def le64(hexbytes):
    return int.from_bytes(bytes.fromhex(hexbytes.decode()), "little")


def chain(stub, rip, rbp):
    """rip and the return addresses up the frame-pointer chain (16 at most)."""
    out = [rip]
    for _ in range(16):
        if rbp == 0 or rbp & 7:
            break
        m = stub.ask("m%x,10" % rbp)
        if m[:1] == b"E" or len(m) < 32:
            break
        rbp, ra = le64(m[:16]), le64(m[16:32])
        if ra == 0:
            break
        out.append(ra - 1)  # inside the call, not after it
    return out


def main():
    if len(sys.argv) not in (4, 5):
        usage("wrong number of arguments")
    try:
        port, secs = int(sys.argv[1]), float(sys.argv[2])
        interval = float(sys.argv[4]) / 1000 if len(sys.argv) == 5 else 0.05
    except ValueError:
        usage("PORT, SECONDS and INTERVAL_MS are numbers")
    elf = sys.argv[3]
    nm = subprocess.run(["nm", "-n", elf], capture_output=True, text=True)
    if nm.returncode != 0:
        usage(f"cannot read symbols of {elf}: {nm.stderr.strip()}")
    syms = []
    for line in nm.stdout.splitlines():
        p = line.split()
        if len(p) == 3 and p[1] in "tTwW":
            syms.append((int(p[0], 16), p[2]))
    addrs = [a for a, _ in syms]

    def name(addr):
        k = bisect.bisect_right(addrs, addr) - 1
        return syms[k][1] if k >= 0 else hex(addr)

    stub = Stub(port)
    stub.send("?")  # the answer is the stop reply: QEMU stopped the VM for us
    stub.packet()
    threads = []
    r = stub.ask("qfThreadInfo")
    while r[:1] == b"m":
        threads += [t.decode() for t in r[1:].split(b",")]
        r = stub.ask("qsThreadInfo")
    if not threads:
        threads = ["1"]
    stacks = []
    end = time.time() + secs
    stub.send("c")
    while time.time() < end:
        time.sleep(interval * (0.5 + random.random()))
        stub.stop()
        for t in threads:
            stub.ask("Hg" + t)
            g = stub.ask("g")
            # x86-64 'g' layout: rax rbx rcx rdx rsi rdi rbp rsp r8..r15 rip ...
            stacks.append(chain(stub, le64(g[256:272]), le64(g[96:112])))
        stub.send("c")
    stub.s.close()

    n = len(stacks)
    if n == 0:
        raise SystemExit("guest-profile: no samples")
    inc, own = collections.Counter(), collections.Counter()
    for st in stacks:
        own[name(st[0])] += 1
        for f in set(name(a) for a in st):
            inc[f] += 1
    print(f"{n} samples of {len(threads)} vCPU(s), every ~{interval * 1000:.0f} ms")
    print(f"{'inclusive':>9} {'self':>6}  function")
    for f, c in inc.most_common(40):
        print(f"{100 * c / n:8.1f}% {100 * own[f] / n:5.1f}%  {f}")
    print("by self time:")
    for f, c in own.most_common(20):
        print(f"{100 * inc[f] / n:8.1f}% {100 * c / n:5.1f}%  {f}")
    for f in filter(None, os.environ.get("CALLERS", "").split(",")):
        callers = collections.Counter(name(st[1]) for st in stacks if len(st) > 1 and name(st[0]) == f)
        print(f"callers of {f} while it ran:")
        for c, k in callers.most_common(10):
            print(f"{100 * k / n:8.1f}%  {c}")


if __name__ == "__main__":
    main()
