"""Collects a turn's replies as WhatsApp messages: buttons become numbered text menus."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.core.channels.channel import OutputChannel

# Twilio refuses WhatsApp bodies over 1,600 characters.
MAX_BODY = 1600


def numbered_menu(text: str, titles: List[str]) -> str:
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


class WhatsAppOutput(OutputChannel):
    """Gathers the replies of one turn; the input channel hands them to the backend in one batch."""

    @classmethod
    def name(cls) -> Text:
        return "whatsapp"

    def __init__(self) -> None:
        self.messages: List[Dict[str, Optional[str]]] = []

    def _add(self, body: str, media_url: Optional[str] = None) -> None:
        bodies = split_body(body) or [""]
        for i, part in enumerate(bodies):
            self.messages.append({"body": part, "media_url": media_url if i == 0 else None})

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        self._add(text)

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        self.messages.append({"body": "", "media_url": image})

    async def send_text_with_buttons(self, recipient_id: Text, text: Text,
                                     buttons: List[Dict[Text, Any]], **kwargs: Any) -> None:
        self._add(numbered_menu(text, [b.get("title", "") for b in buttons]))

    async def send_quick_replies(self, recipient_id: Text, text: Text,
                                 quick_replies: List[Dict[Text, Any]], **kwargs: Any) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies)

    async def send_elements(self, recipient_id: Text, elements: List[Dict[Text, Any]],
                            **kwargs: Any) -> None:
        for element in elements:
            text = "\n".join(filter(None, [element.get("title"), element.get("subtitle")]))
            self._add(text, element.get("image_url"))

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any],
                               **kwargs: Any) -> None:
        body = json_message.get("body") or json_message.get("text") or ""
        media_url = json_message.get("media_url")
        if body or media_url:
            self._add(body, media_url)
