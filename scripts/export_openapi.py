"""Writes the backend's /openapi.json to tests/contract/openapi.json, the document the Rasa-side
tests check their fakes of the backend against (.venv-rasa has no Flask backend to ask).

Run after changing a route or a schema: `.venv/bin/python scripts/export_openapi.py`
(tests/backend/test_openapi.py fails while the committed file differs from what the app serves).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.fernet import Fernet  # noqa: E402

from backend.app import create_app  # noqa: E402
from backend.settings import Settings  # noqa: E402

DOCUMENT = Path(__file__).resolve().parents[1] / "tests" / "contract" / "openapi.json"


def served_document() -> dict[str, Any]:
    """The document the app serves with the sandbox on (its routes are part of the contract too);
    the throwaway secrets do not appear in it."""
    settings = Settings(database_url="sqlite://", redis_url="", service_token="unused",
                        encryption_keys=(Fernet.generate_key().decode(),), hash_key="unused",
                        sandbox=True)
    document: dict[str, Any] = create_app(settings).test_client().get("/openapi.json").get_json()
    return document


def render(document: dict[str, Any]) -> str:
    """Sorted keys and one key a line, so a changed route shows as a small diff."""
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    DOCUMENT.write_text(render(served_document()), encoding="utf-8")
    print(f"wrote {DOCUMENT}")


if __name__ == "__main__":
    main()
