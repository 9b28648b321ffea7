"""The backend's OpenAPI document (openapi.json beside this file) and the checks of a
hand-written fake of the backend against it. After changing a route or a schema, regenerate the
document with `.venv/bin/python scripts/export_openapi.py` (tests/backend/test_openapi.py fails
until then).

A fake's aiohttp router is its route table: every route must be an operation of the document.
`recording(exchanges)` is a middleware that keeps each request a fake was sent and its answer;
`exchange_problems` says where one leaves the contract: an undocumented path, method, query
parameter or customer header, a missing required parameter or body, a request body the backend
would refuse, or an answer (status and body) the backend would not give. The document's schemas are
closed (additionalProperties: false), so a renamed or dropped field is caught both ways.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Tuple

from aiohttp import web
from jsonschema import FormatChecker, RefResolver
from openapi_schema_validator import (
    OAS30ReadValidator,
    OAS30Validator,
    OAS30WriteValidator,
    oas30_format_checker,
)

DOCUMENT = Path(__file__).with_name("openapi.json")
JSON = "application/json"
# A fake's answer that a test plants outside the contract on purpose (to test the caller's
# defences) carries this header: its request is checked, its answer is not.
OFF_CONTRACT = "X-Fake-Off-Contract"
# What the backend reads or answers beyond its document. test_fakes checks each is still missing
# from the document, so an entry goes once the backend documents it.
UNDOCUMENTED_FIELDS: Dict[Tuple[str, str, str], Tuple[str, ...]] = {
    # backend/errors.py adds the nearest free slots to the 409 of a full slot.
    ("POST", "/v1/appointments", "409"): ("alternatives",),
}
UNDOCUMENTED_QUERY: Dict[Tuple[str, str], Tuple[str, ...]] = {
    # The customer headers' blp.doc(parameters=...) replaces the query parameters that
    # blp.arguments(..., location="query") documents (flask-smorest overwrites the list).
    ("GET", "/v1/orders"): ("mine", "status", "page_size"),
    ("GET", "/v1/appointments"): ("status", "from", "page_size"),
}


@dataclass(frozen=True)
class Exchange:
    """One request a fake was sent and what it answered (bodies as parsed JSON, or None)."""

    method: str
    path: str
    query: Dict[str, str]
    headers: Dict[str, str]
    body: Any
    status: int
    answer: Any
    planted: bool = False  # an answer off the contract on purpose (OFF_CONTRACT)

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status}"


@lru_cache(maxsize=1)
def document() -> Dict[str, Any]:
    loaded: Dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


def shape(path: str) -> str:
    """A path template without its parameter names: /v1/orders/{id} and {order_id} are one."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def operation(method: str, template: str) -> Optional[Tuple[str, Dict[str, Any]]]:
    """The document's path and operation for a fake's route template, if there is one."""
    for path, operations in document()["paths"].items():
        if shape(path) == shape(template) and method.lower() in operations:
            return path, operations[method.lower()]
    return None


def route_problems(app: web.Application) -> List[str]:
    """Each route of a fake (its method and path) that the backend does not have."""
    problems = []
    for route in app.router.routes():
        template = route.resource.canonical if route.resource else ""
        if route.method in ("HEAD", "OPTIONS"):
            continue
        if route.method == "*" or operation(route.method, template) is None:
            problems.append(f"{route.method} {template}: not an operation of the backend")
    return problems


@lru_cache(maxsize=None)
def _pattern(path: str) -> re.Pattern:
    parts = re.split(r"(\{[^}]*\})", path)
    return re.compile("^" + "".join(
        f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts) + "$")


