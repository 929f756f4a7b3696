#!/bin/sh
# Creates the namespace and Runbook's search attributes (RUNBOOK_SEARCH_ATTRIBUTES) once; safe to run again.
# Run by docker-compose.temporal.yml (admin-tools image) and by the cluster test suite. The temporal CLI reads
# TEMPORAL_ADDRESS and, for a TLS frontend, TEMPORAL_TLS_* (the same variables as Runbook's workers).
set -eu
tries=0
until temporal operator cluster health >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 90 ]; then
    temporal operator cluster health
    exit 1
  fi
  sleep 2
done
temporal operator namespace describe -n "$TEMPORAL_NAMESPACE" >/dev/null 2>&1 ||
  temporal operator namespace create -n "$TEMPORAL_NAMESPACE" --retention 30d
# Adding an attribute that exists with the same type succeeds; a namespace just created may take a few seconds to
# be found, so each one is retried, and a failure that lasts stops the setup with the server's message.
for name in $RUNBOOK_SEARCH_ATTRIBUTES; do
  tries=0
  until temporal operator search-attribute create -n "$TEMPORAL_NAMESPACE" --name "$name" --type Keyword >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 30 ]; then
      temporal operator search-attribute create -n "$TEMPORAL_NAMESPACE" --name "$name" --type Keyword
      exit 1
    fi
    sleep 2
  done
done
echo "namespace $TEMPORAL_NAMESPACE ready with search attributes: $RUNBOOK_SEARCH_ATTRIBUTES"
