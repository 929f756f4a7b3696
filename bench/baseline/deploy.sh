#!/usr/bin/env bash
# The deploy a shell script does for the bench's stand-in app, step for step what Runbook's workflow does:
# copy the staging folder into a new release, install, migrate, N extra steps, stop the old process, switch
# `current`, start the new one, check health (/, /login, no Traceback in the log), prune, log the deploy.
# Usage: deploy.sh <root> <staging> <port> <release-id> <extra-steps>
set -euo pipefail
root=$1 staging=$2 port=$3 id=$4 steps=$5
release=$root/releases/$id
mkdir -p "$root/releases" "$root/.run"

# update: a copy of the source, without its logs and install leftovers (the manifest's exclude)
cp -a "$staging" "$release.tmp"
rm -rf "$release.tmp/app.log" "$release.tmp/.installed" "$release.tmp/__pycache__"
mv "$release.tmp" "$release"

# install, migrate, then the extra no-op steps
(cd "$release" && python3 install.py >/dev/null && python3 migrate.py >/dev/null)
for ((i = 0; i < steps; i++)); do (cd "$release" && true); done

# switch and restart
if [ -f "$root/.run/web.pid" ]; then
  pid=$(cat "$root/.run/web.pid")
  kill -TERM -- "-$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
fi
ln -sfn "releases/$id" "$root/current.tmp" && mv -T "$root/current.tmp" "$root/current"
offset=$(stat -c %s "$root/current/app.log" 2>/dev/null || echo 0)
(cd "$root/current" && exec setsid python3 app.py "$port" >>app.log 2>&1 </dev/null) &
echo $! >"$root/.run/web.pid"

# health: every check until it passes, at the manifest's 250 ms interval, for at most 10 s
for check in / /login; do
  for ((t = 0; ; t++)); do
    curl -sf -o /dev/null "http://127.0.0.1:$port$check" && break
    ((t < 40)) || { echo "health $check failed" >&2; exit 1; }
    sleep 0.25
  done
done
if tail -c +"$((offset + 1))" "$root/current/app.log" | grep -q Traceback; then echo "Traceback in app.log" >&2; exit 1; fi

# keep the three newest releases, and log the deploy
ls -1dt "$root"/releases/*/ | tail -n +4 | xargs -r rm -rf
printf '{"release":"%s","outcome":"succeeded","at":"%s"}\n' "$id" "$(date -u +%FT%TZ)" >>"$root/deploy_log.jsonl"
