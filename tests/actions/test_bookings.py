"""Services and bookings against a fake backend on loopback (services, slots, appointments)."""
from __future__ import annotations

from pathlib import Path
import time as clock
from datetime import date, datetime, time, timedelta
from typing import Any, Dict, List, Optional
from zoneinfo import ZoneInfo

from backend.domain.matching import (
    ServiceCandidate,
    match_service_name,
    rate_service,
    services_in_message,
)

import pytest
import pytest_asyncio
import yaml
from aiohttp import web
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.bookings import appointments, asks, availability, booking, browse
from actions.bookings import form as booking_form
from actions.bookings.appointments import ActionAppointmentStatus, ActionCancelAppointment
from actions.bookings.asks import ActionAskBookingConfirmed, ActionAskTime
from actions.bookings.availability import ActionCheckAvailability
from actions.bookings.booking import ActionBookAppointment
from actions.bookings.browse import ActionServiceDetails, ActionShowServices
from actions.bookings.form import ValidateBookingForm
from actions.bookings.matching import match_services, services_in_text
from actions.catalog import ActionSelectOption
from actions.confirm import ActionConfirm
from actions.menu import new_menu
from tests.actions.loopback import SERVICE_TOKEN, serve, stop
from tests.contract.contract import assert_conform, watch

pytestmark = pytest.mark.asyncio
NAIROBI = ZoneInfo("Africa/Nairobi")
UTC = ZoneInfo("UTC")
REF = "c0123456789abcdef01234567"  # the customer's opaque reference in the sender id


def service(sid: int, name: str, variants: List[tuple], category: str = "") -> Dict[str, Any]:
    return {"id": sid, "name": name, "description": f"{name} description", "category": category,
            "active": True, "windows": [],
            "variants": [{"id": sid * 10 + i, "service_id": sid, "name": vname,
                          "duration_minutes": minutes, "price_minor": price, "currency": "KES"}
                         for i, (vname, minutes, price) in enumerate(variants, start=1)]}


SERVICES = [
    service(1, "Box Braids", [("Shoulder length", 180, 250000), ("Waist length", 300, 400000)],
            "braiding"),
    service(2, "Knotless Braids", [("Medium", 240, 350000), ("Small", 360, 500000)], "braiding"),
    service(3, "Haircut", [("Gents cut", 30, 30000), ("Ladies cut and style", 60, 80000)], "cuts"),
    service(4, "Shoe Shine", [("Standard shine", 15, 10000)], "shoe care"),
    service(5, "Make-up", [("Day look", 45, 150000), ("Bridal", 120, 600000)], "make-up"),
]


def local_today() -> date:
    return datetime.now(NAIROBI).date()


