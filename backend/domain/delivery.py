"""Delivery zones and the delivery quote, free of any framework.

A zone matches a free-text address by its areas (place names, compared case- and accent-
insensitively, with Swahili/Sheng place words such as "karibu na", "mtaa wa", "stage ya",
"opposite", "estate" ignored and common spellings folded: "Ongata Rongai" = "Rongai", "Kasa" =
"Kasarani", "tao" = "CBD"), or a WhatsApp location pin by a radius around the shop
(haversine distance). The first zone (in the merchant's order) whose areas appear in the address
wins; for a pin, the smallest radius that covers it. The fee is waived when the goods total is at
or above the zone's free-above amount. Nothing matching: the merchant's fallback
("pickup_only" or "call_customer").
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from backend.domain.errors import Unprocessable

PICKUP = "pickup"
DELIVERY = "delivery"
FULFILMENTS = (PICKUP, DELIVERY)

PICKUP_ONLY = "pickup_only"
CALL_CUSTOMER = "call_customer"
FALLBACKS = (PICKUP_ONLY, CALL_CUSTOMER)

MAX_AREAS = 50
MAX_AREA_LENGTH = 100
MAX_RADIUS_M = 100_000
EARTH_RADIUS_M = 6_371_008.8  # the mean radius (IUGG)

# Words around a place that are not the place: English, Swahili and Sheng ("karibu na stage ya
# Kasa", "opposite Naivas", "mtaa wa Umoja", "niko Rongai", "estate ya Buru").
FILLER_WORDS = frozenset("""
    a an the at in on to of by from and near nearby opposite opp opp. next behind beside along off
    around area areas side estate est estates plot house apartment apartments apt flat flats
    court block floor gate hse no number before after past between junction
    karibu na ya wa la cha kwa za mtaa mtaani stage steji stej nyuma mbele kando pembeni ndani
    nje hapo pale hapa huko kule niko tuko iko uko yuko nipo tupo ipo kwenye katika hadi mpaka
    mimi sisi home nyumbani place please deliver delivery kudeliver leta lete niletee tuletee
    i im am we are is my our me us pls plz kindly
