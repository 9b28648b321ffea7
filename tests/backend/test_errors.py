"""One error shape everywhere: {"code", "message", "description"} (+ "errors" for validation)."""

from __future__ import annotations

from flask import Flask

from tests.backend.conftest import TENANT_ID, service_headers


def test_unknown_route_is_404(client) -> None:
    response = client.get("/no/such/route")
    assert response.status_code == 404
    body = response.get_json()
    assert body["code"] == 404 and body["message"] == "Not Found" and body["description"]
    assert set(body) == {"code", "message", "description"}


def test_wrong_method_is_405_with_allow(client) -> None:
    response = client.delete("/v1/health")
    assert response.status_code == 405
    assert response.get_json()["message"] == "Method Not Allowed"
    assert "GET" in response.headers["Allow"]


def test_validation_is_422_with_field_errors(client, tenants) -> None:
    response = client.post(
        "/internal/v1/messages/outbound",
        json={"tenant_id": TENANT_ID, "to": "+254712345678", "messages": "nope", "extra": 1},
        headers=service_headers(),
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == 422 and body["message"] == "Unprocessable Entity"
    assert set(body["errors"]) == {"messages", "extra"}


def test_malformed_json_is_an_error_in_the_shape(client, tenants) -> None:
    response = client.post(
        "/internal/v1/messages/inbound",
        data="{not json",
        content_type="application/json",
        headers=service_headers(),
    )
    assert response.status_code == 400
    assert response.get_json() == {
        "code": 400,
        "message": "Bad Request",
        "description": "Invalid JSON body.",
    }


def test_unexpected_errors_are_500_without_details(app: Flask) -> None:
    def boom() -> str:
        raise RuntimeError("secret internals")

    app.add_url_rule("/boom", "boom", boom)
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    body = response.get_json()
    assert body["code"] == 500 and body["message"] == "Internal Server Error"
    assert "secret internals" not in body["description"]


def test_a_database_that_is_overloaded_or_away_is_a_retryable_503(app: Flask, caplog) -> None:
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    def pool_exhausted() -> str:
        raise PoolTimeout("QueuePool limit of size 5 overflow 10 reached")

    def connection_lost() -> str:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    app.add_url_rule("/pool-exhausted", "pool_exhausted", pool_exhausted)
    app.add_url_rule("/connection-lost", "connection_lost", connection_lost)
    for path in ("/pool-exhausted", "/connection-lost"):
        response = app.test_client().get(path)
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"
        body = response.get_json()
        assert body["code"] == 503 and "try again" in body["description"]
        assert "QueuePool" not in body["description"] and "SELECT" not in body["description"]
    # Logged as errors, with the kind of failure, for whoever watches the logs.
    assert [r.levelname for r in caplog.records if "database unavailable" in r.getMessage()] == [
        "ERROR", "ERROR"]


def test_openapi_and_docs_are_served(client) -> None:
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"] == "3.0.3"
    for path in [
        "/v1/health",
        "/internal/v1/tenants/resolve",
        "/internal/v1/messages/inbound",
        "/internal/v1/messages/outbound",
        "/v1/products",
        "/v1/products/{product_id}",
        "/v1/sandbox/messages",
        "/sandbox/twilio/2010-04-01/Accounts/{account_sid}/Messages.json",
    ]:
        assert path in spec["paths"], path
    assert set(spec["components"]["schemas"]["Error"]["properties"]) == {
        "code",
        "message",
        "description",
        "errors",
    }
    assert "bearer" in str(spec["components"]["securitySchemes"]["ServiceToken"])
    docs = client.get("/docs")
    assert docs.status_code == 200 and b"/openapi.json" in docs.data
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_nul_characters_are_refused_in_the_error_shape(client, tenants) -> None:
    """PostgreSQL cannot store NUL: before, a product titled "a\\x00b" was a 500 there."""
    from tests.backend.conftest import merchant_headers

    product = {"title": "a\x00b", "variants": [{"sku": "NUL-1", "price_minor": 100}]}
    for response in (
        client.post("/v1/products", json=product, headers=merchant_headers()),
        client.get("/v1/products", query_string={"q": "a\x00b"}, headers=merchant_headers()),
        client.post("/internal/v1/messages/inbound", data='{"body": "x\\u0000"}',
                    content_type="application/json", headers=service_headers()),
    ):
        assert response.status_code == 400, response.get_data()
        assert response.get_json()["description"] == "Text may not contain NUL (\\u0000) characters"
    assert client.get("/v1/products", headers=merchant_headers()).get_json()["count"] == 0
