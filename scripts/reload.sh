#!/usr/bin/env bash
# For conversation designers: retrain if data/, config.yml or domain.yml changed, then swap the new
# model into the running rasa server through its HTTP API (PUT /model), without a restart.
# Action code changes need no step: `make up` runs the action server with --auto-reload.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
scripts/train.sh
curl -fsS -o /dev/null "$RASA_URL/status?token=$RASA_TOKEN" 2>/dev/null \
  || { echo "reload: rasa is not running at $RASA_URL; run 'make up'" >&2; exit 1; }
model="$ROOT/models/assistant.tar.gz"
# PROFILE=prod: each replica in turn, drained in HAProxy while it loads (no turn waits on it).
scripts/stack.sh swap-model "$model" || { echo "reload: the model was not swapped in" >&2; exit 1; }
echo "reload: rasa now serves $(curl -fsS "$RASA_URL/status?token=$RASA_TOKEN" \
  | .venv/bin/python -c 'import json, sys; print(json.load(sys.stdin)["model_id"])')"
