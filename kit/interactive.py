"""Numbered menus as WhatsApp list pickers, yes/no questions as reply buttons.

Both are read off the reply Rasa rendered, so the actions and responses stay as they are: a menu
is the `menu` argument an action passed with its response (numbered lines "1. title — detail",
found verbatim in the text), a yes/no question is a text ending with the language's hint
("(yes / no)", "(ndiyo / hapana)", "(poa / hapana)"). The numbered text stays the message's body:
it is what goes out whenever interactive content cannot (kit/whatsapp_text.py, and the delivery
decides in the backend). A row or button answers with the payload the customer would otherwise
type: `/select_option{"option":"2"}` for row 2, `/affirm` or `/deny` for the buttons; the channel
signs each before it leaves (bot/channels/payloads.py) and accepts only its own back.

Limits are Twilio's Content API ones (twilio/list-picker: 1-10 items, item ≤ 24 characters,
id ≤ 200, description ≤ 72, body ≤ 1,024, button ≤ 20; twilio/quick-reply in session: ≤ 3 buttons,
title ≤ 20).
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable, Dict, List, Mapping, Optional

from kit import texts

LIST = "list"
BUTTONS = "buttons"
MAX_LIST_ITEMS = 10
MAX_ITEM_TITLE = 24
MAX_ITEM_DESCRIPTION = 72
MAX_ID = 200
MAX_BODY = 1024
MAX_LIST_BUTTON = 20
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
ELLIPSIS = "…"
MENU_LINE = re.compile(r"^\s*(\d{1,2})\.\s+(\S.*?)\s*$")
DETAIL_SEPARATOR = " — "
AFFIRM = "/affirm"
DENY = "/deny"
Spec = Dict[str, Any]


def select_option(position: int) -> str:
    """The payload a typed "2" amounts to (intent select_option, entity option)."""
    return "/select_option" + json.dumps({"option": str(position)}, separators=(",", ":"))


def shorten(text: str, limit: int) -> str:
    """`text` within `limit` characters: whole words and an ellipsis when it is longer (a single
    word longer than the limit is cut)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS)
    cut = text.rfind(" ", 0, room + 1)
    head = text[:cut] if cut >= room // 2 else text[:room]
    return head.rstrip(" ,;:-—–") + ELLIPSIS


def menu_items(menu: str) -> Optional[List[Dict[str, str]]]:
    """[{"title", "detail"}] of a numbered menu "1. a — b\n2. c", or None when the lines are not
    exactly 1..n (n ≤ 10) in order."""
    lines = [line for line in menu.splitlines() if line.strip()]
    if not 1 <= len(lines) <= MAX_LIST_ITEMS:
        return None
    items = []
    for expected, line in enumerate(lines, start=1):
        match = MENU_LINE.match(line)
        if match is None or int(match.group(1)) != expected:
            return None
        title, _, detail = match.group(2).partition(DETAIL_SEPARATOR)
        items.append({"title": title.strip(), "detail": detail.strip()})
    return items


def list_spec(text: str, menu: Any) -> Optional[Spec]:
    """A list picker for a text that shows `menu` (the response's menu argument), else None."""
    if not isinstance(menu, str) or not menu.strip() or menu not in text:
        return None
    items = menu_items(menu)
    if items is None:
        return None
    heading = text[:text.index(menu)].strip()
    return {"type": LIST, "heading": heading,
            "items": [{"payload": select_option(n), **item} for n, item in enumerate(items, 1)]}


def buttons_spec(text: str) -> Optional[Spec]:
    """Yes/no buttons for a question ending with its language's hint, else None."""
    stripped = text.rstrip()
    for language, hint in texts.table("interactive.yes_no_hint").items():
        if stripped.endswith(hint):
            return {"type": BUTTONS, "language": language,
                    "body": stripped[:-len(hint)].rstrip(),
                    "items": [{"payload": AFFIRM, "title": texts.text("interactive.yes", language)},
                              {"payload": DENY, "title": texts.text("interactive.no", language)}]}
    return None


def spec_for(reply: Mapping[str, Any]) -> Optional[Spec]:
    """The interactive form of a rendered text reply, if it has one (unsigned, language open)."""
    text = reply.get("text")
    if not isinstance(text, str) or not text.strip():
        return None
    return list_spec(text, reply.get("menu")) or buttons_spec(text)


def issue(spec: Spec, language: Optional[str], sign: Callable[[str], str]) -> Optional[Spec]:
    """What the backend sends: ids signed, words in the customer's language, every field within
    Twilio's limits; None when it cannot be (the numbered text goes out instead)."""
    if spec.get("type") == BUTTONS:
        language = spec["language"]  # the question's own words tell it
        body = spec["body"]
        items = [{"id": sign(item["payload"]), "title": shorten(item["title"], MAX_BUTTON_TITLE)}
                 for item in spec["items"][:MAX_BUTTONS]]
        button = None
    elif spec.get("type") == LIST:
        language = texts.reply_language(language)
        hint = texts.text("interactive.list_hint", language)
        body = f"{spec['heading']}\n\n{hint}" if spec["heading"] else hint
        button = shorten(texts.text("interactive.list_button", language), MAX_LIST_BUTTON)
        items = []
        for n, item in enumerate(spec["items"], start=1):
            title = shorten(item["title"], MAX_ITEM_TITLE)
            if title != " ".join(item["title"].split()):  # shortened: the row's second line
                description = DETAIL_SEPARATOR.join(filter(None, (item["title"], item["detail"])))
            else:
                description = item["detail"] or texts.text(
                    "interactive.list_item_hint", language).format(number=n)
            items.append({"id": sign(item["payload"]), "title": title,
                          "description": shorten(description, MAX_ITEM_DESCRIPTION)})
    else:
        return None
    if not body.strip() or len(body) > MAX_BODY or any(len(i["id"]) > MAX_ID for i in items):
        return None
    issued: Spec = {"type": spec["type"], "language": language, "body": body, "items": items}
    if button is not None:
        issued["button"] = button
    return issued
