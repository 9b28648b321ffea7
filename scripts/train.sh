#!/usr/bin/env bash
# Trains the Rasa model only when its inputs (data/, config.yml, domain/, NLU components) changed.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=models/assistant.tar.gz
STAMP=models/.inputs.sha256
inputs_digest() {  # inputs_digest PATH...: one digest of the YAML and Python files under PATHs
  find "$@" -type f \( -name '*.yml' -o -name '*.py' \) -not -path '*/__pycache__/*' -print0 \
    | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}
# What the trained parts depend on besides the domain: make reload compares it to decide whether
# an edit of the domain's response texts alone can go live without a model swap.
if [ "${1:-}" = --non-domain-digest ]; then inputs_digest data bot/components config.yml; exit 0; fi
digest=$(inputs_digest data bot/components config.yml domain)
if [ -f "$MODEL" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$digest" ] && [ "${FORCE:-0}" != 1 ]; then
  echo "train: model is up to date ($MODEL)"
  exit 0
fi
echo "train: training $MODEL (data, config or domain changed)"
mkdir -p models
PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" .venv-rasa/bin/rasa train --fixed-model-name assistant \
  --out models --config config.yml --domain domain --data data
echo "$digest" >"$STAMP"
# The ids of the models trained on these same data, configuration and components (the domain
# aside): make reload may put new response texts into a server serving any of them.
non_domain=$(inputs_digest data bot/components config.yml)
model_id=$(.venv-rasa/bin/python scripts/push_responses.py --model-id-of "$MODEL")
if [ -f models/.non-domain.sha256 ] && [ "$(cat models/.non-domain.sha256)" = "$non_domain" ]; then
  echo "$model_id" >>models/.model-ids
else
  echo "$model_id" >models/.model-ids
fi
echo "$non_domain" >models/.non-domain.sha256
