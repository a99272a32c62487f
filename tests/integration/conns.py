"""conns.py SOCKET N: opens N connections to forqd at once, each sending
a hello, then prints per connection "ok" or the limit that refused it."""
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
