"""The promotion gate of the NLU model registry: a candidate model may replace the promoted one
only when no language loses more than 0.5 points of held-out accuracy and the out-of-scope
false-action rate stays at or below 1 % on every public set (and language) that has
out-of-scope sentences. Figures are percentages (points), as `figures_from_evaluation` makes
them from `make eval`'s result (eval/results/nlu.json)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_HELDOUT_DROP = 0.5  # points, per language
MAX_FALSE_ACTION = 1.0  # percent, per public set and language
HELDOUT = "heldout"
OWN_PREFIXES = ("heldout", "independent")


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reasons: list[str] = field(default_factory=list)  # every check, failed ones first

    def as_dict(self, baseline_id: int | None) -> dict[str, Any]:
        return {"passed": self.passed, "baseline_id": baseline_id, "reasons": self.reasons,
                "max_heldout_drop": MAX_HELDOUT_DROP, "max_false_action": MAX_FALSE_ACTION}


def _pct(value: Any) -> float | None:
    return None if value is None else round(100.0 * float(value), 2)


def figures_from_evaluation(result: dict[str, Any]) -> dict[str, Any]:
    """The card's figures out of an evaluation result: held-out accuracy per language, the
    false-action rate on each public set's out-of-scope sentences per language, and their n."""
    sets = result.get("sets") or {}
    heldout = {lang: _pct(scores.get("accuracy"))
               for lang, scores in sorted((sets.get(HELDOUT, {}).get("by_language") or {}).items())}
    heldout_n = {lang: int(scores.get("n_in_scope") or 0)
                 for lang, scores in (sets.get(HELDOUT, {}).get("by_language") or {}).items()}
    false_action: dict[str, float | None] = {}
    oos_n: dict[str, int] = {}
    for name, entry in sorted(sets.items()):
        if name.startswith(OWN_PREFIXES):
            continue
        for lang, scores in sorted((entry.get("by_language") or {}).items()):
            if int(scores.get("n_oos") or 0) > 0:
                false_action[f"{name} {lang}"] = _pct(scores.get("false_action_rate"))
                oos_n[f"{name} {lang}"] = int(scores["n_oos"])
    independent = {name: _pct((entry.get("all") or {}).get("accuracy"))
                   for name, entry in sorted(sets.items()) if name.startswith("independent")}
    return {"heldout": heldout, "heldout_n": heldout_n, "false_action": false_action,
            "oos_n": oos_n, "independent": independent,
            "sentences": (result.get("timing") or {}).get("sentences")}


def check_gate(candidate: dict[str, Any], baseline: dict[str, Any] | None) -> GateResult:
    """Candidate figures against the promoted model's (None: nothing promoted to compare)."""
    failed: list[str] = []
    passed: list[str] = []
    heldout = candidate.get("heldout") or {}
    if not heldout:
        failed.append("no held-out accuracy measured")
    before = (baseline or {}).get("heldout") or {}
    for lang, now in sorted(heldout.items()):
        was = before.get(lang)
        if now is None:
            failed.append(f"held-out {lang}: no accuracy measured")
        elif baseline is None or was is None:
            passed.append(f"held-out {lang}: {now:.1f} % (no promoted figure to compare)")
        elif now < was - MAX_HELDOUT_DROP - 1e-9:
            failed.append(f"held-out {lang}: {now:.1f} % vs {was:.1f} % promoted, "
                          f"{was - now:.1f} points lost (at most {MAX_HELDOUT_DROP} allowed)")
        else:
            passed.append(f"held-out {lang}: {now:.1f} % vs {was:.1f} % promoted "
                          f"({now - was:+.1f} points)")
    for lang in sorted(set(before) - set(heldout)):
        failed.append(f"held-out {lang}: measured for the promoted model, not for this one")
    rates = candidate.get("false_action") or {}
    if not rates:
        failed.append("no out-of-scope false-action rate measured on a public set")
    for name, rate in sorted(rates.items()):
        if rate is None:
            failed.append(f"false actions {name}: not measured")
        elif rate > MAX_FALSE_ACTION + 1e-9:
            failed.append(f"false actions {name}: {rate:.2f} % (at most {MAX_FALSE_ACTION} %)")
        else:
            passed.append(f"false actions {name}: {rate:.2f} %")
    return GateResult(not failed, failed + passed)


__all__ = ["GateResult", "MAX_FALSE_ACTION", "MAX_HELDOUT_DROP", "check_gate",
           "figures_from_evaluation"]
