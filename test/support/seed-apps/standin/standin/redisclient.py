"""A minimal Redis client (RESP over a socket) for heartbeats and queues."""
import socket
from urllib.parse import urlparse


class Redis:
    def __init__(self, url):
        parts = urlparse(url)
        self.sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=10)
        self.file = self.sock.makefile("rb")
        if parts.password:
            self.call("AUTH", parts.password)
        db = (parts.path or "/0").lstrip("/") or "0"
        if db != "0":
            self.call("SELECT", db)

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for arg in args:
            data = str(arg).encode()
            out += b"$%d\r\n%s\r\n" % (len(data), data)
        self.sock.sendall(out)
        return self._read()

    def _read(self):
        line = self.file.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.file.read(n + 2)[:-2]
            return data.decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)

    def close(self):
        self.sock.close()
