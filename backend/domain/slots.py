"""Bookable slots: windows (weekly or dated, local times) cut by duration and opening hours."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from backend.domain.errors import InvalidInput, Unprocessable

MAX_RANGE_DAYS = 62


@dataclass(frozen=True)
class Window:
    id: int
    weekday: int | None  # 0 = Monday … 6 = Sunday
    on_date: date | None
    starts_at: time
    ends_at: time
    capacity: int


@dataclass(frozen=True)
class Slot:
    window_id: int
    starts_at: datetime  # UTC
    ends_at: datetime
    capacity: int
    remaining: int


def validate_window(weekday: int | None, on_date: date | None, starts: time, ends: time,
                    capacity: int) -> None:
    errors: dict[str, list[str]] = {}
    if (weekday is None) == (on_date is None):
        errors["weekday"] = ["Give either weekday (0 = Monday … 6 = Sunday) or date, not both."]
    elif weekday is not None and not 0 <= weekday <= 6:
        errors["weekday"] = ["Must be between 0 (Monday) and 6 (Sunday)."]
    if ends <= starts:
        errors["end"] = ["Must be after start."]
    if capacity < 1:
        errors["capacity"] = ["Must be at least 1."]
    if errors:
        raise Unprocessable("The availability window is not valid", errors)


def windows_on(day: date, windows: Sequence[Window]) -> list[Window]:
    """Windows for one date replace the weekly ones on that date (holidays, special days)."""
    dated = [w for w in windows if w.on_date == day]
    return dated or [w for w in windows if w.on_date is None and w.weekday == day.weekday()]


def candidate_slots(
    first: date,
    last: date,
    windows: Sequence[Window],
    duration: timedelta,
    tz: ZoneInfo,
    opening: Callable[[int], tuple[time, time] | None] | None,
) -> list[tuple[Window, datetime, datetime]]:
    """Every (window, start, end) from `first` to `last` inclusive, starts in UTC.

    Slots start at the window's start and follow each other every `duration`; a slot must end
    within its window and, when the tenant has business hours, within that day's opening hours.
    """
    if last < first:
        raise InvalidInput("'to' must not be before 'from'")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise InvalidInput(f"Ask for at most {MAX_RANGE_DAYS} days at a time")
    found: list[tuple[Window, datetime, datetime]] = []
    day = first
    while day <= last:
        hours = opening(day.weekday()) if opening else None
        closed = opening is not None and hours is None
        for window in ([] if closed else windows_on(day, windows)):
            start = datetime.combine(day, window.starts_at, tz)
            end_of_window = datetime.combine(day, window.ends_at, tz)
            if hours is not None:
                start = max(start, datetime.combine(day, hours[0], tz))
                if hours[1] != time.max:
                    end_of_window = min(end_of_window, datetime.combine(day, hours[1], tz))
            while start + duration <= end_of_window:
                found.append((window, start.astimezone(UTC), (start + duration).astimezone(UTC)))
                start += duration
        day += timedelta(days=1)
    found.sort(key=lambda item: (item[1], item[0].id))
    return found


def overlapping(start: datetime, end: datetime, booked: Iterable[tuple[datetime, datetime]]) -> int:
    """How many booked intervals overlap [start, end)."""
    return sum(1 for b_start, b_end in booked if b_start < end and start < b_end)
