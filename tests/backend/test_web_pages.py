"""The web app's pages without a browser (tests/web drives them in chromium): the API's session
and CSRF check, the API's scopes per page, the API's schemas on forms, tenant isolation, on
SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from backend.domain.permissions import ALL_SCOPES
from backend.interface.scopes import SPECIAL, required_scope
from backend.services.catalog.products import get_variant
from backend.services.orders.orders import get_order, place_order
from backend.wiring import Context
from tests.backend.accounts_helpers import PASSWORD, make_user
from tests.backend.commerce_helpers import customer, seed_catalog
from tests.backend.conftest import OTHER_ID, TENANT_ID


def web_login(client: Any, email: str) -> str:
    """Sign in through the page; returns the CSRF token the next page's forms carry."""
    response = client.post("/app/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 303, response.data
    page = client.get("/app/").data.decode()
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def test_every_page_declares_a_scope(app: Flask) -> None:
    pages = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/app/")]
    assert len(pages) >= 15
    for rule in pages:
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert required_scope(app, rule.endpoint, method) in ALL_SCOPES | SPECIAL, rule


def test_signing_in_and_out(client: Any, tenants: Context) -> None:
    make_user(tenants, "owner@duka.example")
    assert client.get("/app/orders").headers["Location"].startswith("/app/login?next=")
    wrong = client.post("/app/login", data={"email": "owner@duka.example", "password": "nope"})
    assert wrong.status_code == 401 and b"Wrong email or password" in wrong.data
    token = web_login(client, "owner@duka.example")
    cookies = {cookie.key: cookie for cookie in client._cookies.values()}
    assert cookies["wca_session"].http_only and cookies["wca_csrf"].http_only
    # The page session is the API's: the same cookie answers /v1.
    assert client.get("/v1/auth/me").get_json()["user"]["email"] == "owner@duka.example"
    assert client.post("/app/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/app/").status_code == 302
    assert client.get("/v1/auth/me").status_code == 401


def test_a_post_without_the_sessions_csrf_token_changes_nothing(
        client: Any, tenants: Context) -> None:
    variants = seed_catalog(tenants)
    variant_id = next(iter(variants.values()))
    before = get_variant(tenants, TENANT_ID, variant_id).price_minor
    make_user(tenants, "owner@duka.example")
    web_login(client, "owner@duka.example")
    for token in ("", "forged-token"):
        response = client.post(f"/app/catalog/variants/{variant_id}",
                               data={"csrf_token": token, "price": "1.00"})
        assert response.status_code == 403
        assert b"This form has expired" in response.data
    assert get_variant(tenants, TENANT_ID, variant_id).price_minor == before


def test_each_page_needs_the_scope_of_its_api(client: Any, tenants: Context) -> None:
    variants = seed_catalog(tenants)
    variant_id = next(iter(variants.values()))
    make_user(tenants, "viewer@duka.example", role="viewer")
    token = web_login(client, "viewer@duka.example")
    assert client.get("/app/catalog").status_code == 200
    assert client.get("/app/orders").status_code == 200
    denied = client.get("/app/wallet")
    assert denied.status_code == 403 and b"Your role does not allow this page" in denied.data
    assert b'href="/app/wallet"' not in client.get("/app/").data
    edit = client.post(f"/app/catalog/variants/{variant_id}",
                       data={"csrf_token": token, "price": "1.00"})
    assert edit.status_code == 403
    assert get_variant(tenants, TENANT_ID, variant_id).price_minor != 100


def test_forms_are_checked_by_the_apis_schemas(client: Any, tenants: Context) -> None:
    variants = seed_catalog(tenants)
    variant_id = next(iter(variants.values()))
    order = place_order(tenants, TENANT_ID, customer(tenants), [(variant_id, 1)]).order
    make_user(tenants, "owner@duka.example")
    token = web_login(client, "owner@duka.example")
    bad = client.post(f"/app/orders/{order.id}/status", data={"csrf_token": token, "to": "lost"})
    assert bad.status_code == 422 and b"to:" in bad.data  # TransitionSchema's OneOf
    stock = client.post(f"/app/catalog/variants/{variant_id}",
                        data={"csrf_token": token, "stock": "-3"})
    assert stock.status_code == 422 and b"stock:" in stock.data  # VariantPatchSchema
    refused = client.post(f"/app/orders/{order.id}/status",
                          data={"csrf_token": token, "to": "delivered"})
    assert refused.status_code == 409  # the status machine's own refusal, on a page
    assert get_order(tenants, TENANT_ID, order.id).status == order.status
    good = client.post(f"/app/catalog/variants/{variant_id}",
                       data={"csrf_token": token, "price": "1,234.50", "stock": "12"})
    assert good.status_code == 303
    changed = get_variant(tenants, TENANT_ID, variant_id)
    assert (changed.price_minor, changed.stock) == (123_450, 12)
    assert 'value="1234.50"' in client.get("/app/catalog").data.decode()


def test_another_shops_order_is_not_found(client: Any, tenants: Context) -> None:
    variants = seed_catalog(tenants, OTHER_ID)
    theirs = place_order(tenants, OTHER_ID, customer(tenants, tenant_id=OTHER_ID),
                         [(next(iter(variants.values())), 1)]).order
    make_user(tenants, "owner@duka.example")
    web_login(client, "owner@duka.example")
    response = client.get(f"/app/orders/{theirs.id}")
    assert response.status_code == 404 and b"There is nothing here" in response.data


def test_the_pages_speak_swahili(client: Any, tenants: Context) -> None:
    make_user(tenants, "owner@duka.example")
    web_login(client, "owner@duka.example")
    assert client.get("/app/language/sw?next=/app/orders").status_code == 303
    page = client.get("/app/orders").data.decode()
    assert '<html lang="sw">' in page and "<h1>Oda</h1>" in page
