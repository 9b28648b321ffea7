"""The merchant's availability: an inactive subscription replaces the turn with a notice; quiet
hours only change what a handoff promises (the assistant itself answers at any hour).

A suspended tenant's customers are told the shop cannot take messages here (the message is still
logged for the merchant). During quiet hours the turn carries `quiet_until` in its metadata, so a
request for a person is answered with when the team is back.
"""
from __future__ import annotations

from datetime import datetime, time, timezone
from typing import Any, Dict, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.components.language import detect

INACTIVE = {
    "en": "Sorry, {name} can't take orders or questions on WhatsApp right now. Please contact the "
          "shop directly.",
    "sw": "Samahani, {name} haiwezi kupokea oda wala maswali kwenye WhatsApp kwa sasa. Tafadhali "
          "wasiliana na duka moja kwa moja.",
    "sheng": "Pole, {name} haiezi kuchukua oda ama maswali kwa WhatsApp sa hii. Tafadhali cheki na "
             "duka moja kwa moja.",
}
def reply_language(text: str, fallback: str) -> str:
    detected = detect(text).language
    if detected in INACTIVE:
        return detected
    return fallback if fallback in INACTIVE else "en"


def local_now(timezone_name: Optional[str], now: Optional[datetime] = None) -> datetime:
    now = now or datetime.now(timezone.utc)
    try:
        return now.astimezone(ZoneInfo(timezone_name or "Africa/Nairobi"))
    except (ZoneInfoNotFoundError, ValueError):
        return now.astimezone(ZoneInfo("Africa/Nairobi"))


def in_quiet_hours(quiet_hours: Optional[Dict[str, Any]], local: datetime) -> bool:
    """{"start": "21:00", "end": "07:00"} local; the window may cross midnight."""
    if not quiet_hours or not quiet_hours.get("start") or not quiet_hours.get("end"):
        return False
    start, end = time.fromisoformat(quiet_hours["start"]), time.fromisoformat(quiet_hours["end"])
    now = local.time().replace(tzinfo=None)
    if start <= end:
        return start <= now < end
    return now >= start or now < end


def quiet_until(quiet_hours: Optional[Dict[str, Any]], timezone_name: Optional[str],
                now: Optional[datetime] = None) -> Optional[str]:
    """"07:00" (the end, local time) while quiet hours last, else None."""
    if not in_quiet_hours(quiet_hours, local_now(timezone_name, now)):
        return None
    return str(quiet_hours["end"])  # type: ignore[index]
