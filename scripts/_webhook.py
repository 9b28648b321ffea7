"""Shared code of chat.py and bench.py: signed Twilio WhatsApp webhook posts and polling recorded replies."""
from __future__ import annotations

import argparse
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Mapping

import requests
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_PATH = "/webhooks/whatsapp/webhook"
DEFAULT_PHONE = "+254711000111"
DEFAULT_TO = "+254700000001"
DEMO_AUTH_TOKEN = "demo-twilio-auth-token"  # the seeded sandbox tenant's token; demo only
COUNTRY_CODE = "254"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class StackError(RuntimeError):
    """A part of the running stack is missing, unreachable or refused us; the message says what to do."""


# ---------------------------------------------------------------- phones and forms

def normalise_phone(raw: str, country_code: str = COUNTRY_CODE) -> str:
    """Return the E.164 form (+2547…) of 07…, 01…, 2547…, +2547…, 7… or whatsapp:+… numbers."""
    text = raw.strip()
    if text.lower().startswith("whatsapp:"):
        text = text[len("whatsapp:"):]
    compact = re.sub(r"[\s\-().]", "", text)
    if compact.startswith("+"):
        digits = compact[1:]
    elif compact.startswith("00"):
        digits = compact[2:]
    elif compact.startswith("0"):
        digits = country_code + compact[1:]
    elif compact.startswith(country_code):
        digits = compact
    elif len(compact) == 9 and compact[:1] in ("7", "1"):
        digits = country_code + compact
    else:
        raise ValueError(f"not a phone number: {raw!r} (use 07…, 2547… or +2547…)")
    if not digits.isdigit() or not 8 <= len(digits) <= 15:
        raise ValueError(f"not a phone number: {raw!r} (use 07…, 2547… or +2547…)")
    if digits.startswith(country_code) and len(digits) != len(country_code) + 9:
        raise ValueError(f"not a phone number: {raw!r} (+{country_code} takes 9 more digits)")
    return "+" + digits


