"""Browse and pick actions against a catalog API on loopback."""
from __future__ import annotations

import time

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.catalog import ActionSelectOption, ActionShowProducts
from actions.menu import new_menu
from tests.actions.conftest import tracker

pytestmark = pytest.mark.asyncio


async def run(action, t):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, {})
    return dispatcher.messages, events


def slot(events, name):
    values = [e["value"] for e in events if e.get("event") == "slot" and e["name"] == name]
    assert values, f"no SlotSet for {name} in {events}"
    return values[-1]


async def test_browse_lists_in_stock_products_as_numbered_menu_and_remembers_it(catalog):
    messages, events = await run(ActionShowProducts(), tracker())
    [message] = messages
    assert message["response"] == "utter_product_menu"
    assert message["menu"].splitlines() == [
        "1. Canvas sneakers — KES 2,500",
        "2. Leather boots — KES 4,500 – 4,800",
        "3. Denim jacket — KES 3,200"]
    menu = slot(events, "last_menu")
    assert menu["kind"] == "products" and menu["ids"] == [11, 12, 14]
    assert menu["expires_at"] > time.time() + 600
    assert catalog.requests[0]["headers"]["X-TENANT-ID"] == "shop"


async def test_browse_by_category_entity_filters(catalog):
    t = tracker(entities=[{"entity": "category", "value": "shoes"}])
    messages, _ = await run(ActionShowProducts(), t)
    assert messages[0]["response"] == "utter_product_menu_filtered"
    assert catalog.requests[0]["query"]["category"] == "shoes"


@pytest.mark.parametrize("language, budget, label", [
    ("en", "3k", "KES 3,000"), ("sw", "elfu tatu", "chini ya KES 3,000"),
    ("sheng", "3 thao", "chini ya KES 3,000")])
async def test_browse_within_a_budget(catalog, language, budget, label):
    t = tracker(entities=[{"entity": "budget", "value": budget}], slots={"language": language})
    messages, events = await run(ActionShowProducts(), t)
    assert catalog.requests[0]["query"]["max_price"] == "300000"
    assert messages[0]["response"] == "utter_product_menu_filtered"
    assert messages[0]["filter"].endswith(label)
    assert slot(events, "last_menu")["ids"] == [11]


async def test_category_is_named_in_the_customers_language(catalog):
    t = tracker(entities=[{"entity": "category", "value": "shoes"},
                          {"entity": "budget", "value": "5k"}], slots={"language": "sw"})
    messages, _ = await run(ActionShowProducts(), t)
    assert messages[0]["filter"] == "viatu chini ya KES 5,000"


async def test_browse_for_something_we_do_not_sell_shows_everything(catalog):
    t = tracker(entities=[{"entity": "category", "value": "laptops"}])
    messages, events = await run(ActionShowProducts(), t)
    assert messages[0]["response"] == "utter_product_menu_no_match"
    assert messages[0]["filter"] == "laptops"
    assert slot(events, "last_menu")["ids"] == [11, 12, 14]


async def test_empty_catalog_says_so_and_clears_the_menu(catalog):
    catalog.products = []
    messages, events = await run(ActionShowProducts(), tracker())
    assert messages[0]["response"] == "utter_no_products"
    assert slot(events, "last_menu") is None


async def test_backend_error_gives_an_apology_not_a_crash(catalog):
    catalog.status = 500
    messages, events = await run(ActionShowProducts(), tracker())
    assert messages[0]["response"] == "utter_backend_unavailable"
    assert events == []


@pytest.mark.parametrize("option, product_id, title", [
    ("2", 12, "Leather boots"), ("1", 11, "Canvas sneakers"), ("last", 14, "Denim jacket")])
async def test_pick_shows_that_products_details(catalog, option, product_id, title):
    t = tracker("select_option", [{"entity": "option", "value": option}],
                {"last_menu": new_menu("products", [11, 12, 14])})
    messages, events = await run(ActionSelectOption(), t)
    [message] = messages
    assert message["response"] == "utter_product_details"
    assert message["title"] == title
    assert slot(events, "selected_product") == str(product_id)


async def test_pick_lists_sizes_in_stock_and_price(catalog):
    t = tracker("select_option", [{"entity": "option", "value": "2"}],
                {"last_menu": new_menu("products", [11, 12, 14])})
    [message], _ = await run(ActionSelectOption(), t)
    assert message["options"] == "40, 41"
    assert message["price"] == "KES 4,500 – 4,800"


async def test_expired_menu_asks_again(catalog):
    menu = new_menu("products", [11, 12], now=time.time() - 3600)
    t = tracker("select_option", [{"entity": "option", "value": "2"}], {"last_menu": menu})
    messages, events = await run(ActionSelectOption(), t)
    assert messages[0]["response"] == "utter_menu_expired"
    assert slot(events, "last_menu") is None
    assert catalog.requests == []


async def test_pick_without_any_menu_asks_again(catalog):
    t = tracker("select_option", [{"entity": "option", "value": "1"}])
    messages, _ = await run(ActionSelectOption(), t)
    assert messages[0]["response"] == "utter_menu_expired"


async def test_out_of_range_pick_says_which_numbers_exist(catalog):
    t = tracker("select_option", [{"entity": "option", "value": "7"}],
                {"last_menu": new_menu("products", [11, 12, 14])})
    messages, _ = await run(ActionSelectOption(), t)
    assert messages[0]["response"] == "utter_option_out_of_range"
    assert messages[0]["count"] == 3


async def test_picked_product_that_sold_out_meanwhile(catalog):
    t = tracker("select_option", [{"entity": "option", "value": "1"}],
                {"last_menu": new_menu("products", [13])})
    messages, _ = await run(ActionSelectOption(), t)
    assert messages[0]["response"] == "utter_product_sold_out"


async def test_picked_product_removed_from_catalog(catalog):
    t = tracker("select_option", [{"entity": "option", "value": "1"}],
                {"last_menu": new_menu("products", [99])})
    messages, _ = await run(ActionSelectOption(), t)
    assert messages[0]["response"] == "utter_menu_expired"


async def test_backend_down_during_pick(catalog):
    catalog.status = 503
    t = tracker("select_option", [{"entity": "option", "value": "1"}],
                {"last_menu": new_menu("products", [11])})
    messages, _ = await run(ActionSelectOption(), t)
    assert messages[0]["response"] == "utter_backend_unavailable"
