"""The WhatsApp (Twilio) input channel: signature, tenant routing, dedupe, metadata, replies.

Every inbound text is answered unless a person has the conversation: by the turn, else by the
channel (a turn that failed or ran past its deadline, or one that said nothing), else the webhook
answers 503 with its MessageSid unclaimed so that Twilio's retry is processed.
"""
from __future__ import annotations

import asyncio
import logging
import math
import os
import re
import time
from http import HTTPStatus
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Text, Tuple
from urllib.parse import parse_qs

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request, RequestParameters
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from bot.channels import merchant_status, metrics, notices, responses, turns
from bot.channels.backend import BackendClient, BackendError, Tenant, customer_ref, phone_hint
from bot.channels.dedupe import Claim, Deduplicator
from bot.channels.output import WhatsAppOutput
from bot.channels.payloads import DEFAULT_TTL_SECONDS, PayloadSigner, neutralise
from bot import speedups, tracker_store
from kit import clock, interactive, sender, texts
from observability import logs
from observability.errors import init_sentry

logger = logging.getLogger(__name__)

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
WHATSAPP_PREFIX = "whatsapp:"
# Twilio delivers WhatsApp bodies of up to 4,096 characters; anything longer is cut to that, never
# rejected, before it reaches Rasa or the inbound log (which refuses longer bodies).
MAX_TEXT = 4096
MAX_PROFILE_NAME = 200  # the inbound log's limit
MAX_MESSAGE_SID = 64
MAX_MEDIA_URL = 2048
# A turn still running after this many seconds is answered with notices.TROUBLE (it goes on in the
# background and its own replies follow), so the customer hears back within about 5 s.
DEFAULT_TURN_DEADLINE = 4.0
# A claimed MessageSid whose turn never finished (its replica was killed) is processed again by a
# retry after this many seconds; a live turn finishes well within it (deadline, then the replies).
DEFAULT_PENDING_SECONDS = 60
# How long reading the conversation's tracker (pause, language) may take after a silent turn.
TRACKER_READ_SECONDS = 1.0
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
TEXT_ONLY_REPLY = texts.table("channel.text_only")["all"]
Handler = Callable[[UserMessage], Awaitable[Any]]


def _xml(status: int = 200) -> HTTPResponse:
    return response.text(EMPTY_TWIML, status=status, content_type="text/xml")


def _error(status: int, description: str) -> HTTPResponse:
    """The backend's one error shape (backend/api/common.py): code, message, description."""
    return response.json({"code": status, "message": HTTPStatus(status).phrase,
                          "description": description}, status=status)


def is_whatsapp(address: str) -> bool:
    return address.strip().lower().startswith(WHATSAPP_PREFIX)


def whatsapp_phone(address: str) -> Optional[str]:
    """`whatsapp:+2547…` → `+2547…`, or None when it is not an E.164 WhatsApp address."""
    if not is_whatsapp(address):
        return None
    phone = address.strip()[len(WHATSAPP_PREFIX):].strip()
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
    found = []
    for i in range(max(0, min(count, 10))):
        url = form.get(f"MediaUrl{i}") or ""
        if url and len(url) <= MAX_MEDIA_URL:
            found.append({"url": url, "content_type": (form.get(f"MediaContentType{i}") or "")[:255]})
    return found


def body_of(form: Dict[str, str]) -> str:
    """The customer's text, stripped and cut to MAX_TEXT characters."""
    return (form.get("Body") or "").strip()[:MAX_TEXT]


PIN = "\N{ROUND PUSHPIN}"
MAX_PLACE_NAME = 200