def tomorrow() -> date:
    return local_today() + timedelta(days=1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A local wall-clock moment as the backend answers it: UTC."""
    return datetime.combine(day, time(hour, minute), NAIROBI).astimezone(UTC)


class FakeBackend:
    def __init__(self) -> None:
        self.services = [dict(s) for s in SERVICES]
        # Free slot starts (UTC) per variant id: tomorrow and the day after, 09:00–17:00 hourly.
        self.free: Dict[int, List[datetime]] = {}
        for s in SERVICES:
            for v in s["variants"]:
                self.free[v["id"]] = [at(tomorrow() + timedelta(days=d), h)
                                      for d in (0, 1) for h in (9, 10, 11, 14, 16, 17)]
        self.appointments: List[Dict[str, Any]] = []
        self.book_status = 201
        self.alternatives: List[datetime] = []
        self.status: Optional[int] = None
        self.match_status: Optional[int] = None  # what GET /v1/services/match answers instead
        self.requests: List[Dict[str, Any]] = []
        self.next_id = 100
        self.timezone = "Africa/Nairobi"
        self.deposit_minor = 0  # > 0: bookings are held pending payment of a deposit order
        self.orders: List[Dict[str, Any]] = []

    def record(self, request: web.Request, body: Any = None) -> None:
        self.requests.append({"method": request.method, "path": request.path,
                              "query": dict(request.query), "headers": dict(request.headers),
                              "json": body})

    def check(self, request: web.Request, body: Any = None) -> Optional[web.Response]:
        """Records the request; the error to answer, if any (a Response is falsy: compare with
        None)."""
        self.record(request, body)
        if self.status:
            return web.json_response({"code": self.status}, status=self.status)
        if request.headers.get("Authorization") != f"Bearer {SERVICE_TOKEN}":
            return web.json_response({"code": 401}, status=401)
        if request.headers.get("X-TENANT-ID") != "salon":
            return web.json_response({"code": 404}, status=404)
        return None

    async def tenant(self, request: web.Request) -> web.Response:
        failed = self.check(request)
        if failed is not None:
            return failed
        return web.json_response({"id": "salon", "timezone": self.timezone})

    async def list_services(self, request: web.Request) -> web.Response:
        failed = self.check(request)
        if failed is not None:
            return failed
        return web.json_response({"count": len(self.services), "next": None, "previous": None,
                                  "results": self.services})

    async def slots(self, request: web.Request) -> web.Response:
        failed = self.check(request)
        if failed is not None:
            return failed
        found = [s for s in self.services if s["id"] == int(request.match_info["id"])]
        if not found:
            return web.json_response({"code": 404}, status=404)
        variant_id = request.query.get("variant_id")
        if variant_id is None and len(found[0]["variants"]) != 1:
            return web.json_response({"code": 422, "description": "give variant_id"}, status=422)
        variant_id = int(variant_id or found[0]["variants"][0]["id"])
        first = date.fromisoformat(request.query["from"])
        last = date.fromisoformat(request.query["to"])
        results = [{"window_id": 1, "starts_at": s.isoformat(), "ends_at": s.isoformat(),
                    "capacity": 2, "remaining": 1}
                   for s in self.free.get(variant_id, [])
                   if first <= s.astimezone(NAIROBI).date() <= last]
        return web.json_response({"results": results})

    async def match(self, request: web.Request) -> web.Response:
        """GET /v1/services/match with the backend's own matcher (backend/domain/matching.py)."""
        failed = self.check(request)
        if failed is not None:
            return failed
        if self.match_status:
            return web.json_response({"code": self.match_status}, status=self.match_status)
        query = request.query
        if not 1 <= len(query.get("text", "")) <= 1000:
            return web.json_response({"code": 422}, status=422)
        candidates = [ServiceCandidate(s["id"], s["name"], s.get("category") or "",
                                       tuple((v["id"], v["name"]) for v in s["variants"]))
                      for s in self.services if s.get("active", True) and s["variants"]
                      and str(s["id"]) == query.get("service_id", str(s["id"]))]
        if "service_id" in query:
            found = [rate_service(query["text"], c) for c in candidates]
        elif query.get("mode") == "message":
            found = services_in_message(query["text"], candidates)
        else:
            found = match_service_name(query["text"], candidates)
        return web.json_response({"results": [
            {"service_id": m.service_id, "name": m.name, "score": m.score,
             "variant_id": m.variant_id} for m in found[:int(query.get("limit", 10))]]})

    def view(self, appointment: Dict[str, Any]) -> Dict[str, Any]:
        return appointment

    async def book(self, request: web.Request) -> web.Response:
        body = await request.json()
        failed = self.check(request, body)
        if failed is not None:
            return failed
        if self.book_status == 409:
            return web.json_response({"code": 409, "description": "fully booked", "alternatives": [
                {"starts_at": a.isoformat(), "ends_at": a.isoformat(), "window_id": 1,
                 "remaining": 1} for a in self.alternatives]}, status=409)
        if self.book_status != 201:
            return web.json_response({"code": self.book_status}, status=self.book_status)
        variant = next(v for s in self.services for v in s["variants"]
                       if v["id"] == body["service_variant_id"])
        svc = next(s for s in self.services if s["id"] == variant["service_id"])
        local = datetime.fromisoformat(body["starts_at"]).replace(tzinfo=NAIROBI)
        return web.json_response(self._booked(svc, variant, local), status=201)

    async def list_appointments(self, request: web.Request) -> web.Response:
        failed = self.check(request)
        if failed is not None:
            return failed
        mine = [a for a in self.appointments
                if request.headers.get("X-CUSTOMER-REF") == REF
                and a["status"] == request.query.get("status", a["status"])]
        return web.json_response({"count": len(mine), "next": None, "previous": None,
                                  "results": mine})

    def _appointment(self, request: web.Request) -> Optional[Dict[str, Any]]:
        wanted = int(request.match_info["id"])
        return next((a for a in self.appointments if a["id"] == wanted), None)

    async def get_appointment(self, request: web.Request) -> web.Response:
        failed = self.check(request)
        if failed is not None:
            return failed
        found = self._appointment(request)
        return web.json_response(found) if found else web.json_response({"code": 404}, status=404)

    async def cancel(self, request: web.Request) -> web.Response:
        failed = self.check(request)
        if failed is not None:
            return failed
        found = self._appointment(request)
        if found is None:
            return web.json_response({"code": 404}, status=404)
        if found["status"] != "booked":
            return web.json_response({"code": 409}, status=409)
        found["status"] = "cancelled"
        return web.json_response(found)

    def add_appointment(self, sid: int, day: date, hour: int) -> Dict[str, Any]:
        svc = next(s for s in self.services if s["id"] == sid)
        variant = svc["variants"][0]
        return self._booked(svc, variant, datetime.combine(day, time(hour), NAIROBI))

    def _booked(self, svc: Dict[str, Any], variant: Dict[str, Any],
                local: datetime) -> Dict[str, Any]:
        self.next_id += 1
        appointment = {
            "id": self.next_id, "customer_id": 7, "service_id": svc["id"],
            "service_variant_id": variant["id"], "service_name": svc["name"],
            "variant_name": variant["name"], "starts_at": local.astimezone(UTC).isoformat(),
            "ends_at": local.astimezone(UTC).isoformat(), "local_starts_at": local.isoformat(),
            "status": "booked", "price_minor": variant["price_minor"], "currency": "KES",
            "notes": "", "deposit_minor": 0, "order_id": None, "hold_until": None}
        if self.deposit_minor:
            order_id = 500 + len(self.orders)
            self.orders.append({"id": order_id, "total_minor": self.deposit_minor})
            hold = datetime.now(UTC) + timedelta(minutes=15, seconds=30)
            appointment.update(status="pending_payment", deposit_minor=self.deposit_minor,
                               order_id=order_id, hold_until=hold.isoformat())
        self.appointments.append(appointment)
        return appointment

    def posted(self, path: str) -> List[Dict[str, Any]]:
        return [r for r in self.requests if r["method"] == "POST" and r["path"] == path]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/tenant", self.tenant)
        app.router.add_get("/v1/services", self.list_services)
        app.router.add_get("/v1/services/match", self.match)
        app.router.add_get("/v1/services/{id}/slots", self.slots)
        app.router.add_post("/v1/appointments", self.book)
        app.router.add_get("/v1/appointments", self.list_appointments)
        app.router.add_get("/v1/appointments/{id}", self.get_appointment)
        app.router.add_post("/v1/appointments/{id}/cancel", self.cancel)
        return app


# The bookings modules that call the backend (each imports the process-wide client).
BACKEND_CALLERS = ("appointments", "booking", "clock", "matching", "services", "slots")


@pytest_asyncio.fixture
async def salon(monkeypatch):
    """The fake on loopback; what the actions sent and it answered must be the backend's contract."""
    fake = FakeBackend()
    app = fake.app()
    exchanges = watch(app)
    runner, client = await serve(app)
    for module in BACKEND_CALLERS:
        monkeypatch.setattr(f"actions.bookings.{module}.backend", client)
    monkeypatch.setattr("actions.bookings.clock._timezones", {})
    monkeypatch.setattr("actions.payments.backend", client)  # a deposit's payment choice
    yield fake
    await stop(runner, client)
    assert_conform(exchanges)


def make_tracker(intent: str = "browse_services", entities: Optional[List[Dict[str, Any]]] = None,
                 slots: Optional[Dict[str, Any]] = None, text: str = "",
                 events: Optional[List[Dict[str, Any]]] = None,
                 language: str = "en") -> Tracker:
    return Tracker(
        sender_id=f"salon:{REF}", slots={"language": language, **(slots or {})},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9},
                        "entities": entities or [], "message_id": "msg-42"},
        events=events or [], paused=False, followup_action=None, active_loop={},
        latest_action_name="action_listen")


