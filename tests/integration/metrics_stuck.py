#!/usr/bin/env python3
"""Scrapers that misbehave, N connections of one kind:
  noread  asks for the page and never reads a byte of it (a receive
          buffer as small as may be);
  slow    sends half a request and nothing more.
Says "stuck" once all are connected, and then waits, up to SECONDS, for
the server to close them, awaiting it without reading (EPOLLRDHUP,
EPOLLHUP): says "closed K" with how many it closed."""
import select
import socket
import sys
import time

host, port, n, kind, secs = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                             sys.argv[4], float(sys.argv[5]))
conns = []
for _ in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.connect((host, port))
    if kind == "noread":
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: forq\r\n\r\n")
    else:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHo")
    conns.append(s)
print("stuck", flush=True)
ep = select.epoll()
for s in conns:
    ep.register(s.fileno(), select.EPOLLRDHUP | select.EPOLLHUP | select.EPOLLERR)
closed = set()
deadline = time.monotonic() + secs
while len(closed) < n and time.monotonic() < deadline:
    for fd, _ in ep.poll(max(0.0, deadline - time.monotonic())):
        closed.add(fd)
        ep.unregister(fd)
print("closed", len(closed), flush=True)
