"""Queue workers: `celery -A proj worker -Q queue -n name` and `rq worker -n name`, with heartbeats in Redis."""
import argparse
import datetime
import os
import signal
import socket
import sys
import threading
import time

from . import db, envfile
from .redisclient import Redis


def _stop_on_term():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def celery():
    """Consumes JSON-less jobs "notify:<order>" from a Redis list and logs them as sent in NotificationLog."""
    envfile.load()
    parser = argparse.ArgumentParser(prog="celery")
    parser.add_argument("-A", "--app")
    parser.add_argument("command")
    parser.add_argument("-Q", "--queues", default="celery")
    parser.add_argument("-n", "--hostname", default=socket.gethostname())
    parser.add_argument("-l", "--loglevel", default="info")
    parser.add_argument("--concurrency", default="1")
    args = parser.parse_args()
    _stop_on_term()
    redis = Redis(os.environ["REDIS_URL"])
    url = os.environ["DATABASE_URL"]
    name = "celery@%s" % args.hostname
    print("%s ready, queues: %s" % (name, args.queues), flush=True)
    while True:
        redis.call("HSET", "celery:workers:%s" % name, "last_heartbeat", time.time(), "queues", args.queues)
        item = redis.call("BRPOP", *args.queues.split(","), 2)
        if item:
            queue, message = item
            db.execute(url, "INSERT INTO integrations_notificationlog (message, queue, status, worker) VALUES (%s, %s, 'sent', %s)"
                       % (db.quote(message), db.quote(queue), db.quote(name)))
            print("%s: sent %s" % (queue, message), flush=True)


def rq():
    """An RQ worker: registers rq:worker:<name> with last_heartbeat (RQ's UTC format), refreshed while it runs,
    and removed when it is stopped (SIGTERM)."""
    parser = argparse.ArgumentParser(prog="rq")
    parser.add_argument("command")
    parser.add_argument("-n", "--name", default="%s.%d" % (socket.gethostname(), os.getpid()))
    parser.add_argument("--url", default=os.environ.get("REDIS_URL"))
    parser.add_argument("queues", nargs="*")
    args = parser.parse_args()
    redis = Redis(args.url)
    key = "rq:worker:%s" % args.name
    stopping = []
    # SIGTERM only asks: the loop ends between Redis calls and leaves the registry (a handler calling Redis
    # itself could interleave with a call in flight and die without deregistering)
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    every = float(os.environ.get("RQ_HEARTBEAT_SECONDS", "2"))
    print("Worker %s: started, queues %s" % (args.name, ",".join(args.queues) or "default"), flush=True)
    while not stopping:
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        redis.call("SADD", "rq:workers", key)
        redis.call("HSET", key, "last_heartbeat", stamp, "queues", ",".join(args.queues) or "default")
        redis.call("EXPIRE", key, 420)
        deadline = time.time() + every
        while not stopping and time.time() < deadline:
            time.sleep(0.1)
    # as RQ does on a warm shutdown: the worker leaves the registry, so no stale heartbeat stays behind
    redis.call("SREM", "rq:workers", key)
    redis.call("DEL", key)
    print("Worker %s: warm shut down" % args.name, flush=True)