def ents(**values: str) -> List[Dict[str, Any]]:
    return [{"entity": name, "value": value} for name, value in values.items()]


async def run(action, t):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, {})
    return dispatcher.messages, events


def slots_of(events) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def slot_menu(sid: int, vid: int, moments: List[datetime]) -> Dict[str, Any]:
    return {**new_menu("slots", [m.strftime("%Y-%m-%dT%H:%M") for m in moments]),
            "service_id": str(sid), "variant_id": str(vid)}


# --- matching ------------------------------------------------------------------------------

# The matcher's cases are tests/backend/test_service_matching.py's; these check the asking.
@pytest.mark.parametrize("text, names", [
    ("Box braidz", ["Box Braids"]), ("kusuka", ["Box Braids", "Knotless Braids"]),
    ("laptop repair", []), ("", []),
])
async def test_services_are_matched_by_name_typos_and_swahili_words(salon, text, names):
    assert [s["name"] for s in await match_services("salon", text, SERVICES)] == names
    asked = [r["query"] for r in salon.requests if r["path"] == "/v1/services/match"]
    assert asked == ([{"text": text, "mode": "name", "limit": "50"}] if text else [])


# --- browse and details --------------------------------------------------------------------

async def test_services_menu_shows_from_prices_and_remembers_the_menu(salon):
    messages, events = await run(ActionShowServices(), make_tracker())
    [message] = messages
    assert message["response"] == "utter_service_menu"
    lines = message["menu"].splitlines()
    assert lines[0] == "1. Box Braids — from KES 2,500"
    assert lines[3] == "4. Shoe Shine — KES 100"
    menu = slots_of(events)["last_menu"]
    assert menu["kind"] == "services" and menu["ids"] == [1, 2, 3, 4, 5]
    assert menu["expires_at"] > clock.time() + 600


async def test_services_menu_in_swahili_says_kuanzia(salon):
    messages, _ = await run(ActionShowServices(), make_tracker(language="sw"))
    assert messages[0]["menu"].splitlines()[0] == "1. Box Braids — kuanzia KES 2,500"


async def test_no_services_has_its_own_reply(salon):
    salon.services = []
    messages, events = await run(ActionShowServices(), make_tracker())
    assert messages[0]["response"] == "utter_no_services"
    assert slots_of(events)["last_menu"] is None


@pytest.mark.parametrize("action", [ActionShowServices(), ActionServiceDetails(),
                                    ActionCheckAvailability(), ActionAppointmentStatus(),
                                    ActionCancelAppointment()])
async def test_backend_errors_get_a_reply(salon, action):
    salon.status = 503
    messages, events = await run(action, make_tracker(entities=ents(service="haircut")))
    assert [m["response"] for m in messages] == ["utter_backend_unavailable"]
    assert events == []


async def test_details_of_a_named_service_in_sheng_words(salon):
    t = make_tracker("service_details", ents(service="kunyoa"), language="sw")
    messages, events = await run(ActionServiceDetails(), t)
    [message] = messages
    assert message["response"] == "utter_service_details" and message["title"] == "Haircut"
    assert message["lines"].splitlines() == ["• Gents cut — dakika 30 — KES 300",
                                             "• Ladies cut and style — saa 1 — KES 800"]
    assert slots_of(events)["selected_service"] == "3"


async def test_details_use_the_selected_service_when_none_is_named(salon):
    t = make_tracker("service_details", slots={"selected_service": "1"})
    messages, _ = await run(ActionServiceDetails(), t)
    assert messages[0]["title"] == "Box Braids"
    assert "Waist length — 5 h — KES 4,000" in messages[0]["lines"]


async def test_details_of_an_ambiguous_service_ask_which(salon):
    t = make_tracker("service_details", ents(service="kusuka"))
    messages, events = await run(ActionServiceDetails(), t)
    assert messages[0]["response"] == "utter_which_service"
    assert messages[0]["menu"].splitlines()[0].startswith("1. Box Braids")
    assert slots_of(events)["last_menu"]["ids"] == [1, 2]


async def test_details_of_an_unknown_service_say_so_and_list_ours(salon):
    t = make_tracker("service_details", ents(service="tattoo"))
    messages, events = await run(ActionServiceDetails(), t)
    assert messages[0]["response"] == "utter_service_not_found" and messages[0]["text"] == "tattoo"
    assert len(slots_of(events)["last_menu"]["ids"]) == 5


async def test_picking_a_service_from_the_menu_shows_it(salon):
    menu = {**new_menu("services", [1, 2, 3]), "purpose": "details"}
    t = make_tracker("select_option", ents(option="3"), slots={"last_menu": menu})
    messages, events = await run(ActionSelectOption(), t)
    assert messages[0]["response"] == "utter_service_details" and messages[0]["title"] == "Haircut"
    assert slots_of(events)["selected_service"] == "3"


# --- availability --------------------------------------------------------------------------

async def test_free_morning_slots_tomorrow_in_swahili_time(salon):
    t = make_tracker("check_availability",
                     ents(service="box braids", date="kesho", time="asubuhi"), language="sw")
    messages, events = await run(ActionCheckAvailability(), t)
    [message] = messages
    assert message["response"] == "utter_available_slots"
    day = tomorrow()
    weekday = ["Jumatatu", "Jumanne", "Jumatano", "Alhamisi", "Ijumaa", "Jumamosi",
               "Jumapili"][day.weekday()]
    assert message["menu"].splitlines() == [
        f"1. {weekday} {day.day}/{day.month} saa tatu asubuhi (09:00)",
        f"2. {weekday} {day.day}/{day.month} saa nne asubuhi (10:00)",
        f"3. {weekday} {day.day}/{day.month} saa tano asubuhi (11:00)"]
    query = [r for r in salon.requests if r["path"].endswith("/slots")][0]["query"]
    assert query == {"from": day.isoformat(), "to": day.isoformat(), "variant_id": "11"}
    menu = slots_of(events)["last_menu"]
    assert menu["kind"] == "slots" and menu["service_id"] == "1" and menu["variant_id"] == "11"
    assert menu["ids"][1] == f"{day.isoformat()}T10:00"


