"""The day and time the customer asks for, and how the booking form's slots store them: date
"YYYY-MM-DD" (or "first/last" for several days until a day is picked), time "HH:MM" (or
"HH:MM-HH:MM" for a part of the day until a time is picked)."""
from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Optional

from rasa_sdk import Tracker

from actions.dates import DateSpan, TimeSpan, parse_date, parse_time


def encode_date(days: DateSpan) -> str:
    return days.first.isoformat() if days.single else f"{days.first}/{days.last}"


def decode_date(value: Any) -> Optional[DateSpan]:
    try:
        first, _, last = str(value).partition("/")
        return DateSpan(date.fromisoformat(first), date.fromisoformat(last or first))
    except ValueError:
        return None


def encode_time(times: TimeSpan) -> str:
    if times.exact:
        return times.start.strftime("%H:%M")
    return f"{times.start.strftime('%H:%M')}-{times.end.strftime('%H:%M')}"


def decode_time(value: Any) -> Optional[TimeSpan]:
    try:
        start, _, end = str(value).partition("-")
        first = time.fromisoformat(start)
        if end:
            return TimeSpan(first, time.fromisoformat(end), False)
        return TimeSpan(first, first, True)
    except ValueError:
        return None


# Messages whose whole text may name a day or time the entity extractor missed.
WHEN_INTENTS = ("check_availability", "book_appointment", "inform")


def _when_text(tracker: Tracker, name: str, from_text: bool) -> str:
    """The `date`/`time` entities of the message together ("on" + "saturday"), else its text
    when `from_text` (or when it answers what the bot asked)."""
    values = [str(v) for v in tracker.get_latest_entity_values(name)]
    if values:
        return " ".join(values)
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    return tracker.latest_message.get("text", "") if from_text or intent in WHEN_INTENTS else ""


def asked_days(tracker: Tracker, now: datetime, from_text: bool = False) -> Optional[DateSpan]:
    text = _when_text(tracker, "date", from_text)
    return parse_date(text, now) if text else None


def asked_times(tracker: Tracker, now: datetime, from_text: bool = False) -> Optional[TimeSpan]:
    text = _when_text(tracker, "time", from_text)
    return parse_time(text, now) if text else None
