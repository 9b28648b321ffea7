"""The OpenAPI document is valid and lists every route with its schemas and its errors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from openapi_spec_validator import validate

METHODS = {"get", "post", "put", "patch", "delete"}
# What the Rasa-side fakes of the backend are checked against (tests/contract).
COMMITTED = Path(__file__).parents[1] / "contract" / "openapi.json"


def spec_path(rule: str) -> str:
    """Flask's /v1/products/<int:product_id> as OpenAPI's /v1/products/{product_id}."""
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_the_document_validates(client) -> None:
    validate(client.get("/openapi.json").get_json())


def test_every_route_is_documented(app, client) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/v1/", "/internal/", "/sandbox/")):
            continue
        for method in (rule.methods or set()) & {m.upper() for m in METHODS}:
            if method.lower() not in paths.get(spec_path(rule.rule), {}):
                missing.append(f"{method} {rule.rule}")
    assert not missing, f"routes missing from /openapi.json: {sorted(missing)}"


def test_every_operation_documents_its_success_schema_and_its_errors(client) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]
    problems = []
    for path, operations in paths.items():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            responses = operation["responses"]
            success = [code for code in responses if code.startswith("2")]
            errors = [code for code in responses if code[0] in "45" or code == "default"]
            if not success:
                problems.append(f"{method.upper()} {path}: no success response")
            elif not any(code == "204" or "content" in responses[code] for code in success):
                problems.append(f"{method.upper()} {path}: success response without a schema")
            if not errors:
                problems.append(f"{method.upper()} {path}: no error response")
    assert not problems, "\n".join(problems)


def test_the_committed_document_is_the_served_one(client) -> None:
    """The fakes' contract cannot drift from the app: regenerate it with
    `.venv/bin/python scripts/export_openapi.py` after changing a route or a schema."""
    served: dict[str, Any] = client.get("/openapi.json").get_json()
    committed: dict[str, Any] = json.loads(COMMITTED.read_text(encoding="utf-8"))
    changed = sorted(
        f"{part}: {name}"
        for part in ("paths", "schemas")
        for name in set(_part(served, part)) | set(_part(committed, part))
        if _part(served, part).get(name) != _part(committed, part).get(name))
    assert served == committed, (
        f"{COMMITTED} differs from /openapi.json ({changed or 'elsewhere'}); "
        "run .venv/bin/python scripts/export_openapi.py")


def _part(document: dict[str, Any], part: str) -> dict[str, Any]:
    found: dict[str, Any] = (document["paths"] if part == "paths"
                             else document["components"]["schemas"])
    return found
