"""The hand-written fakes of the backend against its OpenAPI document (tests/contract/openapi.json).

Each fake's routes (its aiohttp router: the table of what it answers) must be operations of the
backend; every exchange a fake has in the action and channel tests is checked by their fixtures
(contract.watch). These tests also show that the checks
catch a renamed field, a moved path, a missing parameter or body field and a wrong status."""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional

import pytest
from aiohttp import web

from tests.actions.fake_shop import FakeShop
from tests.actions.test_bookings import FakeBackend as FakeSalon
from tests.channel.conftest import FakeBackend as FakeChannelBackend
from tests.channel.test_analytics import Backend as FakeClassificationStore
from tests.contract import contract
from tests.contract.contract import Exchange, exchange_problems, route_problems

FAKES: Dict[str, Callable[[], web.Application]] = {
    "actions: fake shop": lambda: FakeShop().app(),
    "actions: fake salon (test_bookings)": lambda: FakeSalon().app(),
    "channel: fake backend": lambda: FakeChannelBackend().app(),
    "channel: fake classification store (test_analytics)": lambda: FakeClassificationStore().app(),
}
SERVICE = {"Authorization": "Bearer t", "X-TENANT-ID": "shop"}


@pytest.mark.parametrize("fake", sorted(FAKES))
def test_every_route_of_a_fake_is_an_operation_of_the_backend(fake: str) -> None:
    app = FAKES[fake]()
    assert list(app.router.routes()), "the fake declares no route"
    assert route_problems(app) == []


async def nothing(request: web.Request) -> web.Response:
    return web.Response()


def test_a_route_the_backend_does_not_have_is_caught() -> None:
    app = web.Application()
    app.router.add_get("/v1/appointment/{id}", nothing)  # a renamed path
    app.router.add_delete("/v1/tenant", nothing)  # no such method
    app.router.add_route("*", "/v1/{anything}", nothing)  # a catch-all
    assert len(route_problems(app)) == 3


def exchange(method: str, path: str, answer: Any, status: int = 200, body: Any = None,
             query: Optional[Dict[str, str]] = None,
             headers: Optional[Dict[str, str]] = None) -> Exchange:
    return Exchange(method, path, query or {}, SERVICE if headers is None else headers, body,
                    status, answer)


TENANT = {"id": "shop", "timezone": "Africa/Nairobi"}
APPOINTMENT = {"service_variant_id": 32, "starts_at": "2026-12-07T16:00"}


def test_exchanges_on_the_contract_pass() -> None:
    assert exchange_problems(exchange("GET", "/v1/tenant", TENANT)) == []
    assert exchange_problems(exchange("GET", "/v1/products/match", {"results": []},
                                      query={"text": "boots", "limit": "5"})) == []
    assert exchange_problems(exchange("POST", "/v1/appointments", {"code": 409}, 409,
                                      body=APPOINTMENT)) == []


@pytest.mark.parametrize("broken, caught", [
    (exchange("GET", "/v1/tenant", {"id": "shop", "time_zone": "Africa/Nairobi"}),
     "answer (body): Additional properties are not allowed ('time_zone' was unexpected)"),
    (exchange("GET", "/v1/tenant", {"id": 7}), "answer id: 7 is not of type 'string'"),
    (exchange("GET", "/v1/tenants", TENANT), "no such path in the backend"),
    (exchange("PUT", "/v1/tenant", TENANT), "the backend has no PUT there"),
    (exchange("GET", "/v1/products/match", {"results": []}),
     "missing required query parameter text"),
    (exchange("GET", "/v1/products/match", {"results": []}, query={"text": "x", "top": "5"}),
     "query parameter top is not one the backend reads"),
    (exchange("GET", "/v1/products/match", {"results": []}, query={"text": "x", "limit": "many"}),
     "query parameter limit='many' is not a integer"),
    (exchange("POST", "/v1/appointments", {"code": 422}, 422,
              body={"variant_id": 32, "starts_at": "2026-12-07T16:00"}),
     "request (body): 'service_variant_id' is a required property"),
    (exchange("POST", "/v1/appointments", {"code": 422}, 422, body=None),
     "missing the request body"),
    (exchange("POST", "/v1/appointments", {"code": 422}, 422,
              body={**APPOINTMENT, "starts_at": "tomorrow"}),
     "request starts_at: 'tomorrow' is not a 'date-time'"),
    (exchange("POST", "/v1/appointments", {"code": 409, "slots": []}, 409, body=APPOINTMENT),
     "Additional properties are not allowed ('slots' was unexpected)"),
    (exchange("POST", "/v1/orders", {"code": 201}, 200, body={}),
     "answers 200; the backend answers 201"),
    (exchange("GET", "/v1/tenant", TENANT, headers={"X-TENANT-ID": "shop"}),
     "credentials missing"),
    (exchange("GET", "/v1/tenant", TENANT, headers={**SERVICE, "X-CUSTOMER-REF": "c1"}),
     "header x-customer-ref is not one this operation reads"),
])
def test_an_exchange_off_the_contract_is_caught(broken: Exchange, caught: str) -> None:
    problems = exchange_problems(broken)
    assert any(caught in problem for problem in problems), problems


def test_a_planted_answer_is_not_checked_but_its_request_is() -> None:
    planted = Exchange("GET", "/v1/tenant", {"x": "1"}, SERVICE, None, 200, {"nonsense": 1},
                       planted=True)
    assert exchange_problems(planted) == [
        "GET /v1/tenant → 200: query parameter x is not one the backend reads"]


def operation(method: str, path: str) -> Dict[str, Any]:
    found = contract.operation(method, path)
    assert found is not None, f"{method} {path} left the backend: drop its entry"
    return found[1]


@pytest.mark.parametrize("where", sorted(contract.UNDOCUMENTED_FIELDS))
def test_each_undocumented_answer_field_is_still_undocumented(where) -> None:
    method, path, status = where
    schema = operation(method, path)["responses"][status]["content"]["application/json"]["schema"]
    name = schema["$ref"].rsplit("/", 1)[1]
    declared = contract.document()["components"]["schemas"][name]["properties"]
    documented = [f for f in contract.UNDOCUMENTED_FIELDS[where] if f in declared]
    assert not documented, f"now documented, drop them from UNDOCUMENTED_FIELDS: {documented}"


@pytest.mark.parametrize("where", sorted(contract.UNDOCUMENTED_QUERY))
def test_each_undocumented_query_parameter_is_still_undocumented(where) -> None:
    declared = {p["name"] for p in operation(*where).get("parameters", []) if p["in"] == "query"}
    documented = [n for n in contract.UNDOCUMENTED_QUERY[where] if n in declared]
    assert not documented, f"now documented, drop them from UNDOCUMENTED_QUERY: {documented}"
