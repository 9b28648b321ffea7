"""/app/simulator: a WhatsApp-like phone for conversation designers (sandbox mode only).

Everything goes through the real path: a message typed or tapped here is posted to the Rasa
WhatsApp channel as Twilio would post it (form fields, X-Twilio-Signature with the tenant's auth
token, one bounded call); the assistant's replies reach the Twilio simulator like any customer's
and the page polls them (`/messages`); an M-Pesa prompt is the Daraja simulator's STK push for the
simulated phone, answered here (approve, decline, wrong PIN, no answer). The debug view reads
Rasa's tracker (GET /conversations/<sender>/tracker with RASA_TOKEN).

The conversation a page talks in (tenant, phone, starting language, the user) travels as an
encrypted handle (`s`), so no phone number appears in a URL or an access log. Only sandbox
tenants the signed-in person may use the simulator in (the `simulator:use` scope there) can be
picked: their replies never leave the simulator. Each turn of the debug view also lists the backend
calls the assistant made for it (backend/call_log.py: kept in Redis under the turn's request id
for sandbox tenants only).
"""

from __future__ import annotations

import json
import logging
import secrets
from pathlib import Path
from typing import Any

import requests
from cryptography.fernet import InvalidToken
from flask import Blueprint, Flask, Response, current_app, jsonify, redirect, request, url_for
from sqlalchemy import select

from backend.domain.errors import NotFound
from backend.interface.scopes import requires
from backend.models import Tenant
from backend.observability import call_log
from backend.providers.rasa import RasaClient, RasaError
from backend.sandbox.daraja import MAGIC_SUFFIXES
from backend.sandbox.simulator import mpesa
from backend.sandbox.simulator.debug import sender_language, turns
from backend.sandbox.simulator.stories import NothingToSave, file_name, story_yaml
from backend.sandbox.twilio import list_messages
from backend.sandbox.twilio_content import reply_fields
from backend.services.accounts.sessions import member_scopes
from backend.services.platform.customers import (
    find_customer,
    get_customer,
    list_customers,
    upsert_customer,
)
from backend.web import core
from backend.web.core import PageError, context, page, viewer

log = logging.getLogger(__name__)
SCOPE = "simulator:use"
WEBHOOK_PATH = "/webhooks/whatsapp/webhook"
WEBHOOK_TIMEOUT_SECONDS = 15.0  # the channel answers within its turn deadline (about 4 s)
LANGUAGES = ("en", "sw", "sheng")
MAX_TEXT = 4096
PROFILE_NAME = "Simulator"
RECENT_CUSTOMERS = 50

blp = Blueprint("simulator", __name__, url_prefix="/app/simulator")
# The web app's own hooks: who is signed in, the declared scope, CSRF on writes, the headers.
# (No generic audit record: the simulator changes nothing but through the assistant's real path.)
blp.before_request(core.authenticate)


@blp.after_request
def images_anywhere(response: Response) -> Response:
    """The app's policy, with product images from wherever the catalog keeps them."""
    policy = response.headers.get("Content-Security-Policy", "")
    response.headers["Content-Security-Policy"] = policy.replace(
        "img-src 'self' data:", "img-src 'self' data: https: http:")
    return response


blp.after_request(core.page_headers)  # runs before images_anywhere (Flask: last added, first)


def register_simulator(app: Flask) -> None:
    app.register_blueprint(blp)
    app.config["SIMULATOR"] = True  # the dashboard's menu links it


class Conversation:
    """Where a simulator page talks: its tenant, the simulated phone, the starting language."""

    def __init__(self, tenant_id: str, phone: str, language: str, user_id: int) -> None:
        self.tenant_id, self.phone, self.language, self.user_id = (
            tenant_id, phone, language, user_id)

    def handle(self) -> str:
        return context().crypto.encrypt(json.dumps(
            {"t": self.tenant_id, "p": self.phone, "l": self.language, "u": self.user_id}))

    @classmethod
    def from_handle(cls, raw: str | None) -> Conversation:
        """The page's conversation; 404 for a handle that is not this person's or whose tenant
        they may no longer simulate in."""
        try:
            data = json.loads(context().crypto.decrypt(raw or ""))
            found = cls(str(data["t"]), str(data["p"]), str(data["l"]), int(data["u"]))
        except (InvalidToken, ValueError, KeyError, TypeError) as error:
            raise PageError(404, "error.not_found") from error
        if found.user_id != viewer().signed_in.user_id:
            raise PageError(404, "error.not_found")
        _sandbox_tenant(found.tenant_id)
        return found

    @property
    def msisdn(self) -> str:
        return self.phone.lstrip("+")


