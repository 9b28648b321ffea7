"""`make eval` on 20 sentences per set and language with the current model (skipped without one).

The training data is replaced by an empty folder here: the overlap check of the real data is what
`make eval` itself enforces, and is tested on planted data in test_eval_nlu.py.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "assistant.tar.gz"
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
sys.path.insert(0, str(ROOT / "scripts"))

import eval_nlu  # noqa: E402
from evaluation.datasets import OWN_SETS  # noqa: E402

EXTERNAL = eval_nlu.default_external()

pytestmark = [
    pytest.mark.skipif(not MODEL.is_file(), reason="no trained model (models/assistant.tar.gz)"),
    pytest.mark.skipif(not RASA_PYTHON.is_file(), reason="no .venv-rasa"),
    pytest.mark.skipif(not (EXTERNAL / "clinc150").is_dir(), reason="public sets not present"),
]


def test_eval_runs_on_20_sentences_per_set(tmp_path: Path):
    out = tmp_path / "results"
    (tmp_path / "data").mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EVAL_LIMIT": "20", "EVAL_SETS": "", "EVAL_STRICT": "0"}
    env.pop("MODEL", None)
    done = subprocess.run([str(RASA_PYTHON), str(ROOT / "scripts" / "eval_nlu.py"), "--data", str(tmp_path / "data"),
                           "--out", str(out), "--latency-samples", "30"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    result = json.loads((out / "nlu.json").read_text(encoding="utf-8"))
    assert result["model"]["sha256"] and result["model"]["trained_at"]
    assert result["selection"]["limit"] == 20
    public = [name for name in result["sets"] if name not in OWN_SETS]  # the independent sets when present
    assert set(public) == {"clinc150", "bitext", "massive", "injongo", "afriqa", "sheng"}
    for name, entry in result["sets"].items():
        for lang, scores in entry["by_language"].items():
            assert 0 < scores["n"] <= 20, (name, lang)
    assert set(result["sets"]["massive"]["by_language"]) == {"en", "sw"}
    negatives = result["sets"]["afriqa"]["all"]
    assert negatives["n_oos"] == negatives["n"] and negatives["accuracy"] is None
    assert 0 <= negatives["oos_accuracy"] <= 1 and 0 <= negatives["false_action_rate"] <= 1

    # The served FallbackClassifier decision is reproduced from the raw ranking, so the sweep is sound.
    agreement = result["threshold_sweep"]["served_agreement"]
    assert agreement["same"] == agreement["n"] == result["timing"]["sentences"]
    assert [p["threshold"] for p in result["threshold_sweep"]["points"]][:2] == [0.3, 0.35]
    if result["model"]["fallback"].get("action_threshold") is not None:
        assert [p["action_threshold"] for p in result["threshold_sweep"]["action_points"]][:2] == [0.4, 0.45]
    # Batched parsing gives what the processor gives one sentence at a time.
    latency = result["latency"]
    assert latency["single_parse_ms"]["n"] == 30 and latency["single_parse_ms"]["p95"] > 0
    assert latency["batch_agreement"]["same_intent"] == latency["batch_agreement"]["same_language"] == 30
    assert set(result["language_detection"]["massive"]) == {"en", "sw"}
    assert any(t["target"].startswith("false-action rate") for t in result["targets"])

    summary = (out / "summary.md").read_text(encoding="utf-8")
    for heading in ("## Targets", "## Scores by set and language", "## Fallback threshold sweep",
                    "## Language detection", "## Parse latency", "## Top confusions", "## Overlap check"):
        assert heading in summary
    rows = (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(rows) == result["timing"]["sentences"]
    assert {"text", "label", "predicted", "raw_intent", "language", "correct"} <= set(json.loads(rows[0]))
