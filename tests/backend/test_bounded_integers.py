"""Every integer the API accepts is bounded: documented with minimum and maximum, and a value past
them (2**63, 2**64, 10**20, 1e30, forty digits) is a 422 naming the field, or a 404 for a path id
no row can have; never an OverflowError (500). Walks /openapi.json, so new routes are covered."""

from __future__ import annotations

from typing import Any

import pytest

from tests.backend.conftest import TENANT_ID, service_headers

HUGE = [2**63, 2**64, 10**20, 10**40]
INT64_MAX = 2**63 - 1
METHODS = ("get", "post", "put", "patch", "delete")


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def integer_properties(spec: dict[str, Any], schema: dict[str, Any], path: str = ""
                       ) -> list[tuple[str, dict[str, Any]]]:
    """(dotted name, schema) of every integer in a schema, nested objects and arrays included."""
    schema = resolve(spec, schema)
    if schema.get("type") == "integer":
        return [(path, schema)]
    found: list[tuple[str, dict[str, Any]]] = []
    for name, prop in (schema.get("properties") or {}).items():
        found += integer_properties(spec, prop, f"{path}.{name}" if path else name)
    if "items" in schema:
        found += integer_properties(spec, schema["items"], f"{path}[]")
    for key in ("allOf", "oneOf", "anyOf"):
        for part in schema.get(key) or []:
            found += integer_properties(spec, part, path)
    return found


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, operation) for path, item in spec["paths"].items()
            for method, operation in item.items() if method in METHODS]


def parameters(path_item: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, Any]]:
    return [*(path_item.get("parameters") or []), *(operation.get("parameters") or [])]


def body_schema(operation: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    content = (operation.get("requestBody") or {}).get("content") or {}
    for media_type, entry in content.items():
        return media_type, entry["schema"]
    return None


def test_every_integer_in_the_document_has_a_finite_range(client) -> None:
    spec = client.get("/openapi.json").get_json()
    unbounded = []
    for name, schema in spec["components"]["schemas"].items():
        if name == "PaginationMetadata":
            continue  # flask-smorest's own X-Pagination header schema; no route uses it
        for field, prop in integer_properties(spec, schema):
            if not (-INT64_MAX - 1 <= prop.get("minimum", -2**64) and
                    prop.get("maximum", 2**64) <= INT64_MAX):
                unbounded.append(f"schema {name}.{field}")
    for path, method, operation in operations(spec):
        for param in parameters(spec["paths"][path], operation):
            schema = resolve(spec, param.get("schema") or {})
            if schema.get("type") == "integer" and not (
                    "minimum" in schema and schema.get("maximum", 2**64) <= INT64_MAX):
                unbounded.append(f"{method.upper()} {path} {param['in']} {param['name']}")
    assert not unbounded, "integers without a range:\n" + "\n".join(unbounded)


def fill_path(path: str, params: list[dict[str, Any]], huge: int | None = None,
              target: str | None = None) -> str:
    for param in params:
        if param["in"] != "path":
            continue
        schema = param.get("schema") or {}
        value: Any = "x"
        if schema.get("type") == "integer":
            value = huge if param["name"] == target else 1
        path = path.replace("{" + param["name"] + "}", str(value))
    return path


def call(client, method: str, path: str, **kwargs: Any) -> Any:
    headers = {**service_headers(TENANT_ID), "X-CUSTOMER-PHONE": "+254712345678"}
    return getattr(client, method)(path, headers=headers, **kwargs)


def assert_refused(response: Any, where: str, field: str | None) -> None:
    assert response.status_code < 500, f"{where}: {response.status_code} {response.get_data()!r}"
    body = response.get_json()
    assert body is not None and body.get("code") == response.status_code, where
    if response.status_code == 422 and field is not None:
        assert field.split(".")[0].rstrip("[]") in body.get("errors", {}), (where, body)


@pytest.mark.parametrize("huge", HUGE)
def test_huge_integers_in_paths_queries_and_bodies_are_refused(client, tenants, huge) -> None:
    spec = client.get("/openapi.json").get_json()
    probes = 0
    for path, method, operation in operations(spec):
        params = parameters(spec["paths"][path], operation)
        for param in params:
            schema = resolve(spec, param.get("schema") or {})
            if schema.get("type") != "integer":
                continue
            where = f"{method.upper()} {path} {param['in']} {param['name']}={huge}"
            if param["in"] == "path":
                response = call(client, method, fill_path(path, params, huge, param["name"]))
                assert response.status_code == 404, where
                assert_refused(response, where, None)
            elif param["in"] == "query":
                response = call(client, method, fill_path(path, params),
                                query_string={param["name"]: str(huge)})
                assert_refused(response, where, param["name"])
                assert response.status_code in (401, 403, 404, 422), where
            probes += 1
        body = body_schema(operation)
        if body is None:
            continue
        media_type, schema = body
        for field, _ in integer_properties(spec, schema):
            if "." in field or "[]" in field:
                continue  # nested: covered through its own schema where it is top level
            where = f"{method.upper()} {path} body {field}={huge}"
            target = fill_path(path, params)
            if media_type == "application/json":
                response = call(client, method, target, json={field: huge})
                float_response = call(client, method, target,
                                      data=f'{{"{field}": 1e30}}',
                                      content_type="application/json")
                assert_refused(float_response, where + " (as a float)", field)
            else:
                response = call(client, method, target, data={field: str(huge)})
            assert_refused(response, where, field)
            probes += 1
    assert probes >= 40  # the walk reached the routes (ids, pages, prices, stock, amounts)
