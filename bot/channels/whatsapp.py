"""The WhatsApp (Twilio) input channel: signature, tenant routing, dedupe, metadata, replies."""
from __future__ import annotations

import logging
import os
import re
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text
from urllib.parse import parse_qs

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request, RequestParameters
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from bot.channels import availability, metrics
from bot.channels.backend import BackendClient, BackendError, Tenant, customer_ref, phone_hint
from bot.channels.dedupe import Deduplicator
from bot.channels.output import WhatsAppOutput
from bot import speedups
from observability import logs
from observability.errors import init_sentry

logger = logging.getLogger(__name__)

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
# WhatsApp accepts up to 4,096 characters; anything longer is cut, never rejected.
MAX_TEXT = 4096
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
TEXT_ONLY_REPLY = ("Sorry, I can only read text messages for now. Please type your question.\n"
                   "Samahani, kwa sasa naweza kusoma ujumbe wa maandishi tu. Tafadhali andika.")


def _xml(status: int = 200) -> HTTPResponse:
    return response.text(EMPTY_TWIML, status=status, content_type="text/xml")


def _error(status: int, description: str) -> HTTPResponse:
    return response.json({"code": status, "description": description}, status=status)


def whatsapp_phone(address: str) -> Optional[str]:
    """`whatsapp:+2547…` → `+2547…`, or None when it is not an E.164 WhatsApp address."""
    phone = address[len("whatsapp:"):] if address.startswith("whatsapp:") else address
    phone = phone.strip()
    return phone if E164.match(phone) else None


def parse_form(request: Request) -> RequestParameters:
    """The posted form with blank values kept: Twilio signs `Body=` too (Sanic's `form` drops it)."""
    if not request.content_type.startswith("application/x-www-form-urlencoded"):
        return RequestParameters()
    text = request.body.decode("utf-8", errors="replace")
    return RequestParameters(parse_qs(text, keep_blank_values=True))


def media_of(form: Dict[str, str]) -> List[Dict[str, str]]:
    try:
        count = int(form.get("NumMedia") or 0)
    except ValueError:
        count = 0
    return [{"url": form.get(f"MediaUrl{i}", ""), "content_type": form.get(f"MediaContentType{i}", "")}
            for i in range(min(count, 10)) if form.get(f"MediaUrl{i}")]


def user_text(form: Dict[str, str]) -> str:
    """What the customer said: a tapped button's payload when it is an intent, else the body."""
    payload = (form.get("ButtonPayload") or "").strip()
    if payload.startswith("/"):
        return payload
    return (form.get("Body") or "").strip()[:MAX_TEXT]