async def test_an_exact_free_time_is_confirmed_with_the_nearest_others(salon):
    t = make_tracker("check_availability", ents(service="shoe shine", date="kesho", time="4pm"))
    messages, events = await run(ActionCheckAvailability(), t)
    assert messages[0]["response"] == "utter_slot_is_free"
    assert messages[0]["when"].endswith("4:00 pm")
    assert len(slots_of(events)["last_menu"]["ids"]) == 6


async def test_default_is_the_next_week_at_most_eight(salon):
    t = make_tracker("check_availability", ents(service="shoe shine"))
    messages, events = await run(ActionCheckAvailability(), t)
    assert messages[0]["response"] == "utter_available_slots"
    assert len(messages[0]["menu"].splitlines()) == 8
    query = [r for r in salon.requests if r["path"].endswith("/slots")][0]["query"]
    assert query["from"] == local_today().isoformat()
    assert query["to"] == (local_today() + timedelta(days=6)).isoformat()


async def test_a_full_day_offers_the_next_free_times(salon):
    later = tomorrow() + timedelta(days=5)
    salon.free[41] = [at(later, 10)]
    t = make_tracker("check_availability", ents(service="shoe shine", date="kesho"))
    messages, events = await run(ActionCheckAvailability(), t)
    assert messages[0]["response"] == "utter_no_slots_then_next"
    assert slots_of(events)["last_menu"]["ids"] == [f"{later.isoformat()}T10:00"]


async def test_nothing_free_for_two_weeks(salon):
    salon.free[41] = []
    t = make_tracker("check_availability", ents(service="shoe shine", date="kesho"))
    messages, events = await run(ActionCheckAvailability(), t)
    assert messages[0]["response"] == "utter_no_slots"
    assert "last_menu" not in slots_of(events)


async def test_availability_without_a_service_asks_which_then_lists_its_slots(salon):
    messages, events = await run(ActionCheckAvailability(),
                                 make_tracker("check_availability", text="are you free?"))
    assert messages[0]["response"] == "utter_which_service"
    menu = slots_of(events)["last_menu"]
    assert menu["purpose"] == "availability"
    t = make_tracker("select_option", ents(option="4"), slots={"last_menu": menu})
    messages, events = await run(ActionSelectOption(), t)
    assert messages[0]["response"] == "utter_available_slots"
    assert slots_of(events)["last_menu"]["kind"] == "slots"


async def test_picking_a_slot_shows_the_summary_and_yes_books_it(salon):
    day = tomorrow()
    menu = slot_menu(1, 12, [datetime.combine(day, time(9)), datetime.combine(day, time(10))])
    t = make_tracker("select_option", ents(option="2"), slots={"last_menu": menu})
    messages, events = await run(ActionSelectOption(), t)
    [message] = messages
    assert message["response"] == "utter_ask_booking_confirmed"
    assert message["service"] == "Box Braids (Waist length)"
    assert (message["duration"], message["price"]) == ("5 h", "KES 4,000")
    pending = slots_of(events)["pending_confirmation"]
    assert pending == {"kind": "book_slot", "id": f"{day.isoformat()}T10:00",
                       "service_id": "1", "variant_id": "12"}
    assert salon.posted("/v1/appointments") == []

    messages, events = await run(ActionConfirm(), make_tracker(
        "affirm", slots={"pending_confirmation": pending}))
    assert messages[0]["response"] == "utter_appointment_booked"
    [post] = salon.posted("/v1/appointments")
    assert post["json"] == {"service_variant_id": 12, "starts_at": f"{day.isoformat()}T10:00"}
    assert slots_of(events)["appointment_id"] == str(messages[0]["appointment_id"])
    assert slots_of(events)["pending_confirmation"] is None


async def test_a_picked_slot_taken_meanwhile_offers_the_alternatives(salon):
    salon.book_status = 409
    salon.alternatives = [at(tomorrow(), 14)]
    pending = {"kind": "book_slot", "id": f"{tomorrow().isoformat()}T10:00",
               "service_id": "4", "variant_id": "41"}
    messages, events = await run(ActionConfirm(), make_tracker(
        "affirm", slots={"pending_confirmation": pending}))
    assert messages[0]["response"] == "utter_slot_taken"
    assert slots_of(events)["last_menu"]["ids"] == [f"{tomorrow().isoformat()}T14:00"]


async def test_an_expired_menu_says_so(salon):
    menu = {**slot_menu(4, 41, [datetime.combine(tomorrow(), time(9))]), "expires_at": 1}
    t = make_tracker("select_option", ents(option="1"), slots={"last_menu": menu})
    messages, events = await run(ActionSelectOption(), t)
    assert messages[0]["response"] == "utter_menu_expired"
    assert slots_of(events)["last_menu"] is None


# --- the booking form ----------------------------------------------------------------------

# The form as the domain declares it (the validation action reads its required slots there).
DOMAIN = {"forms": yaml.safe_load(
    (Path(__file__).parents[2] / "domain" / "bookings.yml").read_text())["forms"]}


async def validate(t):
    dispatcher = CollectingDispatcher()
    events = await ValidateBookingForm().run(dispatcher, t, DOMAIN)
    return dispatcher.messages, events


async def test_form_fills_service_day_and_time_in_words_and_skips_a_single_variant(salon):
    t = make_tracker("book_appointment",
                     ents(service="shoe shine", date="kesho", time="saa nne asubuhi"),
                     text="nataka shoe shine kesho saa nne asubuhi", language="sw")
    messages, events = await validate(t)
    assert messages == []
    filled = slots_of(events)
    assert filled["selected_service"] == "4" and filled["selected_service_variant"] == "41"
    assert filled["date"] == tomorrow().isoformat() and filled["time"] == "10:00"


async def test_form_leaves_the_variant_to_ask_when_there_are_several(salon):
    t = make_tracker("book_appointment", ents(service="box braids"), text="book box braids")
    _, events = await validate(t)
    filled = slots_of(events)
    assert filled["selected_service"] == "1" and filled["selected_service_variant"] is None


