# SPDX-License-Identifier: BSD-2-Clause
"""HTTP client half of tests/e2e/kv.sh: one phase per call, one TAP line
("ok - SUITE/NAME" or "not ok - SUITE/NAME: why") per check; SUITE is the
environment's KV_SUITE, else "kv" (tests/e2e/linux.sh runs it as "linux").

usage: kv_client.py PHASE PORT SHARE STATE
  basic    PUT/GET/POST/DELETE/list, status codes, bad input, size limits
  many     1,000 keys over one keep-alive connection, then listed
  race     8 writers to one key; the value read back is one of theirs, whole
  check    after a restart: the 1,000 keys and the race key still there
  storm    writers on their own keys until each has 20 acknowledged writes,
           then keeps writing (kv.sh kills QEMU meanwhile); acknowledged
           and in-flight values go to STATE
  durable  after the kill: each key holds its last acknowledged value or the
           one in flight, never anything else
"""
import http.client
import json
import os
import sys
import threading
import time

PHASE, PORT, SHARE, STATE = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
MAX_VALUE = 4096  # kv.sh starts the store with max_value=4096
SUITE = os.environ.get("KV_SUITE", "kv")
failed = False


def ok(name, cond, why=""):
    global failed
    if cond:
        print(f"ok - {SUITE}/{name}", flush=True)
    else:
        failed = True
        print(f"not ok - {SUITE}/{name}: {why}", flush=True)


def conn():
    return http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)


def req(c, method, path, body=None, headers=None):
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    return r.status, r.read(), r


def value(i, size=256):
    """A JSON text of `size` bytes naming i."""
    head = '{"i":%d,"pad":"' % i
    return (head + "x" * (size - len(head) - 2) + '"}').encode()


def basic():
    c = conn()
    v1, v2 = b'{"a":1,"b":[true,null,"\\u00e9"]}', b'"second"'
    s, _, _ = req(c, "PUT", "/kv/alpha", v1)
    ok("put-new-201", s == 201, f"status {s}")
    s, body, r = req(c, "GET", "/kv/alpha")
    ok("get-200", s == 200 and body == v1 and r.getheader("Content-Type") == "application/json",
       f"status {s} body {body!r}")
    s, _, _ = req(c, "PUT", "/kv/alpha", v2)
    ok("put-replace-204", s == 204, f"status {s}")
    s, body, _ = req(c, "GET", "/kv/alpha")
    ok("get-replaced", s == 200 and body == v2, f"status {s} body {body!r}")
    s, body, _ = req(c, "HEAD", "/kv/alpha")
    ok("head-200-no-body", s == 200 and body == b"", f"status {s}")
    ok("file-on-share", open(os.path.join(SHARE, "alpha"), "rb").read() == v2, "share file differs")
    s, _, _ = req(c, "POST", "/kv/alpha", b"1")
    ok("post-existing-409", s == 409, f"status {s}")
    s, _, _ = req(c, "POST", "/kv/beta", b"2")
    ok("post-new-201", s == 201, f"status {s}")
    s, body, _ = req(c, "GET", "/kv?prefix=al")
    ok("list-prefix", s == 200 and json.loads(body) == {"keys": ["alpha"]}, f"{s} {body!r}")
    s, body, _ = req(c, "GET", "/kv")
    ok("list-all", s == 200 and sorted(json.loads(body)["keys"]) == ["alpha", "beta"], f"{s} {body!r}")
    s, _, _ = req(c, "DELETE", "/kv/alpha")
    ok("delete-204", s == 204, f"status {s}")
    s, body, _ = req(c, "GET", "/kv/alpha")
    ok("get-deleted-404", s == 404 and json.loads(body) == {"error": "Not Found"}, f"{s} {body!r}")
    s, _, _ = req(c, "DELETE", "/kv/alpha")
    ok("delete-missing-404", s == 404, f"status {s}")
    ok("deleted-from-share", not os.path.exists(os.path.join(SHARE, "alpha")), "file still there")
    s, _, r = req(c, "PATCH", "/kv/beta", b"1")
    ok("patch-405", s == 405 and r.getheader("Allow") == "GET, HEAD, POST, PUT, DELETE",
       f"{s} {r.getheader('Allow')}")

    # bad JSON: 400, nothing stored
    for i, bad in enumerate([b"", b"{", b'{"a":}', b"[1,]", b"01", b'"\x01"', b'"\xc0\xae"',
                             b"nul", b"{}{}", b'"\\ud800"', b"[" * 40 + b"]" * 40]):
        s, _, _ = req(c, "PUT", f"/kv/bad{i}", bad)
        ok(f"bad-json-{i}-400", s == 400 and not os.path.exists(os.path.join(SHARE, f"bad{i}")),
           f"status {s}")
    # bad keys: 4xx, nothing written outside the share or under another name
    for name, path in [("dotdot", "/kv/.."), ("dotdot-esc", "/kv/%2e%2e"),
                       ("slash", "/kv/a%2Fb"), ("nul", "/kv/a%00b"), ("dot", "/kv/.hidden"),
                       ("nested", "/kv/a/b"), ("space", "/kv/a%20b"),
                       ("escape-root", "/kv/../../etc"), ("overlong", "/kv/" + "k" * 201)]:
        c2 = conn()
        s, _, _ = req(c2, "PUT", path, b"1")
        c2.close()
        ok(f"bad-key-{name}", 400 <= s < 500, f"status {s}")
    ok("longest-key", req(c, "PUT", "/kv/" + "k" * 200, b"1")[0] == 201, "200-byte key refused")
    # sizes
    s, _, _ = req(c, "PUT", "/kv/big", b'"' + b"v" * (MAX_VALUE - 2) + b'"')
    ok("value-at-limit-201", s == 201, f"status {s}")
    s, body, _ = req(c, "GET", "/kv/big")
    ok("value-at-limit-get", s == 200 and len(body) == MAX_VALUE, f"{s} {len(body)}")
    c2 = conn()
    s, _, _ = req(c2, "PUT", "/kv/toobig", b'"' + b"v" * (MAX_VALUE - 1) + b'"')
    ok("value-past-limit-413", s == 413 and not os.path.exists(os.path.join(SHARE, "toobig")),
       f"status {s}")
    entries = sorted(os.listdir(SHARE))
    ok("share-holds-only-keys", entries == sorted(["beta", "big", "k" * 200]), f"{entries}")
    outside = sorted(os.listdir(os.path.dirname(SHARE)))
    ok("nothing-outside-share", outside == sorted(json.load(open(STATE))["outside"]), f"{outside}")


