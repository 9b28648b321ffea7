"""Twilio sending client: the official `twilio` library, aimed at Twilio or the simulator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import json

import requests
from twilio.base import values
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from twilio.rest.content.v1.content import ContentList
from twilio.rest.content.v1.content.approval_create import ApprovalCreateList

TWILIO_API_PREFIX = "https://api.twilio.com"
CONTENT_API_PREFIX = "https://content.twilio.com"
SEND_TIMEOUT_SECONDS = 15.0
# Twilio error codes after which sending the same message again later may succeed: queue
# overflow, unreachable handset, unknown error, carrier congestion, too many requests, the
# channel's rate limit. Others (invalid or blocked number, outside the 24 h window, an
# unapproved template...) would fail the same way again.
RETRYABLE_ERROR_CODES = frozenset({30001, 30003, 30008, 30017, 20429, 63018})


class BaseUrlHttpClient(TwilioHttpClient):
    """Sends every request for https://api.twilio.com/... to the configured base URL instead."""

    def __init__(self, base_url: str, timeout: float = SEND_TIMEOUT_SECONDS,
                 content_url: str = CONTENT_API_PREFIX) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")
        self.content_url = content_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(TWILIO_API_PREFIX):
            url = self.base_url + url[len(TWILIO_API_PREFIX) :]
        elif url.startswith(CONTENT_API_PREFIX):
            url = self.content_url + url[len(CONTENT_API_PREFIX) :]
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
        self,
        *,
        from_: str,
        to: str,
        body: str | None,
        media_url: str | None = None,
        content_sid: str | None = None,
        content_variables: dict[str, str] | None = None,
        status_callback: str | None = None,
    ) -> SentMessage:
        """Free text (body, media) or an approved Content template (ContentSid and its
        ContentVariables as a JSON string), with a StatusCallback for delivery receipts."""
        try:
            message = self._client.messages.create(
                from_=from_,
                to=to,
                body=body if body else values.unset,
                media_url=[media_url] if media_url else values.unset,
                content_sid=content_sid or values.unset,
                content_variables=(json.dumps(content_variables) if content_variables
                                   else values.unset),
                status_callback=status_callback or values.unset,
            )
        except TwilioRestException as error:
            transient = (error.status >= 500 or error.status == 429
                         or error.code in RETRYABLE_ERROR_CODES)
            detail = f"Twilio {error.status} (code {error.code}): {error.msg}"
            raise TwilioSendError(detail, transient, error.code) from error
        except requests.RequestException as error:
            raise TwilioSendError(f"Twilio unreachable: {error}", transient=True) from error
        except TwilioException as error:
            raise TwilioSendError(f"Twilio client error: {error}", transient=False) from error
        return SentMessage(sid=str(message.sid), status=str(message.status))


@dataclass(frozen=True)
class ContentApproval:
    content_sid: str
    status: str  # received | pending | approved | rejected (WhatsApp's answer)
    rejection_reason: str | None


class TwilioContent:
    """Twilio's Content API for one account: create a text template and ask WhatsApp to
    approve it (the approval arrives later: `approval` asks where it stands)."""

    def __init__(self, account_sid: str, auth_token: str, content_url: str) -> None:
        self._client = Client(account_sid, auth_token, environment={},
                              http_client=BaseUrlHttpClient(TWILIO_API_PREFIX,
                                                            content_url=content_url))

    def submit(self, *, friendly_name: str, language: str, body: str,
               variables: dict[str, str], name: str, category: str) -> str:
        """Create the content and request WhatsApp approval; its ContentSid."""
        try:
            content = self._client.content.v1.contents.create(
                ContentList.ContentCreateRequest({
                    "friendly_name": friendly_name, "language": language,
                    "variables": variables, "types": {"twilio/text": {"body": body}},
                }))
            sid = str(content.sid)
            self._client.content.v1.contents(sid).approval_create.create(
                ApprovalCreateList.ContentApprovalRequest({"name": name, "category": category}))
        except TwilioRestException as error:
            raise TwilioSendError(f"Content API {error.status} (code {error.code}): {error.msg}",
                                  error.status >= 500 or error.status == 429, error.code) from error
        except requests.RequestException as error:
            raise TwilioSendError(f"Content API unreachable: {error}", transient=True) from error
        return sid

    def create(self, *, friendly_name: str, language: str, variables: dict[str, str],
               types: dict[str, Any]) -> str:
        """Create a content that needs no approval (an in-session list picker or reply
        buttons); its ContentSid."""
        try:
            content = self._client.content.v1.contents.create(
                ContentList.ContentCreateRequest({
                    "friendly_name": friendly_name, "language": language,
                    "variables": variables, "types": types,
                }))
        except TwilioRestException as error:
            raise TwilioSendError(f"Content API {error.status} (code {error.code}): {error.msg}",
                                  error.status >= 500 or error.status == 429, error.code) from error
        except requests.RequestException as error:
            raise TwilioSendError(f"Content API unreachable: {error}", transient=True) from error
        return str(content.sid)

    def approval(self, content_sid: str) -> ContentApproval:
        try:
            fetched = self._client.content.v1.contents(content_sid).approval_fetch().fetch()
        except TwilioRestException as error:
            raise TwilioSendError(f"Content API {error.status} (code {error.code}): {error.msg}",
                                  error.status >= 500 or error.status == 429, error.code) from error
        except requests.RequestException as error:
            raise TwilioSendError(f"Content API unreachable: {error}", transient=True) from error
        whatsapp = fetched.whatsapp or {}
        return ContentApproval(content_sid, str(whatsapp.get("status") or "pending"),
                               str(whatsapp["rejection_reason"])
                               if whatsapp.get("rejection_reason") else None)



CONNECTION_TEST_TIMEOUT_SECONDS = 5.0  # inside an operator's request: fail fast, never hang


@dataclass(frozen=True)
class TwilioAccount:
    sid: str
    friendly_name: str
    status: str  # active | suspended | closed


def fetch_account(account_sid: str, auth_token: str, base_url: str,
                  timeout: float = CONNECTION_TEST_TIMEOUT_SECONDS) -> TwilioAccount:
    """GET /2010-04-01/Accounts/{Sid}.json with the account's own credentials: whether Twilio
    (or the simulator) accepts them. One attempt, bounded by `timeout` per connect and read."""
    client = Client(account_sid, auth_token, environment={},
                    http_client=BaseUrlHttpClient(base_url, timeout=timeout))
    try:
        account = client.api.v2010.accounts(account_sid).fetch()
    except TwilioRestException as error:
        raise TwilioSendError(f"Twilio {error.status} (code {error.code}): {error.msg}",
                              error.status >= 500 or error.status == 429, error.code) from error
    except requests.RequestException as error:
        raise TwilioSendError(f"Twilio unreachable: {type(error).__name__}",
                              transient=True) from error
    except TwilioException as error:
        raise TwilioSendError(f"Twilio client error: {error}", transient=False) from error
    return TwilioAccount(sid=str(account.sid), friendly_name=str(account.friendly_name or ""),
                         status=str(account.status or ""))
