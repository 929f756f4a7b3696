#!/bin/sh
# Creates the namespace and Runbook's search attributes (App, Ref, Outcome, Action) once.
set -eu
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do sleep 2; done
temporal operator namespace describe -n "$TEMPORAL_NAMESPACE" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 ||
  temporal operator namespace create -n "$TEMPORAL_NAMESPACE" --retention 30d --address "$TEMPORAL_ADDRESS"
for name in $RUNBOOK_SEARCH_ATTRIBUTES; do
  temporal operator search-attribute create -n "$TEMPORAL_NAMESPACE" --address "$TEMPORAL_ADDRESS" --name "$name" --type Keyword 2>/dev/null || true
done
echo "namespace $TEMPORAL_NAMESPACE ready with search attributes: $RUNBOOK_SEARCH_ATTRIBUTES"
