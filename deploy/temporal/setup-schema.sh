#!/bin/sh
# Creates (or upgrades) Temporal's two PostgreSQL databases; safe to run on every start.
# Run by docker-compose.temporal.yml (admin-tools image) and by the cluster test suite (binaries built by
# scripts/build-temporal-server.sh, TEMPORAL_SCHEMA_DIR pointing at the Go module's schema/).
set -eu
schema="${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema}/postgresql/v12"
tool() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -u "$POSTGRES_USER" -p "$DB_PORT" "$@"; }
for db in temporal temporal_visibility; do
  case "$db" in temporal) dir=temporal ;; *) dir=visibility ;; esac
  tool --db "$db" create || true
  tool --db "$db" setup-schema -v 0.0 || true
  tool --db "$db" update-schema -d "$schema/$dir/versioned"
done
echo "schema ready"