async def test_form_takes_the_variant_named_in_the_message(salon):
    t = make_tracker("book_appointment", ents(service="box braids"),
                     text="book box braids waist length")
    _, events = await validate(t)
    assert slots_of(events)["selected_service_variant"] == "12"


async def test_form_offers_the_nearest_free_times_when_the_time_is_taken(salon):
    t = make_tracker("inform", ents(time="1pm"), text="1pm",
                     slots={"selected_service": "4", "selected_service_variant": "41",
                            "date": tomorrow().isoformat(), "requested_slot": "time"})
    messages, events = await validate(t)
    assert messages[0]["response"] == "utter_slot_taken"
    assert messages[0]["when"].endswith("1:00 pm")
    filled = slots_of(events)
    assert filled["time"] is None
    assert filled["last_menu"]["ids"][:3] == [f"{tomorrow().isoformat()}T{h}" for h in
                                              ("09:00", "10:00", "11:00")]
    # The ask that follows only says "pick one": the list was just shown.
    events_so_far = [{"event": "user"}, *events]
    t2 = make_tracker("inform", slots={**t.slots, **filled}, events=events_so_far)
    messages, _ = await run(ActionAskTime(), t2)
    assert [m["response"] for m in messages] == ["utter_ask_time_or_pick"]


async def test_form_picks_a_time_from_the_offered_list(salon):
    day = tomorrow()
    menu = slot_menu(4, 41, [datetime.combine(day, time(14)), datetime.combine(day, time(16))])
    t = make_tracker("select_option", ents(option="2"), text="ya pili",
                     slots={"selected_service": "4", "selected_service_variant": "41",
                            "date": day.isoformat(), "requested_slot": "time",
                            "last_menu": menu})
    messages, events = await validate(t)
    assert messages == []
    filled = slots_of(events)
    assert (filled["date"], filled["time"]) == (day.isoformat(), "16:00")


async def test_form_narrows_a_part_of_the_day_with_a_list(salon):
    t = make_tracker("inform", ents(date="kesho", time="jioni"), text="kesho jioni",
                     slots={"selected_service": "4", "selected_service_variant": "41",
                            "requested_slot": "date"}, language="sheng")
    messages, events = await validate(t)
    assert messages[0]["response"] == "utter_pick_a_slot"
    assert messages[0]["menu"].splitlines()[0].endswith("saa kumi jioni (16:00)")
    filled = slots_of(events)
    assert filled["date"] == tomorrow().isoformat() and filled["time"] is None
    assert len(filled["last_menu"]["ids"]) == 2


async def test_form_refuses_a_past_day(salon):
    t = make_tracker("inform", ents(date="jana"), text="jana",
                     slots={"selected_service": "4", "selected_service_variant": "41",
                            "requested_slot": "date"})
    messages, events = await validate(t)
    assert messages[0]["response"] == "utter_date_in_past"
    assert slots_of(events)["date"] is None


async def test_form_reads_yes_and_no_only_for_the_confirmation(salon):
    filled = {"selected_service": "4", "selected_service_variant": "41",
              "date": tomorrow().isoformat(), "time": "10:00"}
    asking = {**filled, "requested_slot": "booking_confirmed"}
    _, events = await validate(make_tracker("affirm", text="ndiyo", slots=asking))
    assert slots_of(events)["booking_confirmed"] is True
    _, events = await validate(make_tracker("deny", text="hapana", slots=asking))
    assert slots_of(events)["booking_confirmed"] is False
    _, events = await validate(make_tracker("affirm", text="yes",
                                            slots={"requested_slot": "date"}))
    assert "booking_confirmed" not in slots_of(events)


async def test_nothing_extracted_returns_nothing_so_the_form_can_be_interrupted(salon):
    t = make_tracker("ask_faq", text="where are you located", slots={"requested_slot": "date",
                                                                      "selected_service": "4"})
    _, events = await validate(t)
    assert events == []


async def test_ask_time_lists_the_days_free_times(salon):
    t = make_tracker("inform", slots={"selected_service": "4", "selected_service_variant": "41",
                                      "date": tomorrow().isoformat()}, events=[{"event": "user"}])
    messages, events = await run(ActionAskTime(), t)
    assert messages[0]["response"] == "utter_ask_time_menu"
    assert len(messages[0]["menu"].splitlines()) == 6
    assert slots_of(events)["last_menu"]["kind"] == "slots"


async def test_summary_before_booking_in_swahili(salon):
    t = make_tracker("inform", language="sw", slots={
        "selected_service": "1", "selected_service_variant": "11",
        "date": tomorrow().isoformat(), "time": "10:00"})
    messages, _ = await run(ActionAskBookingConfirmed(), t)
    [message] = messages
    assert message["response"] == "utter_ask_booking_confirmed"
    assert message["service"] == "Box Braids (Shoulder length)"
    assert message["when"].endswith("saa nne asubuhi (10:00)")
    assert (message["duration"], message["price"]) == ("saa 3", "KES 2,500")


# --- booking -------------------------------------------------------------------------------

BOOKING = {"selected_service": "1", "selected_service_variant": "11", "time": "10:00",
           "booking_confirmed": True}


async def test_booking_posts_for_the_customer_once_and_clears_the_form(salon):
    t = make_tracker("affirm", slots={**BOOKING, "date": tomorrow().isoformat()})
    messages, events = await run(ActionBookAppointment(), t)
    [post] = salon.posted("/v1/appointments")
    assert post["json"] == {"service_variant_id": 11,
                            "starts_at": f"{tomorrow().isoformat()}T10:00"}
    assert post["headers"]["X-CUSTOMER-REF"] == REF
    assert post["headers"]["Idempotency-Key"] == f"salon:{REF}:msg-42:appointment"
    [message] = messages
    assert message["response"] == "utter_appointment_booked"
    assert message["service"] == "Box Braids (Shoulder length)"
    assert message["when"].endswith("10:00 am") and message["price"] == "KES 2,500"
    filled = slots_of(events)
    assert filled["appointment_id"] == str(message["appointment_id"])
    assert all(filled[name] is None for name in
               ("selected_service", "selected_service_variant", "date", "time",
                "booking_confirmed"))


