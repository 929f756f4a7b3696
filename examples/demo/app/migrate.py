"""Stands in for `flask db upgrade`: fails when the release's MIGRATION file says so."""
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
state = (HERE / "MIGRATION").read_text().strip() if (HERE / "MIGRATION").exists() else "ok"
if state == "fail":
    print("sqlalchemy.exc.ProgrammingError: column \"due_date\" of relation \"tasks\" already exists", file=sys.stderr)
    sys.exit(1)
print("migrations applied")
