"""A tenant's settings: status, languages, timezone, business and quiet hours, feature flags.

The marshmallow schemas here are the one definition of the stored JSON shapes; the REST API
nests them and the services load through them, so nothing unvalidated reaches the database.
Times are local "HH:MM" strings in the tenant's timezone.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time
from functools import cache
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from backend.domain.errors import InvalidInput
from backend.domain.money import MAX_MINOR
from backend.domain.notifications import DEFAULT_CART_REMINDER_HOURS, SWITCHES

TENANT_STATUSES = ("trial", "active", "suspended")
LANGUAGES = ("en", "sw", "sheng")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
LLM_EXHAUSTED_ACTIONS = ("fallback_to_rules", "handoff")
HH_MM = r"^([01]\d|2[0-3]):[0-5]\d$"
END_OF_DAY = "24:00"  # a closing time only: open until midnight
MAX_CART_REMINDER_HOURS = 14 * 24  # a cart older than the dormancy line is not worth a word


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_timezone(name: str) -> bool:
    """An IANA name such as Africa/Nairobi (not 'EAT' or '+03:00')."""
    return name in _timezones()


def _minutes(hh_mm: str) -> int:
    hours, minutes = hh_mm.split(":")
    return int(hours) * 60 + int(minutes)


def _clock(hh_mm: str) -> time:
    return time.max if hh_mm == END_OF_DAY else time.fromisoformat(hh_mm)


class OpeningSchema(Schema):
    open = fields.Str(required=True, validate=validate.Regexp(HH_MM, error="Use HH:MM."))
    close = fields.Str(
        required=True,
        validate=validate.Regexp(rf"{HH_MM}|^{END_OF_DAY}$", error="Use HH:MM (or 24:00)."),
    )

    @validates_schema
    def _close_after_open(self, data: dict[str, str], **_: Any) -> None:
        if _minutes(data["close"]) <= _minutes(data["open"]):
            raise ValidationError("close must be after open on the same day.", "close")


class BusinessHoursSchema(Schema):
    """Every weekday: {"open": "08:00", "close": "18:00"}, or null when closed."""

    monday = fields.Nested(OpeningSchema, required=True, allow_none=True)
    tuesday = fields.Nested(OpeningSchema, required=True, allow_none=True)
    wednesday = fields.Nested(OpeningSchema, required=True, allow_none=True)
    thursday = fields.Nested(OpeningSchema, required=True, allow_none=True)
    friday = fields.Nested(OpeningSchema, required=True, allow_none=True)
    saturday = fields.Nested(OpeningSchema, required=True, allow_none=True)
    sunday = fields.Nested(OpeningSchema, required=True, allow_none=True)


class QuietHoursSchema(Schema):
    """No business-initiated messages from start to end; 21:00–07:00 crosses midnight
    (kit/clock.py tells whether they are on)."""

    start = fields.Str(required=True, validate=validate.Regexp(HH_MM, error="Use HH:MM."))
    end = fields.Str(required=True, validate=validate.Regexp(HH_MM, error="Use HH:MM."))

    @validates_schema
    def _not_empty(self, data: dict[str, str], **_: Any) -> None:
        if data["start"] == data["end"]:
            raise ValidationError("start and end must differ.", "end")


def _automatic_messages(**kwargs: Any) -> fields.Dict:
    return fields.Dict(
        keys=fields.Str(validate=validate.OneOf(SWITCHES)), values=fields.Bool(),
        metadata={"description": "Automatic messages turned on (true) or off (false) by event "
                                 "(README: every message the platform sends automatically); "
                                 "an event not listed is on"},
        **kwargs)


def _cart_reminder_hours() -> fields.Integer:
    return fields.Integer(
        strict=True, validate=validate.Range(min=1, max=MAX_CART_REMINDER_HOURS),
        metadata={"description": "Hours a cart stays untouched before the customer's one "
                                 "reminder (automatic message cart_reminder); default "
                                 f"{DEFAULT_CART_REMINDER_HOURS}"})


class FeaturesSchema(Schema):
    rule_based_intents = fields.Bool(required=True)
    mpesa_stk = fields.Bool(required=True)
    card_payments = fields.Bool(required=True)
    llm_budget_minor_per_month = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=0, max=MAX_MINOR),
        metadata={"description": "Monthly LLM spend allowed, in minor units of the currency"},
    )
    llm_budget_exhausted_action = fields.Str(
        required=True, validate=validate.OneOf(LLM_EXHAUSTED_ACTIONS)
    )
    automatic_messages = _automatic_messages()
    cart_reminder_hours = _cart_reminder_hours()
    interactive_messages = fields.Bool(
        load_default=True,
        metadata={"description": "Menus as WhatsApp list pickers and yes/no questions as reply "
                                 "buttons (off: numbered text, as always where interactive "
                                 "cannot be sent)"})


class FeaturesPatchSchema(Schema):
    """The flags a PATCH may change; the others keep their value."""

    rule_based_intents = fields.Bool()
    mpesa_stk = fields.Bool()
    card_payments = fields.Bool()
    llm_budget_minor_per_month = fields.Integer(strict=True,
                                                validate=validate.Range(min=0, max=MAX_MINOR))
    llm_budget_exhausted_action = fields.Str(validate=validate.OneOf(LLM_EXHAUSTED_ACTIONS))
    automatic_messages = _automatic_messages()
    cart_reminder_hours = _cart_reminder_hours()
    interactive_messages = fields.Bool()


def default_business_hours() -> dict[str, Any]:
    weekday = {"open": "08:00", "close": "18:00"}
    return {**{day: dict(weekday) for day in WEEKDAYS[:6]}, "sunday": None}


def default_features() -> dict[str, Any]:
    return {
        "rule_based_intents": True,
        "mpesa_stk": True,
        "card_payments": False,
        "llm_budget_minor_per_month": 0,  # no LLM spend until the merchant sets a budget
        "llm_budget_exhausted_action": "fallback_to_rules",
        "interactive_messages": True,
    }


def _load(schema: Schema, value: Any, field: str) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema.load(value)
    except ValidationError as error:
        raise InvalidInput(f"{field} is not valid", {field: [str(error.messages)]}) from None
    return loaded


def load_business_hours(value: Any) -> dict[str, Any]:
    return _load(BusinessHoursSchema(), value, "business_hours")


def load_quiet_hours(value: Any) -> dict[str, str] | None:
    return None if value is None else _load(QuietHoursSchema(), value, "quiet_hours")


def load_features(value: Any, current: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge changed flags into the current ones (defaults when none) and validate the whole."""
    merged = {**default_features(), **(current or {}), **(value or {})}
    # Switches merge one by one: turning one message off leaves the others as they were.
    before, after = ((source or {}).get("automatic_messages") or {} for source in (current, value))
    if isinstance(before, dict) and isinstance(after, dict):  # else the schema says what is wrong
        merged.pop("automatic_messages", None)
        if before or after:
            merged["automatic_messages"] = {**before, **after}
    return _load(FeaturesSchema(), merged, "features")


def opening_hours(business_hours: dict[str, Any], weekday: int) -> tuple[time, time] | None:
    """(open, close) local times on a weekday (0 = Monday), or None when closed.

    A close of 24:00 comes back as time.max (open until midnight).
    """
    day = business_hours.get(WEEKDAYS[weekday])
    if not day:
        return None
    return _clock(day["open"]), _clock(day["close"])


def is_open(business_hours: dict[str, Any], local: datetime) -> bool:
    """Whether `local` (a datetime in the tenant's timezone) falls within business hours."""
    hours = opening_hours(business_hours, local.weekday())
    if hours is None:
        return False
    opens, closes = hours
    return opens <= local.time() and (local.time() < closes or closes == time.max)
