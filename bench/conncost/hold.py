#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# Holds N HTTP connections to ADDR:PORT open for the connection-cost bench.
#   idle: each sends "GET PATH" (keep-alive), reads the whole answer, then
#         keeps the connection open and quiet
#   busy: each sends "GET PATH" for a large file and reads nothing (a slow
#         reader: the server's and the relay's buffers fill)
# Prints "ready N" once all are in place, then holds them until stdin closes.
import socket, sys

mode, addr, port, n, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
socks = []
for i in range(n):
    s = socket.create_connection((addr, port), timeout=120)
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    socks.append(s)
if mode == "idle":
    for s in socks:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(65536)
            if not chunk:
                sys.exit("closed early")
            head += chunk
        h, body = head.split(b"\r\n\r\n", 1)
        length = int([l.split(b":")[1] for l in h.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
        while len(body) < length:
            body += s.recv(65536)
print("ready", n, flush=True)
sys.stdin.read()
