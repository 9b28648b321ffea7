#!/usr/bin/env bash
# For conversation designers: retrain if data/, config.yml or domain/ changed, then swap the new
# model into the running rasa server through its HTTP API (PUT /model), without a restart. An edit
# of response texts alone goes live without either (scripts/push_responses.py).
# Action code changes need no step: `make up` runs the action server with --auto-reload.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
curl -fsS -o /dev/null "$RASA_URL/status?token=$RASA_TOKEN" 2>/dev/null \
  || { echo "reload: rasa is not running at $RASA_URL; run 'make up'" >&2; exit 1; }
# Only response texts changed (data/, config.yml and the components as trained; the domain equal
# but for what its responses say): they go live in each server at once, no model swap; the model
# archive is then rebuilt from the training cache, so a restart serves the same.
if [ -f models/.non-domain.sha256 ] && [ "$(cat models/.non-domain.sha256)" = "$(scripts/train.sh --non-domain-digest)" ]; then
  code=0
  # shellcheck disable=SC2046
  PYTHONPATH="$ROOT" .venv-rasa/bin/python scripts/push_responses.py --domain domain \
    $(scripts/stack.sh rasa-urls) || code=$?
  if [ "$code" = 0 ]; then scripts/train.sh; exit 0; fi
  [ "$code" = 3 ] || exit "$code"
fi
scripts/train.sh
model="$ROOT/models/assistant.tar.gz"
# PROFILE=prod: each replica in turn, drained in HAProxy while it loads (no turn waits on it).
scripts/stack.sh swap-model "$model" || { echo "reload: the model was not swapped in" >&2; exit 1; }
echo "reload: rasa now serves $(curl -fsS "$RASA_URL/status?token=$RASA_TOKEN" \
  | .venv/bin/python -c 'import json, sys; print(json.load(sys.stdin)["model_id"])')"
