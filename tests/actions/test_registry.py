"""The action server registers every action the domain lists, and nothing without a name."""
from __future__ import annotations

from pathlib import Path

import yaml
from rasa_sdk.executor import ActionExecutor

DOMAIN_DIR = Path(__file__).resolve().parents[2] / "domain"


def test_every_domain_action_is_registered():
    executor = ActionExecutor()
    executor.register_package("actions")
    listed = set()
    for path in DOMAIN_DIR.glob("*.yml"):
        listed |= {a for a in (yaml.safe_load(path.read_text()).get("actions") or [])}
    custom = {a for a in listed if not a.startswith("utter_")}
    missing = custom - set(executor.actions)
    assert not missing
