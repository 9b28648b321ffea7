"""Twilio sending client: the official `twilio` library, aimed at Twilio or the simulator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from twilio.base import values
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

TWILIO_API_PREFIX = "https://api.twilio.com"
SEND_TIMEOUT_SECONDS = 15.0


class BaseUrlHttpClient(TwilioHttpClient):
    """Sends every request for https://api.twilio.com/... to the configured base URL instead."""

    def __init__(self, base_url: str, timeout: float = SEND_TIMEOUT_SECONDS) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(TWILIO_API_PREFIX):
            url = self.base_url + url[len(TWILIO_API_PREFIX) :]
        return super().request(method, url, *args, **kwargs)


class TwilioSendError(Exception):
    """Twilio refused or could not be reached; `transient` says whether a retry may succeed."""

    def __init__(self, message: str, transient: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.code = code


@dataclass(frozen=True)
class SentMessage:
    sid: str
    status: str


class TwilioSender:
    """Sends messages for one Twilio account through the given base URL."""

    def __init__(self, account_sid: str, auth_token: str, base_url: str) -> None:
        # environment={} keeps TWILIO_EDGE/TWILIO_REGION from rewriting the host behind our back.
        self._client = Client(
            account_sid, auth_token, http_client=BaseUrlHttpClient(base_url), environment={}
        )

    def send(
        self, *, from_: str, to: str, body: str | None, media_url: str | None = None
    ) -> SentMessage:
        try:
            message = self._client.messages.create(
                from_=from_,
                to=to,
                body=body if body else values.unset,
                media_url=[media_url] if media_url else values.unset,
            )
        except TwilioRestException as error:
            transient = error.status >= 500 or error.status == 429
            detail = f"Twilio {error.status} (code {error.code}): {error.msg}"
            raise TwilioSendError(detail, transient, error.code) from error
        except requests.RequestException as error:
            raise TwilioSendError(f"Twilio unreachable: {error}", transient=True) from error
        except TwilioException as error:
            raise TwilioSendError(f"Twilio client error: {error}", transient=False) from error
        return SentMessage(sid=str(message.sid), status=str(message.status))
