"""/app/review: the data team's NLU review queue (the `nlu:review` scope). The customer messages
the model was unsure of or fell back on, masked, filtered by shop (any shop the signed-in person
reviews for, or all of them), language, predicted intent, date and status; per message an intent
picked from the domain's, entities marked by typing their words ("entity: words" per line: the
words are found in the masked text), or discard; and "write candidate" (the same service as
POST /v1/nlu/review/candidates), which shows what was written, left out and refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import Response, redirect, request, url_for

from backend.domain.errors import InvalidInput
from backend.interface.scopes import requires
from backend.services.accounts.sessions import member_scopes
from backend.services.conversations.review import (
    DEFAULT_THRESHOLD,
    DISCARD,
    INTENT,
    PENDING,
    STATUSES,
    CandidateResult,
    ReviewFilter,
    decide,
    get_review_item,
    review_entities,
    review_intents,
    review_queue,
    write_candidates,
)
from backend.web.core import PageError, blp, context, page, page_args, viewer

SCOPE = "nlu:review"
PAGE_SIZE = 25
ALL_SHOPS = "*"
LANGUAGES = ("en", "sw", "sheng")
FILTERS = ("shop", "language", "intent", "from", "to", "status", "threshold")


def reviewable_tenants() -> list[dict[str, str]]:
    """The shops the signed-in person reviews for (nlu:review there)."""
    ctx = context()
    user_id = viewer().signed_in.user_id
    return [{"id": m.tenant_id, "name": m.tenant_name} for m in viewer().memberships
            if SCOPE in (member_scopes(ctx, m.tenant_id, user_id) or ())]


def _tenant_ids(chosen: str) -> list[str]:
    allowed = [shop["id"] for shop in reviewable_tenants()]
    if chosen == ALL_SHOPS:
        return allowed
    if chosen not in allowed:
        raise PageError(404, "error.not_found")
    return [chosen]


def _date(raw: str, name: str) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as error:
        raise PageError(422, "form.invalid", f"{name}: a date (YYYY-MM-DD)") from error


def _filters() -> dict[str, str]:
    args = request.args
    return {
        "shop": args.get("shop") or viewer().tenant.id,
        "language": args.get("language", ""),
        "intent": args.get("intent", ""),
        "from": args.get("from", ""),
        "to": args.get("to", ""),
        "status": args.get("status") or PENDING,
        "threshold": args.get("threshold") or f"{DEFAULT_THRESHOLD:g}",
    }


def _where(filters: dict[str, str]) -> ReviewFilter:
    try:
        threshold = float(filters["threshold"])
    except ValueError as error:
        raise PageError(422, "form.invalid", "threshold: a number from 0 to 1") from error
    if filters["status"] not in STATUSES:
        raise PageError(422, "form.invalid", f"status: one of {', '.join(STATUSES)}")
    end = _date(filters["to"], "to")
    return ReviewFilter(threshold=threshold, language=filters["language"] or None,
                        intent=filters["intent"] or None, from_=_date(filters["from"], "from"),
                        to=end + timedelta(days=1) if end else None, status=filters["status"])


def _show(result: CandidateResult | None = None, status: int = 200) -> Response:
    filters = _filters()
    found = review_queue(context(), _tenant_ids(filters["shop"]), _where(filters), page_args(),
                         PAGE_SIZE)
    shops = reviewable_tenants()
    return page("review.html", status=status, section="nav.review", items=found.results,
                count=found.count, current=found.page,
                pages=max(1, -(-found.count // PAGE_SIZE)), filters=filters, shops=shops,
                shop_names={shop["id"]: shop["name"] for shop in shops}, all_shops=ALL_SHOPS,
                intents=review_intents(), entities=review_entities(),
                review_languages=LANGUAGES, statuses=STATUSES, result=result,
                back=urlencode({k: v for k, v in filters.items() if v}),
                args={k: v for k, v in filters.items() if v},
                review_dir=context().settings.nlu_review_dir)


@blp.get("/review")
@requires(SCOPE)
def review() -> Response:
    return _show()


def marked_entities(text: str, raw: str) -> list[dict[str, Any]]:
    """"entity: words" per line as spans of the masked text: each the first place the words
    appear after the previous entity's (else anywhere not yet marked)."""
    found: list[dict[str, Any]] = []
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        name, colon, words = line.partition(":")
        name, words = name.strip(), words.strip()
        if not colon or not name or not words:
            raise PageError(422, "form.invalid", f"entities, line {number}: entity: words")
        start = _free_position(text, words, found)
        if start < 0:
            raise PageError(422, "form.invalid",
                            f"entities, line {number}: {words!r} is not in the message")
        found.append({"start": start, "end": start + len(words), "entity": name,
                      "value": words})
    return found


def _free_position(text: str, words: str, taken: list[dict[str, Any]]) -> int:
    start = text.find(words)
    while start >= 0:
        end = start + len(words)
        if all(end <= e["start"] or start >= e["end"] for e in taken):
            return start
        start = text.find(words, start + 1)
    return -1


def _back() -> Response:
    """To the queue with the filters it had (rebuilt from the known filter names only)."""
    kept = {k: v for k, v in parse_qsl(request.form.get("back", "")) if k in FILTERS}
    if request.form.get("page", "").isdigit():
        kept["page"] = request.form["page"]
    return redirect(url_for("web.review", **kept, notice="review.saved"), code=303)


@blp.post("/review/<int:classification_id>")
@requires(SCOPE)
def review_decide(classification_id: int) -> Response:
    """One message's decision: its intent with the entities marked, or discard."""
    tenants = _tenant_ids(ALL_SHOPS)
    ctx = context()
    if request.form.get("decision") == DISCARD:
        decide(ctx, tenants, classification_id, DISCARD)
        return _back()
    intent = request.form.get("intent", "")
    if intent not in review_intents():
        raise PageError(422, "form.invalid", "intent: one of the domain's intents")
    item = get_review_item(ctx, tenants, classification_id)
    entities = marked_entities(item.text, request.form.get("entities", ""))
    try:
        decide(ctx, tenants, classification_id, INTENT, intent, entities)
    except InvalidInput as error:
        raise PageError(422, "form.invalid", error.description) from error
    return _back()


@blp.post("/review/candidates")
@requires(SCOPE)
def review_candidates() -> Response:
    """Write the candidate data of the chosen shops (and language): shows what was written,
    already there, and refused."""
    shop = request.form.get("shop") or viewer().tenant.id
    language = request.form.get("language") or None
    result = write_candidates(context(), _tenant_ids(shop), language)
    return _show(result)


__all__ = ["marked_entities", "reviewable_tenants"]
