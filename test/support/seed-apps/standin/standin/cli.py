"""`flask db upgrade` (Flask-Migrate) and `alembic upgrade head`: the app's migrations folder, its database URL."""
import os
import sys

from . import envfile, migrations


def flask():
    envfile.load()
    if sys.argv[1:3] != ["db", "upgrade"]:
        print("usage: flask db upgrade", file=sys.stderr)
        return 2
    url = os.environ.get("DATABASE_URI")
    if not url:
        print("Error: DATABASE_URI is not set (.env)", file=sys.stderr)
        return 1
    return migrations.upgrade(url, os.path.join(os.getcwd(), "migrations", "versions"))


def alembic():
    if sys.argv[1:3] != ["upgrade", "head"]:
        print("usage: alembic upgrade head", file=sys.stderr)
        return 2
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("FAILED: DATABASE_URL is not set", file=sys.stderr)
        return 1
    return migrations.upgrade(url, os.path.join(os.getcwd(), "alembic", "versions"))
