#!/usr/bin/env python3
"""Submit a command to forqd and wait for it, with nothing but the
standard library: the protocol is JSON, one object per line.

usage: submit_and_wait.py SOCKET COMMAND [ARG...]
"""
import json
import os
import socket
import sys


class Forq:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.lines = self.sock.makefile("r", encoding="utf-8")
        self.next_id = 0
        self.call("hello", version=1)

    def send(self, op, **fields):
        self.next_id += 1
        fields.update(op=op, id=self.next_id)
        self.sock.sendall((json.dumps(fields) + "\n").encode())
        return self.next_id

    def read(self):
        line = self.lines.readline()
        if not line:
            raise ConnectionError("forqd closed the connection")
        return json.loads(line)

    def call(self, op, **fields):
        """Send a request and return its reply; events are skipped."""
        rid = self.send(op, **fields)
        while True:
            msg = self.read()
            if msg.get("id") == rid and "event" not in msg:
                if not msg["ok"]:
                    err = msg["error"]
                    raise RuntimeError(f"{err['code']}: {err['message']}")
                return msg


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    forq = Forq(sys.argv[1])
    job = {"argv": sys.argv[2:], "cwd": os.getcwd(),
           "env": [f"{k}={v}" for k, v in os.environ.items()]}
    job_id = forq.call("submit", jobs=[job])["ids"][0]
    print(f"submitted job {job_id}", file=sys.stderr)
    # The reply to "wait" comes when the job has ended: no polling.
    result = forq.call("wait", jobs=[job_id])["jobs"][0]
    print(json.dumps(result))
    status = forq.call("status", job=job_id)["job"]
    print(f"{status['state']} on cpu {status['cpu']}", file=sys.stderr)
    sys.exit(0 if result["state"] == "succeeded" else 1)


if __name__ == "__main__":
    main()
