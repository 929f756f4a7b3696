"""PostgreSQL through the psql client (no driver is installable offline)."""
import os
import subprocess


def _env(url):
    env = dict(os.environ)
    env["PGCONNECT_TIMEOUT"] = "5"
    return env


def query(url, sql):
    """Rows of a query, as lists of strings."""
    out = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
        env=_env(url), check=True, capture_output=True, text=True,
    ).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def execute(url, sql):
    subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-d", url, "-c", sql],
        env=_env(url), check=True, capture_output=True, text=True,
    )


def run_file(url, path):
    """One SQL file in one transaction; raises with psql's error on failure."""
    result = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-d", url, "-f", path],
        env=_env(url), capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip())


def quote(value):
    return "'" + str(value).replace("'", "''") + "'"