def phone_argument(raw: str) -> str:
    """argparse type: a phone number normalised to E.164."""
    try:
        return normalise_phone(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def new_sid(prefix: str) -> str:
    """A Twilio-style id: two letters and 32 hex digits (SM… messages, AC… accounts)."""
    return prefix + uuid.uuid4().hex


def build_form(phone: str, to: str, body: str, profile_name: str,
               account_sid: str, message_sid: str | None = None) -> dict[str, str]:
    """The form fields Twilio posts for an inbound WhatsApp text message."""
    sid = message_sid or new_sid("SM")
    return {
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": "whatsapp:" + phone,
        "To": "whatsapp:" + to,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageType": "text",
        "SmsStatus": "received",
        "ProfileName": profile_name,
        "WaId": phone.lstrip("+"),
        "ApiVersion": "2010-04-01",
    }


def sign(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """X-Twilio-Signature for a form post to url, as Twilio computes it."""
    return RequestValidator(auth_token).compute_signature(url, dict(params))


def parse_timestamp(value: str) -> float:
    """Epoch seconds of an ISO-8601 timestamp; one without a zone is taken as UTC."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


# ---------------------------------------------------------------- settings

def var_dir(env: Mapping[str, str] | None = None) -> Path:
    """The stack's state directory: $VAR_DIR as scripts/env.sh sets it, else <repo>/var."""
    env = os.environ if env is None else env
    return Path(env.get("VAR_DIR") or ROOT / "var")


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a file (comments, blanks and `export ` ignored, quotes stripped)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


@dataclass(frozen=True)
class Settings:
    """Where the stack listens and the tokens it wants."""

    rasa_url: str
    backend_url: str
    service_token: str | None
    rasa_token: str | None

    @classmethod
    def load(cls, rasa_url: str | None = None, backend_url: str | None = None,
             secrets_file: Path | None = None, env: Mapping[str, str] | None = None) -> "Settings":
        """Flags first, then the environment (RASA_URL, BACKEND_URL, *_PORT, tokens), then
        $VAR_DIR/secrets.env, then the default ports."""
        env = os.environ if env is None else env
        secrets = read_env_file(secrets_file or var_dir(env) / "secrets.env")

        def pick(key: str) -> str | None:
            return env.get(key) or secrets.get(key) or None

        rasa = rasa_url or pick("RASA_URL") or f"http://127.0.0.1:{pick('RASA_PORT') or 5005}"
        backend = backend_url or pick("BACKEND_URL") or f"http://127.0.0.1:{pick('BACKEND_PORT') or 8000}"
        return cls(rasa.rstrip("/"), backend.rstrip("/"), pick("SERVICE_TOKEN"), pick("RASA_TOKEN"))


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    """The options chat.py and bench.py share."""
    parser.add_argument("--to", default=DEFAULT_TO, type=phone_argument,
                        help=f"the merchant's WhatsApp number (default {DEFAULT_TO}, the demo shop)")
    parser.add_argument("--token", default=DEMO_AUTH_TOKEN,
                        help="the tenant's Twilio auth token used to sign webhooks (default: the demo sandbox token)")
    parser.add_argument("--rasa-url", help="rasa server base URL (default $RASA_URL, else http://127.0.0.1:$RASA_PORT, "
                                           "port 5005)")
    parser.add_argument("--backend-url", help="backend base URL (default $BACKEND_URL, else "
                                              "http://127.0.0.1:$BACKEND_PORT, port 8000)")
    parser.add_argument("--public-url", default=os.environ.get("WHATSAPP_PUBLIC_URL") or None,
                        help="public base URL the channel validates signatures against, when it has one "
                             "(default $WHATSAPP_PUBLIC_URL; unset: the URL posted to)")


# ---------------------------------------------------------------- talking to the stack

@dataclass
class TurnResult:
    """What the webhook answered for one inbound message."""

    message_sid: str
    started_at: float          # epoch seconds (wall clock) when the POST started
    elapsed: float             # seconds from POST start to the answer
    status: int | None = None  # None when no HTTP answer came at all
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None


@dataclass
class Replies:
    """Messages recorded for a customer after an id, and the id to continue from."""

    messages: list[dict] = field(default_factory=list)
    last_id: object = None


def describe_error(response: requests.Response) -> str:
    """'403 Forbidden: <description>' from the project's JSON error shape or the raw body."""
    detail = ""
    try:
        payload = response.json()
        if isinstance(payload, dict):
            detail = str(payload.get("description") or payload.get("message") or payload)
    except ValueError:
        detail = response.text.strip()
    head = f"{response.status_code} {response.reason or ''}".strip()
    return f"{head}: {detail[:500]}" if detail else head


class WebhookClient:
    """One customer-side connection to the stack: posts signed webhooks, reads the Twilio simulator."""

    def __init__(self, settings: Settings, auth_token: str = DEMO_AUTH_TOKEN, to: str = DEFAULT_TO,
                 public_url: str | None = None, timeout: float = 60.0,
                 session: requests.Session | None = None):
        self.settings = settings
        self.auth_token = auth_token
        self.to = normalise_phone(to)
        self.webhook_url = settings.rasa_url + WEBHOOK_PATH
        # Like the channel's WHATSAPP_PUBLIC_URL: a base URL, the webhook path is appended.
        self.signed_url = public_url.rstrip("/") + WEBHOOK_PATH if public_url else self.webhook_url
        self.timeout = timeout
        self.session = session or requests.Session()
        self.account_sid = new_sid("AC")

    # -- rasa

    def post_message(self, phone: str, body: str, profile_name: str = "") -> TurnResult:
        """Send one inbound message as Twilio would; connection failures become StackError."""
        form = build_form(phone, self.to, body, profile_name, self.account_sid)
        headers = {"X-Twilio-Signature": sign(self.signed_url, form, self.auth_token),
                   "User-Agent": "TwilioProxy/1.1"}
        started_at, start = time.time(), time.perf_counter()
        try:
            response = self.session.post(self.webhook_url, data=form, headers=headers, timeout=self.timeout)
        except requests.ConnectionError as exc:
            raise StackError(self._unreachable("rasa", self.settings.rasa_url)) from exc
        except requests.Timeout:
            return TurnResult(form["MessageSid"], started_at, time.perf_counter() - start,
                              error=f"rasa did not answer within {self.timeout:g} s")
        result = TurnResult(form["MessageSid"], started_at, time.perf_counter() - start, response.status_code)
        if response.status_code != 200:
            result.error = describe_error(response)
        return result

    def rasa_version(self) -> str:
        """Rasa's greeting line ('Hello from Rasa: 3.6.21'); StackError when it is down."""
        try:
            response = self.session.get(self.settings.rasa_url + "/", timeout=10)
        except requests.RequestException as exc:
            raise StackError(self._unreachable("rasa", self.settings.rasa_url)) from exc
        return response.text.strip()

    def parse(self, text: str) -> dict:
        """Rasa's NLU answer for text (POST /model/parse, needs RASA_TOKEN)."""
        if not self.settings.rasa_token:
            raise StackError("RASA_TOKEN is not set: run `make up` (it writes var/secrets.env) or export it")
        try:
            response = self.session.post(self.settings.rasa_url + "/model/parse",
                                         params={"token": self.settings.rasa_token},
                                         json={"text": text}, timeout=self.timeout)
        except requests.ConnectionError as exc:
            raise StackError(self._unreachable("rasa", self.settings.rasa_url)) from exc
        if response.status_code in (401, 403):
            raise StackError(f"rasa refused RASA_TOKEN ({describe_error(response)}); check var/secrets.env")
        if response.status_code != 200:
            raise StackError(f"rasa /model/parse failed: {describe_error(response)}")
        return response.json()

    # -- backend (Twilio simulator records)

    def fetch_messages(self, phone: str, after: object = None) -> list[dict]:
        """Messages the simulator recorded for phone after the given id, oldest first."""
        if not self.settings.service_token:
            raise StackError("SERVICE_TOKEN is not set: run `make up` (it writes var/secrets.env) or export it")
        params = {"to": phone}
        if after is not None:
            params["after"] = str(after)
        url = self.settings.backend_url + "/v1/sandbox/messages"
        try:
            response = self.session.get(url, params=params, timeout=15,
                                        headers={"Authorization": f"Bearer {self.settings.service_token}"})
        except requests.ConnectionError as exc:
            raise StackError(self._unreachable("the backend", self.settings.backend_url)) from exc
        except requests.Timeout as exc:
            raise StackError(f"the backend did not answer {url} within 15 s") from exc
        if response.status_code in (401, 403):
            raise StackError(f"the backend refused the service token ({describe_error(response)}); "
                             "check SERVICE_TOKEN in var/secrets.env")
        if response.status_code == 404:
            raise StackError(f"the backend has no {url} ({describe_error(response)}): is it running with SANDBOX=1?")
        if response.status_code != 200:
            raise StackError(f"the backend failed on {url}: {describe_error(response)}")
        try:
            return list(response.json()["results"])
        except (ValueError, KeyError, TypeError) as exc:
            raise StackError(f"the backend answered {url} without a results list: {response.text[:200]!r}") from exc

    def last_message_id(self, phone: str) -> object:
        """Id of the newest recorded message for phone (None when there is none), paging through all."""
        last = None
        while True:
            batch = self.fetch_messages(phone, last)
            if not batch:
                return last
            last = batch[-1]["id"]

    def wait_for_replies(self, phone: str, after: object, first_timeout: float = 15.0, quiet: float = 0.4,
                         poll: float = 0.1, max_wait: float = 60.0,
                         clock: Callable[[], float] = time.monotonic,
                         sleep: Callable[[float], None] = time.sleep) -> Replies:
        """Poll until replies stop: the first within first_timeout, then none new for `quiet` seconds."""
        replies = Replies(last_id=after)
        start = clock()
        last_new = None
        while True:
            batch = self.fetch_messages(phone, replies.last_id)
            now = clock()
            if batch:
                replies.messages.extend(batch)
                replies.last_id = batch[-1]["id"]
                last_new = now
            if last_new is None and now - start >= first_timeout:
                return replies
            if last_new is not None and (now - last_new >= quiet or now - start >= max_wait):
                return replies
            sleep(poll)

    @staticmethod
    def _unreachable(name: str, url: str) -> str:
        flag = "--rasa-url" if name == "rasa" else "--backend-url"
        return f"{name} is not reachable on {url}: run `make up` (or pass {flag})"
