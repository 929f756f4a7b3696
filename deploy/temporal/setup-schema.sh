#!/bin/sh
# Creates (or upgrades) Temporal's two PostgreSQL databases; safe to run on every start.
set -eu
tool() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -u "$POSTGRES_USER" -p "$DB_PORT" "$@"; }
for db in temporal temporal_visibility; do
  case "$db" in temporal) dir=temporal ;; *) dir=visibility ;; esac
  tool --db "$db" create || true
  tool --db "$db" setup-schema -v 0.0 || true
  tool --db "$db" update-schema -d "/etc/temporal/schema/postgresql/v12/$dir/versioned"
done
echo "schema ready"
