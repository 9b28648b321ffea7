"""Business-initiated messages: the consent × window × quiet hours × limits matrix, templates,
send/schedule/cancel/list, signed status callbacks, and the simulator end to end."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, update
from twilio.request_validator import RequestValidator

from backend.domain.messaging import quiet_end
from backend.domain.payments import SUCCEEDED
from backend.models import (
    Conversation,
    Customer,
    MessageTemplateVariant,
    OutboundMessage,
    Payment,
)
from backend.services.conversations.messaging import release_due
from backend.services.platform.customers import upsert_customer
from backend.services.platform.tenants import update_settings
from backend.wiring import Context
from tests.backend.conftest import (
    OTHER_ID,
    OTHER_KEY,
    TENANT_ID,
    TENANT_TOKEN,
    merchant_headers,
)
from tests.backend.payment_helpers import wait_for

PHONE = "+254711223344"


@pytest.fixture
def jobs(tenants: Context, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    """Jobs these tests enqueue, recorded instead of run (no simulator is served over HTTP
    here; the last test runs them for real against it)."""
    recorded: list[tuple[str, tuple[Any, ...]]] = []
    monkeypatch.setattr(tenants.jobs, "enqueue", lambda job, *args: recorded.append(
        (job.path.rsplit(".", 1)[-1], args)))
    return recorded


def customer(ctx: Context, *, wrote_hours_ago: float | None, consents: dict[str, bool] | None = None,
             language: str = "en", phone: str = PHONE) -> int:
    """A customer whose last message was that long ago (None: never wrote)."""
    with ctx.db.transaction() as session:
        row = upsert_customer(session, ctx.crypto, TENANT_ID, phone, None)
        row.language = language
        for kind, value in (consents or {}).items():
            setattr(row, f"consent_{kind}", value)
        if wrote_hours_ago is not None:
            at = datetime.now(UTC) - timedelta(hours=wrote_hours_ago)
            session.add(Conversation(tenant_id=TENANT_ID, customer_id=row.id, status="open",
                                     needs_human=False, started_at=at, last_inbound_at=at,
                                     last_message_at=at))
        session.flush()
        return row.id


def quiet_now(ctx: Context, on: bool) -> None:
    """Quiet hours around the current local time, or two hours away from both now and the next
    local midnight (where a batch over the daily limit is pushed to: quiet hours there would add
    their own deferral, e.g. at 18:00 a window of now+5 h to now+7 h held midnight)."""
    local = datetime.now(ZoneInfo("Africa/Nairobi"))
    if on:
        start, end = local - timedelta(hours=1), local + timedelta(hours=1)
    else:
        to_midnight = 24 - hours_since_local_midnight()
        first = 1 if to_midnight >= 4 else to_midnight + 1
        start, end = local + timedelta(hours=first), local + timedelta(hours=first + 2)
    start, end = start.strftime("%H:%M"), end.strftime("%H:%M")
    update_settings(ctx, TENANT_ID, {"quiet_hours": {"start": start, "end": end}},
                    as_operator=True)


def hours_since_local_midnight() -> float:
    local = datetime.now(ZoneInfo("Africa/Nairobi"))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return (local - midnight).total_seconds() / 3600


def fill_today(ctx: Context, count: int) -> None:
    if not count:
        return
    now = datetime.now(UTC)
    batch = uuid.uuid4().hex
    with ctx.db.transaction() as session:
        session.execute(insert(OutboundMessage), [
            dict(tenant_id=TENANT_ID, to_phone_encrypted="x", to_phone_hash="h", body="old",
                 status="sent", kind="promotional", urgent=False, attempts=1, batch_id=batch,
                 position=n, created_at=now, updated_at=now, due_at=now)
            for n in range(count)])


def template(client: Any, name: str = "order_ready", variants: dict[str, str] | None = None,
             category: str = "utility") -> dict[str, Any]:
    response = client.post("/v1/message-templates", headers=merchant_headers(), json={
        "name": name, "category": category, "placeholders": ["name", "order"],
        "sample_values": {"name": "Wanjiku", "order": "ORD12"},
        "variants": variants or {"en": "Hi {{name}}, order {{order}} is ready. Karibu!",
                                 "sw": "Habari {{name}}, oda {{order}} iko tayari. Karibu!"}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def approve(ctx: Context, template_id: int, approval: str = "approved") -> None:
    with ctx.db.transaction() as session:
        session.execute(update(MessageTemplateVariant)
                        .where(MessageTemplateVariant.template_id == template_id)
                        .values(approval=approval, content_sid=f"HX{template_id:032d}"))


def send(client: Any, **payload: Any) -> Any:
    return client.post("/v1/messages/send", headers=merchant_headers(), json=payload)


TEXT = {"text": "Your order is on its way"}
TEMPLATE = {"template": "order_ready", "variables": {"name": "Amina", "order": "ORD7"}}
# kind, consent of that kind, hours since the customer wrote, content, quiet hours on,
# messages already sent today (starter: 200 a day), expected: (status, deferred) or refusal.
MATRIX = [
    ("transactional", True, 1, TEXT, False, 0, ("queued", [])),
    ("transactional", False, 1, TEXT, False, 0, "no_consent"),
    ("promotional", False, 1, TEXT, False, 0, "no_consent"),
    ("promotional", True, 1, TEXT, False, 0, ("queued", [])),
    ("reminders", True, 30, TEXT, False, 0, "outside_window"),
    ("reminders", True, None, TEXT, False, 0, "outside_window"),
    ("reminders", True, 30, TEMPLATE, False, 0, ("queued", [])),
    ("reminders", True, 30, "pending-template", False, 0, "template_not_approved"),
    ("transactional", True, 1, "pending-template", False, 0, ("queued", [])),
    ("transactional", True, 1, TEXT, True, 0, ("scheduled", ["quiet_hours"])),
    ("transactional", True, 1, {**TEXT, "urgent": True}, True, 0, ("queued", [])),
    ("promotional", False, 1, TEXT, True, 0, "no_consent"),
    ("transactional", True, 1, TEXT, False, 199, ("queued", [])),
    # Waits for tomorrow (Nairobi), so the customer wrote today: the window is still open then.
    ("transactional", True, "today", TEXT, False, 200, ("scheduled", ["daily_limit"])),
    ("reminders", True, 30, TEMPLATE, False, 200, ("scheduled", ["daily_limit"])),
    ("transactional", True, 23.5, TEXT, True, 0, "outside_window"),  # window shuts before 07:00
]


@pytest.mark.parametrize("kind,consented,wrote,content,quiet,sent_today,expected", MATRIX)
def test_the_rules_matrix(client, tenants, jobs, kind, consented, wrote, content, quiet, sent_today,
                          expected) -> None:
    if wrote == "today":
        wrote = min(1.0, hours_since_local_midnight() / 2)
    who = customer(tenants, wrote_hours_ago=wrote, consents={kind: consented})
    made = template(client)
    if content != "pending-template":
        approve(tenants, made["id"])
    quiet_now(tenants, quiet)
    fill_today(tenants, sent_today)
    body = TEMPLATE if content == "pending-template" else content
    response = send(client, customer_id=who, kind=kind, **body)
    with tenants.db.transaction() as session:
        mine = session.scalars(select(OutboundMessage).where(
            OutboundMessage.customer_id == who)).all()
    if isinstance(expected, str):
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["reason"] == expected
        assert response.get_json()["description"]
        assert mine == []  # nothing half-sent
        return
    assert response.status_code == 202, response.get_json()
    answer = response.get_json()
    assert (answer["status"], answer["deferred"]) == expected
    assert [row.status for row in mine] == [expected[0]]


def test_a_customer_who_said_stop_gets_nothing_but_replies(client, tenants, jobs) -> None:
    who = customer(tenants, wrote_hours_ago=1, consents={
        "transactional": False, "reminders": False, "promotional": False})
    for kind in ("transactional", "reminders", "promotional"):
        refused = send(client, customer_id=who, kind=kind, **TEXT)
        assert refused.status_code == 422 and refused.get_json()["reason"] == "no_consent"


def test_over_the_monthly_limit_is_refused_and_stores_nothing(client, tenants, jobs) -> None:
    who = customer(tenants, wrote_hours_ago=1)
    now = datetime.now(UTC)
    month_start = now.astimezone(ZoneInfo("Africa/Nairobi")).replace(day=1, hour=12)
    with tenants.db.transaction() as session:
        session.execute(insert(OutboundMessage), [
            dict(tenant_id=TENANT_ID, to_phone_encrypted="x", to_phone_hash="h", body="old",
                 status="sent", kind="promotional", urgent=False, attempts=1, batch_id="b",
                 position=n, created_at=now, updated_at=now, due_at=month_start)
            for n in range(2000)])
    refused = send(client, customer_id=who, kind="transactional", **TEXT)
    assert refused.status_code == 403
    assert "2,000 messages a month" in refused.get_json()["description"]
    assert client.get("/v1/messages?customer_id=%d" % who,
                      headers=merchant_headers()).get_json()["count"] == 0


def test_the_merchant_is_warned_once_at_80_percent(client, tenants, jobs) -> None:
    who = customer(tenants, wrote_hours_ago=1)
    fill_today(tenants, 159)
    first = send(client, customer_id=who, kind="transactional", **TEXT).get_json()
    second = send(client, customer_id=who, kind="transactional", **TEXT).get_json()
    assert len(first["warnings"]) == 1 and "160 of the 200 messages a day" in first["warnings"][0]
    assert second["warnings"] == []
    usage = client.get("/v1/messages/usage", headers=merchant_headers()).get_json()
    assert usage["day"] == {"used": 161, "limit": 200, "warning": True}
    assert [w["period"] for w in usage["warnings"]] == ["day"]


def test_unknown_and_missing_template_variables_and_languages(client, tenants, jobs) -> None:
    who = customer(tenants, wrote_hours_ago=1)
    made = template(client)
    approve(tenants, made["id"])
    bad = send(client, customer_id=who, kind="transactional", template="order_ready",
               variables={"name": "A", "order": "B", "colour": "red"})
    assert bad.status_code == 400
    assert "Unknown variable(s) colour" in bad.get_json()["errors"]["variables"][0]
    missing = client.post(f"/v1/message-templates/{made['id']}/preview",
                          headers=merchant_headers(), json={"language": "en",
                                                            "variables": {"name": "A"}})
    assert missing.status_code == 400
    assert "Missing value(s) for order" in missing.get_json()["errors"]["variables"][0]
    # A Sheng speaker reads the Swahili variant; a template with neither is refused whole.
    sheng = customer(tenants, wrote_hours_ago=1, language="sheng", phone="+254711000555")
    swahili = send(client, customer_id=sheng, kind="transactional", **TEMPLATE)
    assert swahili.status_code == 202 and swahili.get_json()["language"] == "sw"
    template(client, "english_only", {"en": "Hi {{name}}, order {{order}} is ready."})
    lacking = send(client, customer_id=sheng, kind="transactional", template="english_only",
                   variables={"name": "Amina", "order": "ORD7"})
    assert lacking.status_code == 422
    assert lacking.get_json()["reason"] == "template_language_missing"
    assert "no variant in sheng or sw" in lacking.get_json()["description"]


def test_templates_crud_preview_and_usage_counts(client, tenants, jobs) -> None:
    made = template(client)
    assert [v["approval"] for v in made["variants"]] == ["pending", "pending"]
    assert made["usage_count"] == 0
    preview = client.post(f"/v1/message-templates/{made['id']}/preview",
                          headers=merchant_headers(), json={"language": "sw"}).get_json()
    assert preview["text"] == "Habari Wanjiku, oda ORD12 iko tayari. Karibu!"
    assert preview["content_variables"] == {"1": "Wanjiku", "2": "ORD12"}
    unknown = client.post("/v1/message-templates", headers=merchant_headers(), json={
        "name": "x", "category": "utility", "placeholders": [],
        "variants": {"en": "Hi {{who}}"}})
    assert unknown.status_code == 400
    assert "Unknown placeholder(s) who" in str(unknown.get_json()["errors"])
    assert client.post("/v1/message-templates", headers=merchant_headers(), json={
        "name": "order_ready", "category": "utility", "variants": {"en": "x"}}).status_code == 400
    approve(tenants, made["id"])
    changed = client.patch(f"/v1/message-templates/{made['id']}", headers=merchant_headers(),
                           json={"variants": {"en": "Hello {{name}}, {{order}} is ready.",
                                              "sw": None}}).get_json()
    assert [(v["language"], v["approval"]) for v in changed["variants"]] == [("en", "pending")]
    who = customer(tenants, wrote_hours_ago=1)
    assert send(client, customer_id=who, kind="transactional", **TEMPLATE).status_code == 202
    listed = client.get("/v1/message-templates", headers=merchant_headers()).get_json()
    assert [(t["name"], t["usage_count"]) for t in listed["results"]] == [("order_ready", 1)]
    # Another tenant sees none of it.
    other = merchant_headers(OTHER_ID, OTHER_KEY)
    assert client.get(f"/v1/message-templates/{made['id']}", headers=other).status_code == 404
    assert client.delete(f"/v1/message-templates/{made['id']}", headers=other).status_code == 404
    assert client.delete(f"/v1/message-templates/{made['id']}",
                         headers=merchant_headers()).status_code == 204
    assert client.get(f"/v1/message-templates/{made['id']}",
                      headers=merchant_headers()).status_code == 404


def test_schedule_list_cancel_and_release(client, tenants, jobs) -> None:
    who = customer(tenants, wrote_hours_ago=1)
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    first = client.post("/v1/messages/schedule", headers=merchant_headers(), json={
        "customer_id": who, "kind": "transactional", "text": "See you at 4", "send_at": later})
    second = client.post("/v1/messages/schedule", headers=merchant_headers(), json={
        "customer_id": who, "kind": "transactional", "text": "Reminder", "send_at": later})
    assert first.status_code == second.status_code == 202
    assert first.get_json()["status"] == "scheduled"
    assert first.get_json()["deferred"] == ["scheduled"]
    listed = client.get("/v1/messages?status=scheduled", headers=merchant_headers()).get_json()
    assert listed["count"] == 2
    cancel_id = first.get_json()["ids"][0]
    other = merchant_headers(OTHER_ID, OTHER_KEY)
    assert client.post(f"/v1/messages/{cancel_id}/cancel", headers=other).status_code == 404
    cancelled = client.post(f"/v1/messages/{cancel_id}/cancel", headers=merchant_headers())
    assert cancelled.get_json()["status"] == "cancelled"
    assert client.post(f"/v1/messages/{cancel_id}/cancel",
                       headers=merchant_headers()).status_code == 409
    # Not due yet: nothing released.
    assert release_due(tenants).released == 0
    # Due, but the customer said STOP meanwhile: cancelled with the reason, never sent.
    with tenants.db.transaction() as session:
        session.get_one(Customer, who).consent_transactional = False
    report = release_due(tenants, datetime.now(UTC) + timedelta(hours=3))
    assert (report.released, report.cancelled) == (0, 1)
    kept = client.get(f"/v1/messages/{second.get_json()['ids'][0]}",
                      headers=merchant_headers()).get_json()
    assert kept["status"] == "cancelled" and "no_consent" in kept["error"]


def test_release_waits_for_quiet_hours_then_queues(client, tenants, jobs) -> None:
    who = customer(tenants, wrote_hours_ago=1)
    quiet_now(tenants, True)
    answer = send(client, customer_id=who, kind="transactional", **TEXT).get_json()
    assert answer["status"] == "scheduled"
    with tenants.db.transaction() as session:
        tenant_quiet = session.get_one(OutboundMessage, answer["ids"][0]).due_at
    assert release_due(tenants).released == 0  # still quiet
    report = release_due(tenants, tenant_quiet + timedelta(seconds=1))
    assert report.released == 1


def test_quiet_end_across_midnight() -> None:
    hours = {"start": "21:00", "end": "07:00"}
    late = datetime(2026, 12, 6, 20, 30, tzinfo=UTC)  # 23:30 in Nairobi
    assert quiet_end(hours, "Africa/Nairobi", late) == datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
    noon = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    assert quiet_end(hours, "Africa/Nairobi", noon) == noon


def _callback(client: Any, message_id: int, status: str, sid: str = "SMabc",
              token: str = TENANT_TOKEN, **extra: str) -> Any:
    url = f"http://127.0.0.1:8000/webhooks/twilio/status/{TENANT_ID}/{message_id}"
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC1", **extra}
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post(url.removeprefix("http://127.0.0.1:8000"), data=params,
                       headers={"X-Twilio-Signature": signature})


def test_status_callbacks_signed_idempotent_and_forward_only(client, tenants, jobs) -> None:
    who = customer(tenants, wrote_hours_ago=1)
    message_id = send(client, customer_id=who, kind="transactional", **TEXT).get_json()["ids"][0]
    with tenants.db.transaction() as session:
        session.execute(update(OutboundMessage).where(OutboundMessage.id == message_id)
                        .values(status="sent", provider_sid="SMabc"))
    assert _callback(client, message_id, "delivered", token="wrong").status_code == 401
    assert _callback(client, message_id, "delivered").get_json()["outcome"] == "applied"
    assert _callback(client, message_id, "delivered").get_json()["outcome"] == "duplicate"
    late = _callback(client, message_id, "sent").get_json()
    assert late == {"outcome": "stale", "status": "delivered"}
    assert _callback(client, message_id, "read").get_json()["status"] == "read"
    assert _callback(client, 999_999, "read").status_code == 404
    view = client.get(f"/v1/messages/{message_id}", headers=merchant_headers()).get_json()
    assert view["status"] == "read"


def test_a_retryable_failure_is_sent_again_and_a_final_one_is_not(client, tenants, jobs) -> None:
    who = customer(tenants, wrote_hours_ago=1)
    ids = [send(client, customer_id=who, kind="transactional", **TEXT).get_json()["ids"][0]
           for _ in range(2)]
    with tenants.db.transaction() as session:
        for n, message_id in enumerate(ids):
            session.execute(update(OutboundMessage).where(OutboundMessage.id == message_id)
                            .values(status="sent", provider_sid=f"SM{n}", attempts=1))
    retry = _callback(client, ids[0], "undelivered", sid="SM0", ErrorCode="30003").get_json()
    final = _callback(client, ids[1], "undelivered", sid="SM1", ErrorCode="30005").get_json()
    assert retry == {"outcome": "retry_scheduled", "status": "scheduled"}
    assert final == {"outcome": "applied", "status": "undelivered"}
    view = client.get(f"/v1/messages/{ids[1]}", headers=merchant_headers()).get_json()
    assert view["error_code"] == 30005


def test_through_the_simulator_template_approval_send_and_status_callbacks(
        live_server, tenants_live) -> None:
    server, ctx = tenants_live
    client = server.app.test_client()
    made = template(client)
    ctx.jobs.drain(timeout=60)
    approved = client.get(f"/v1/message-templates/{made['id']}",
                          headers=merchant_headers()).get_json()
    assert {v["approval"] for v in approved["variants"]} == {"approved"}
    rejected = template(client, "starts_with_variable", {"en": "{{name}}, your {{order}}"})
    ctx.jobs.drain(timeout=60)
    refused = client.get(f"/v1/message-templates/{rejected['id']}",
                         headers=merchant_headers()).get_json()["variants"][0]
    assert refused["approval"] == "rejected" and "start or end" in refused["rejection_reason"]
    who = customer(ctx, wrote_hours_ago=30, language="sw")
    answer = send(client, customer_id=who, kind="reminders", **TEMPLATE).get_json()
    assert answer["status"] == "queued"

    def read() -> bool:
        view = client.get(f"/v1/messages/{answer['ids'][0]}", headers=merchant_headers())
        return view.get_json()["status"] == "read"

    wait_for(read, timeout=30)
    got = client.get("/v1/sandbox/messages", query_string={"to": PHONE},
                     headers=merchant_headers()).get_json()["results"]
    assert [m["body"] for m in got] == ["Habari Amina, oda ORD7 iko tayari. Karibu!"]


@pytest.fixture
def tenants_live(live_server) -> Any:
    from tests.backend.conftest import (OTHER_NUMBER, OTHER_SID, OTHER_TOKEN, TENANT_KEY,
                                        TENANT_NUMBER, TENANT_SID, add_tenant)
    server = live_server()
    ctx = server.app.extensions["backend"]
    add_tenant(ctx, TENANT_ID, TENANT_NUMBER, TENANT_SID, TENANT_TOKEN, TENANT_KEY)
    add_tenant(ctx, OTHER_ID, OTHER_NUMBER, OTHER_SID, OTHER_TOKEN, OTHER_KEY)
    return server, ctx


def test_a_message_released_days_after_it_was_made_is_not_given_up(client, tenants,
                                                                    jobs) -> None:
    from backend.services.conversations.outbound import sweep_outbox

    who = customer(tenants, wrote_hours_ago=1)
    made = template(client)
    approve(tenants, made["id"])
    later = datetime.now(UTC) + timedelta(hours=30)
    answer = client.post("/v1/messages/schedule", headers=merchant_headers(), json={
        "customer_id": who, "kind": "reminders", "send_at": later.isoformat(), **TEMPLATE})
    assert answer.get_json()["status"] == "scheduled"
    moment = later + timedelta(minutes=5)
    assert release_due(tenants, moment).released == 1  # outside the window: the template goes
    assert sweep_outbox(tenants, moment).given_up == []
    assert [name for name, _ in jobs if name == "deliver_outbound"] == ["deliver_outbound"]


@pytest.mark.parametrize("stopped,expected", [(False, "rasa"),
                                              (True, "refused:no_consent")])
def test_a_payment_receipt_passes_the_same_rules(make_app, stopped, expected) -> None:
    """The receipt is transactional: a customer who said STOP gets none (and it is marked
    notified, so the job does not try again); the others get it."""
    from backend.services.payments.notices import notify_customer
    from tests.backend.payment_helpers import (FakeRasa, configure_payments, make_payment,
                                               place_order)
    from tests.backend.conftest import TENANT_KEY, TENANT_NUMBER, TENANT_SID, add_tenant

    rasa = FakeRasa()
    try:
        app = make_app(rasa_url=rasa.url)
        ctx = app.extensions["backend"]
        add_tenant(ctx, TENANT_ID, TENANT_NUMBER, TENANT_SID, TENANT_TOKEN, TENANT_KEY)
        configure_payments(ctx)
        client = app.test_client()
        order = place_order(client, ctx)
        payment_id = make_payment(ctx, order["id"], "daraja", "ws_CO_receipt")
        with ctx.db.transaction() as session:
            session.get_one(Payment, payment_id).status = SUCCEEDED
            if stopped:
                for row in session.scalars(select(Customer)):
                    row.consent_transactional = False
        ctx.jobs.enqueue = lambda job, *args: None  # delivery is another test's subject
        assert notify_customer(ctx, payment_id, final_attempt=True) == expected
        assert notify_customer(ctx, payment_id, final_attempt=True) == "skipped"
        with ctx.db.transaction() as session:
            sent = session.scalars(select(OutboundMessage.kind)).all()
        assert sent == ([] if stopped else ["transactional"])
    finally:
        rasa.close()