def _sandbox_tenant(tenant_id: str) -> Tenant:
    """A sandbox tenant the signed-in person may simulate in; 404 otherwise."""
    ctx = context()
    scopes = member_scopes(ctx, tenant_id, viewer().signed_in.user_id)
    if not scopes or SCOPE not in scopes:
        raise PageError(404, "error.not_found")
    with ctx.db.transaction() as session:
        tenant = session.get(Tenant, tenant_id)
        if tenant is None or not tenant.sandbox:
            raise PageError(404, "error.not_found")
        session.expunge(tenant)
        return tenant


def _tenants() -> list[dict[str, str]]:
    """The sandbox tenants the signed-in person may simulate in."""
    ctx = context()
    ids = [m.tenant_id for m in viewer().memberships
           if SCOPE in (member_scopes(ctx, m.tenant_id, viewer().signed_in.user_id) or ())]
    with ctx.db.transaction() as session:
        rows = session.scalars(select(Tenant).where(Tenant.id.in_(ids), Tenant.sandbox.is_(True))
                               .order_by(Tenant.name)).all()
        return [{"id": t.id, "name": t.name, "language": t.primary_language} for t in rows]


def new_test_number() -> str:
    """A fresh Kenyan mobile number for a new simulated customer (none of the Daraja
    simulator's magic endings, so the M-Pesa prompt waits for the designer's answer)."""
    while True:
        number = "+2547" + "".join(secrets.choice("0123456789") for _ in range(8))
        if not any(number.endswith(ending) for ending in MAGIC_SUFFIXES):
            return number


def _sender_id(conversation: Conversation) -> str | None:
    """Rasa's id for the conversation, `<tenant>:<customer ref>`; None before the customer exists."""
    ctx = context()
    with ctx.db.transaction() as session:
        customer = find_customer(session, ctx.crypto, conversation.tenant_id, conversation.phone)
        return f"{conversation.tenant_id}:{customer.ref}" if customer is not None else None


def _json_error(status: int, message: str, description: str) -> Response:
    response = jsonify({"code": status, "message": message, "description": description})
    response.status_code = status
    return response


@blp.errorhandler(PageError)
def page_error(error: PageError) -> Response:
    if request.endpoint in ("simulator.chat", "simulator.start"):
        return core.page_error(error)
    return _json_error(error.status, core.t(error.key), error.detail or core.t(error.key))


@blp.errorhandler(NotFound)
def not_found(_: NotFound) -> Response:
    return page_error(PageError(404, "error.not_found"))


# ------------------------------------------------------------------ pages

@blp.get("")
@requires(SCOPE)
def chat() -> Response:
    """The setup form, or (with a handle) the phone and the debug view."""
    raw = request.args.get("s")
    tenants = _tenants()
    if not raw:
        chosen = request.args.get("tenant") or (tenants[0]["id"] if tenants else "")
        customers = []
        if chosen and any(t["id"] == chosen for t in tenants):
            customers = list_customers(context(), chosen, page_size=RECENT_CUSTOMERS).results
        return page("simulator.html", section="nav.simulator", tenants=tenants, chosen=chosen,
                    customers=customers, handle=None, sim_languages=LANGUAGES)
    conversation = Conversation.from_handle(raw)
    shown = list_messages(context(), conversation.tenant_id, to=conversation.phone)
    return page("simulator.html", section="nav.simulator", tenants=tenants,
                chosen=conversation.tenant_id, customers=[], handle=raw,
                conversation=conversation, tenant=_sandbox_tenant(conversation.tenant_id),
                after=shown[-1].id if shown else 0, sim_languages=LANGUAGES,
                stories_dir=context().settings.simulator_stories_dir)


@blp.post("/start")
@requires(SCOPE)
def start() -> Response:
    """Open a conversation: the tenant, a new test number or an existing customer, the starting
    language (set as the conversation's `language` slot, which its session start keeps)."""
    tenant = _sandbox_tenant(request.form.get("tenant", ""))
    language = request.form.get("language", "")
    if language not in LANGUAGES:
        raise PageError(422, "form.invalid", f"language: one of {', '.join(LANGUAGES)}")
    ctx = context()
    choice = request.form.get("customer", "new")
    if choice == "new":
        phone = new_test_number()
        with ctx.db.transaction() as session:
            customer = upsert_customer(session, ctx.crypto, tenant.id, phone, PROFILE_NAME)
            ref = customer.ref
    elif choice.isdigit():
        known = get_customer(ctx, tenant.id, int(choice))
        phone = known.phone
        ref = _sender_id(Conversation(tenant.id, phone, language, 0)) or ""
        ref = ref.partition(":")[2]
    else:
        raise PageError(422, "form.invalid", "customer: new or a customer id")
    conversation = Conversation(tenant.id, phone, language, viewer().signed_in.user_id)
    mpesa.hold_prompts(ctx, conversation.msisdn)
    try:
        RasaClient.from_settings(ctx.settings).append_events(
            f"{tenant.id}:{ref}", [{"event": "slot", "name": "language", "value": language}])
    except RasaError as error:
        log.warning("simulator: the starting language was not set: %s", error.status)
        raise PageError(502, "simulator.rasa_unreachable") from error
    return redirect(url_for("simulator.chat", s=conversation.handle()), code=303)


