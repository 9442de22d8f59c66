# SPDX-License-Identifier: BSD-2-Clause
"""The Linux peer of bench/kv: the same API subset on the host (PUT and GET
/kv/KEY), storing each key as a file with the same durable sequence (temporary
file, fsync, rename, fsync of the directory). Python's threading HTTP server.
usage: peer.py PORT DIR"""
import http.server
import os
import re
import sys
import threading

PORT, DIR = int(sys.argv[1]), sys.argv[2]
KEY = re.compile(r"^/kv/([A-Za-z0-9_-][A-Za-z0-9._-]{0,199})$")
counter = [0]
counter_lock = threading.Lock()  # one temporary name per write, across threads


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        m = KEY.match(self.path)
        if not m:
            return self.answer(400)
        try:
            with open(os.path.join(DIR, m.group(1)), "rb") as f:
                self.answer(200, f.read())
        except FileNotFoundError:
            self.answer(404)

    def do_PUT(self):
        m = KEY.match(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if not m:
            return self.answer(400)
        with counter_lock:
            counter[0] += 1
            n = counter[0]
        tmp = os.path.join(DIR, ".tmp.%d.%d" % (os.getpid(), n))
        final = os.path.join(DIR, m.group(1))
        existed = os.path.exists(final)
        with open(tmp, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, final)
        d = os.open(DIR, os.O_RDONLY | os.O_DIRECTORY)
        os.fsync(d)
        os.close(d)
        self.answer(204 if existed else 201)


print("peer: ready", flush=True)
http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
