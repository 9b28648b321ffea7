"""Days and times as customers write them in English, Swahili and Sheng, in the tenant's local time.

Pure functions: every relative word ("kesho", "next friday") is resolved against a `now` the caller
passes (the tenant's local time), so nothing here reads the clock.

Swahili counts hours from sunrise and sunset: "saa nne asubuhi" is 10:00 (Swahili hour + 6, mod 12),
"saa tisa alasiri" 15:00, "saa mbili usiku" 20:00. Without a part of day a Swahili hour is read as a
business hour ("saa tatu" = 09:00, "saa kumi" = 16:00); "saa 4" is Swahili (10:00) unless it carries
am/pm ("saa 10am") or is a 24-hour time ("saa 14:30").
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Dict, Optional, Tuple

from kit import numbers

END_OF_DAY = time(23, 59)


@dataclass(frozen=True)
class DateSpan:
    """One day (first == last) or several ("wiki ijayo", "this weekend"), inclusive."""
    first: date
    last: date

    @property
    def single(self) -> bool:
        return self.first == self.last


@dataclass(frozen=True)
class TimeSpan:
    """An exact time ("10am": start == end, exact) or a part of the day ("asubuhi": a range)."""
    start: time
    end: time
    exact: bool

    def contains(self, moment: time) -> bool:
        if self.exact:
            return moment == self.start
        return self.start <= moment < self.end or (self.end == END_OF_DAY and moment >= self.start)


def exact(hour: int, minute: int = 0) -> TimeSpan:
    return TimeSpan(time(hour, minute), time(hour, minute), True)


def span(start: Tuple[int, int], end: Tuple[int, int]) -> TimeSpan:
    return TimeSpan(time(*start), time(*end), False)


def normalise(text: str) -> str:
    """Lower case, no accents, apostrophes dropped, other punctuation (but : / - .) as spaces."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"['’`]", "", text)
    text = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", text)
    text = re.sub(r"[^\w:/.\-]+", " ", text)
    text = re.sub(r"(?<!\d)[.\-](?!\d)", " ", text)
    return re.sub(r"\s+", " ", text).strip()


# --- days ------------------------------------------------------------------------------------

WEEKDAYS: Dict[str, int] = {
    **dict.fromkeys(["monday", "mon", "mondei", "jumatatu", "jtatu"], 0),
    **dict.fromkeys(["tuesday", "tue", "tues", "tuesdei", "jumanne", "jnne"], 1),
    **dict.fromkeys(["wednesday", "wed", "wednesdei", "wenesday", "jumatano", "jtano"], 2),
    **dict.fromkeys(["thursday", "thu", "thur", "thurs", "thursdei", "alhamisi", "alamisi"], 3),
    **dict.fromkeys(["friday", "fri", "fridei", "frai", "ijumaa", "ijuma"], 4),
    **dict.fromkeys(["saturday", "sat", "saturdei", "satday", "jumamosi", "jumamos", "jmosi",
                     "sato", "satoo", "satuo", "satie"], 5),
    **dict.fromkeys(["sunday", "sun", "sundei", "sande", "sunde", "jumapili", "jumapil",
                     "jpili"], 6),
}
MONTHS: Dict[str, int] = {
    **dict.fromkeys(["january", "jan", "januari"], 1),
    **dict.fromkeys(["february", "feb", "februari"], 2),
    **dict.fromkeys(["march", "mar", "machi"], 3),
    **dict.fromkeys(["april", "apr", "aprili"], 4),
    **dict.fromkeys(["may", "mei"], 5),
    **dict.fromkeys(["june", "jun", "juni"], 6),
    **dict.fromkeys(["july", "jul", "julai"], 7),
    **dict.fromkeys(["august", "aug", "agosti"], 8),
    **dict.fromkeys(["september", "sep", "sept", "septemba"], 9),
    **dict.fromkeys(["october", "oct", "oktoba"], 10),
    **dict.fromkeys(["november", "nov", "novemba"], 11),
    **dict.fromkeys(["december", "dec", "desemba", "disemba"], 12),
}
NEXT_WORDS = ("next", "ijayo", "ijao", "inayokuja", "inakuja", "coming")
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_ORDINAL = r"(\d{1,2})(?:st|nd|rd|th)?"

RELATIVE_DAYS = [
    (r"\b(?:kesho\s*kutwa|keshokutwa|day after tomorrow|day after tmrw)\b", 2),
    (r"\b(?:kesho|keshoo|tomorrow|tomorow|tommorow|tommorrow|tomoro|tmrw|tmr|tmorrow|2moro"
     r"|2morrow)\b", 1),
    (r"\b(?:leo|today|tonight|tdy|2day|this morning|this afternoon|this evening)\b", 0),
    (r"\b(?:jana|yesterday)\b", -1),
]


def _weekday_text(text: str) -> str:
    """Joins split Swahili day names: "juma mosi" → "jumamosi", "jumaa tatu" → "jumatatu"."""
    return re.sub(r"\bjumaa?\s+(tatu|nne|tano|mosi|pili)\b", r"juma\1", text)


def _day_in_month(day: int, today: date) -> Optional[date]:
    """"the 15th": this month if it has not passed, else next month."""
    year, month = today.year, today.month
    for _ in range(3):
        try:
            candidate = date(year, month, day)
        except ValueError:
            candidate = None
        if candidate and candidate >= today:
            return candidate
        month = month % 12 + 1
        year += month == 1
    return None


def _day_and_month(day: int, month: int, year: Optional[int], today: date) -> Optional[date]:
    if year is not None:
        year = year + 2000 if year < 100 else year
        try:
            return date(year, month, day)
        except ValueError:
            return None
    for candidate_year in (today.year, today.year + 1):
        try:
            candidate = date(candidate_year, month, day)
        except ValueError:
            return None
        if candidate >= today:
            return candidate
    return None


def parse_date(text: str, now: datetime) -> Optional[DateSpan]:
    """The day (or days) `text` names, seen from `now` (the tenant's local time), or None."""
    s = _weekday_text(normalise(text))
    today = now.date()
    if not s:
        return None

    found = re.search(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", s)
    if found:
        try:
            day = date(int(found[1]), int(found[2]), int(found[3]))
            return DateSpan(day, day)
        except ValueError:
            return None
    found = re.search(r"\b(\d{1,2})[/-](\d{1,2})(?:[/-](\d{2,4}))?\b", s)
    if found and 1 <= int(found[2]) <= 12:
        day = _day_and_month(int(found[1]), int(found[2]),
                             int(found[3]) if found[3] else None, today)
        return DateSpan(day, day) if day else None
    found = (re.search(rf"\b{_ORDINAL}\s+(?:of\s+|ya\s+|mwezi\s+)?({_MONTH})\b(?:\s+(\d{{4}}))?", s)
             or re.search(rf"\b({_MONTH})\s+(?:the\s+)?{_ORDINAL}\b(?:\s+(\d{{4}}))?", s))
    if found:
        groups = found.groups()
        if groups[0].isdigit():
            day_text, month_text = groups[0], groups[1]
        else:
            month_text, day_text = groups[0], groups[1]
        day = _day_and_month(int(day_text), MONTHS[month_text],
                             int(groups[2]) if groups[2] else None, today)
        return DateSpan(day, day) if day else None
    found = (re.search(r"\btarehe\s+(\d{1,2})\b", s)
             or re.search(r"\b(\d{1,2})(?:st|nd|rd|th)\b", s)
             or re.search(r"\bthe\s+(\d{1,2})\b(?!\s*(?:am|pm|:))", s))
    if found and 1 <= int(found[1]) <= 31:
        day = _day_in_month(int(found[1]), today)
        return DateSpan(day, day) if day else None

    for pattern, offset in RELATIVE_DAYS:
        if re.search(pattern, s):
            day = today + timedelta(days=offset)
            return DateSpan(day, day)

    next_ = any(re.search(rf"\b{w}\b", s) for w in NEXT_WORDS)
    if re.search(r"\b(?:week\s*end|weekend|wikendi|wikend|wiikend)\b", s):
        saturday = today + timedelta(days=(5 - today.weekday()) % 7)
        if today.weekday() == 6:
            saturday = today - timedelta(days=1)
        if next_:
            saturday += timedelta(days=7)
        return DateSpan(max(saturday, today), saturday + timedelta(days=1))
    count_words = r"(\d{1,2}|two|three|four|five|mbili|tatu|nne|tano)"
    found = (re.search(rf"\bin\s+{count_words}\s+days\b", s)
             or re.search(rf"\bbaada\s+ya\s+siku\s+{count_words}\b", s))
    if found:
        count = found[1]
        ahead = int(count) if count.isdigit() else {**numbers.ENGLISH, **numbers.SWAHILI}[count]
        return DateSpan(today + timedelta(days=ahead), today + timedelta(days=ahead))
    named_day = next((WEEKDAYS[w] for w in s.split() if w in WEEKDAYS), None)
    if re.search(r"\b(?:wiki|week|wk)\b", s):
        monday = today - timedelta(days=today.weekday())
        if next_ and named_day is not None:  # "jumatatu ya wiki ijayo", "friday next week"
            day = monday + timedelta(days=7 + named_day)
            return DateSpan(day, day)
        if next_:
            return DateSpan(monday + timedelta(days=7), monday + timedelta(days=13))
        if re.search(r"\b(?:hii|this)\b", s):
            return DateSpan(today, monday + timedelta(days=6))

    for word in s.split():
        if word in WEEKDAYS:
            ahead = (WEEKDAYS[word] - today.weekday()) % 7
            if next_ and ahead == 0:
                ahead = 7
            day = today + timedelta(days=ahead)
            return DateSpan(day, day)
    return None


# --- times -----------------------------------------------------------------------------------

# Swahili parts of the day, and what they mean alone (a range) and for a Swahili hour.
PARTS_OF_DAY = {
    "alfajiri": span((5, 0), (8, 0)),
    "asubuhi": span((6, 0), (12, 0)), "subuhi": span((6, 0), (12, 0)),
    "mchana": span((12, 0), (16, 0)),
    "alasiri": span((14, 0), (17, 0)),
    "jioni": span((16, 0), (20, 0)),
    "usiku": span((19, 0), (23, 59)),
    "morning": span((6, 0), (12, 0)), "mornin": span((6, 0), (12, 0)),
    "morn": span((6, 0), (12, 0)), "asbh": span((6, 0), (12, 0)),
    "afternoon": span((12, 0), (17, 0)), "aftanun": span((12, 0), (17, 0)),
    "afternun": span((12, 0), (17, 0)), "noonish": span((11, 0), (14, 0)),
    "lunchtime": span((12, 0), (14, 0)), "lunch": span((12, 0), (14, 0)),
    "evening": span((16, 0), (20, 0)), "evenin": span((16, 0), (20, 0)),
    "eve": span((16, 0), (20, 0)),
    "night": span((19, 0), (23, 59)), "tonight": span((17, 0), (23, 59)),
}
_SW_HOUR = rf"(kumi\s+na\s+(?:moja|mbili)|{'|'.join(numbers.SWAHILI)}|\d{{1,2}})"
_AMPM = r"(a\.?m\.?|p\.?m\.?|asubuhi|jioni|usiku|mchana)"


def _sw_number(word: str) -> int:
    word = re.sub(r"\s+", " ", word)
    if word.isdigit():
        return int(word)
    if word.startswith("kumi na "):
        return 10 + numbers.SWAHILI[word[len("kumi na "):]]
    return numbers.SWAHILI[word]


def _part_of_day(s: str) -> Optional[str]:
    for word in s.split():
        if word in PARTS_OF_DAY:
            return word
    if re.search(r"\bin the (?:morning|afternoon|evening)\b", s):
        return re.search(r"\bin the (morning|afternoon|evening)\b", s)[1]
    return None


def swahili_hour(number: int, part: Optional[str]) -> int:
    """24-hour clock hour of Swahili "saa <number>" in a part of the day (None: business hours)."""
    base = (number + 6) % 12  # saa sita → 0 (twelve o'clock), saa moja → 7
    if part in ("asubuhi", "subuhi", "alfajiri", "morning"):
        return 12 if base == 0 and part != "alfajiri" else base
    if part in ("mchana", "alasiri", "jioni", "afternoon", "evening"):
        return base + 12 if base else 12
    if part in ("usiku", "night", "tonight"):
        return base + 12 if base >= 7 else base
    return base if base >= 7 else base + 12  # 07:00 to 18:59


def business_hour(hour: int, part: Optional[str]) -> int:
    """A bare English hour: "at 4" is 16:00, "at 10" 10:00; "7 in the evening" 19:00."""
    if hour >= 13 or hour == 0:
        return hour % 24
    if part in ("morning", "asubuhi", "alfajiri", "subuhi", "mornin", "morn"):
        return hour % 12
    if part is not None:
        return hour % 12 + 12
    return hour if 7 <= hour <= 12 else hour + 12


def _with_ampm(hour: int, marker: Optional[str]) -> Optional[int]:
    if hour > 12 or hour == 0:
        return hour if hour < 24 else None
    if marker is None:
        return None
    marker = marker.replace(".", "")
    if marker in ("am", "asubuhi"):
        return hour % 12
    return hour % 12 + 12


def _swahili_minutes(rest: str) -> Tuple[int, int]:
    """(minutes, hour shift) from "na nusu", "na robo", "kasoro robo", "na dakika 10"."""
    if re.match(r"\s*(?:na\s+)?nusu\b", rest):
        return 30, 0
    if re.match(r"\s*na\s+robo\b", rest):
        return 15, 0
    if re.match(r"\s*kasoro\s+robo\b", rest):
        return 45, -1
    found = re.match(r"\s*na\s+dakika\s+(\d{1,2})\b", rest)
    if found and int(found[1]) < 60:
        return int(found[1]), 0
    return 0, 0


def parse_time(text: str, now: Optional[datetime] = None) -> Optional[TimeSpan]:
    """The time `text` names: exact ("10am", "saa nne asubuhi") or a part of day ("jioni")."""
    s = normalise(text)
    if not s:
        return None
    part = _part_of_day(s)

    if re.search(r"\b(?:saa\s*hii|sa\s*hii|sahii|sai|right now|now|asap)\b", s):
        if now is None:
            return None
        start = now.replace(second=0, microsecond=0).time()
        return TimeSpan(start, min(END_OF_DAY, (now + timedelta(hours=2)).time()), False)
    if re.search(r"\b(?:noon|midday|mid day|12\s*noon)\b", s):
        return exact(12)
    if re.search(r"\bmidnight\b", s):
        return exact(0)

    # After or before a time: "after 4", "baada ya saa nane", "before 11am".
    found = re.search(r"\b(after|from|baada ya|before|kabla ya)\s+(.+)$", s)
    if found:
        words = "|".join(numbers.ENGLISH)
        bare = re.match(rf"(\d{{1,2}}|{words})\b(?!\s*(?:st|nd|rd|th|/|-|:|\.|am|pm))", found[2])
        limit = (exact(business_hour(
                     int(bare[1]) if bare[1].isdigit() else numbers.ENGLISH[bare[1]], part))
                 if bare and (not bare[1].isdigit() or int(bare[1]) <= 23)
                 else parse_time(found[2], now))
        if limit is not None and limit.exact:
            if found[1] in ("after", "from", "baada ya"):
                return TimeSpan(limit.start, END_OF_DAY, False)
            return TimeSpan(time(min(6, limit.start.hour)), limit.start, False)

    # English with am/pm or a 24-hour clock: 10am, 3:30 pm, 14:00, saa 10am.
    found = re.search(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*(a\.?m\.?|p\.?m\.?)(?![a-z])", s)
    if found:
        hour = _with_ampm(int(found[1]), found[3])
        minute = int(found[2] or 0)
        if hour is not None and minute < 60:
            return exact(hour, minute)

    # Swahili: saa nne asubuhi, saa 4, saa kumi na mbili jioni, saa tatu na nusu.
    found = re.search(rf"\bsaa\s+{_SW_HOUR}(?:[:.](\d{{2}}))?\b", s)
    if found:
        number = _sw_number(found[1])
        if number > 12:  # saa 14:30 is a 24-hour clock
            minute = int(found[2] or 0)
            return exact(number, minute) if number < 24 and minute < 60 else None
        if number >= 1:
            minute, shift = (int(found[2]), 0) if found[2] else _swahili_minutes(s[found.end():])
            hour = (swahili_hour(number, part) + shift) % 24
            return exact(hour, minute) if minute < 60 else None

    # English spoken: half past ten, quarter to four, ten o'clock.
    words = "|".join(numbers.ENGLISH)
    found = re.search(rf"\b(half|quarter)\s+(past|to)\s+(\d{{1,2}}|{words})\b", s)
    if found:
        hour = int(found[3]) if found[3].isdigit() else numbers.ENGLISH[found[3]]
        minute = 30 if found[1] == "half" else 15
        if found[2] == "to":
            hour, minute = hour - 1, 60 - minute
        return exact(business_hour(hour, part) if hour else 12, minute)
    found = re.search(rf"\b(\d{{1,2}}|{words})\s*(?:oclock|o clock)\b", s)
    if found:
        hour = int(found[1]) if found[1].isdigit() else numbers.ENGLISH[found[1]]
        return exact(business_hour(hour, part)) if hour <= 23 else None

    # A clock without am/pm: 10:30, 14:00, 3.30.
    found = re.search(r"\b(\d{1,2})[:.](\d{2})\b", s)
    if found and int(found[1]) < 24 and int(found[2]) < 60:
        return exact(business_hour(int(found[1]), part), int(found[2]))

    # A bare hour after a preposition: at 4, by 10, around 11.
    found = re.search(rf"\b(?:at|by|around|about|kama)\s+(\d{{1,2}}|{words})\b"
                      r"(?!\s*(?:st|nd|rd|th|/|-))", s)
    if found:
        hour = int(found[1]) if found[1].isdigit() else numbers.ENGLISH[found[1]]
        if hour <= 23:
            return exact(business_hour(hour, part))

    found = re.search(rf"\b(\d{{1,2}}|{words})\s+in the (morning|afternoon|evening)\b", s)
    if found:
        hour = int(found[1]) if found[1].isdigit() else numbers.ENGLISH[found[1]]
        return exact(business_hour(hour, found[2])) if 1 <= hour <= 12 else None

    return PARTS_OF_DAY[part] if part is not None else None


# --- showing them ----------------------------------------------------------------------------

DAY_NAMES = {
    "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    "sw": ["Jumatatu", "Jumanne", "Jumatano", "Alhamisi", "Ijumaa", "Jumamosi", "Jumapili"],
}
# Swahili hours start at saa moja (07:00): index 0 is twelve o'clock, saa kumi na mbili.
SW_HOUR_WORDS = [numbers.swahili_word(12), *(numbers.swahili_word(n) for n in range(1, 12))]


def _language(language: Optional[str]) -> str:
    return "sw" if language in ("sw", "sheng") else "en"


def format_day(day: date, language: Optional[str]) -> str:
    """"Sat 23/11" / "Jumamosi 23/11"."""
    return f"{DAY_NAMES[_language(language)][day.weekday()]} {day.day}/{day.month}"


def swahili_clock(moment: time) -> str:
    """"saa nne asubuhi", "saa tisa na nusu alasiri", "saa tano kasoro robo asubuhi"."""
    hour, minute, suffix = moment.hour, moment.minute, ""
    if minute == 45:
        hour, suffix = (hour + 1) % 24, " kasoro robo"
    elif minute == 30:
        suffix = " na nusu"
    elif minute == 15:
        suffix = " na robo"
    elif minute:
        suffix = f" na dakika {minute}"
    if 4 <= hour <= 5:
        part = "alfajiri"
    elif 6 <= hour <= 11:
        part = "asubuhi"
    elif 12 <= hour <= 14:
        part = "mchana"
    elif hour == 15:
        part = "alasiri"
    elif 16 <= hour <= 18:
        part = "jioni"
    else:
        part = "usiku"
    return f"saa {SW_HOUR_WORDS[(hour - 6) % 12]}{suffix} {part}"


def format_time(moment: time, language: Optional[str]) -> str:
    """"10:00 am" / "saa nne asubuhi (10:00)"."""
    clock = f"{moment.hour:02d}:{moment.minute:02d}"
    if _language(language) == "sw":
        return f"{swahili_clock(moment)} ({clock})"
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'am' if moment.hour < 12 else 'pm'}"


def format_moment(moment: datetime, language: Optional[str]) -> str:
    """"Sat 23/11, 10:00 am" / "Jumamosi 23/11 saa nne asubuhi (10:00)"."""
    separator = ", " if _language(language) == "en" else " "
    return f"{format_day(moment.date(), language)}{separator}{format_time(moment.time(), language)}"


def parse_iso(value: str) -> datetime:
    """ISO 8601 from the backend ("…+00:00" or "…Z")."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
