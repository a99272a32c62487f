#!/usr/bin/env python3
"""A NOTIFY_SOCKET for tests: binds a datagram socket at argv[1] and
appends each sd_notify message to argv[2], one line per message, its
fields joined by "|", flushed at once so that tests can follow it."""
import socket
import sys

sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    print("LISTENING", file=out)
    while True:
        data = sock.recv(65536).decode(errors="replace")
        print("|".join(data.strip().split("\n")), file=out)
