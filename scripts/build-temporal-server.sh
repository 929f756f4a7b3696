#!/usr/bin/env bash
# Builds the Temporal server and temporal-sql-tool from their Go module, at the version the compose file runs,
# into a cache outside the repository (RUNBOOK_CACHE, default ~/.cache/runbook), once per version.
# Prints the folder holding temporal-server, temporal-sql-tool and the module's schema/ on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

# Keep in step with docker-compose.temporal.yml (test/deploy/compose.test.ts checks it).
TEMPORAL_SERVER_VERSION=1.32.1
say() { printf 'temporal-server: %s\n' "$*" >&2; }

command -v go >/dev/null || { say "Go is needed to build the Temporal server (apt-get install golang)"; exit 1; }
cache="${RUNBOOK_CACHE:-$HOME/.cache/runbook}/temporal-server/$TEMPORAL_SERVER_VERSION"
if [ -x "$cache/temporal-server" ] && [ -x "$cache/temporal-sql-tool" ] && [ -d "$cache/schema/postgresql" ]; then
  say "v$TEMPORAL_SERVER_VERSION present in $cache"
  echo "$cache"
  exit 0
fi

module="go.temporal.io/server@v$TEMPORAL_SERVER_VERSION"
say "building v$TEMPORAL_SERVER_VERSION from its Go module into $cache (several minutes on a cold machine)"
start=$(date +%s)
mkdir -p "${cache%/*}"
work=$(mktemp -d "${cache%/*}/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
GOBIN="$work/bin" CGO_ENABLED=0 GOFLAGS=-mod=mod go install \
  "go.temporal.io/server/cmd/server@v$TEMPORAL_SERVER_VERSION" \
  "go.temporal.io/server/cmd/tools/sql@v$TEMPORAL_SERVER_VERSION"
src=$(go mod download -json "$module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
mkdir -p "$work/out"
mv "$work/bin/server" "$work/out/temporal-server"
mv "$work/bin/sql" "$work/out/temporal-sql-tool"
cp -r "$src/schema" "$work/out/schema"
chmod -R u+w "$work/out"
rm -rf "$cache"
mv "$work/out" "$cache"
say "built in $(($(date +%s) - start)) s"
echo "$cache"
