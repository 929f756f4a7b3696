"""Stand-ins for the seed guides' stack (Gunicorn, Flask's CLI, Alembic, Django's manage.py, Celery, RQ, Uvicorn).

They do the real work the deploy tests watch — serve HTTP, apply SQL migrations to PostgreSQL (through psql),
keep worker heartbeats in Redis — with only the standard library, since no package index is reachable.
"""