# ------------------------------------------------------------------ the phone

def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise PageError(400, "form.invalid", "a JSON object is expected")
    return data


def _webhook_url() -> tuple[str, str]:
    """(where the webhook is posted, the URL it is signed for)."""
    settings = context().settings
    posted = settings.rasa_url.rstrip("/") + WEBHOOK_PATH
    signed = settings.whatsapp_public_url + WEBHOOK_PATH if settings.whatsapp_public_url \
        else posted
    return posted, signed


def post_webhook(tenant: Tenant, phone: str, fields: dict[str, str]) -> int:
    """Post one inbound WhatsApp message to the Rasa channel as Twilio does (its form fields,
    signed with the tenant's auth token by Twilio's own RequestValidator scheme); the status."""
    from twilio.request_validator import RequestValidator

    ctx = context()
    sid = "SM" + secrets.token_hex(16)
    form = {"SmsMessageSid": sid, "SmsSid": sid, "MessageSid": sid,
            "AccountSid": tenant.twilio_account_sid, "From": "whatsapp:" + phone,
            "To": "whatsapp:" + tenant.whatsapp_number, "Body": "", "NumMedia": "0",
            "NumSegments": "1", "ReferralNumMedia": "0", "MessageType": "text",
            "SmsStatus": "received", "ProfileName": PROFILE_NAME, "WaId": phone.lstrip("+"),
            "ApiVersion": "2010-04-01", **fields}
    if "ButtonPayload" in fields or "ListId" in fields:
        form["MessageType"] = "interactive"
    posted, signed = _webhook_url()
    token = ctx.crypto.decrypt(tenant.twilio_auth_token_encrypted)
    signature = RequestValidator(token).compute_signature(signed, form)
    try:
        answer = requests.post(posted, data=form, timeout=WEBHOOK_TIMEOUT_SECONDS,
                               headers={"X-Twilio-Signature": signature,
                                        "User-Agent": "TwilioProxy/1.1"})
    except requests.RequestException as error:
        raise PageError(502, "simulator.rasa_unreachable") from error
    return answer.status_code


@blp.post("/send")
@requires(SCOPE)
def send() -> Response:
    """The customer's message: words ({"text"}) or a tap on a button or list row of a message
    the simulator received ({"message_id", "choice"}, 1-based)."""
    data = _body()
    conversation = Conversation.from_handle(data.get("s"))
    tenant = _sandbox_tenant(conversation.tenant_id)
    if "message_id" in data:
        shown = [m for m in list_messages(context(), tenant.id, to=conversation.phone)
                 if m.id == data.get("message_id") and m.interactive]
        choice = data.get("choice")
        rows = (shown[0].interactive or {}).get("items") or (shown[0].interactive or {}).get(
            "actions") or [] if shown else []
        if not shown or not isinstance(choice, int) or not 1 <= choice <= len(rows):
            raise PageError(404, "error.not_found")
        fields = reply_fields(shown[0].interactive or {}, choice)
    else:
        text = data.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            raise PageError(422, "form.invalid", f"text: 1 to {MAX_TEXT} characters")
        fields = {"Body": text.strip()}
    status = post_webhook(tenant, conversation.phone, fields)
    if status != 200:
        return _json_error(502, "Bad Gateway", f"the WhatsApp channel answered {status}")
    return jsonify({"status": status, "sent": fields["Body"]})


@blp.get("/messages")
@requires(SCOPE)
def messages() -> Response:
    """What the assistant sent the simulated phone after `after` (the Twilio simulator's
    records), and the M-Pesa prompts waiting for the phone's answer."""
    conversation = Conversation.from_handle(request.args.get("s"))
    raw_after = request.args.get("after", "0")
    after = int(raw_after) if raw_after.isdigit() and len(raw_after) < 19 else 0
    ctx = context()
    found = list_messages(ctx, conversation.tenant_id, to=conversation.phone, after=after)
    return jsonify({
        "messages": [{"id": m.id, "body": m.body, "media_url": m.media_url,
                      "interactive": m.interactive, "at": m.created_at.isoformat()}
                     for m in found],
        "prompts": mpesa.waiting_prompts(ctx, conversation.msisdn),
    })


