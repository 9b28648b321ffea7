"""The simulator's pages (/app/simulator) against a stand-in for the Rasa channel and HTTP API
that records what it receives: a designer starts a conversation (the starting language goes into
the tracker), a typed message and a tapped list row reach the channel as Twilio posts them
(signed with the tenant's auth token: Twilio's own validator accepts them), the debug view and the
story come from the tracker (the one recorded from a real turn), restart and rewind are tracker
events; an M-Pesa prompt to the simulated phone waits on the Daraja simulator until the phone
answers; and who may use it (the scope, sandbox tenants, sandbox mode). SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import pytest
import yaml
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from backend.models import Tenant
from backend.providers import daraja
from backend.providers.daraja import SANDBOX_PASSKEY, DarajaClient
from backend.sandbox.models import SandboxMessage
from backend.services.accounts.members import add_member
from backend.wiring import Context
from tests.backend.accounts_helpers import PASSWORD, make_user
from tests.backend.conftest import (
    OTHER_ID,
    TENANT_ID,
    TENANT_NUMBER,
    TENANT_TOKEN,
    add_tenant,
    free_port,
)

TRACKER = json.loads((Path(__file__).parent / "data" / "simulator_tracker.json").read_text())
DESIGNER = "designer@duka.example"


class FakeChannel:
    """Rasa on loopback: the WhatsApp webhook (form posts, recorded with their headers) and the
    HTTP API's tracker (the recorded tracker; appended events are recorded)."""

    def __init__(self) -> None:
        self.webhooks: list[tuple[str, dict[str, str], str]] = []
        self.appended: list[tuple[str, Any]] = []
        self.tokens: list[str] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = make_server("127.0.0.1", self.port, self._wsgi, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.tokens += request.args.getlist("token")
        if request.path == "/webhooks/whatsapp/webhook":
            self.webhooks.append((request.url, dict(request.form),
                                  request.headers.get("X-Twilio-Signature", "")))
            response = Response("<Response></Response>", content_type="text/xml")
        elif request.path.endswith("/tracker/events"):
            self.appended.append((unquote(request.path), request.get_json()))
            response = Response(json.dumps({"events": []}), content_type="application/json")
        else:
            response = Response(json.dumps(TRACKER), content_type="application/json")
        return response(environ, start_response)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Recorder:
    """An HTTP endpoint that keeps the JSON posted to it (Daraja's callbacks)."""

    def __init__(self) -> None:
        self.received: list[Any] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/callback"
        self._server = make_server("127.0.0.1", self.port, self._wsgi, threaded=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.received.append(Request(environ).get_json())
        return Response("{}", content_type="application/json")(environ, start_response)

    def wait(self, count: int, seconds: float = 10) -> list[Any]:
        deadline = time.monotonic() + seconds
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def channel() -> Iterator[FakeChannel]:
    fake = FakeChannel()
    yield fake
    fake.stop()


@pytest.fixture
def shop(live_server: Any, channel: FakeChannel, tmp_path: Path) -> Any:
    server = live_server(rasa_url=channel.url, rasa_token="rasa-secret",
                         simulator_stories_dir=str(tmp_path / "stories"),
                         session_cookie_secure=False)
    ctx: Context = server.app.extensions["backend"]
    add_tenant(ctx, TENANT_ID, TENANT_NUMBER, "AC" + "1" * 32, TENANT_TOKEN, "key-1-" + "x" * 20)
    add_tenant(ctx, OTHER_ID, "+254700000202", "AC" + "2" * 32, "other-token", "key-2-" + "x" * 20)
    return server


def _sign_in(client: Any, email: str) -> str:
    assert client.post("/app/login", data={"email": email, "password": PASSWORD}).status_code == 303
    page = client.get("/app/simulator")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.data.decode())
    assert page.status_code == 200 and found, page.data[:500]
    return found.group(1)


def _start(client: Any, csrf: str, tenant: str = TENANT_ID, language: str = "sw") -> str:
    started = client.post("/app/simulator/start", data={
        "csrf_token": csrf, "tenant": tenant, "customer": "new", "language": language})
    assert started.status_code == 303, started.data[:500]
    return parse_qs(started.headers["Location"].split("?", 1)[1])["s"][0]


def _phone(ctx: Context, handle: str) -> str:
    return str(json.loads(ctx.crypto.decrypt(handle))["p"])


def test_a_designer_talks_through_the_signed_webhook_and_reads_the_tracker(
        shop: Any, channel: FakeChannel) -> None:
    ctx: Context = shop.app.extensions["backend"]
    make_user(ctx, DESIGNER, role="designer")
    client = shop.app.test_client()
    csrf = _sign_in(client, DESIGNER)
    handle = _start(client, csrf)
    phone = _phone(ctx, handle)
    assert phone.startswith("+2547") and phone not in unquote(handle)
    [(path, events)] = channel.appended
    assert re.fullmatch(rf"/conversations/{TENANT_ID}:[\w-]+/tracker/events", path)
    assert events == [{"event": "slot", "name": "language", "value": "sw"}]
    assert set(channel.tokens) == {"rasa-secret"}
    page = client.get(f"/app/simulator?s={handle}")
    assert page.status_code == 200 and b'id="simulator"' in page.data
    assert phone.encode() not in page.data  # shown masked

    headers = {"X-CSRF-Token": csrf}
    sent = client.post("/app/simulator/send", json={"s": handle, "text": "habari"},
                       headers=headers)
    assert sent.status_code == 200, sent.get_json()
    [(url, form, signature)] = channel.webhooks
    assert RequestValidator(TENANT_TOKEN).validate(url, form, signature)
    assert not RequestValidator("another-token").validate(url, form, signature)
    assert form["From"] == f"whatsapp:{phone}" and form["To"] == f"whatsapp:{TENANT_NUMBER}"
    assert form["Body"] == "habari" and form["MessageSid"].startswith("SM")
    # No CSRF token, no message.
    refused = client.post("/app/simulator/send", json={"s": handle, "text": "x"})
    assert refused.status_code == 403 and len(channel.webhooks) == 1

    debug = client.get(f"/app/simulator/debug?s={handle}").get_json()
    assert [t["intent"] for t in debug["turns"]][:2] == ["greet", "browse_products"]
    assert debug["turns"][0]["entities"][0]["extractor"] == "LanguageDetector"

    saved = client.post("/app/simulator/story", json={"s": handle, "name": "Order and pay"},
                        headers=headers).get_json()
    assert saved["file_name"] == "simulator_order_and_pay_sw.yml"
    written = Path(saved["written_to"])
    assert written.read_text(encoding="utf-8") == saved["story"]
    story = yaml.safe_load(saved["story"])["stories"][0]
    assert story["story"] == "Order and pay (sw)"  # the starting language
    assert story["steps"][0] == {"slot_was_set": [{"language": "sw"}]}
    download = client.get(f"/app/simulator/story.yml?s={handle}&name=Order+and+pay")
    assert download.status_code == 200 and download.data.decode() == saved["story"]
    assert 'attachment; filename="simulator_order_and_pay_sw.yml"' == \
        download.headers["Content-Disposition"]

    assert client.post("/app/simulator/rewind", json={"s": handle},
                       headers=headers).status_code == 200
    assert client.post("/app/simulator/restart", json={"s": handle},
                       headers=headers).status_code == 200
    assert [events for _, events in channel.appended[1:]] == [
        [{"event": "rewind"}],
        [{"event": "restart"}, {"event": "action", "name": "action_listen"},
         {"event": "slot", "name": "language", "value": "sw"}]]


def test_a_tapped_row_is_posted_as_twilio_posts_it(shop: Any, channel: FakeChannel) -> None:
    ctx: Context = shop.app.extensions["backend"]
    make_user(ctx, DESIGNER, role="designer")
    client = shop.app.test_client()
    csrf = _sign_in(client, DESIGNER)
    handle = _start(client, csrf)
    phone = _phone(ctx, handle)
    shown = {"type": "twilio/list-picker", "body": "Here is what we have:", "button": "Choose",
             "items": [{"item": "Sandals", "id": "/select_option~sig1", "description": "KES 1"},
                       {"item": "Boots", "id": "/select_option~sig2", "description": "KES 2"}]}
    with ctx.db.transaction() as session:
        message = SandboxMessage(
            tenant_id=TENANT_ID, sid="SM" + "a" * 32, from_address=f"whatsapp:{TENANT_NUMBER}",
            to_encrypted=ctx.crypto.encrypt(f"whatsapp:{phone}"),
            to_hash=ctx.crypto.keyed_hash(phone), body="Here is what we have:",
            interactive=shown)
        session.add(message)
        session.flush()
        message_id = message.id
    polled = client.get(f"/app/simulator/messages?s={handle}&after=0").get_json()
    assert [m["interactive"]["items"][1]["item"] for m in polled["messages"]] == ["Boots"]
    headers = {"X-CSRF-Token": csrf}
    tapped = client.post("/app/simulator/send", json={"s": handle, "message_id": message_id,
                                                      "choice": 2}, headers=headers)
    assert tapped.status_code == 200, tapped.get_json()
    [(url, form, signature)] = channel.webhooks
    assert form["ListId"] == "/select_option~sig2" and form["ListTitle"] == "Boots"
    assert form["Body"] == "Boots" and RequestValidator(TENANT_TOKEN).validate(url, form, signature)
    for wrong in ({"message_id": message_id, "choice": 3}, {"message_id": message_id + 99,
                                                            "choice": 1}):
        assert client.post("/app/simulator/send", json={"s": handle, **wrong},
                           headers=headers).status_code == 404
    assert len(channel.webhooks) == 1


@pytest.mark.parametrize(("answer", "code"), [("approve", 0), ("decline", 1032),
                                              ("wrong_pin", 2001)])
def test_an_mpesa_prompt_waits_for_the_simulated_phone(shop: Any, answer: str,
                                                       code: int) -> None:
    ctx: Context = shop.app.extensions["backend"]
    make_user(ctx, DESIGNER, role="designer")
    client = shop.app.test_client()
    csrf = _sign_in(client, DESIGNER)
    handle = _start(client, csrf)
    msisdn = _phone(ctx, handle).lstrip("+")
    callbacks = Recorder()
    daraja.TOKENS._tokens.clear()
    try:
        payer = DarajaClient(f"{ctx.settings.payments_sandbox_url}/daraja", "key-s", "secret-s")
        pushed = payer.stk_push(shortcode="174379", passkey=SANDBOX_PASSKEY, party_b="174379",
                                phone=msisdn, amount_shillings=1800, callback_url=callbacks.url,
                                account_reference="ORD44", description="Order payment")
        [prompt] = client.get(f"/app/simulator/messages?s={handle}").get_json()["prompts"]
        assert prompt == {"checkout": pushed.checkout_request_id, "amount": 1800,
                          "account": "ORD44", "description": "Order payment"}
        time.sleep(0.5)  # past the simulator's usual 300 ms: a held prompt is not answered alone
        assert callbacks.received == []
        answered = client.post("/app/simulator/mpesa", json={
            "s": handle, "checkout": prompt["checkout"], "answer": answer},
            headers={"X-CSRF-Token": csrf})
        assert answered.status_code == 200
        [callback] = callbacks.wait(1)
        assert callback["Body"]["stkCallback"]["ResultCode"] == code
        assert client.get(f"/app/simulator/messages?s={handle}").get_json()["prompts"] == []
        again = client.post("/app/simulator/mpesa", json={
            "s": handle, "checkout": prompt["checkout"], "answer": answer},
            headers={"X-CSRF-Token": csrf})
        assert again.status_code == 404
    finally:
        callbacks.stop()
        daraja.TOKENS._tokens.clear()


def test_only_simulator_users_on_sandbox_tenants(shop: Any, channel: FakeChannel) -> None:
    ctx: Context = shop.app.extensions["backend"]
    make_user(ctx, "viewer@duka.example", role="viewer")
    designer = make_user(ctx, DESIGNER, role="designer")
    viewer = shop.app.test_client()
    assert viewer.post("/app/login", data={"email": "viewer@duka.example",
                                           "password": PASSWORD}).status_code == 303
    assert viewer.get("/app/simulator").status_code == 403
    assert b"Simulator" not in viewer.get("/app/").data  # not in the viewer's menu

    client = shop.app.test_client()
    csrf = _sign_in(client, DESIGNER)
    assert b"Simulator" in client.get("/app/").data
    # A shop the designer does not belong to, or one they may not simulate in: not found.
    refused = client.post("/app/simulator/start", data={
        "csrf_token": csrf, "tenant": OTHER_ID, "customer": "new", "language": "en"})
    assert refused.status_code == 404
    with ctx.db.transaction() as session:
        add_member(session, OTHER_ID, designer, "viewer")
    assert client.post("/app/simulator/start", data={
        "csrf_token": csrf, "tenant": OTHER_ID, "customer": "new",
        "language": "en"}).status_code == 404
    handle = _start(client, csrf)
    # A tenant that is not a sandbox one: its replies would reach real phones.
    with ctx.db.transaction() as session:
        session.get_one(Tenant, TENANT_ID).sandbox = False
    assert client.get(f"/app/simulator?s={handle}").status_code == 404
    assert client.post("/app/simulator/send", json={"s": handle, "text": "hi"},
                       headers={"X-CSRF-Token": csrf}).status_code == 404
    assert b"None of your shops is a sandbox shop" in client.get("/app/simulator").data
    assert channel.webhooks == []
    # Another person's handle is not theirs to use.
    with ctx.db.transaction() as session:
        session.get_one(Tenant, TENANT_ID).sandbox = True
    make_user(ctx, "owner@duka.example", role="owner")
    owner = shop.app.test_client()
    owner_csrf = _sign_in(owner, "owner@duka.example")
    assert owner.get(f"/app/simulator/debug?s={handle}").status_code == 404
    assert owner.post("/app/simulator/send", json={"s": handle, "text": "hi"},
                      headers={"X-CSRF-Token": owner_csrf}).status_code == 404
    assert owner.get("/app/simulator/debug?s=not-a-handle").status_code == 404


def test_no_simulator_outside_sandbox_mode(make_app: Any, tenants: Context) -> None:
    app = make_app(sandbox=False, session_cookie_secure=False)
    ctx: Context = app.extensions["backend"]
    make_user(ctx, DESIGNER, role="designer")
    client = app.test_client()
    assert client.post("/app/login", data={"email": DESIGNER,
                                            "password": PASSWORD}).status_code == 303
    assert client.get("/app/simulator").status_code == 404
    assert b"Simulator" not in client.get("/app/").data