def many():
    c = conn()
    bad = [i for i in range(1000) if req(c, "PUT", f"/kv/many-{i:04d}", value(i))[0] != 201]
    ok("put-1000-keys", not bad, f"{len(bad)} refused, first {bad[:3]}")
    s, body, _ = req(c, "GET", "/kv?prefix=many-")
    keys = json.loads(body)["keys"] if s == 200 else []
    ok("list-1000-keys", sorted(keys) == [f"many-{i:04d}" for i in range(1000)], f"{s} {len(keys)} keys")
    bad = [i for i in range(0, 1000, 7) if req(c, "GET", f"/kv/many-{i:04d}")[1] != value(i)]
    ok("get-1000-keys", not bad, f"{len(bad)} differ")


def race():
    written, acked, errors = set(), set(), []

    def writer(w):
        c = conn()
        for n in range(15):
            v = value(w * 100 + n, 2048)
            written.add(v)
            s, _, _ = req(c, "PUT", "/kv/race", v)
            if s in (201, 204):
                acked.add(v)
            else:
                errors.append(s)

    ts = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    ok("race-all-acknowledged", not errors and len(acked) == 120, f"errors {errors[:5]}")
    s, body, _ = req(conn(), "GET", "/kv/race")
    ok("race-value-whole", s == 200 and body in acked, f"{s} {len(body)} bytes, not a written value")
    # the value served (from the appliance's cache) is the one the share holds
    on_share = open(os.path.join(SHARE, "race"), "rb").read()
    ok("race-served-is-on-share", body == on_share, f"served {body[:40]!r}, share {on_share[:40]!r}")
    st = json.load(open(STATE))
    st["race"] = body.decode()
    json.dump(st, open(STATE, "w"))


def check():
    c = conn()
    bad = [i for i in range(1000) if req(c, "GET", f"/kv/many-{i:04d}")[1] != value(i)]
    ok("restart-1000-keys", not bad, f"{len(bad)} differ, first {bad[:3]}")
    s, body, _ = req(c, "GET", "/kv/race")
    ok("restart-race-key", s == 200 and body.decode() == json.load(open(STATE))["race"], f"{s}")


def storm():
    # per writer: last acknowledged and in-flight value of each of its keys
    st = {"acked": {}, "inflight": {}}
    lock = threading.Lock()
    counts = [0] * 4
    stops = []

    def writer(w):
        c = conn()
        for n in range(3000):  # bounded if the kill never comes
            key = f"storm-{w}-{n % 5}"
            v = value(w * 100000 + n, 512).decode()
            with lock:
                st["inflight"][key] = v
                json.dump(st, open(STATE + ".tmp", "w"))
                os.replace(STATE + ".tmp", STATE)
            try:
                s, _, _ = req(c, "PUT", f"/kv/{key}", v.encode())
            except Exception:
                # a kept connection the server closed (RFC 9112 §9.3.1: retry
                # an idempotent request once on a new one), or the VM is gone
                try:
                    c.close()
                    c = conn()
                    s, _, _ = req(c, "PUT", f"/kv/{key}", v.encode())
                except Exception as e:
                    stops.append(repr(e))
                    return
            if s not in (201, 204):
                stops.append(s)
                return
            with lock:
                st["acked"][key] = v
                counts[w] += 1
                json.dump(st, open(STATE + ".tmp", "w"))
                os.replace(STATE + ".tmp", STATE)
                if min(counts) == 20:
                    print("storm-running", flush=True)  # kv.sh kills QEMU now

    ts = [threading.Thread(target=writer, args=(w,), daemon=True) for w in range(4)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    ok("storm-ran", min(counts) >= 20, f"acknowledged writes per writer {counts}, stopped by {stops}")


def durable():
    st = json.load(open(STATE))
    c = conn()
    bad = []
    for key, v in st["acked"].items():
        s, body, _ = req(c, "GET", f"/kv/{key}")
        if s != 200 or body.decode() not in (v, st["inflight"].get(key)):
            bad.append(key)
    ok("kill-keeps-acknowledged", st["acked"] and not bad, f"{len(bad)} of {len(st['acked'])} lost or torn: {bad[:3]}")
    tmp = [e for e in os.listdir(SHARE) if e.startswith(".tmp.")]
    ok("kill-leaves-no-tmp", not tmp, f"{tmp[:3]}")


{"basic": basic, "many": many, "race": race, "check": check, "storm": storm, "durable": durable}[PHASE]()
sys.exit(1 if failed else 0)
