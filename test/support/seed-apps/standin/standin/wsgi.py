"""`gunicorn [-w N] -b HOST:PORT module:app` and `uvicorn module:app --host H --port P`: serve a WSGI app."""
import argparse
import importlib
import os
import signal
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def _serve(target, host, port):
    sys.path.insert(0, os.getcwd())
    module, _, name = target.partition(":")
    app = getattr(importlib.import_module(module), name or "app")
    server = make_server(host, port, app, server_class=Server, handler_class=Quiet)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("Listening at: http://%s:%d (%d)" % (host, port, os.getpid()), flush=True)
    server.serve_forever()


def gunicorn():
    parser = argparse.ArgumentParser(prog="gunicorn")
    parser.add_argument("-w", "--workers", type=int, default=1)
    parser.add_argument("-b", "--bind", default="127.0.0.1:8000")
    parser.add_argument("--worker-class", default=None)
    parser.add_argument("target")
    args = parser.parse_args()
    host, _, port = args.bind.rpartition(":")
    _serve(args.target, host or "127.0.0.1", int(port))


def uvicorn():
    parser = argparse.ArgumentParser(prog="uvicorn")
    parser.add_argument("target")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args()
    _serve(args.target, args.host, args.port)


def waitress():
    """`waitress-serve [--host H] --port P module:app` (Waitress's console script)."""
    parser = argparse.ArgumentParser(prog="waitress-serve")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--listen", default=None)
    parser.add_argument("target")
    args = parser.parse_args()
    host, port = args.host, args.port
    if args.listen:
        host, _, listen_port = args.listen.rpartition(":")
        port = int(listen_port)
    print("Serving on http://%s:%d" % (host if host != "0.0.0.0" else "127.0.0.1", port), flush=True)
    _serve(args.target, host, port)
