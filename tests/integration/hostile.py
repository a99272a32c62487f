"""Hostile and broken clients of forqd, one per subcommand. Each checks
what forqd answers and exits non-zero, saying why, when it is wrong."""
import json
import os
import resource
import socket
import sys
import time

SOCK = sys.argv[1]
HELLO = b'{"op":"hello","id":0,"version":1}\n'


def fail(msg):
    print("hostile.py %s: %s" % (sys.argv[2], msg), file=sys.stderr)
    sys.exit(1)


def connect():
    s = socket.socket(socket.AF_UNIX)
    s.connect(SOCK)
    return s


def replies(s, timeout=10):
    """Every reply line until forqd closes the connection."""
    s.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return [json.loads(l) for l in data.split(b"\n") if l]


def one_reply(f):
    line = f.readline()
    if not line:
        fail("connection closed, no reply")
    return json.loads(line)


def limit_of(r):
    return r.get("error", {}).get("limit")


def silent():
    """Connects and sends nothing: told request_timeout, then closed."""
    s = connect()
    start = time.monotonic()
    rs = replies(s)
    took = time.monotonic() - start
    if [limit_of(r) for r in rs] != ["request_timeout"]:
        fail("replies %r" % rs)
    print("silent client closed after %.1fs: %s" % (took, rs[0]["error"]["message"]))


def slow():
    """One byte at a time of a hello line, slower than request_timeout."""
    s = connect()
    start = time.monotonic()
    try:
        for b in HELLO:
            s.send(bytes([b]))
            time.sleep(0.25)
            if time.monotonic() - start > 10:
                break
    except (BrokenPipeError, ConnectionResetError):
        pass
    rs = replies(s)
    if [limit_of(r) for r in rs] != ["request_timeout"]:
        fail("replies %r" % rs)
    print("slow client closed after %.1fs" % (time.monotonic() - start))


def huge():
    """100 MB without a newline: refused by request_line_max at once,
    the rest discarded as it comes, then closed by request_timeout."""
    s = connect()
    s.sendall(HELLO)
    chunk = b"x" * (1 << 20)
    sent = 0
    try:
        for _ in range(100):
            s.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    rs = replies(s)
    limits = [limit_of(r) for r in rs]
    if limits[:2] != [None, "request_line_max"] or not rs[0].get("ok"):
        fail("replies %r" % [r.get("error", r) for r in rs])
    print("100 MB line: %d MB sent, refused with request_line_max" % (sent >> 20))


BAD = [
    b"\x00\x01\x02\xff\xfe garbage \x80\x81",
    b"\xde\xad\xbe\xef" * 64,
    b'{"op":"hello","version":1,"x":"\xff\xfe"}',
    b'{"op":"ping","id":"\xc3\x28"}',
    b"[" * 100000,
    b'{"a":' * 50000,
    b'{"op":123}',
    b'{"op":"status","job":1e400}',
    b'{"op":"status","job":"seven"}',
    b'{"op":"status","job":-1}',
    b'{"op":"status","job":18446744073709551616}',
    b'{"op":"wait","jobs":[99999999999999999999999]}',
    b'{"op":"wait","jobs":"all"}',
    b'{"op":"cancel","jobs":[1.5]}',
    b'{"op":"submit","jobs":[{"argv":[1,2]}]}',
    b'{"op":"submit","jobs":[{"argv":["true"],"timeout_ms":1e300}]}',
    b'{"op":"submit","jobs":[{"argv":["true"],"env":{"A":7}}]}',
    b'{"op":"submit","jobs":[{"argv":["tr\\u0000ue"]}]}',
    b'{"op":"submit","jobs":{"argv":["true"]}}',
    b'{"op":"list","limit":-5}',
    b'{"op":"logs","job":1,"follow":"yes"}',
    b'"just a string"',
    b"null",
    b"",
]


def garbage():
    """Every broken line gets an error reply; the connection and forqd
    carry on, and a good request after them is answered."""
    s = connect()
    f = s.makefile("rb")
    s.sendall(HELLO)
    if not one_reply(f).get("ok"):
        fail("hello refused")
    for line in BAD:
        s.sendall(line + b"\n")
        r = one_reply(f)
        if r.get("ok") is not False or r["error"]["code"] not in (
            "bad_request", "unknown_op", "not_found", "limit_exceeded"):
            fail("%r got %r" % (line[:60], r))
    s.sendall(b'{"op":"ping","id":"after"}\n')
    r = one_reply(f)
    if not r.get("ok") or r.get("id") != "after":
        fail("ping after garbage: %r" % r)
    print("%d broken lines: each answered with an error; the connection "
          "still works" % len(BAD))


def disconnects():
    """Hangs up mid-request and mid-wait, a hundred times each."""
    for _ in range(100):
        s = connect()
        s.sendall(HELLO + b'{"op":"submit","jobs":[{"argv":["tr')
        s.close()
    for _ in range(100):
        s = connect()
        f = s.makefile("rb")
        s.sendall(HELLO + b'{"op":"submit","jobs":[{"argv":["sleep","0.2"],"cwd":"/"}]}\n')
        one_reply(f)
        r = one_reply(f)
        s.sendall(b'{"op":"wait","jobs":[%d]}\n' % r["ids"][0])
        s.close()
    print("200 hang-ups mid-request and mid-wait")


def flood():
    """A thousand connections at once from one user: as many as
    connections_per_user_max get in, the rest are told that limit."""
    want = int(sys.argv[3])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    socks = []
    for _ in range(1000):
        s = connect()
        try:
            s.sendall(HELLO)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused and closed already: its reason is still there
        socks.append(s)
    got = {}
    for s in socks:
        f = s.makefile("rb")
        line = f.readline()
        r = json.loads(line) if line else {"error": {"limit": "closed"}}
        key = "ok" if r.get("ok") else limit_of(r)
        got[key] = got.get(key, 0) + 1
    if got != {"ok": want, "connections_per_user_max": 1000 - want}:
        fail("1000 connections: %r" % got)
    for s in socks:
        s.close()
    print("1000 connections: %r" % got)


globals()[sys.argv[2]]()
