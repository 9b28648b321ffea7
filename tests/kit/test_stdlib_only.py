"""The kit runs in both Python environments: its modules import the standard library (and PyYAML,
which both carry) only; backend_http alone is for the Rasa side."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

KIT = Path(__file__).resolve().parents[2] / "kit"
BOTH_ENVIRONMENTS = set(sys.stdlib_module_names) | {"kit", "yaml"}
RASA_SIDE_ONLY = {"backend_http.py"}


def imported(path: Path) -> set:
    """The top-level packages a module imports."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_kit_modules_import_only_what_both_environments_have():
    modules = [p for p in KIT.glob("*.py") if p.name not in RASA_SIDE_ONLY]
    assert len(modules) >= 6
    for module in modules:
        assert imported(module) <= BOTH_ENVIRONMENTS, (module.name,
                                                       imported(module) - BOTH_ENVIRONMENTS)