@blp.post("/mpesa")
@requires(SCOPE)
def answer_prompt() -> Response:
    """The simulated phone's answer to an M-Pesa prompt: approve, decline, wrong_pin or
    no_answer (the Daraja simulator sends the callback as its scenarios do)."""
    data = _body()
    conversation = Conversation.from_handle(data.get("s"))
    answer = data.get("answer")
    if answer not in mpesa.ANSWERS:
        raise PageError(422, "form.invalid", f"answer: one of {', '.join(mpesa.ANSWERS)}")
    if not mpesa.answer(context(), conversation.msisdn, str(data.get("checkout", "")),
                        str(answer)):
        raise PageError(404, "error.not_found")
    return jsonify({"answer": answer})


# ------------------------------------------------------------------ debug, restart, rewind, story

def _tracker(conversation: Conversation) -> tuple[str | None, dict[str, Any]]:
    sender = _sender_id(conversation)
    if sender is None:
        return None, {}
    try:
        return sender, RasaClient.from_settings(context().settings).tracker(sender)
    except RasaError as error:
        raise PageError(502, "simulator.rasa_unreachable") from error


@blp.get("/debug")
@requires(SCOPE)
def debug() -> Response:
    """Each turn as the assistant saw it (Rasa's tracker), with the backend calls made under its
    request id; `backend_calls_recorded` is false when they are not kept (no Redis) or Redis
    did not answer."""
    conversation = Conversation.from_handle(request.args.get("s"))
    _, tracker = _tracker(conversation)
    loop = (tracker.get("active_loop") or {}).get("name")
    found = turns(tracker)
    record = call_log(current_app)
    calls = record.calls(t.request_id for t in found if t.request_id) if record else None
    for turn in found:
        turn.backend_calls = (calls or {}).get(turn.request_id or "", [])
    return jsonify({"turns": [turn.to_json() for turn in found],
                    "language": sender_language(tracker), "active_form": loop,
                    "requested_slot": (tracker.get("slots") or {}).get("requested_slot"),
                    "backend_calls_recorded": calls is not None})


def _append(conversation: Conversation, events: list[dict[str, Any]]) -> None:
    sender = _sender_id(conversation)
    if sender is None:
        return
    try:
        RasaClient.from_settings(context().settings).append_events(sender, events)
    except RasaError as error:
        raise PageError(502, "simulator.rasa_unreachable") from error


@blp.post("/restart")
@requires(SCOPE)
def restart() -> Response:
    """Start the conversation over (Rasa's restart), in the starting language."""
    conversation = Conversation.from_handle(_body().get("s"))
    _append(conversation, [{"event": "restart"}, {"event": "action", "name": "action_listen"},
                           {"event": "slot", "name": "language",
                            "value": conversation.language}])
    return jsonify({"restarted": True})


@blp.post("/rewind")
@requires(SCOPE)
def rewind() -> Response:
    """Take back the last customer message and everything the assistant did after it."""
    conversation = Conversation.from_handle(_body().get("s"))
    _append(conversation, [{"event": "rewind"}])
    return jsonify({"rewound": True})


def _story(conversation: Conversation, name: str) -> tuple[str, str]:
    name = " ".join(name.split())[:80] or "simulator conversation"
    _, tracker = _tracker(conversation)
    try:  # the story starts in the conversation's starting language and is named after it
        text = story_yaml(tracker, name, conversation.language)
    except NothingToSave as error:
        raise PageError(422, "simulator.nothing_to_save") from error
    return file_name(name, conversation.language), text


@blp.post("/story")
@requires(SCOPE)
def save_story() -> Response:
    """The conversation as a test story; also written into SIMULATOR_STORIES_DIR when that
    development setting is on."""
    data = _body()
    conversation = Conversation.from_handle(data.get("s"))
    name, text = _story(conversation, str(data.get("name") or ""))
    written = None
    folder = context().settings.simulator_stories_dir
    if folder:
        target = Path(folder) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written = str(target)
    return jsonify({"file_name": name, "story": text, "written_to": written})


@blp.get("/story.yml")
@requires(SCOPE)
def download_story() -> Response:
    conversation = Conversation.from_handle(request.args.get("s"))
    name, text = _story(conversation, request.args.get("name", ""))
    response = Response(text, mimetype="application/x-yaml")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
