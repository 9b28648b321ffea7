"""The OpenAPI document is valid and lists every route with its schemas and its errors."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

METHODS = {"get", "post", "put", "patch", "delete"}


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
