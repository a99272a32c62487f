"""conns.py SOCKET N [hold]: opens N connections to forqd at once, each
sending a hello, then prints per connection "ok" or the limit that
refused it; with "hold", keeps them open until its stdin ends."""
import json
import socket
import sys

socks = []
for _ in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    try:
        s.sendall(b'{"op":"hello","version":1}\n')
    except (BrokenPipeError, ConnectionResetError):
        pass  # refused and closed already: its reason is still there
    socks.append(s)
for s in socks:
    line = s.makefile().readline()
    print(json.loads(line).get("error", {}).get("limit", "ok") if line else "closed")
sys.stdout.flush()
if len(sys.argv) > 3 and sys.argv[3] == "hold":
    sys.stdin.read()