async def test_a_booking_held_for_a_deposit_offers_the_order_payment_choice(salon):
    salon.deposit_minor = 50000
    t = make_tracker("affirm", slots={**BOOKING, "date": tomorrow().isoformat()})
    messages, events = await run(ActionBookAppointment(), t)
    [message] = messages
    assert message["response"] == "utter_appointment_held"
    assert message["service"] == "Box Braids (Shoulder length)"
    assert (message["total"], message["price"]) == ("KES 500", "KES 2,500")
    assert message["order_id"] == 500 and message["minutes"] == 15
    assert len(message["menu"].splitlines()) == 3  # STK to this number or another, paybill
    filled = slots_of(events)
    assert filled["appointment_id"] == str(message["appointment_id"])
    assert filled["order_id"] == "500"
    assert filled["last_menu"]["kind"] == "payment_methods"
    assert filled["last_menu"]["ids"] == ["mpesa_stk", "mpesa_other", "mpesa_manual"]
    assert filled["selected_service"] is None and filled["booking_confirmed"] is None
    # The response exists in every language.
    domain = yaml.safe_load((Path(__file__).parents[2] / "domain" / "bookings.yml").read_text())
    variants = domain["responses"]["utter_appointment_held"]
    assert len(variants) == 3 and all("{menu}" in v["text"] and "{total}" in v["text"]
                                      for v in variants)


async def test_a_full_slot_offers_the_alternatives_from_the_backend(salon):
    salon.book_status = 409
    salon.alternatives = [at(tomorrow(), 11), at(tomorrow(), 9)]
    t = make_tracker("affirm", slots={**BOOKING, "date": tomorrow().isoformat()})
    messages, events = await run(ActionBookAppointment(), t)
    [message] = messages
    assert message["response"] == "utter_slot_taken"
    assert message["menu"].splitlines()[0].endswith("9:00 am")
    menu = slots_of(events)["last_menu"]
    assert menu["kind"] == "slots" and menu["variant_id"] == "11"
    assert menu["ids"] == [f"{tomorrow().isoformat()}T09:00", f"{tomorrow().isoformat()}T11:00"]
    assert "appointment_id" not in slots_of(events)


async def test_a_declined_booking_books_nothing(salon):
    t = make_tracker("deny", slots={**BOOKING, "booking_confirmed": False,
                                    "date": tomorrow().isoformat()})
    messages, events = await run(ActionBookAppointment(), t)
    assert messages[0]["response"] == "utter_booking_not_made"
    assert salon.posted("/v1/appointments") == []
    assert slots_of(events)["selected_service"] is None


async def test_booking_when_the_backend_is_down_keeps_the_choice(salon):
    salon.status = 502
    t = make_tracker("affirm", slots={**BOOKING, "date": tomorrow().isoformat()})
    messages, events = await run(ActionBookAppointment(), t)
    assert messages[0]["response"] == "utter_backend_unavailable"
    assert slots_of(events) == {"booking_confirmed": None}


# --- status and cancelling -----------------------------------------------------------------

async def test_status_lists_upcoming_bookings(salon):
    salon.add_appointment(3, tomorrow(), 14)
    messages, events = await run(ActionAppointmentStatus(),
                                 make_tracker("check_appointment_status", language="sw"))
    [message] = messages
    assert message["response"] == "utter_appointments"
    assert message["lines"].endswith("saa nane mchana (14:00)")
    assert "Haircut (Gents cut)" in message["lines"]
    query = [r for r in salon.requests if r["path"] == "/v1/appointments"][0]["query"]
    assert query["status"] == "booked"
    assert datetime.fromisoformat(query["from"]).utcoffset() == timedelta(0)


async def test_status_without_bookings(salon):
    messages, _ = await run(ActionAppointmentStatus(), make_tracker("check_appointment_status"))
    assert messages[0]["response"] == "utter_no_appointments"


async def test_cancel_the_only_booking_after_a_yes(salon):
    booked = salon.add_appointment(1, tomorrow(), 10)
    messages, events = await run(ActionCancelAppointment(), make_tracker("cancel_appointment"))
    assert messages[0]["response"] == "utter_confirm_cancel_appointment"
    pending = slots_of(events)["pending_confirmation"]
    assert pending["kind"] == "cancel_appointment" and pending["id"] == str(booked["id"])
    assert salon.posted(f"/v1/appointments/{booked['id']}/cancel") == []

    messages, events = await run(ActionConfirm(), make_tracker(
        "affirm", slots={"pending_confirmation": pending}))
    assert messages[0]["response"] == "utter_appointment_cancelled"
    assert "Box Braids" in messages[0]["what"]
    [post] = salon.posted(f"/v1/appointments/{booked['id']}/cancel")
    assert post["headers"]["X-CUSTOMER-REF"] == REF
    assert booked["status"] == "cancelled"

    messages, _ = await run(ActionConfirm(), make_tracker(
        "affirm", slots={"pending_confirmation": pending}))
    assert messages[0]["response"] == "utter_appointment_already_cancelled"


async def test_cancel_one_of_several_by_menu(salon):
    salon.add_appointment(1, tomorrow(), 10)
    second = salon.add_appointment(3, tomorrow() + timedelta(days=1), 14)
    messages, events = await run(ActionCancelAppointment(), make_tracker("cancel_appointment"))
    assert messages[0]["response"] == "utter_which_appointment_to_cancel"
    menu = slots_of(events)["last_menu"]
    assert menu["kind"] == "appointments" and len(menu["ids"]) == 2
    t = make_tracker("select_option", ents(option="2"), slots={"last_menu": menu})
    messages, events = await run(ActionSelectOption(), t)
    assert messages[0]["response"] == "utter_confirm_cancel_appointment"
    assert slots_of(events)["pending_confirmation"]["id"] == str(second["id"])


async def test_cancel_names_the_booking_by_service(salon):
    salon.add_appointment(1, tomorrow(), 10)
    haircut = salon.add_appointment(3, tomorrow(), 14)
    t = make_tracker("cancel_appointment", ents(service="haircut"))
    messages, events = await run(ActionCancelAppointment(), t)
    assert messages[0]["response"] == "utter_confirm_cancel_appointment"
    assert slots_of(events)["pending_confirmation"]["id"] == str(haircut["id"])


