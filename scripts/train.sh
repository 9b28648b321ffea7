#!/usr/bin/env bash
# Trains the Rasa model only when its inputs (data/, config.yml, domain/, NLU components) changed.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=models/assistant.tar.gz
STAMP=models/.inputs.sha256
digest=$(find data bot/components config.yml domain -type f \( -name '*.yml' -o -name '*.py' \) \
  -not -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
if [ -f "$MODEL" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$digest" ] && [ "${FORCE:-0}" != 1 ]; then
  echo "train: model is up to date ($MODEL)"
  exit 0
fi
echo "train: training $MODEL (data, config or domain changed)"
mkdir -p models
PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" .venv-rasa/bin/rasa train --fixed-model-name assistant \
  --out models --config config.yml --domain domain --data data
echo "$digest" >"$STAMP"
