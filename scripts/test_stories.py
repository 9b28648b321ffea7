"""`make test-stories`: `rasa test core --fail-on-prediction-errors` on tests/stories/.

The test stories give each customer message's text: the trained NLU must classify it as the story
says (intent and annotated entities) and the policies must predict the story's actions. One
difference from plain `rasa test`: the `language` entity is not compared. The language component
tags every message with it as a zero-width span, which the story format cannot annotate; its
accuracy is measured by `make eval` instead.
"""
from __future__ import annotations

import sys
from typing import Any, Dict, List

import rasa.core.test as core_test
from rasa.__main__ import main as rasa_main

_clean = core_test._clean_entity_results


def _without_language(text: str, entity_results: List[Dict[str, Any]]) -> List[Any]:
    return _clean(text, [e for e in entity_results if e.get("entity") != "language"])


def main() -> None:
    """`test_stories.py [OUT] [STORIES]`: results into OUT (var/test-stories), the stories of
    STORIES, a file or folder (tests/stories; e.g. one story the simulator saved)."""
    core_test._clean_entity_results = _without_language
    out = sys.argv[1] if len(sys.argv) > 1 else "var/test-stories"
    stories = sys.argv[2] if len(sys.argv) > 2 else "tests/stories"
    sys.argv = ["rasa", "test", "core", "--model", "models/assistant.tar.gz",
                "--stories", stories, "--fail-on-prediction-errors", "--out", out]
    rasa_main()


if __name__ == "__main__":
    main()