def resolve(method: str, concrete: str) -> Tuple[Optional[str], Dict[str, str], List[str]]:
    """The document's path for a request path (literal paths before templated ones, as routers
    do), its path parameters, and the problem when there is none for this method."""
    matches = []
    for path in document()["paths"]:
        found = _pattern(path).match(concrete)
        if found:
            matches.append((path.count("{"), path, found.groupdict()))
    if not matches:
        return None, {}, [f"{method} {concrete}: no such path in the backend"]
    for _, path, values in sorted(matches):
        if method.lower() in document()["paths"][path]:
            return path, values, []
    return None, {}, [f"{method} {concrete}: the backend has no {method} there"]


# The backend reads a date-time as marshmallow does (ISO 8601, seconds and offset optional); it
# writes RFC 3339, which answers are checked against.
READ_FORMATS = FormatChecker()
READ_FORMATS.checkers = dict(oas30_format_checker.checkers)


@READ_FORMATS.checks("date-time", raises=ValueError)
def _iso_datetime(value: Any) -> bool:
    return not isinstance(value, str) or bool(datetime.fromisoformat(value.replace("Z", "+00:00")))


@lru_cache(maxsize=1)
def _resolver() -> RefResolver:
    """One resolver for every check: it caches the document's subschemas (slow to build)."""
    return RefResolver.from_schema(document())


def _errors(kind: type, schema: Dict[str, Any], value: Any) -> List[str]:
    formats = oas30_format_checker if kind is OAS30ReadValidator else READ_FORMATS
    validator = kind(schema, resolver=_resolver(), format_checker=formats)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}"
            for e in validator.iter_errors(value)]


def _typed(raw: str, schema: Dict[str, Any]) -> Any:
    """A query or path value as the backend reads it (webargs converts by the schema's type)."""
    kind = schema.get("type")
    if kind == "integer":
        return int(raw)
    if kind == "number":
        return float(raw)
    if kind == "boolean":
        return {"true": True, "false": False}[raw.lower()]
    return raw


def _parameters(path: str, op: Dict[str, Any]) -> List[Dict[str, Any]]:
    return list(document()["paths"][path].get("parameters", [])) + list(op.get("parameters", []))


@lru_cache(maxsize=1)
def _header_parameters() -> frozenset:
    """Every header some operation takes (the customer headers, Idempotency-Key), lower case."""
    return frozenset(p["name"].lower() for ops in document()["paths"].values()
                     for op in ops.values() if isinstance(op, dict)
                     for p in op.get("parameters", []) if p["in"] == "header")


def _parameter_problems(exchange: Exchange, path: str, values: Dict[str, str],
                        op: Dict[str, Any]) -> List[str]:
    problems = []
    given = {"path": values, "query": exchange.query,
             "header": {k.lower(): v for k, v in exchange.headers.items()}}
    documented = {(p["in"], p["name"] if p["in"] != "header" else p["name"].lower())
                  for p in _parameters(path, op)}
    for parameter in _parameters(path, op):
        where, name = parameter["in"], parameter["name"]
        raw = given.get(where, {}).get(name.lower() if where == "header" else name)
        if raw is None:
            if parameter.get("required"):
                problems.append(f"missing required {where} parameter {name}")
            continue
        try:
            value = _typed(raw, parameter.get("schema", {}))
        except (ValueError, KeyError):
            kind = parameter["schema"]["type"]
            problems.append(f"{where} parameter {name}={raw!r} is not a {kind}")
            continue
        problems += [f"{where} parameter {name}: {e}"
                     for e in _errors(OAS30Validator, parameter.get("schema", {}), value)]
    unread = UNDOCUMENTED_QUERY.get((exchange.method, path), ())
    problems += [f"query parameter {name} is not one the backend reads"
                 for name in exchange.query if ("query", name) not in documented
                 and name not in unread]
    problems += [f"header {name} is not one this operation reads"
                 for name in given["header"]
                 if name in _header_parameters() and ("header", name) not in documented]
    return problems


