"""What a Django project's manage.py does for the Flowlog guide: migrations (with --fake), collectstatic, shell -c."""
import os
import shutil
import sys

from . import db, envfile


def _migrations(base):
    """{app: [migration names in order]} from <app>/migrations/NNNN_name.sql."""
    found = {}
    for app in sorted(os.listdir(base)):
        folder = os.path.join(base, app, "migrations")
        if os.path.isdir(folder):
            found[app] = sorted(f[:-4] for f in os.listdir(folder) if f.endswith(".sql"))
    return found


def _applied(url):
    db.execute(url, "CREATE TABLE IF NOT EXISTS django_migrations (app varchar(255), name varchar(255), "
                    "applied timestamptz DEFAULT now(), PRIMARY KEY (app, name))")
    return {(a, n) for a, n in db.query(url, "SELECT app, name FROM django_migrations")}


def _record(url, app, name):
    db.execute(url, "INSERT INTO django_migrations (app, name) VALUES (%s, %s)" % (db.quote(app), db.quote(name)))


def main(base):
    envfile.load(os.path.join(base, ".env"))
    url = os.environ["DATABASE_URL"]
    args = sys.argv[1:]
    command = args[0] if args else "help"
    if command == "showmigrations":
        done = _applied(url)
        for app, names in _migrations(base).items():
            print(app)
            for name in names:
                print(" [%s] %s" % ("X" if (app, name) in done else " ", name))
        return 0
    if command == "migrate":
        fake = "--fake" in args
        positional = [a for a in args[1:] if not a.startswith("--")]
        done = _applied(url)
        plan = []
        for app, names in _migrations(base).items():
            if positional and app != positional[0]:
                continue
            for name in names:
                plan.append((app, name))
                if len(positional) > 1 and name == positional[1]:
                    break
        if len(positional) > 1 and (positional[0], positional[1]) not in plan:
            print("CommandError: Cannot find a migration matching '%s' from app '%s'." % (positional[1], positional[0]), file=sys.stderr)
            return 1
        print("Operations to perform:", flush=True)
        for app, name in plan:
            if (app, name) in done:
                continue
            if fake:
                _record(url, app, name)
                print("  Applying %s.%s... FAKED" % (app, name), flush=True)
                continue
            try:
                db.run_file(url, os.path.join(base, app, "migrations", name + ".sql"))
            except RuntimeError as error:
                print("django.db.utils.ProgrammingError: %s" % error, file=sys.stderr)
                return 1
            _record(url, app, name)
            print("  Applying %s.%s... OK" % (app, name), flush=True)
        return 0
    if command == "collectstatic":
        target = os.path.join(base, "staticfiles")
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(os.path.join(base, "static"), target)
        print("%d static files copied to '%s'." % (len(os.listdir(target)), target), flush=True)
        return 0
    if command == "shell" and len(args) >= 3 and args[1] == "-c":
        sys.path.insert(0, base)
        exec(compile(args[2], "<shell>", "exec"), {"__name__": "__main__"})
        return 0
    print("Unknown command: %r" % command, file=sys.stderr)
    return 1
