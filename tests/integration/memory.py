"""memory.py SOCKET FORQD_PID: clients that cost forqd memory or time
(16 idle clients that each sent one answered 12 MiB line, one that
pipelines `wait --all` without reading a reply) while another submits
one job at a time. Prints the submit->ack p99 and forqd's RSS before,
with them, and after they are gone, as "p99_ms rss0 rss1 rss2" (KiB)."""
import json
import socket
import sys
import time

SOCK, PID = sys.argv[1], int(sys.argv[2])
HELLO = b'{"op":"hello","id":0,"version":1}\n'


def rss():
    with open("/proc/%d/status" % PID) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit("no VmRSS for %d" % PID)


def connect():
    s = socket.socket(socket.AF_UNIX)
    s.connect(SOCK)
    s.sendall(HELLO)
    f = s.makefile("rb")
    json.loads(f.readline())
    return s, f


rss0 = rss()
big = []
for i in range(16):
    s, f = connect()
    line = b'{"op":"ping","id":1,"pad":"' + b"x" * (12 << 20) + b'"}\n'
    s.sendall(line)
    json.loads(f.readline())  # answered, whatever it says
    big.append((s, f))

# The pipeliner: as many wait-alls as forqd takes, none of it read.
pipe, _ = connect()
pipe.setblocking(False)
req = b'{"op":"wait","all":true,"events":true,"id":7}\n' * 20000
sent = 0
deadline = time.monotonic() + 5
while sent < len(req) and time.monotonic() < deadline:
    try:
        sent += pipe.send(req[sent:sent + 65536])
    except BlockingIOError:
        time.sleep(0.01)  # forqd stopped reading it: that is the point

s, f = connect()
lat = []
for i in range(300):
    t = time.monotonic()
    s.sendall(b'{"op":"submit","id":%d,"jobs":[{"argv":["true"],"cwd":"/"}]}\n' % (i + 1))
    r = json.loads(f.readline())
    lat.append(time.monotonic() - t)
    if not r.get("ok"):
        raise SystemExit("submit refused: %r" % r)
rss1 = rss()
lat.sort()
p99 = lat[int(len(lat) * 0.99) - 1] * 1000

for c, _ in big:
    c.close()
pipe.close()
s.close()
# forqd frees them in its next turns.
rss2 = rss()
deadline = time.monotonic() + 10
while rss2 > rss0 + 64 * 1024 and time.monotonic() < deadline:
    time.sleep(0.05)  # RSS has no event to wait for
    rss2 = rss()
print("%.1f %d %d %d" % (p99, rss0, rss1, rss2))
