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
status=$(curl -sS -o "$VAR_DIR/log/reload.out" -w '%{http_code}' -X PUT \
  -H 'Content-Type: application/json' -d "{\"model_file\": \"$model\"}" \
  "$RASA_URL/model?token=$RASA_TOKEN")
if [ "$status" != 204 ]; then
  echo "reload: rasa refused the model (HTTP $status):" >&2
  cat "$VAR_DIR/log/reload.out" >&2
  exit 1
fi
echo "reload: rasa now serves $(curl -fsS "$RASA_URL/status?token=$RASA_TOKEN" \
  | .venv/bin/python -c 'import json, sys; print(json.load(sys.stdin)["model_id"])')"
