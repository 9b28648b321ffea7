"""A product's page in the web app: its variants added, edited (name, SKU, price, stock) and
taken off sale and back, and removed through the API's variant schemas and catalog service, on SQLite and PostgreSQL:
catalog:write for each form (a viewer reads the page), the session's CSRF token, another shop's
product or variant a 404, a wrong price a 422 form error beside the form with what was typed,
prices typed in shillings kept as exact integer minor units, and in Swahili."""

from __future__ import annotations

import html
from typing import Any

import pytest

from backend.domain.errors import NotFound
from backend.services.catalog.listing import list_products
from backend.services.catalog.products import get_variant, list_variants
from backend.services.orders.carts import add_item
from backend.wiring import Context
from tests.backend.accounts_helpers import make_user
from tests.backend.commerce_helpers import customer, seed_catalog
from tests.backend.conftest import OTHER_ID, TENANT_ID, service_headers
from tests.backend.test_web_pages import web_login


def _product(ctx: Context, tenant_id: str, title: str) -> Any:
    return next(p for p in list_products(ctx, tenant_id).results if p.title == title)


def test_variants_are_added_edited_and_removed_on_the_product_page(
        client: Any, tenants: Context) -> None:
    seed_catalog(tenants)
    seed_catalog(tenants, OTHER_ID)
    sneakers = _product(tenants, TENANT_ID, "Canvas Sneakers")
    theirs = _product(tenants, OTHER_ID, "Canvas Sneakers")
    their_variant = theirs.variants[0].id
    boots = _product(tenants, TENANT_ID, "Leather Chelsea Boots")
    make_user(tenants, "viewer@duka.example", role="viewer")
    make_user(tenants, "owner@duka.example")
    add = f"/app/catalog/products/{sneakers.id}/variants"
    first = sneakers.variants[0].id
    edit = f"{add}/{first}"

    # A viewer reads the page (no forms) but may change nothing.
    token = web_login(client, "viewer@duka.example")
    page = html.unescape(client.get(f"/app/catalog/products/{sneakers.id}").data.decode())
    assert "SNK-WHT-40" in page and "KES 1,800.00" in page and 'id="variant-new"' not in page
    for path in (add, edit, f"{edit}/delete", f"{edit}/active"):
        denied = client.post(path, data={"csrf_token": token, "sku": "X-1", "price": "10"})
        assert denied.status_code == 403, path
    client.post("/app/logout", data={"csrf_token": token})

    token = web_login(client, "owner@duka.example")
    page = client.get(f"/app/catalog/products/{sneakers.id}").data.decode()
    assert 'id="variant-new"' in page and f'id="variant-{first}"' in page
    # The catalog links each product to its page.
    assert f'href="/app/catalog/products/{sneakers.id}"' in client.get("/app/catalog").data.decode()

    # Without the session's CSRF token nothing changes.
    assert client.post(add, data={"sku": "SNK-WHT-41", "price": "1900"}).status_code == 403
    assert client.post(edit, data={"csrf_token": "forged", "price": "1"}).status_code == 403
    assert len(list_variants(tenants, TENANT_ID, sneakers.id)) == 1

    def post(path: str, **data: str) -> Any:
        return client.post(path, data={"csrf_token": token, **data})

    # Added: the price in shillings is kept exactly in minor units; the name is its attribute.
    added = post(add, name="Size 41", sku="SNK-WHT-41", price="1,950.50", stock="4")
    assert added.status_code == 303 and "notice=catalog.variant_added" in added.location
    page = html.unescape(client.get(added.location).data.decode())
    assert "Variant added" in page and "SNK-WHT-41" in page and 'value="1950.50"' in page
    new = next(v for v in list_variants(tenants, TENANT_ID, sneakers.id) if v.sku == "SNK-WHT-41")
    assert (new.price_minor, new.currency, new.stock, new.attributes) == (
        195_050, "KES", 4, {"name": "Size 41"})

    # A wrong price: the form again, 422, the message beside it, what was typed kept; no change.
    for price in ("12,50.5x", "1250.505", "-3"):
        bad = post(add, name="Size 42", sku="SNK-WHT-42", price=price, stock="1")
        assert bad.status_code == 422, price
        body = html.unescape(bad.data.decode())
        assert 'id="new-error"' in body and "Enter the price in shillings" in body, price
        assert 'value="SNK-WHT-42"' in body and 'value="Size 42"' in body
    bad = post(add, sku="SNK-WHT-42", price="")
    assert bad.status_code == 422 and "Enter the price in shillings" in bad.data.decode()
    bad = post(add, sku="", price="10")  # the API's schema: the SKU is required
    assert bad.status_code == 422 and "sku" in html.unescape(bad.data.decode())
    bad = post(add, sku="SNK-WHT-42", price="10", stock="-1")
    assert bad.status_code == 422 and "stock" in html.unescape(bad.data.decode())
    taken = post(add, sku="BT-BLK-42", price="10")  # another variant's SKU
    assert taken.status_code == 422 and "BT-BLK-42" in html.unescape(taken.data.decode())
    assert len(list_variants(tenants, TENANT_ID, sneakers.id)) == 2

    # Edited: name, SKU, price and stock; the variant's other attributes kept.
    saved = post(edit, name="White 40", sku="SNK-W-40", price="1799.99", stock="0")
    assert saved.status_code == 303 and "notice=catalog.variant_saved" in saved.location
    changed = get_variant(tenants, TENANT_ID, first)
    assert (changed.sku, changed.price_minor, changed.stock) == ("SNK-W-40", 179_999, 0)
    assert changed.attributes == {"size": "40", "colour": "white", "name": "White 40"}
    bad = post(edit, name="White 40", sku="SNK-W-40", price="abc", stock="2")
    assert bad.status_code == 422 and f'id="v{first}-error"' in bad.data.decode()
    assert get_variant(tenants, TENANT_ID, first).stock == 0
    cleared = post(edit, name="", sku="SNK-W-40", price="1799.99", stock="1")
    assert cleared.status_code == 303
    assert get_variant(tenants, TENANT_ID, first).attributes == {"size": "40", "colour": "white"}

    # Taken off sale: customers' reads (the listing, one product, match) no longer hold it, nor
    # may it go into a cart; the merchant's page and the variant endpoint still show it.
    paused = post(f"{add}/{new.id}/active", active="false")
    assert paused.status_code == 303 and "notice=catalog.variant_paused" in paused.location
    assert get_variant(tenants, TENANT_ID, new.id).active is False
    listed = _product(tenants, TENANT_ID, "Canvas Sneakers")
    assert [v.id for v in listed.variants] == [first]
    read = client.get(f"/v1/products/{sneakers.id}", headers=service_headers(TENANT_ID))
    assert [v["id"] for v in read.get_json()["variants"]] == [first]
    assert client.get(f"/v1/variants/{new.id}",
                      headers=service_headers(TENANT_ID)).get_json()["active"] is False
    with pytest.raises(NotFound):
        add_item(tenants, TENANT_ID, customer(tenants), new.id, 1)
    page = html.unescape(client.get(f"/app/catalog/products/{sneakers.id}").data.decode())
    assert "Off sale" in page and "Offer again" in page and "SNK-WHT-41" in page
    # The product's last variant on sale stays on sale.
    refused = post(f"{edit}/active", active="false")
    assert refused.status_code == 409 and "at least one variant on sale" in refused.data.decode()
    assert get_variant(tenants, TENANT_ID, first).active is True
    refused = post(f"{edit}/delete")  # nor removed while the other one is off sale
    assert refused.status_code == 409 and "at least one variant on sale" in refused.data.decode()
    offered = post(f"{add}/{new.id}/active", active="true")
    assert "notice=catalog.variant_offered" in offered.location
    assert len(_product(tenants, TENANT_ID, "Canvas Sneakers").variants) == 2

    # Another shop's product or variant, or a variant of another product: not found.
    assert client.get(f"/app/catalog/products/{theirs.id}").status_code == 404
    assert post(f"/app/catalog/products/{theirs.id}/variants", sku="Z-1",
                price="10").status_code == 404
    for path in (f"{add}/{their_variant}", f"{add}/{their_variant}/delete",
                 f"{add}/{their_variant}/active", f"{add}/{boots.variants[0].id}"):
        assert post(path, sku="Z-2", price="10").status_code == 404, path
    assert get_variant(tenants, OTHER_ID, their_variant).sku == "SNK-WHT-40"
    assert len(list_variants(tenants, OTHER_ID, theirs.id)) == 1

    # Removed; the product's last variant stays (409: delete the product instead).
    removed = post(f"{add}/{new.id}/delete")
    assert removed.status_code == 303 and "notice=catalog.variant_removed" in removed.location
    assert [v.id for v in list_variants(tenants, TENANT_ID, sneakers.id)] == [first]
    assert post(f"{edit}/delete").status_code == 409
    assert 'class="variant-remove"' not in client.get(
        f"/app/catalog/products/{sneakers.id}").data.decode()

    # The API reads what the page wrote.
    read = client.get(f"/v1/products/{sneakers.id}", headers=service_headers(TENANT_ID))
    assert read.status_code == 200
    assert [(v["sku"], v["price_minor"], v["stock"]) for v in read.get_json()["variants"]] == [
        ("SNK-W-40", 179_999, 1)]


def test_the_product_page_speaks_swahili(client: Any, tenants: Context) -> None:
    seed_catalog(tenants)
    sneakers = _product(tenants, TENANT_ID, "Canvas Sneakers")
    make_user(tenants, "owner@duka.example")
    token = web_login(client, "owner@duka.example")
    client.get("/app/language/sw?next=/app/")
    page = html.unescape(client.get(f"/app/catalog/products/{sneakers.id}").data.decode())
    for words in ("Ongeza aina", "Jina la aina", "Bei (KES)", "Akiba", "Hifadhi",
                  "angalau aina moja"):
        assert words in page, words
    bad = client.post(f"/app/catalog/products/{sneakers.id}/variants",
                      data={"csrf_token": token, "sku": "SNK-2", "price": "elfu moja"})
    assert bad.status_code == 422
    assert "Andika bei kwa shilingi" in html.unescape(bad.data.decode())
    added = client.post(f"/app/catalog/products/{sneakers.id}/variants",
                        data={"csrf_token": token, "sku": "SNK-2", "price": "1000"})
    assert "Aina imeongezwa" in html.unescape(client.get(added.location).data.decode())
    assert "Aina" in html.unescape(client.get("/app/catalog").data.decode())