def location_of(form: Dict[str, str]) -> Optional[Dict[str, Any]]:
    """A WhatsApp location pin (Twilio's Latitude/Longitude, with the place's Address and Label
    when the customer picked a named place), or None when there is none or it is not a place on
    Earth."""
    try:
        latitude, longitude = float(form["Latitude"]), float(form["Longitude"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (math.isfinite(latitude) and math.isfinite(longitude)
            and -90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    named = [" ".join((form.get(f) or "").split())[:MAX_PLACE_NAME] for f in ("Label", "Address")]
    return {"latitude": latitude, "longitude": longitude,
            "label": named[0] or None, "address": named[1] or None}


def pin_text(location: Dict[str, Any]) -> str:
    """What a pin says as words: the pin and its place's name (never the coordinates)."""
    return " ".join(filter(None, (PIN, location.get("label") or location.get("address"))))


# Where Twilio puts what an interactive reply carries: the id we gave the tapped button or row,
# and the words the customer saw on it.
PAYLOAD_FIELDS = ("ButtonPayload", "ListId")
TAPPED_WORDS_FIELDS = ("ButtonText", "ListTitle")


def user_text(form: Dict[str, str], verified_payload: Optional[str] = None) -> str:
    """What Rasa reads: a button or row payload the channel issued (verified by the caller), else
    the customer's words (the body, or the tapped button's or row's words), never a command."""
    if verified_payload:
        return verified_payload
    words = body_of(form) or next(
        (form[f].strip()[:MAX_TEXT] for f in TAPPED_WORDS_FIELDS if (form.get(f) or "").strip()), "")
    return neutralise(words)


class UnsentReplies(Exception):
    """The turn ran, but the backend did not take its replies (they are kept for the retry)."""

    def __init__(self, replies: List[Dict[str, Any]], cause: BackendError) -> None:
        super().__init__(str(cause))
        self.replies, self.cause = replies, cause


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
            turn_deadline_seconds=float(credentials.get("turn_deadline_seconds")
                                        or os.environ.get("WHATSAPP_TURN_DEADLINE_SECONDS")
                                        or DEFAULT_TURN_DEADLINE),
            payload_ttl_seconds=float(os.environ.get("WHATSAPP_PAYLOAD_TTL_SECONDS")
                                      or os.environ.get("MENU_TTL_SECONDS")
                                      or DEFAULT_TTL_SECONDS),
            # How long a MessageSid whose turn died with its replica (a killed process: nothing
            # released it) answers Twilio's retries with 503 before a retry is processed again.
            pending_seconds=int(os.environ.get("WHATSAPP_PENDING_SECONDS") or DEFAULT_PENDING_SECONDS),
        )

    def __init__(self, backend_url: str, service_token: str, redis_url: Optional[str] = None,
                 public_url: Optional[str] = None, tenant_cache_seconds: float = 60.0,
                 turn_deadline_seconds: float = DEFAULT_TURN_DEADLINE,
                 payload_ttl_seconds: float = DEFAULT_TTL_SECONDS,
                 pending_seconds: int = DEFAULT_PENDING_SECONDS) -> None:
        speedups.install()
        turns.install()
        self.backend = BackendClient(backend_url, service_token, cache_seconds=tenant_cache_seconds)
        self.service_token = service_token
        self.dedupe = Deduplicator(redis_url, pending_seconds=pending_seconds)
        self.payloads = PayloadSigner(service_token, payload_ttl_seconds)
        self.turn_deadline = turn_deadline_seconds
        # Behind a proxy Twilio signs the public URL, not the one this server sees.
        self.public_url = public_url.rstrip("/") if public_url else None
        # Turns that ran past their deadline and go on in the background.
        self._late: Set["asyncio.Task[None]"] = set()

    def signed_url(self, request: Request) -> str:
        if not self.public_url:
            return request.url
        query = f"?{request.query_string}" if request.query_string else ""
        return f"{self.public_url}{request.path}{query}"

    def blueprint(self, on_new_message: Handler) -> Blueprint:
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

        @hook.route("/responses", methods=["PUT"])
        async def responses_route(request: Request) -> HTTPResponse:
            # make reload's path for an edit of response texts only (bot/channels/responses.py).
            return await responses.handle(request, _error)

        return hook

    async def handle(self, request: Request, on_new_message: Handler) -> HTTPResponse:
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

    async def handle_webhook(self, request: Request, on_new_message: Handler) -> HTTPResponse:
        params = parse_form(request)
        form = {key: params.get(key) for key in params}
        missing = [f for f in ("MessageSid", "From", "To") if not form.get(f)]
        if missing:
            return _error(400, f"not a Twilio WhatsApp webhook: missing {', '.join(missing)}")
        if len(form["MessageSid"]) > MAX_MESSAGE_SID:
            return _error(400, f"MessageSid is longer than {MAX_MESSAGE_SID} characters")
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
        if not is_whatsapp(form["From"]) or not is_whatsapp(form["To"]):
            # SMS (or another channel) to the same number: not ours to answer on WhatsApp.
            logger.info("ignoring a message that is not WhatsApp for tenant %s", tenant.tenant_id)
            return _xml()
        phone = whatsapp_phone(form["From"])
        if phone is None:
            return _error(400, "From is not a WhatsApp E.164 address")
        try:
            if await self.backend.resolve_tenant(form["From"]) is not None:
                # Another merchant's (or this merchant's own) assistant: answering would loop.
                logger.info("ignoring a message from a business number for tenant %s",
                            tenant.tenant_id)
                return _xml()
        except BackendError as exc:
            logger.error("sender check failed: %s", exc)
            return _error(503, "the backend is unavailable; Twilio will retry")
        # Several replicas: a tracker store error fails the turn, never a silent in-memory tracker.
        tracker_store.make_strict(getattr(getattr(request.app, "ctx", None), "agent", None))
        key = f"{tenant.tenant_id}:{form['MessageSid']}"
        claim = await self.dedupe.claim(key)
        if claim is Claim.DONE:
            logger.info("dropping repeated MessageSid %s", form["MessageSid"])
            request.ctx.outcome = "duplicate"
            return _xml()
        if claim is Claim.PENDING:
            return _error(503, "this MessageSid is being processed; a retry will be answered")
        if claim is Claim.UNSENT:
            return await self.send_parked(key, tenant, phone, form["MessageSid"])
        try:
            await self.process(request, tenant, phone, form, on_new_message,
                               abandoned=claim is Claim.ABANDONED)
        except UnsentReplies as exc:
            # The turn ran (it is in the tracker): the retry sends these, it does not run again.
            await self.dedupe.park(key, exc.replies)
            logger.error("replies for %s not handed to the backend: %s", key, exc.cause)
            return _error(503, "the backend is unavailable; Twilio will retry")
        except BackendError as exc:
            await self.dedupe.release(key)
            logger.error("turn for %s failed: %s", key, exc)
            return _error(503, "the backend is unavailable; Twilio will retry")
        except Exception:
            await self.dedupe.release(key)
            logger.exception("turn for %s failed", key)
            return _error(500, "the message could not be processed; Twilio will retry")
        await self.dedupe.complete(key)
        return _xml()

    async def send_parked(self, key: str, tenant: Tenant, phone: str, message_sid: str) -> HTTPResponse:
        """A retry of a message whose turn ran but whose replies the backend did not take."""
        replies = await self.dedupe.parked(key)
        if replies is None:  # gone meanwhile (sent by another retry): nothing left to do
            return _xml()
        try:
            await self.backend.send_outbound(tenant.tenant_id, phone, replies, in_reply_to=message_sid)
        except BackendError as exc:
            logger.error("parked replies for %s still not handed over: %s", key, exc)
            return _error(503, "the backend is unavailable; Twilio will retry")
        await self.dedupe.complete(key)
        logger.info("parked replies for %s handed over", key)
        return _xml()

    async def process(self, request: Request, tenant: Tenant, phone: str, form: Dict[str, str],
                      on_new_message: Handler, abandoned: bool = False) -> None:
        """Log the message, run the turn, and hand the replies to the backend (BackendError when
        the backend cannot take them: nothing was answered)."""
        media = media_of(form)
        body = body_of(form)
        text = user_text(form, self.verified_payload(tenant, phone, form))
        location = location_of(form)
        if location is not None and not text:  # a pin alone: its words (the form reads the pin)
            body = text = pin_text(location)
        logged = await self.backend.log_inbound({
            "tenant_id": tenant.tenant_id, "from": phone,
            "profile_name": (form.get("ProfileName") or "")[:MAX_PROFILE_NAME] or None,
            "message_sid": form["MessageSid"], "body": body, "media": media})
        # Rasa knows the customer by the backend's opaque reference, never by the phone.
        ref = customer_ref(logged)
        sender_id = sender.sender_id(tenant.tenant_id, ref)
        logs.bind(conversation=sender_id)
        output = WhatsAppOutput()
        notice = self.notice_instead_of_turn(tenant, text)
        if notice is not None:
            output.messages.append({"body": notice, "media_url": None})
        elif not text:
            output.messages.append({"body": TEXT_ONLY_REPLY, "media_url": None})
        elif abandoned and (earlier := await self.earlier_turn(request, sender_id,
                                                              form["MessageSid"])) is not None:
            # The replica that ran it died after the tracker had it: its answer, not a second run.
            logger.warning("%s:%s ran before its replica died; answering from the tracker",
                           tenant.tenant_id, form["MessageSid"])
            output.messages.extend(earlier or [{"body": notices.TROUBLE[notices.language_for(
                body, None, tenant.primary_language)], "media_url": None}])
        else:
            metadata = {
                "tenant_id": tenant.tenant_id, "customer_ref": ref,
                "phone_hint": phone_hint(phone),
                "profile_name": (form.get("ProfileName") or "")[:MAX_PROFILE_NAME] or None,
                "message_sid": form["MessageSid"],
                "media": media, "tenant_language": tenant.primary_language,
                "location": location,
                # During the merchant's quiet hours nobody answers a handoff until they end.
                "quiet_until": clock.quiet_until(tenant.quiet_hours, tenant.timezone),
                "request_id": logs.current()["request_id"],  # the actions send it to the backend
            }
            message = UserMessage(text, output, sender_id=sender_id, input_channel=self.name(),
                                  metadata=metadata)
            problems, turn = await self.run_turn(message, on_new_message)
            finished = turn.done()
            if problems.failed or not finished:
                logger.error("turn for %s:%s %s: %s", tenant.tenant_id, form["MessageSid"],
                             "failed" if finished else "ran past its deadline",
                             "; ".join(problems.reasons) or "-")
                paused, language = await self.conversation_state(request, sender_id)
                if not paused:  # else the person who has the conversation sees the message
                    reply = notices.TROUBLE[notices.language_for(body, language,
                                                                 tenant.primary_language)]
                    output.messages.append({"body": reply, "media_url": None})
                if not finished:
                    self.follow_late_turn(tenant, phone, form["MessageSid"], turn, output, problems)
            elif not output.messages:
                paused, language = await self.conversation_state(request, sender_id)
                if not paused:
                    logger.warning("silent turn for %s:%s; the channel answers",
                                   tenant.tenant_id, form["MessageSid"])
                    reply = notices.NOT_UNDERSTOOD[notices.language_for(
                        body, language, tenant.primary_language)]
                    output.messages.append({"body": reply, "media_url": None})
        if output.messages:
            language = None
            # A list's words follow the conversation's language (a question's own words tell it).
            if any((m.get("interactive") or {}).get("type") == interactive.LIST
                   for m in output.messages):
                _, language = await self.conversation_state(request, sender_id)
            replies = self.issue_interactive(tenant, phone, output.messages,
                                             language or tenant.primary_language)
            try:
                await self.backend.send_outbound(tenant.tenant_id, phone, replies,
                                                 in_reply_to=form["MessageSid"])
            except BackendError as exc:
                if text and notice is None:  # a Rasa turn ran: never run it again
                    raise UnsentReplies(replies, exc) from exc
                raise

    def issue_interactive(self, tenant: Tenant, phone: str, messages: List[Dict[str, Any]],
                          language: Optional[str]) -> List[Dict[str, Any]]:
        """The replies as the backend takes them: a menu's or question's interactive form with
        its ids signed for this customer (kit/interactive.py), or none when it cannot have one;
        the numbered text stays the body either way."""
        out = []
        for message in messages:
            spec = message.get("interactive")
            reply = {k: v for k, v in message.items() if k != "interactive"}
            if spec:
                issued = interactive.issue(
                    spec, language, lambda p: self.payloads.sign(tenant.tenant_id, phone, p))
                if issued is not None:
                    reply["interactive"] = issued
            out.append(reply)
        return out

    def verified_payload(self, tenant: Tenant, phone: str, form: Dict[str, str]) -> Optional[str]:
        """The intent payload of a button or list row the channel issued to this customer and
        that is still fresh, else None (a forged, foreign or stale payload is logged and the
        message is read as the customer's text)."""
        for field in PAYLOAD_FIELDS:
            signed = (form.get(field) or "").strip()
            if not signed:
                continue
            payload = self.payloads.verify(tenant.tenant_id, phone, signed)
            if payload is not None:
                return payload
            logger.warning("ignoring a %s the channel did not issue, or a stale one (tenant %s)",
                           field, tenant.tenant_id)
        return None

    async def run_turn(self, message: UserMessage,
                       on_new_message: Handler) -> Tuple[turns.TurnProblems, "asyncio.Task[Any]"]:
        """Runs Rasa's turn for at most the deadline: what went wrong, and the turn (not done when
        it ran past the deadline; it goes on)."""
        problems = turns.watch()
        turn = asyncio.ensure_future(on_new_message(message))  # sees `problems` (context copy)
        try:
            await asyncio.wait_for(asyncio.shield(turn), self.turn_deadline)
        except asyncio.TimeoutError:
            pass
        except Exception as exc:  # Rasa itself failed: tracker store, lock store, model…
            logger.error("the turn raised %r", exc)
            problems.reasons.append(f"turn raised {type(exc).__name__}")
        return problems, turn

    def follow_late_turn(self, tenant: Tenant, phone: str, message_sid: str,
                         turn: "asyncio.Task[Any]", output: WhatsAppOutput,
                         problems: turns.TurnProblems) -> None:
        """A turn past its deadline goes on; what it says after the customer was told about the
        trouble is sent when it ends (nothing when it failed)."""
        already = len(output.messages)

        async def finish() -> None:
            try:
                await turn
            except Exception as exc:
                logger.error("late turn for %s:%s raised %r", tenant.tenant_id, message_sid, exc)
                return
            late = output.messages[already:]
            if problems.failed or not late:
                return
            try:
                await self.backend.send_outbound(
                    tenant.tenant_id, phone,
                    self.issue_interactive(tenant, phone, list(late), tenant.primary_language),
                    in_reply_to=message_sid)
            except BackendError as exc:
                logger.error("late replies for %s:%s not sent: %s", tenant.tenant_id,
                             message_sid, exc)

        task = asyncio.ensure_future(finish())
        self._late.add(task)
        task.add_done_callback(self._late.discard)

    async def earlier_turn(self, request: Request, sender_id: str,
                           message_sid: str) -> Optional[List[Dict[str, Any]]]:
        """The texts the bot said after the customer's message `message_sid` when the tracker has
        that message (its turn ran), else None. A tracker that cannot be read raises: the turn
        fails and stays retryable."""
        agent = getattr(getattr(request.app, "ctx", None), "agent", None)
        store = getattr(agent, "tracker_store", None)
        if store is None:
            return None
        tracker = await store.retrieve(sender_id)
        if tracker is None:
            return None
        said: Optional[List[Dict[str, Any]]] = None
        for event in tracker.events:
            if event.type_name == "user":
                if said is not None:
                    break
                if (event.metadata or {}).get("message_sid") == message_sid:
                    said = []
            elif said is not None and event.type_name == "bot" and event.text:
                said.append({"body": event.text, "media_url": None})
        return said

    async def conversation_state(self, request: Request,
                                 sender_id: str) -> Tuple[bool, Optional[str]]:
        """(whether a person has the conversation, its reply language) from Rasa's tracker: a
        handoff pauses it (ConversationPaused) until the merchant resumes it. (False, None) when
        the tracker cannot be read: the customer is answered rather than left without a word."""
        agent = getattr(getattr(request.app, "ctx", None), "agent", None)
        store = getattr(agent, "tracker_store", None)
        if store is not None:
            try:
                tracker = await asyncio.wait_for(store.retrieve(sender_id), TRACKER_READ_SECONDS)
                if tracker is not None:
                    return tracker.is_paused(), tracker.get_slot("language")
            except Exception as exc:  # the tracker store is down or slow
                logger.warning("tracker not readable: %r", exc)
        return False, None

    @staticmethod
    def notice_instead_of_turn(tenant: Tenant, text: str) -> Optional[str]:
        """None for a normal turn; else the reply that replaces it (an inactive subscription)."""
        if tenant.status != "suspended":
            return None
        return merchant_status.inactive_notice(text, tenant.primary_language, tenant.name)

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        return None