class WhatsAppInput(InputChannel):
    """Twilio WhatsApp webhook at /webhooks/whatsapp/webhook."""

    @classmethod
    def name(cls) -> Text:
        return "whatsapp"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "WhatsAppInput":
        credentials = credentials or {}
        logs.configure("rasa")  # the rasa server process: JSON lines from here on
        init_sentry("rasa")
        return cls(
            backend_url=credentials.get("backend_url") or os.environ["BACKEND_URL"],
            service_token=credentials.get("service_token") or os.environ["SERVICE_TOKEN"],
            redis_url=credentials.get("redis_url") or os.environ.get("REDIS_URL") or None,
            public_url=credentials.get("public_url") or os.environ.get("WHATSAPP_PUBLIC_URL"),
            tenant_cache_seconds=float(credentials.get("tenant_cache_seconds")
                                       or os.environ.get("TENANT_CACHE_SECONDS") or 60),
        )

    def __init__(self, backend_url: str, service_token: str, redis_url: Optional[str] = None,
                 public_url: Optional[str] = None, tenant_cache_seconds: float = 60.0) -> None:
        speedups.install()
        self.backend = BackendClient(backend_url, service_token, cache_seconds=tenant_cache_seconds)
        self.service_token = service_token
        self.dedupe = Deduplicator(redis_url)
        # Behind a proxy Twilio signs the public URL, not the one this server sees.
        self.public_url = public_url.rstrip("/") if public_url else None

    def signed_url(self, request: Request) -> str:
        if not self.public_url:
            return request.url
        query = f"?{request.query_string}" if request.query_string else ""
        return f"{self.public_url}{request.path}{query}"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("whatsapp_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self.handle(request, on_new_message)

        @hook.route("/metrics", methods=["GET"])
        async def metrics_route(request: Request) -> HTTPResponse:
            if not metrics.authorized(request, self.service_token):
                return _error(401, "/metrics needs Authorization: Bearer <METRICS_TOKEN>")
            return metrics.exposition()

        return hook

    async def handle(self, request: Request,
                     on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        """One webhook under its request id (a proxy's X-Request-ID if any, else a new one): every
        log line of the turn carries it, the backend calls and the Rasa turn's metadata too."""
        request_id = logs.accept_request_id(request.headers.get(logs.REQUEST_ID_HEADER))
        started = time.perf_counter()
        with logs.bound(request_id=request_id):
            try:
                reply = await self.handle_webhook(request, on_new_message)
            except Exception:
                metrics.record("error", time.perf_counter() - started)
                logger.exception("webhook failed")
                raise
            outcome = metrics.outcome_of(reply.status, getattr(request.ctx, "outcome", None))
            metrics.record(outcome, time.perf_counter() - started)
            logger.info("webhook %s", outcome, extra={
                "status": reply.status, "duration_ms": round((time.perf_counter() - started) * 1000)})
        reply.headers[logs.REQUEST_ID_HEADER] = request_id
        return reply

    async def handle_webhook(
            self, request: Request,
            on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        params = parse_form(request)
        form = {key: params.get(key) for key in params}
        missing = [f for f in ("MessageSid", "From", "To") if not form.get(f)]
        if missing:
            return _error(400, f"not a Twilio WhatsApp webhook: missing {', '.join(missing)}")
        try:
            tenant = await self.backend.resolve_tenant(form["To"])
        except BackendError as exc:
            logger.error("tenant routing failed: %s", exc)
            return _error(503, "the backend is unavailable; Twilio will retry")
        if tenant is None:
            return _error(404, f"no merchant uses the number {form['To']}")
        logs.bind(tenant=tenant.tenant_id)
        signature = request.headers.get("X-Twilio-Signature", "")
        if not RequestValidator(tenant.auth_token).validate(
                self.signed_url(request), params, signature):
            return _error(403, "invalid X-Twilio-Signature")
        phone = whatsapp_phone(form["From"])
        if phone is None:
            return _error(400, f"From is not a WhatsApp E.164 address: {form['From']!r}")
        key = f"{tenant.tenant_id}:{form['MessageSid']}"
        if not await self.dedupe.claim(key):
            logger.info("dropping repeated MessageSid %s", form["MessageSid"])
            request.ctx.outcome = "duplicate"
            return _xml()
        try:
            await self.process(tenant, phone, form, on_new_message)
        except BackendError as exc:
            await self.dedupe.release(key)
            logger.error("turn for %s failed: %s", key, exc)
            return _error(503, "the backend is unavailable; Twilio will retry")
        except Exception:
            await self.dedupe.release(key)
            raise
        return _xml()

    async def process(self, tenant: Tenant, phone: str, form: Dict[str, str],
                      on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        media = media_of(form)
        text = user_text(form)
        logged = await self.backend.log_inbound({
            "tenant_id": tenant.tenant_id, "from": phone, "profile_name": form.get("ProfileName"),
            "message_sid": form["MessageSid"], "body": form.get("Body") or "", "media": media})
        # Rasa knows the customer by the backend's opaque reference, never by the phone.
        ref = customer_ref(logged)
        sender_id = f"{tenant.tenant_id}:{ref}"
        logs.bind(conversation=sender_id)
        output = WhatsAppOutput()
        notice = self.notice_instead_of_turn(tenant, text)
        if notice is not None:
            output.messages.append({"body": notice, "media_url": None})
        elif not text:
            output.messages.append({"body": TEXT_ONLY_REPLY, "media_url": None})
        else:
            metadata = {
                "tenant_id": tenant.tenant_id, "customer_ref": ref,
                "phone_hint": phone_hint(phone),
                "profile_name": form.get("ProfileName"), "message_sid": form["MessageSid"],
                "media": media, "tenant_language": tenant.primary_language,
                # During the merchant's quiet hours nobody answers a handoff until they end.
                "quiet_until": availability.quiet_until(tenant.quiet_hours, tenant.timezone),
                "request_id": logs.current()["request_id"],  # the actions send it to the backend
            }
            await on_new_message(UserMessage(
                text, output, sender_id=sender_id, input_channel=self.name(),
                metadata=metadata))
        if output.messages:
            await self.backend.send_outbound(tenant.tenant_id, phone, output.messages,
                                             in_reply_to=form["MessageSid"])

    @staticmethod
    def notice_instead_of_turn(tenant: Tenant, text: str) -> Optional[str]:
        """None for a normal turn; else the reply that replaces it (an inactive subscription)."""
        if tenant.status != "suspended":
            return None
        language = availability.reply_language(text, tenant.primary_language)
        return availability.INACTIVE[language].format(name=tenant.name)

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        return None