async def test_a_failed_service_match_is_said_or_falls_back_to_the_whole_list(salon):
    salon.match_status = 503
    messages, events = await run(ActionShowServices(), make_tracker(entities=ents(service="x")))
    assert [m["response"] for m in messages] == ["utter_backend_unavailable"] and events == []
    salon.add_appointment(1, tomorrow(), 10)
    salon.add_appointment(3, tomorrow(), 14)
    messages, events = await run(ActionCancelAppointment(),
                                 make_tracker("cancel_appointment", ents(service="haircut")))
    assert messages[0]["response"] == "utter_which_appointment_to_cancel"
    assert len(slots_of(events)["last_menu"]["ids"]) == 2


async def test_cancel_without_bookings(salon):
    messages, _ = await run(ActionCancelAppointment(), make_tracker("cancel_appointment"))
    assert messages[0]["response"] == "utter_no_appointments_to_cancel"


async def test_cancel_confirmed_while_the_backend_is_down(salon):
    salon.status = 500
    pending = {"kind": "cancel_appointment", "id": "5", "what": "Haircut"}
    messages, _ = await run(ActionConfirm(), make_tracker(
        "affirm", slots={"pending_confirmation": pending}))
    assert messages[0]["response"] == "utter_backend_unavailable"


async def test_availability_remembers_the_variant_only_when_chosen(salon):
    t = make_tracker("check_availability", ents(service="box braids", date="kesho"))
    _, events = await run(ActionCheckAvailability(), t)
    assert slots_of(events)["selected_service"] == "1"
    assert slots_of(events)["selected_service_variant"] is None
    assert slots_of(events)["last_menu"]["variant_id"] == "11"  # listed for the first one
    t = make_tracker("check_availability", ents(service="box braids", date="kesho"),
                     text="free for box braids waist length tomorrow?")
    _, events = await run(ActionCheckAvailability(), t)
    assert slots_of(events)["selected_service_variant"] == "12"


async def test_form_reads_a_service_typed_without_an_entity_when_asked(salon):
    t = make_tracker("inform", text="kunyoa tu", slots={"requested_slot": "selected_service"})
    _, events = await validate(t)
    assert slots_of(events)["selected_service"] == "3"
    t = make_tracker("deny", text="hapana", slots={"requested_slot": "selected_service"})
    _, events = await validate(t)
    assert events == []


async def test_form_narrows_several_days_with_a_list(salon):
    today = local_today()
    monday = today + timedelta(days=7 - today.weekday())
    salon.free[41] = [at(monday + timedelta(days=d), h) for d in range(5) for h in (9, 15)]
    t = make_tracker("inform", ents(date="wiki ijayo"), text="wiki ijayo",
                     slots={"selected_service": "4", "selected_service_variant": "41",
                            "requested_slot": "date"})
    messages, events = await validate(t)
    assert messages[0]["response"] == "utter_pick_a_slot"
    filled = slots_of(events)
    assert filled["date"] is None and filled["time"] is None
    assert filled["last_menu"]["kind"] == "slots" and len(filled["last_menu"]["ids"]) == 8
    assert filled["last_menu"]["ids"][0] == f"{monday.isoformat()}T09:00"


async def test_form_day_without_free_times_offers_later_ones(salon):
    later = tomorrow() + timedelta(days=3)
    salon.free[41] = [at(later, 9)]
    t = make_tracker("inform", ents(date="kesho"), text="kesho",
                     slots={"selected_service": "4", "selected_service_variant": "41",
                            "requested_slot": "date"})
    messages, events = await validate(t)
    assert messages[0]["response"] == "utter_no_slots_on_day"
    assert slots_of(events)["date"] is None
    assert slots_of(events)["last_menu"]["ids"] == [f"{later.isoformat()}T09:00"]


# --- the form as rasa runs it ----------------------------------------------------------------

async def test_rasa_runs_the_booking_form_through_taken_time_to_a_booking(salon):
    """rasa's own FormAction (activation, prefilled validation, asks, submit) against these
    actions in-process: a day and time in Swahili words, a variant, a taken time, a pick, yes."""
    import inspect

    from rasa.core.actions.action import action_for_name_or_text
    from rasa.core.actions.forms import FormAction
    from rasa.core.channels import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa_sdk.executor import ActionExecutor

    import actions.language

    executor = ActionExecutor()
    for module in (appointments, asks, availability, booking, browse, booking_form,
                   actions.language):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (cls.__module__ == module.__name__
                    and cls.__name__.startswith(("Action", "Validate"))):
                executor.register_action(cls)

    class InProcess:
        url, kwargs = "in-process", {}

        async def request(self, **kwargs: Any) -> Any:
            return await executor.run(kwargs["json"])

    domain = Domain.load(str(Path(__file__).parents[2] / "domain"))
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    tracker = DialogueStateTracker.from_events(f"salon:{REF}", [ActionExecuted("action_listen")],
                                               domain.slots)
    tracker.update(SlotSet("language", "sw"))
    form = FormAction("booking_form", InProcess())
    said: List[List[str]] = []

    async def turn(text: str, intent: str, **entities: str) -> None:
        tracker.update(UserUttered(text, {"name": intent, "confidence": 1.0}, [
            {"entity": k, "value": v, "start": 0, "end": len(v)} for k, v in entities.items()],
            message_id=f"m{len(said)}"))
        events = await form.run(CollectingOutputChannel(), nlg, tracker, domain)
        tracker.update(ActionExecuted("booking_form"))
        for event in events:
            tracker.update(event, domain)
        said.append([e.text for e in events if isinstance(e, BotUttered)])
        if tracker.active_loop_name:
            tracker.update(ActionExecuted("action_listen"))

    await turn("nataka kunyoa kesho saa nne asubuhi", "book_appointment",
               service="kunyoa", date="kesho", time="saa nne asubuhi")
    assert said[-1][0].startswith("Ungependa *Haircut* ipi?")
    assert tracker.get_slot("requested_slot") == "selected_service_variant"
    await turn("ya pili", "select_option", option="2")
    assert "saa nne asubuhi (10:00)" in said[-1][0] and said[-1][0].startswith("Miadi yako")
    await turn("saa moja jioni basi", "inform", time="saa moja jioni")
    assert said[-1][0].startswith("Samahani") and "(19:00) haiko wazi" in said[-1][0]
    assert tracker.get_slot("time") is None and tracker.get_slot("requested_slot") == "time"
    await turn("ya tano", "select_option", option="5")
    assert tracker.get_slot("time") == "16:00"
    await turn("ndiyo", "affirm")
    assert tracker.active_loop_name is None and tracker.get_slot("booking_confirmed") is True

    book = action_for_name_or_text("action_book_appointment", domain, InProcess())
    events = await book.run(CollectingOutputChannel(), nlg, tracker, domain)
    [post] = salon.posted("/v1/appointments")
    assert post["json"] == {"service_variant_id": 32,
                            "starts_at": f"{tomorrow().isoformat()}T16:00"}
    [text] = [e.text for e in events if isinstance(e, BotUttered)]
    assert text.startswith("Miadi imewekwa ✅") and "saa kumi jioni (16:00)" in text