def _security_problems(exchange: Exchange, op: Dict[str, Any]) -> List[str]:
    """The request carries the credentials of one of the operation's security alternatives."""
    schemes = document()["components"]["securitySchemes"]
    headers = {k.lower() for k in exchange.headers}

    def carried(name: str) -> bool:
        scheme = schemes[name]
        if scheme["type"] == "http":
            return "authorization" in headers
        return scheme["in"] != "header" or scheme["name"].lower() in headers

    alternatives = op.get("security", [])
    if not alternatives or any(all(carried(n) for n in alt) for alt in alternatives):
        return []
    wanted = " or ".join("+".join(alt) for alt in alternatives)
    return [f"credentials missing: the backend wants {wanted}"]


def _body_problems(exchange: Exchange, op: Dict[str, Any]) -> List[str]:
    request_body = op.get("requestBody")
    if request_body is None:
        return ["a body the backend does not read"] if exchange.body is not None else []
    if exchange.body is None:
        return ["missing the request body"] if request_body.get("required") else []
    schema = request_body["content"][JSON]["schema"]
    return [f"request {e}" for e in _errors(OAS30WriteValidator, schema, exchange.body)]


def _answer_problems(exchange: Exchange, path: str, op: Dict[str, Any]) -> List[str]:
    status = str(exchange.status)
    responses = op["responses"]
    if status not in responses and (status.startswith("2") or "default" not in responses):
        return [f"answers {status}; the backend answers {', '.join(sorted(responses))}"]
    response = responses.get(status) or responses["default"]
    if "$ref" in response:
        response = document()["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema = response.get("content", {}).get(JSON, {}).get("schema")
    if schema is None:
        return ["answers a body where the backend answers none"] if exchange.answer else []
    answer = exchange.answer
    extra = UNDOCUMENTED_FIELDS.get((exchange.method, path, status), ())
    if extra and isinstance(answer, dict):
        answer = {k: v for k, v in answer.items() if k not in extra}
    return [f"answer {e}" for e in _errors(OAS30ReadValidator, schema, answer)]


def exchange_problems(exchange: Exchange) -> List[str]:
    """Where one exchange leaves the backend's contract, each problem prefixed by the exchange."""
    path, values, problems = resolve(exchange.method, exchange.path)
    if path is not None:
        op = document()["paths"][path][exchange.method.lower()]
        problems = (_parameter_problems(exchange, path, values, op)
                    + _security_problems(exchange, op) + _body_problems(exchange, op)
                    + ([] if exchange.planted else _answer_problems(exchange, path, op)))
    return [f"{exchange}: {problem}" for problem in problems]


def problems_of(exchanges: Iterable[Exchange]) -> List[str]:
    return [problem for exchange in exchanges for problem in exchange_problems(exchange)]


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def recording(exchanges: List[Exchange]) -> Callable[[web.Request, Handler],
                                                     Awaitable[web.StreamResponse]]:
    """A middleware keeping each exchange of a fake (the outermost: it sees the final answer)."""

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        body = await request.json() if request.body_exists else None
        try:
            response = await handler(request)
        except web.HTTPException as error:  # a path the fake does not serve
            exchanges.append(Exchange(request.method, request.path, dict(request.query),
                                      dict(request.headers), body, error.status, None))
            raise
        raw = getattr(response, "body", None)
        answer = json.loads(raw) if isinstance(raw, bytes) and raw else None
        exchanges.append(Exchange(request.method, request.path, dict(request.query),
                                  dict(request.headers), body, response.status, answer,
                                  OFF_CONTRACT in response.headers))
        return response

    return record


def watch(app: web.Application) -> List[Exchange]:
    """Keeps every exchange of a fake's app from now on (call it before serving the app)."""
    exchanges: List[Exchange] = []
    app.middlewares.insert(0, recording(exchanges))
    return exchanges


def assert_conform(exchanges: Iterable[Exchange]) -> None:
    """Fails with every way the exchanges left the contract (a fixture calls it at teardown)."""
    problems = problems_of(exchanges)
    assert not problems, ("a fake of the backend left its contract (tests/contract/openapi.json):\n"
                          + "\n".join(problems))
