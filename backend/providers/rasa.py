"""Rasa HTTP API client: trigger an intent in a customer's conversation, pause or resume it.

Rasa 3.6 routes `/conversations/<conversation_id:path>/...` without unquoting the id, so the
sender id (kit/sender.py: `<tenant>:<customer ref>`, or `demo-shop:+254712345678` from before
references) is sent with ":" and "+" as they are (both are legal in a URL path); anything else
unusual is percent-encoded.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from backend.settings import Settings

DEFAULT_TIMEOUT_SECONDS = 10.0
# Characters a sender id may carry into the path verbatim (Rasa compares the raw path segment).
SENDER_SAFE = ":+@"


class RasaError(Exception):
    """Rasa answered with an error status or could not be reached (status None)."""

    def __init__(self, message: str, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class RasaClient:
    """Calls one Rasa server's HTTP API (`rasa run --enable-api --auth-token`)."""

    def __init__(
        self, base_url: str, token: str | None, timeout: float = DEFAULT_TIMEOUT_SECONDS
    ) -> None:
        if not base_url:
            raise ValueError("RasaClient needs the Rasa server's base URL (RASA_URL)")
        self.base_url = base_url.rstrip("/")
        self.token = token or None
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings, timeout: float | None = None) -> RasaClient:
        return cls(settings.rasa_url, settings.rasa_token,
                   timeout=settings.rasa_timeout_seconds if timeout is None else timeout)

    def _url(self, sender_id: str, action: str) -> str:
        if not sender_id:
            raise ValueError("sender_id must not be empty")
        return f"{self.base_url}/conversations/{quote(sender_id, safe=SENDER_SAFE)}/{action}"

    def _post(self, url: str, payload: Any, what: str) -> Any:
        params = {"token": self.token} if self.token else None
        try:
            response = requests.post(url, json=payload, params=params, timeout=self.timeout)
        except requests.RequestException as error:
            raise RasaError(f"Rasa unreachable ({what}): {error}") from error
        if response.status_code >= 400:
            body = response.text[:2000]
            raise RasaError(
                f"Rasa answered {response.status_code} to {what}: {body}",
                status=response.status_code, body=body,
            )
        try:
            return response.json()
        except ValueError as error:
            raise RasaError(
                f"Rasa answered {what} with a body that is not JSON",
                status=response.status_code, body=response.text[:2000],
            ) from error

    def trigger_intent(
        self, sender_id: str, intent: str, entities: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Runs `intent` in the conversation as if the customer had said it; returns the bot's
        messages (dicts with "recipient_id", "text", maybe "buttons", "image", "custom"…)."""
        body = self._post(
            self._url(sender_id, "trigger_intent"),
            {"name": intent, "entities": entities or {}},
            f"trigger_intent {intent}",
        )
        messages = body.get("messages") if isinstance(body, dict) else None
        return list(messages or [])

    def _append_events(self, sender_id: str, events: list[dict[str, Any]],
                       what: str) -> dict[str, Any]:
        body = self._post(self._url(sender_id, "tracker/events"), events, what)
        return body if isinstance(body, dict) else {}

    def append_events(self, sender_id: str, events: list[dict[str, Any]]) -> dict[str, Any]:
        """Appends events (e.g. `restart`, `rewind`, a `slot`) to the conversation; returns the
        tracker."""
        return self._append_events(sender_id, events, "append events")

    def tracker(self, sender_id: str) -> dict[str, Any]:
        """The conversation's tracker (GET /conversations/<id>/tracker): its events since the
        last restart, slots, active loop and latest message."""
        url = self._url(sender_id, "tracker")
        params = {"token": self.token} if self.token else None
        try:
            response = requests.get(url, params=params, timeout=self.timeout)
        except requests.RequestException as error:
            raise RasaError(f"Rasa unreachable (tracker): {error}") from error
        if response.status_code >= 400:
            raise RasaError(f"Rasa answered {response.status_code} to tracker: "
                            f"{response.text[:2000]}", status=response.status_code,
                            body=response.text[:2000])
        try:
            body = response.json()
        except ValueError as error:
            raise RasaError("Rasa answered tracker with a body that is not JSON",
                            status=response.status_code, body=response.text[:2000]) from error
        return body if isinstance(body, dict) else {}

    def resume(self, sender_id: str) -> dict[str, Any]:
        """Appends `resume` and an `action_listen`, so the paused conversation continues and the
        customer's next message is handled as a fresh turn (messages sent while a person had the
        conversation are kept but not answered); returns the tracker."""
        return self._append_events(
            sender_id, [{"event": "resume"}, {"event": "action", "name": "action_listen"}],
            "resume")

    def load_model(self, model_file: str) -> None:
        """PUT /model: the server loads this model file (a path it can read) and serves it from
        then on; answers once it is loaded (204)."""
        params = {"token": self.token} if self.token else None
        try:
            response = requests.put(f"{self.base_url}/model", json={"model_file": model_file},
                                    params=params, timeout=self.timeout)
        except requests.RequestException as error:
            raise RasaError(f"Rasa unreachable (load model): {error}") from error
        if response.status_code >= 400:
            raise RasaError(f"Rasa answered {response.status_code} to load model: "
                            f"{response.text[:2000]}", status=response.status_code,
                            body=response.text[:2000])

    def status(self) -> dict[str, Any]:
        """GET /status: the served model's file and id."""
        params = {"token": self.token} if self.token else None
        try:
            response = requests.get(f"{self.base_url}/status", params=params,
                                    timeout=self.timeout)
            response.raise_for_status()
            body = response.json()
        except (requests.RequestException, ValueError) as error:
            raise RasaError(f"Rasa status failed: {error}") from error
        return body if isinstance(body, dict) else {}

    def pause(self, sender_id: str) -> dict[str, Any]:
        """Appends a `pause` event: the assistant stays silent until resumed."""
        return self._append_events(sender_id, [{"event": "pause"}], "pause")
