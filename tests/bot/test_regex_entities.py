"""data/nlu/regex.yml: the budget patterns (features of the NLU), checked on how customers type
amounts."""
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def patterns(name):
    entries = yaml.safe_load((ROOT / "data" / "nlu" / "regex.yml").read_text())["nlu"]
    entry = next(e for e in entries if e.get("regex") == name)
    return [re.compile(line[2:]) for line in entry["examples"].splitlines() if line.startswith("- ")]


def found(name, text):
    return [m.group(0) for p in patterns(name) for m in p.finditer(text)]


@pytest.mark.parametrize("text, amount", [
    ("under 3k", "3k"), ("niko na 800 bob", "800 bob"), ("ksh 2,500", "ksh 2,500"),
    ("2 thao", "2 thao"), ("bei 1,200", "1,200"), ("500/=", "500/="),
])
def test_budgets_as_customers_write_them(text, amount):
    assert amount in found("budget", text)
