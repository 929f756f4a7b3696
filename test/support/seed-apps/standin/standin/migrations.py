"""Alembic-style migrations: SQL files applied in name order, the last one recorded in alembic_version."""
import os
import sys

from . import db


def applied(url):
    db.execute(url, "CREATE TABLE IF NOT EXISTS alembic_version (version_num varchar(64) PRIMARY KEY)")
    rows = db.query(url, "SELECT version_num FROM alembic_version")
    return rows[0][0] if rows else None


def upgrade(url, folder):
    files = sorted(f for f in os.listdir(folder) if f.endswith(".sql"))
    current = applied(url)
    pending = [f for f in files if current is None or f[:-4] > current]
    for name in pending:
        print("Running upgrade %s -> %s" % (current, name[:-4]), flush=True)
        try:
            db.run_file(url, os.path.join(folder, name))
        except RuntimeError as error:
            print("ERROR: migration %s failed: %s" % (name, error), file=sys.stderr)
            return 1
        db.execute(url, "DELETE FROM alembic_version; INSERT INTO alembic_version VALUES (%s)" % db.quote(name[:-4]))
        current = name[:-4]
    if not pending:
        print("no pending migrations (head is %s)" % current, flush=True)
    return 0
