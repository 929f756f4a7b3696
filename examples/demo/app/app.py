"""A tiny web app standing in for the seed systems' Flask apps: serves /, /login and /api/status.

Its BEHAVIOR file makes a release good or broken the ways real releases break:
  ok         serves 200 on every route
  crash      exits on start with an ImportError traceback
  http500    starts but answers 500
  traceback  answers 200 but writes a Traceback to its log right after starting
and, for a bake, good at first and broken N seconds after starting:
  http500-after:N   starts answering 500
  exit-after:N      dies
  grow-after:N      grows by 256 MiB of memory (a leak)
  spin-after:N      keeps a CPU core busy
"""
import os
import pathlib
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = pathlib.Path(__file__).resolve().parent
VERSION = (HERE / "VERSION").read_text().strip() if (HERE / "VERSION").exists() else "unknown"
BEHAVIOR = (HERE / "BEHAVIOR").read_text().strip() if (HERE / "BEHAVIOR").exists() else "ok"
LATER, _, AFTER = BEHAVIOR.partition("-after:")
broken = threading.Event()
leak = []
PORT = int(os.environ.get("PORT") or (sys.argv[1] if len(sys.argv) > 1 else "5000"))
ROUTES = {"/", "/login", "/api/status"}


def log(line):
    print(line, flush=True)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path not in ROUTES:
            self.send_response(404)
            self.end_headers()
            return
        status = 500 if BEHAVIOR == "http500" or (LATER == "http500" and broken.is_set()) else 200
        body = f'{{"app": "demo", "version": "{VERSION}", "path": "{self.path}", "status": "{"ok" if status == 200 else "error"}"}}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, fmt, *args):
        log(f"{self.address_string()} {fmt % args}")


def break_later():
    time.sleep(float(AFTER))
    log(f"breaking now: {LATER}")
    broken.set()
    if LATER == "exit":
        os._exit(3)
    if LATER == "grow":
        leak.append(b"x" * (256 * 1024 * 1024))
    while LATER == "spin":
        pass


def main():
    if BEHAVIOR == "crash":
        log("Traceback (most recent call last):")
        log('  File "app.py", line 1, in <module>')
        log("ImportError: cannot import name 'create_app' from 'demo'")
        sys.exit(1)
    if AFTER:
        threading.Thread(target=break_later, daemon=True).start()
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log(f"demo {VERSION} listening on 127.0.0.1:{PORT}")
    if BEHAVIOR == "traceback":
        log("Traceback (most recent call last):")
        log("KeyError: 'DATABASE_URI'")
    server.serve_forever()


if __name__ == "__main__":
    main()