""".split())

# Spellings folded to one form (after accents and case are gone), longest phrases first when
# applied. Both the zones' areas and the addresses go through the same folding.
ALIASES: dict[str, str] = {
    "ongata rongai": "rongai",
    "kasa": "kasarani",
    "tao": "cbd",
    "taon": "cbd",
    "taoni": "cbd",
    "town centre": "cbd",
    "town center": "cbd",
    "nairobi cbd": "cbd",
    "central business district": "cbd",
    "westie": "westlands",
    "westi": "westlands",
    "buru buru": "buruburu",
    "buru": "buruburu",
    "roysa": "roysambu",
    "zimmer": "zimmerman",
    "kile": "kileleshwa",
    "lavi": "lavington",
    "jeri": "jericho",
    "donhom": "donholm",
    "embaka": "embakasi",
    "kitengz": "kitengela",
    "rd": "road",
    "st": "street",
    "ave": "avenue",
    "hwy": "highway",
}
_ALIAS_KEYS = sorted(ALIASES, key=lambda key: -len(key.split()))

# Swahili locatives: "Rongaini", "Kasaranini" (…-ni = at/in).
_LOCATIVE = "ni"


@dataclass(frozen=True)
class Zone:
    id: int
    name: str
    areas: tuple[str, ...]
    radius_m: int | None
    fee_minor: int
    free_above_minor: int | None = None
    expected_time: str | None = None


@dataclass(frozen=True)
class Pin:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Quote:
    """A zone and its fee, or `fallback` (the merchant's choice) when no zone matched."""

    zone: Zone | None
    fee_minor: int
    free_delivery: bool
    expected_time: str | None
    fallback: str | None
    matched_area: str | None = None  # the area the address named
    distance_m: int | None = None  # a pin's distance from the shop


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def place_tokens(text: str) -> tuple[str, ...]:
    """The words of a place or an address, lowercased, unaccented, spellings folded, place
    words dropped: "Karibu na Stage ya Kasa" → ("kasarani",)."""
    plain = _strip_accents(text).casefold().replace("'", "").replace("\u2019", "")
    words = re.findall(r"[a-z0-9]+", plain)
    folded: list[str] = []
    index = 0
    while index < len(words):
        for key in _ALIAS_KEYS:
            size = len(key.split())
            if words[index:index + size] == key.split():
                folded.extend(ALIASES[key].split())
                index += size
                break
        else:
            folded.append(words[index])
            index += 1
    return tuple(word for word in folded if word not in FILLER_WORDS)


def _same_word(address_word: str, area_word: str) -> bool:
    if address_word == area_word:
        return True
    # A Swahili locative of the place ("Rongaini"), never of a short word.
    return (len(area_word) >= 4 and address_word == area_word + _LOCATIVE)


def _contains(address: Sequence[str], area: Sequence[str]) -> bool:
    if not area or len(area) > len(address):
        return False
    for start in range(len(address) - len(area) + 1):
        if all(_same_word(address[start + i], word) for i, word in enumerate(area)):
            return True
    return False


def area_in_address(area: str, address: str) -> bool:
    return _contains(place_tokens(address), place_tokens(area))


def haversine_m(a: Pin, b: Pin) -> float:
    """The great-circle distance in metres."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat = lat2 - lat1
    dlon = math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def fee_for(zone: Zone, goods_minor: int) -> tuple[int, bool]:
    """(the fee, whether it was waived): free at or above the zone's free-above amount."""
    if zone.free_above_minor is not None and goods_minor >= zone.free_above_minor:
        return 0, True
    return zone.fee_minor, False


def _quote(zone: Zone, goods_minor: int, area: str | None = None,
           distance: float | None = None) -> Quote:
    fee, free = fee_for(zone, goods_minor)
    return Quote(zone, fee, free, zone.expected_time, None, area,
                 None if distance is None else int(round(distance)))


def zone_for_address(zones: Iterable[Zone], address: str) -> tuple[Zone, str] | None:
    tokens = place_tokens(address)
    for zone in zones:
        for area in zone.areas:
            if _contains(tokens, place_tokens(area)):
                return zone, area
    return None


def zone_for_pin(zones: Iterable[Zone], shop: Pin | None, pin: Pin) -> tuple[Zone, float] | None:
    """The smallest radius zone around the shop that covers the pin."""
    if shop is None:
        return None
    distance = haversine_m(shop, pin)
    covering = [zone for zone in zones if zone.radius_m is not None and distance <= zone.radius_m]
    if not covering:
        return None
    return min(covering, key=lambda zone: (zone.radius_m, zone.id)), distance


def check_pin(latitude: float, longitude: float) -> Pin:
    if not (math.isfinite(latitude) and math.isfinite(longitude)) \
            or not -90 <= latitude <= 90 or not -180 <= longitude <= 180:
        raise Unprocessable("A location needs a latitude within -90..90 and a longitude within "
                            "-180..180", {"latitude": ["Out of range."]})
    return Pin(latitude, longitude)


def quote_delivery(zones: Sequence[Zone], fallback: str, goods_minor: int, *,
                   address: str | None = None, pin: Pin | None = None,
                   shop: Pin | None = None) -> Quote:
    """The delivery fee for `goods_minor` worth of goods to a pin and/or an address.

    A pin is tried first (it is exact), then the address's words; no zone: the fallback with no
    fee (the merchant calls the customer, or only pickup is possible)."""
    if goods_minor < 0:
        raise Unprocessable("The goods amount cannot be negative",
                            {"goods_minor": ["Must be 0 or more."]})
    if fallback not in FALLBACKS:
        raise Unprocessable(f"Unknown fallback {fallback!r}")
    if pin is None and not (address and address.strip()):
        raise Unprocessable("Give an address or a location pin",
                            {"address": ["An address or latitude/longitude is required."]})
    if pin is not None:
        found = zone_for_pin(zones, shop, pin)
        if found is not None:
            return _quote(found[0], goods_minor, distance=found[1])
    if address:
        named = zone_for_address(zones, address)
        if named is not None:
            return _quote(named[0], goods_minor, area=named[1])
    distance = haversine_m(shop, pin) if pin is not None and shop is not None else None
    return Quote(None, 0, False, None, fallback, None,
                 None if distance is None else int(round(distance)))


def clean_areas(areas: Iterable[str]) -> list[str]:
    """The areas trimmed, empty ones and repeats (after folding) dropped, in order."""
    kept: list[str] = []
    seen: set[tuple[str, ...]] = set()
    for raw in areas:
        area = " ".join(str(raw).split())
        tokens = place_tokens(area)
        if not area or not tokens or tokens in seen:
            continue
        seen.add(tokens)
        kept.append(area)
    return kept


def check_zone(name: str, areas: Sequence[str], radius_m: int | None, fee_minor: int,
               free_above_minor: int | None, has_shop_location: bool) -> list[str]:
    """The zone's rules (422 with the field at fault); returns the cleaned areas."""
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = ["A zone needs a name."]
    for area in areas:
        if len(area) > MAX_AREA_LENGTH:
            errors["areas"] = [f"Each area is at most {MAX_AREA_LENGTH} characters."]
    kept = clean_areas(areas)
    if len(kept) > MAX_AREAS:
        errors["areas"] = [f"At most {MAX_AREAS} areas."]
    if areas and not kept and "areas" not in errors:
        errors["areas"] = ["The areas name no place (only words like 'near' or 'estate')."]
    if not kept and radius_m is None:
        errors.setdefault("areas", ["Give at least one area, or a radius around the shop."])
    if radius_m is not None:
        if not 1 <= radius_m <= MAX_RADIUS_M:
            errors["radius_m"] = [f"A radius is 1..{MAX_RADIUS_M} metres."]
        elif not has_shop_location:
            errors["radius_m"] = ["Set the shop's latitude and longitude before using a radius."]
    if fee_minor < 0:
        errors["fee_minor"] = ["The fee cannot be negative."]
    if free_above_minor is not None and free_above_minor < 0:
        errors["free_above_minor"] = ["The free-delivery amount cannot be negative."]
    if errors:
        field = next(iter(errors))
        raise Unprocessable(f"Invalid delivery zone: {errors[field][0]}", errors)
    return kept
