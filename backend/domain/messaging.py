"""The rules every outbound WhatsApp message passes, decided once per message (or batch).

Kinds: a `reply` answers the customer's own conversation (the channel's replies: no consent
asked, never held for quiet hours, exempt from the tier's limits inside the 24 h window, as
before); the business-initiated kinds `transactional`, `reminders` and `promotional` each need
the customer's consent of that kind (STOP clears all three, START sets the first two), may only
be free text inside the 24-hour window (outside it an approved template in the customer's
language), wait for the tenant's quiet hours to end unless urgent, and count against the tier's
daily and monthly limits: past the day's limit they move to the next day with room, past the
month's they are refused. Every refusal names its reason (REFUSALS), so the caller can say why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from backend.domain.errors import Unprocessable

REPLY = "reply"
BUSINESS_KINDS = ("transactional", "reminders", "promotional")
KINDS = (REPLY, *BUSINESS_KINDS)
# WhatsApp's customer-service window.
WINDOW = timedelta(hours=24)
# The merchant is warned once a period's usage reaches this share of the tier's limit.
WARN_AT = 0.8

REFUSALS = {
    "no_consent": "The customer has not agreed to {kind} messages (or said STOP).",
    "outside_window": (
        "The customer last wrote more than 24 hours before this would be sent: WhatsApp only "
        "allows an approved template outside that window. Send one with `template`."
    ),
    "template_not_approved": (
        "Template {template!r} ({language}) is {approval}: outside the 24-hour window only an "
        "approved template may be sent."
    ),
    "template_language_missing": (
        "Template {template!r} has no variant in {language}, the language(s) the customer "
        "reads; nothing was sent. Add one to the template."
    ),
    "unknown_customer": "No customer of this tenant has that id.",
}


class MessageRefused(Unprocessable):
    """A message the rules do not allow; `reason` is one of REFUSALS (422 with `reason`)."""

    def __init__(self, reason: str, **details: object) -> None:
        super().__init__(REFUSALS[reason].format(**details))
        self.reason = reason
        self.extra = {"reason": reason}


@dataclass(frozen=True)
class Consents:
    transactional: bool
    reminders: bool
    promotional: bool

    def allows(self, kind: str) -> bool:
        return kind == REPLY or bool(getattr(self, kind))


@dataclass(frozen=True)
class TemplateChoice:
    """The template variant a message would use (None on a message: free text)."""

    name: str
    language: str
    approval: str  # pending | approved | rejected


# The template variants a customer can read, in order: Sheng speakers read Swahili (as the FAQ
# answers them); nobody falls back to English, which they may not read: a template without a
# variant they can read is refused (template_language_missing), never half-sent.
READS: dict[str, tuple[str, ...]] = {"sheng": ("sheng", "sw"), "sw": ("sw",), "en": ("en",)}


def readable_languages(language: str) -> tuple[str, ...]:
    """The variants to try for a customer of `language`, best first."""
    return READS.get(language, (language,))


def check_allowed(
    kind: str,
    consents: Consents | None,
    last_inbound_at: datetime | None,
    template: TemplateChoice | None,
    send_at: datetime,
) -> None:
    """Consent by kind and the 24-hour window at the moment the message would go out; raises
    MessageRefused. Replies keep their old rule: they answer the customer, so neither applies."""
    if kind == REPLY:
        return
    if consents is None or not consents.allows(kind):
        raise MessageRefused("no_consent", kind=kind)
    inside = last_inbound_at is not None and send_at - last_inbound_at < WINDOW
    if inside:
        return
    if template is None:
        raise MessageRefused("outside_window")
    if template.approval != "approved":
        raise MessageRefused("template_not_approved", template=template.name,
                             language=template.language, approval=template.approval)


def waits_for_quiet_hours(kind: str, urgent: bool) -> bool:
    """Replies and urgent messages go out at any hour; the rest wait for quiet hours to end."""
    return kind != REPLY and not urgent


def quiet_end(quiet_hours: Mapping[str, str] | None, timezone: str, at: datetime) -> datetime:
    """`at` itself when the tenant's quiet hours are off then, else the instant they end (UTC
    aware). Windows across midnight (21:00-07:00) end on the next local day when started."""
    if not quiet_hours:
        return at
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    start, end = time.fromisoformat(quiet_hours["start"]), time.fromisoformat(quiet_hours["end"])
    now = local.time()
    on = start <= now < end if start < end else (now >= start or now < end)
    if not on:
        return at
    ends = datetime.combine(local.date(), end, tzinfo=zone)
    if ends <= local:
        ends = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=zone)
    return ends.astimezone(at.tzinfo)


def day_bounds(timezone: str, at: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the tenant's local calendar day holding `at`, as aware datetimes."""
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    start = datetime.combine(local.date(), time.min, tzinfo=zone)
    end = datetime.combine(local.date() + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(at.tzinfo), end.astimezone(at.tzinfo)


def month_bounds(timezone: str, at: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the tenant's local calendar month holding `at`."""
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    start = datetime.combine(local.date().replace(day=1), time.min, tzinfo=zone)
    following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start.astimezone(at.tzinfo), following.astimezone(at.tzinfo)


def reaches_warning(used: int, limit: int | None) -> bool:
    """Whether the period's usage is at WARN_AT of the limit or past it. Said once per period
    (a unique row): usage reaches it by any message, replies included, so "this batch crossed
    it" would miss a period pushed over by replies."""
    return bool(limit) and used >= WARN_AT * limit
