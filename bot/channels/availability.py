"""Messages that replace a turn: the merchant's subscription is inactive, or it is quiet hours.

A suspended tenant's customers are told the shop cannot take messages here; during the merchant's
quiet hours the customer is told when the shop answers again (once per night), the message is kept
for the merchant (it was logged as inbound) and the assistant does not run.
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
QUIET = {
    "en": "Thanks for your message! {name} is closed for the night; we'll reply after {until}. "
          "Your message is saved.",
    "sw": "Asante kwa ujumbe wako! {name} imefungwa kwa usiku huu; tutakujibu baada ya saa {until}. "
          "Ujumbe wako umehifadhiwa.",
    "sheng": "Asante kwa message yako! {name} imefunga kwa usiku; tutakujibu baada ya {until}. "
             "Message yako imesave.",
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


def quiet_night(quiet_hours: Dict[str, Any], local: datetime) -> str:
    """The date the current quiet period started (one notice per customer per period)."""
    start = time.fromisoformat(quiet_hours["start"])
    end = time.fromisoformat(quiet_hours["end"])
    day = local.date()
    if start > end and local.time().replace(tzinfo=None) < end:
        day = day.fromordinal(day.toordinal() - 1)
    return day.isoformat()
