"""The delivery quote (backend/domain/delivery.py): areas named in English, Swahili and Sheng,
pins inside and outside the shop's radii, the free-above boundary, the fallback."""

from __future__ import annotations

import pytest

from backend.domain.delivery import (
    CALL_CUSTOMER,
    PICKUP_ONLY,
    Pin,
    Zone,
    check_pin,
    check_zone,
    haversine_m,
    place_tokens,
    quote_delivery,
)
from backend.domain.errors import Unprocessable

SHOP = Pin(-1.2864, 36.8172)  # Nairobi CBD
CBD = Zone(1, "CBD", ("Tao", "Kenyatta Avenue"), None, 10_000, None, "within 1 hour")
EAST = Zone(2, "Kasarani", ("Kasarani", "Roysambu", "Mwiki"), None, 25_000, 300_000, "2-3 hours")
SOUTH = Zone(3, "Rongai", ("Ongata Rongai", "Lang'ata"), None, 30_000, 500_000, "same day")
NEAR = Zone(4, "Near the shop", (), 3_000, 5_000, 100_000, "30 minutes")
FAR = Zone(5, "Far", (), 15_000, 40_000, None, "next day")
ZONES = (CBD, EAST, SOUTH, NEAR, FAR)


def _quote(address=None, pin=None, goods=100_000, fallback=PICKUP_ONLY):
    return quote_delivery(ZONES, fallback, goods, address=address, pin=pin, shop=SHOP)


@pytest.mark.parametrize("address, zone", [
    ("Kasarani", EAST),
    ("KASARANI estate, house 12", EAST),
    ("karibu na stage ya Kasa", EAST),  # Sheng: Kasa = Kasarani
    ("Niko mtaa wa Roysambu opposite Naivas", EAST),
    ("Tuko Mwiki, nyuma ya church", EAST),
    ("Rongai", SOUTH),
    ("ongata rongai, near Tumaini", SOUTH),
    ("Nakaa Rongaini", SOUTH),  # Swahili locative -ni
    ("Langata road, opp Carnivore", SOUTH),
    ("Lángata", SOUTH),  # accents do not matter
    ("niletee tao, Kenyatta Ave", CBD),
    ("Town centre, Moi Avenue", CBD),
    ("Kenyatta avenue next to the post office", CBD),
])
def test_an_address_names_its_zone(address: str, zone: Zone) -> None:
    quote = _quote(address)
    assert quote.zone == zone
    assert quote.fallback is None
    assert quote.fee_minor == zone.fee_minor
    assert quote.expected_time == zone.expected_time


def test_the_first_zone_in_order_wins_when_an_address_names_two() -> None:
    assert _quote("Roysambu then Rongai").zone == EAST


@pytest.mark.parametrize("address", ["Kitengela", "Westlands", "karibu na stage", "estate",
                                     "Kasaranis", "Kas"])
def test_an_address_outside_every_zone_gets_the_fallback(address: str) -> None:
    for fallback in (PICKUP_ONLY, CALL_CUSTOMER):
        quote = _quote(address, fallback=fallback)
        assert quote.zone is None and quote.fallback == fallback and quote.fee_minor == 0


def test_place_words_and_spellings_fold() -> None:
    assert place_tokens("Karibu na Stage ya Kasa") == ("kasarani",)
    assert place_tokens("Ongata Rongai") == place_tokens("rongai") == ("rongai",)
    assert place_tokens("Buru Buru phase 2") == ("buruburu", "phase", "2")


def test_free_above_is_a_boundary_at_the_amount() -> None:
    assert _quote("Kasarani", goods=299_999).fee_minor == 25_000
    at = _quote("Kasarani", goods=300_000)
    assert at.fee_minor == 0 and at.free_delivery
    assert _quote("Kasarani", goods=300_001).fee_minor == 0
    # No free-above: always the fee.
    assert _quote("Tao", goods=10_000_000).fee_minor == 10_000


def test_a_pin_inside_the_small_radius_gets_the_nearest_zone() -> None:
    pin = Pin(-1.2800, 36.8172)  # about 710 m north of the shop
    quote = _quote(pin=pin, goods=50_000)
    assert quote.zone == NEAR and quote.fee_minor == 5_000
    assert 650 <= quote.distance_m <= 770


def test_a_pin_between_the_radii_gets_the_outer_zone() -> None:
    pin = Pin(-1.2864 + 0.09, 36.8172)  # about 10 km north
    assert 9_900 < haversine_m(SHOP, pin) < 10_100
    assert _quote(pin=pin).zone == FAR


def test_a_pin_outside_every_radius_falls_back_or_uses_the_address() -> None:
    pin = Pin(-1.2864 + 0.2, 36.8172)  # about 22 km
    assert _quote(pin=pin).fallback == PICKUP_ONLY
    assert _quote(pin=pin, address="Rongai").zone == SOUTH


def test_a_pin_without_shop_coordinates_matches_no_radius() -> None:
    quote = quote_delivery(ZONES, CALL_CUSTOMER, 1, pin=SHOP, shop=None)
    assert quote.zone is None and quote.fallback == CALL_CUSTOMER


def test_haversine_against_a_known_distance() -> None:
    # One degree along a meridian is pi * R / 180 = 111,195 m; a quarter of the equator
    # 10,007.5 km.
    assert abs(haversine_m(Pin(0, 36), Pin(1, 36)) - 111_195) < 1
    assert abs(haversine_m(Pin(0, 0), Pin(0, 90)) - 10_007_557) < 10


@pytest.mark.parametrize("kwargs", [{"address": None}, {"address": "   "}])
def test_a_quote_needs_an_address_or_a_pin(kwargs) -> None:
    with pytest.raises(Unprocessable):
        quote_delivery(ZONES, PICKUP_ONLY, 1, shop=SHOP, **kwargs)


def test_a_negative_goods_amount_is_refused() -> None:
    with pytest.raises(Unprocessable):
        quote_delivery(ZONES, PICKUP_ONLY, -1, address="Kasarani")


@pytest.mark.parametrize("latitude, longitude", [(91, 0), (0, 181), (float("nan"), 0)])
def test_a_pin_out_of_range_is_refused(latitude: float, longitude: float) -> None:
    with pytest.raises(Unprocessable):
        check_pin(latitude, longitude)


def test_zone_rules() -> None:
    assert check_zone("East", [" Kasarani ", "kasarani", "", "Kasa"], None, 0, None,
                      False) == ["Kasarani"]
    cases = [
        (("East", ["Kasarani"], None, -1, None, False), "fee_minor"),
        (("East", ["Kasarani"], None, 1, -5, False), "free_above_minor"),
        (("Ring", [], 2_000, 1, None, False), "radius_m"),
        (("Ring", [], 0, 1, None, True), "radius_m"),
        (("Nothing", [], None, 1, None, True), "areas"),
        (("Filler", ["estate", "karibu na"], None, 1, None, True), "areas"),
        (("  ", ["Kasarani"], None, 1, None, True), "name"),
    ]
    for args, field in cases:
        with pytest.raises(Unprocessable) as raised:
            check_zone(*args)
        assert field in raised.value.field_errors, (args, raised.value.field_errors)
    assert check_zone("Ring", [], 2_000, 1, None, True) == []
