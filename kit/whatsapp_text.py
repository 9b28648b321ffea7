"""Rasa's replies as WhatsApp messages: buttons become numbered text menus, long texts are split.

The one conversion both the channel (bot/channels/output.py, every turn) and the backend (payment
notices, whose replies come back from Rasa's trigger_intent API) use, so a reply reads the same
whichever way it reached the customer. A message is {"body": str, "media_url": str | None}, and
for the channel's turns maybe "interactive": the same menu or yes/no question as a list picker or
reply buttons (kit/interactive.py), which the backend sends instead of the body where it can.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from kit import interactive as interactive_content

# Twilio refuses WhatsApp bodies over 1,600 characters.
MAX_BODY = 1600
# WhatsApp shows at most 1,024 characters under an image.
MAX_CAPTION = 1024
WhatsAppMessage = Dict[str, Any]


def numbered_menu(text: Optional[str], titles: List[str]) -> str:
    """`text`, then "1. a" … and a "Reply 1, 2 or 3" hint, as WhatsApp shows plain menus."""
    lines = [text.rstrip(), ""] if text else []
    lines += [f"{i}. {title}" for i, title in enumerate(titles, start=1)]
    numbers = [str(i) for i in range(1, len(titles) + 1)]
    if len(numbers) > 1:
        lines += ["", f"Reply {', '.join(numbers[:-1])} or {numbers[-1]}."]
    return "\n".join(lines)


def split_body(text: str, limit: int = MAX_BODY) -> List[str]:
    """Cut an over-long reply at line (else word) boundaries into bodies Twilio accepts."""
    parts: List[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = rest.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def bodies(body: str, media_url: Optional[str] = None) -> List[WhatsAppMessage]:
    """One text as messages within the limit; the media goes with the first."""
    return [{"body": part, "media_url": media_url if i == 0 else None}
            for i, part in enumerate(split_body(body) or [""])]


def menu(text: Optional[str], buttons: List[Mapping[str, Any]]) -> List[WhatsAppMessage]:
    """A text with buttons (or quick replies) as a numbered menu."""
    return bodies(numbered_menu(text, [str(b.get("title", "")) for b in buttons]))


def custom(json_message: Any) -> List[WhatsAppMessage]:
    """A custom payload {"body"|"text", "media_url"}; nothing when it carries neither."""
    if not isinstance(json_message, Mapping):
        return []
    body = json_message.get("body") or json_message.get("text") or ""
    media_url = json_message.get("media_url")
    return bodies(body, media_url) if body or media_url else []


def elements(items: List[Mapping[str, Any]]) -> List[WhatsAppMessage]:
    """Carousel elements, one message each: title and subtitle, with the element's image."""
    out: List[WhatsAppMessage] = []
    for element in items:
        text = "\n".join(filter(None, [element.get("title"), element.get("subtitle")]))
        out += bodies(text, element.get("image_url"))
    return out


def whatsapp_messages(reply: Mapping[str, Any],
                      interactive: bool = False) -> List[WhatsAppMessage]:
    """One Rasa reply ({"text", "buttons", "quick_replies", "custom", "image", "attachment",
    "elements"}) as messages, in the order Rasa's OutputChannel.send_response sends its parts.
    With `interactive`, a text that is a numbered menu or a yes/no question (and fits one
    message) also carries its unsigned interactive form."""
    out: List[WhatsAppMessage] = []
    if reply.get("quick_replies"):
        out += menu(reply.get("text"), reply["quick_replies"])
    elif reply.get("buttons"):
        out += menu(reply.get("text"), reply["buttons"])
    elif reply.get("text"):
        texts = bodies(reply["text"])
        spec = interactive_content.spec_for(reply) if interactive and len(texts) == 1 else None
        if spec is not None:
            texts[0]["interactive"] = spec
        out += texts
    if reply.get("custom"):
        out += custom(reply["custom"])
    if reply.get("image"):
        first = out[0] if out else None
        # A photo with its words: the text rides as the image's caption when it is one plain
        # message that fits WhatsApp's caption; otherwise the photo follows on its own.
        if (len(out) == 1 and first is not None and not first.get("media_url")
                and "interactive" not in first and len(first["body"]) <= MAX_CAPTION):
            first["media_url"] = reply["image"]
        else:
            out.append({"body": "", "media_url": reply["image"]})
    if reply.get("attachment"):  # as Rasa's default send_attachment words it
        out += bodies(f"Attachment: {reply['attachment']}")
    if reply.get("elements"):
        out += elements(reply["elements"])
    return out
