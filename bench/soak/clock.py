#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# The guest's wall clock against the host's, from the web server's Date
# header: HEAD requests on one keep-alive connection, about 2 ms apart, until
# the Date second changes. The guest's second boundary B (in host time) lies
# between the send of the last request that saw the old second and the
# receipt of the first that saw the new one; the offset is Date - B.
# Prints "offset_ms error_ms host_epoch", or exits 1 after 5 s without a change.
# Usage: clock.py PORT
import email.utils
import socket
import sys
import time

port = int(sys.argv[1])
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
buf = b""


def date_of_one_request():
    global buf
    sent = time.time()
    sock.sendall(b"HEAD / HTTP/1.1\r\nHost: soak\r\n\r\n")
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            sys.exit("clock: the server closed the connection")
        buf += chunk
    got = time.time()
    head, buf = buf.split(b"\r\n\r\n", 1)
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"date:"):
            when = email.utils.parsedate_to_datetime(line[5:].strip().decode())
            return sent, got, int(when.timestamp())
    sys.exit("clock: no Date header")


_, _, first = date_of_one_request()
last_sent = None
deadline = time.time() + 5
while time.time() < deadline:
    sent, got, second = date_of_one_request()
    if second != first and last_sent is not None:
        boundary = (last_sent + got) / 2
        print("%.1f %.1f %.3f" % ((second - boundary) * 1000, (got - last_sent) * 500, boundary))
        sys.exit(0)
    first, last_sent = second, sent
    time.sleep(0.002)
sys.exit("clock: the Date header did not change within 5 s")
