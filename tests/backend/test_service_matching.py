"""GET /v1/services/match: what a customer wrote matched to the tenant's bookable services
(backend/domain/matching.py), as the assistant's booking actions ask it."""

from __future__ import annotations

import pytest

from backend.domain.matching import (
    ServiceCandidate,
    match_service_name,
    rate_service,
    services_in_message,
)
from tests.backend.commerce_helpers import json_of, merchant
from tests.backend.conftest import OTHER_ID, OTHER_KEY, TENANT_ID, service_headers


def variants(*names: str) -> list[dict]:
    return [{"name": name, "duration_minutes": 60, "price_minor": 100000} for name in names]


SALON = [
    {"name": "Box Braids", "category": "braiding",
     "variants": variants("Shoulder length", "Waist length")},
    {"name": "Knotless Braids", "category": "braiding", "variants": variants("Medium", "Small")},
    {"name": "Haircut", "category": "cuts", "variants": variants("Gents cut", "Ladies cut and style")},
    {"name": "Shoe Shine", "category": "shoe care", "variants": variants("Standard shine")},
    {"name": "Make-up", "category": "make-up", "variants": variants("Day look", "Bridal")},
]
CANDIDATES = [ServiceCandidate(i, s["name"], s["category"],
                               tuple((i * 10 + n, v["name"]) for n, v in enumerate(s["variants"])))
              for i, s in enumerate(SALON, start=1)]


# --- the matcher (the cases the booking actions were tested with) ---------------------------

@pytest.mark.parametrize("text, names", [
    ("box braids", ["Box Braids"]), ("Box braidz", ["Box Braids"]),
    ("knotless", ["Knotless Braids"]),
    ("haircut", ["Haircut"]), ("hair cut", ["Haircut"]), ("kunyoa", ["Haircut"]),
    ("HAIRCUT", ["Haircut"]), ("makeup", ["Make-up"]), ("make up", ["Make-up"]),
    ("shoe shine", ["Shoe Shine"]), ("kusuka", ["Box Braids", "Knotless Braids"]),
    ("braids", ["Box Braids", "Knotless Braids"]), ("bridal", ["Make-up"]),
    ("laptop repair", []), ("", []),
])
def test_a_name_is_matched_through_typos_and_swahili_words(text, names) -> None:
    assert [m.name for m in match_service_name(text, CANDIDATES)] == names


@pytest.mark.parametrize("text, names", [
    ("nataka kunyoa kesho saa tatu", ["Haircut"]),
    ("book me a shoe shine tomorrow", ["Shoe Shine"]),
    ("nataka kusuka kesho", ["Box Braids", "Knotless Braids"]), ("hapana", []),
    ("where are you located", []),
])
def test_services_named_among_other_words(text, names) -> None:
    assert [m.name for m in services_in_message(text, CANDIDATES)] == names


@pytest.mark.parametrize("service, text, variant", [
    (1, "book box braids waist length", 11), (1, "book box braids", None),
    (4, "anything", 40), (5, "bridal tafadhali", 51), (3, "", None),
])
def test_the_variant_a_text_names_or_the_only_one(service, text, variant) -> None:
    assert rate_service(text, CANDIDATES[service - 1]).variant_id == variant


# --- the endpoint ----------------------------------------------------------------------------

@pytest.fixture
def salon(client, tenants) -> dict[str, int]:
    """The salon's services by name (and one inactive, one with nothing to book); the other
    tenant has a service named like one of ours."""
    ids = {}
    for body in SALON + [{"name": "Pedicure", "variants": variants("Classic")},
                         {"name": "Manicure"}]:
        ids[body["name"]] = json_of(client.post("/v1/services", json=body, headers=merchant()),
                                    201)["id"]
    json_of(client.patch(f"/v1/services/{ids['Pedicure']}", json={"active": False},
                         headers=merchant()), 200)
    other = {"X-TENANT-ID": OTHER_ID, "X-TENANT-API-KEY": OTHER_KEY}
    ids["other Haircut"] = json_of(client.post("/v1/services", json={
        "name": "Haircut", "variants": variants("Kids")}, headers=other), 201)["id"]
    return ids


def matched(client, tenant_id: str = TENANT_ID, **query) -> list[dict]:
    return json_of(client.get("/v1/services/match", query_string=query,
                              headers=service_headers(tenant_id)), 200)["results"]


def test_names_typos_and_swahili_words_find_the_service(client, salon) -> None:
    [braids] = matched(client, text="Box braidz")
    assert braids["service_id"] == salon["Box Braids"] and braids["name"] == "Box Braids"
    assert 0.6 <= braids["score"] <= 1 and braids["variant_id"] is None
    assert [m["name"] for m in matched(client, text="kunyoa")] == ["Haircut"]
    assert [m["name"] for m in matched(client, text="kusuka")] == ["Box Braids",
                                                                  "Knotless Braids"]
    [shine] = matched(client, text="shoe shine")
    assert shine["variant_id"] is not None  # the only variant


def test_an_unknown_name_inactive_and_unbookable_services_match_nothing(client, salon) -> None:
    assert matched(client, text="laptop repair") == []
    assert matched(client, text="pedicure") == []  # deactivated
    assert matched(client, text="manicure") == []  # no variant to book
    assert client.get("/v1/services/match", headers=merchant()).status_code == 422
    too_long = {"text": "a" * 1001}
    assert client.get("/v1/services/match", query_string=too_long,
                      headers=merchant()).status_code == 422
    bad_mode = {"text": "haircut", "mode": "fuzzy"}
    assert client.get("/v1/services/match", query_string=bad_mode,
                      headers=merchant()).status_code == 422


def test_a_message_names_services_among_other_words(client, salon) -> None:
    found = matched(client, text="nataka kunyoa kesho saa tatu", mode="message")
    assert [m["service_id"] for m in found] == [salon["Haircut"]] and found[0]["score"] == 1.0
    assert matched(client, text="where are you located", mode="message") == []
    assert len(matched(client, text="nataka kusuka kesho", mode="message", limit=1)) == 1


def test_one_service_is_rated_whatever_its_score_for_the_variant_named(client, salon) -> None:
    [braids] = matched(client, text="free for waist length tomorrow?",
                       service_id=salon["Box Braids"])
    assert braids["service_id"] == salon["Box Braids"] and braids["score"] < 0.6
    box = json_of(client.get(f"/v1/services/{salon['Box Braids']}", headers=merchant()), 200)
    assert braids["variant_id"] == box["variants"][1]["id"]
    assert matched(client, text="haircut", service_id=salon["Pedicure"]) == []


def test_each_tenant_matches_its_own_services_only(client, salon) -> None:
    [ours] = matched(client, text="haircut")
    [theirs] = matched(client, OTHER_ID, text="haircut")
    assert ours["service_id"] == salon["Haircut"]
    assert theirs["service_id"] == salon["other Haircut"]
    assert matched(client, OTHER_ID, text="box braids") == []
    assert matched(client, OTHER_ID, text="haircut", service_id=salon["Haircut"]) == []
    merchant_of_other = {"X-TENANT-ID": OTHER_ID, "X-TENANT-API-KEY": OTHER_KEY}
    answer = json_of(client.get("/v1/services/match", query_string={"text": "haircut"},
                                headers=merchant_of_other), 200)
    assert [m["service_id"] for m in answer["results"]] == [salon["other Haircut"]]
    wrong_key = {"X-TENANT-ID": TENANT_ID, "X-TENANT-API-KEY": OTHER_KEY}
    assert client.get("/v1/services/match", query_string={"text": "haircut"},
                      headers=wrong_key).status_code == 401
