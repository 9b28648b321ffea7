"""The tenant's wall clock: its local time and whether its quiet hours are on.

Quiet hours are stored as local "HH:MM" strings ({"start": "21:00", "end": "07:00"}); the window
may cross midnight. The backend validates them (domain/tenant_settings.py); the channel reads them
to tell a customer asking for a person when the team is back.
"""
from __future__ import annotations

from datetime import datetime, time, timezone
from typing import Mapping, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Africa/Nairobi"


def zone(name: Optional[str]) -> ZoneInfo:
    """The tenant's timezone; Nairobi when unset or unknown to this machine."""
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def local_now(timezone_name: Optional[str], utc_now: Optional[datetime] = None) -> datetime:
    """The tenant's wall-clock time (aware), now or at `utc_now`."""
    return (utc_now or datetime.now(timezone.utc)).astimezone(zone(timezone_name))


def in_quiet_hours(quiet_hours: Optional[Mapping[str, str]], local: time) -> bool:
    """Whether a local clock time falls in [start, end), across midnight when end < start."""
    if not quiet_hours or not quiet_hours.get("start") or not quiet_hours.get("end"):
        return False
    start, end = time.fromisoformat(quiet_hours["start"]), time.fromisoformat(quiet_hours["end"])
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_until(quiet_hours: Optional[Mapping[str, str]], timezone_name: Optional[str],
                utc_now: Optional[datetime] = None) -> Optional[str]:
    """"07:00" (the end, local time) while quiet hours last, else None."""
    if not quiet_hours or not in_quiet_hours(quiet_hours,
                                             local_now(timezone_name, utc_now).time()):
        return None
    return str(quiet_hours["end"])
