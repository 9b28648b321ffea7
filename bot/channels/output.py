"""Collects a turn's replies as WhatsApp messages (kit/whatsapp_text.py words them)."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.core.channels.channel import OutputChannel

from kit import whatsapp_text


class WhatsAppOutput(OutputChannel):
    """Gathers the replies of one turn; the input channel hands them to the backend in one batch."""

    @classmethod
    def name(cls) -> Text:
        return "whatsapp"

    def __init__(self) -> None:
        self.messages: List[Dict[str, Any]] = []

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        # Menus and yes/no questions carry their interactive form; the channel signs it.
        self.messages += whatsapp_text.whatsapp_messages(message, interactive=True)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        self.messages += whatsapp_text.bodies(text)

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        self.messages.append({"body": "", "media_url": image})

    async def send_text_with_buttons(self, recipient_id: Text, text: Text,
                                     buttons: List[Dict[Text, Any]], **kwargs: Any) -> None:
        self.messages += whatsapp_text.menu(text, buttons)

    async def send_quick_replies(self, recipient_id: Text, text: Text,
                                 quick_replies: List[Dict[Text, Any]], **kwargs: Any) -> None:
        self.messages += whatsapp_text.menu(text, quick_replies)

    async def send_elements(self, recipient_id: Text, elements: List[Dict[Text, Any]],
                            **kwargs: Any) -> None:
        self.messages += whatsapp_text.elements(elements)

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any],
                               **kwargs: Any) -> None:
        self.messages += whatsapp_text.custom(json_message)