async def test_a_time_that_is_no_longer_bookable_offers_fresh_ones(salon):
    salon.book_status = 400
    t = make_tracker("affirm", slots={**BOOKING, "date": tomorrow().isoformat()})
    messages, events = await run(ActionBookAppointment(), t)
    assert messages[0]["response"] == "utter_slot_taken"
    assert slots_of(events)["last_menu"]["ids"] == [
        f"{tomorrow().isoformat()}T{h}" for h in ("09:00", "10:00", "11:00")]


async def test_slots_are_shown_in_the_tenants_timezone(salon):
    salon.timezone = "Africa/Lagos"  # two hours behind Nairobi
    t = make_tracker("check_availability", ents(service="shoe shine", date="kesho"))
    messages, events = await run(ActionCheckAvailability(), t)
    assert messages[0]["menu"].splitlines()[0].endswith("7:00 am")
    assert slots_of(events)["last_menu"]["ids"][0].endswith("T07:00")


async def test_a_time_on_any_day_lists_that_time_on_each_day(salon):
    t = make_tracker("check_availability", ents(service="shoe shine", time="10am"),
                     text="when are you free at 10am for a shoe shine")
    messages, events = await run(ActionCheckAvailability(), t)
    assert messages[0]["response"] == "utter_available_slots"
    assert slots_of(events)["last_menu"]["ids"] == [
        f"{(tomorrow() + timedelta(days=d)).isoformat()}T10:00" for d in (0, 1)]


async def test_day_and_time_split_over_entities_or_missed_by_them_are_read(salon):
    # "on" + "saturday" as two date entities; "asubuhi" missed by the extractor.
    t = make_tracker("check_availability",
                     ents(service="shoe shine") + [{"entity": "date", "value": "on"},
                                                   {"entity": "date", "value": "kesho"}],
                     text="mko wazi kesho asubuhi kwa shoe shine?")
    messages, events = await run(ActionCheckAvailability(), t)
    assert messages[0]["response"] == "utter_available_slots"
    assert slots_of(events)["last_menu"]["ids"] == [
        f"{tomorrow().isoformat()}T{h}" for h in ("09:00", "10:00", "11:00")]


@pytest.mark.parametrize("text, names", [
    ("nataka kusuka kesho", ["Box Braids", "Knotless Braids"]), ("where are you located", []),
])
async def test_services_named_among_other_words(salon, text, names):
    assert [s["name"] for s in await services_in_text("salon", text, SERVICES)] == names
    [asked] = [r["query"] for r in salon.requests if r["path"] == "/v1/services/match"]
    assert asked["mode"] == "message"


async def test_form_start_reads_a_service_the_extractor_missed(salon):
    t = make_tracker("book_appointment", ents(date="kesho"), text="nataka kunyoa kesho")
    _, events = await validate(t)
    assert slots_of(events)["selected_service"] == "3"
    t = make_tracker("book_appointment", text="nataka kusuka kesho")
    _, events = await validate(t)
    assert "selected_service" not in slots_of(events)  # two braids: the ask lists them
    from actions.bookings.asks import ActionAskSelectedService
    messages, events = await run(ActionAskSelectedService(), t)
    assert slots_of(events)["last_menu"]["ids"] == [1, 2]


async def test_a_word_tagged_as_a_service_by_mistake_does_not_hide_the_service_named(salon):
    # The extractor tagged "kuweka" (to set) as well as the service: the service still counts.
    t = make_tracker("book_appointment", [
        {"entity": "service", "value": "kuweka"}, {"entity": "service", "value": "knotless braids"},
        {"entity": "date", "value": "jumamosi"}],
        text="nataka kuweka miadi ya knotless braids jumamosi saa nne asubuhi", language="sw")
    _, events = await validate(t)
    assert slots_of(events)["selected_service"] == "2"


async def test_status_and_cancelling_list_a_booking_held_for_its_deposit(salon):
    booked = salon.add_appointment(3, tomorrow(), 14)
    held = salon.add_appointment(1, tomorrow(), 10)
    held.update(status="pending_payment", deposit_minor=50000, order_id=512,
                hold_until=(datetime.now(UTC) + timedelta(minutes=10)).isoformat())
    messages, _ = await run(ActionAppointmentStatus(),
                            make_tracker("check_appointment_status", language="sw"))
    lines = messages[0]["lines"].splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"• #{held['id']} Box Braids")
    assert lines[0].endswith("(imeshikwa: inasubiri amana, oda #512)")
    assert lines[1].startswith(f"• #{booked['id']} Haircut") and "imeshikwa" not in lines[1]
    asked = [r["query"]["status"] for r in salon.requests if r["path"] == "/v1/appointments"]
    assert asked == ["booked", "pending_payment"]
    messages, events = await run(ActionCancelAppointment(), make_tracker("cancel_appointment"))
    assert messages[0]["response"] == "utter_which_appointment_to_cancel"
    assert slots_of(events)["last_menu"]["ids"] == [held["id"], booked["id"]]
