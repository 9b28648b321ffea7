"""The web app under the API's guards: a wrong password on the sign-in page counts against the
client IP's failed-credential limit (backend/api/rate_limits.py) and past it the page answers 429
with Retry-After (the sign-in form again, not the API's JSON); a page's write that no service
recorded gets the API's generic audit record (actor, request id, IP, route), one a service
recorded gets no second one; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from collections.abc import Callable
from typing import Any

from flask import Flask

from backend.models import Conversation
from backend.services.catalog.products import get_variant
from backend.services.platform.audit import list_audit_logs
from backend.wiring import Context
from tests.backend.accounts_helpers import PASSWORD, make_user
from tests.backend.commerce_helpers import customer, seed_catalog
from tests.backend.conftest import TENANT_ID
from tests.backend.rasa_fake import FakeRasa

EMAIL = "owner@duka.example"


def _from(ip: str) -> dict[str, Any]:
    return {"environ_base": {"REMOTE_ADDR": ip}}


def _sign_in(client: Any, ip: str, password: str = PASSWORD) -> Any:
    return client.post("/app/login", data={"email": EMAIL, "password": password}, **_from(ip))


def test_wrong_passwords_on_the_sign_in_page_are_limited_per_client_ip(
        make_app: Callable[..., Flask], tenants: Context) -> None:
    make_user(tenants, EMAIL)
    client = make_app(rate_limit_auth_failures="3/minute").test_client()
    for _ in range(3):
        wrong = _sign_in(client, "198.51.100.7", "not-the-password")
        assert wrong.status_code == 401 and b"Wrong email or password" in wrong.data
    # Past the limit even the right password is refused from that address, on the page.
    refused = _sign_in(client, "198.51.100.7")
    assert refused.status_code == 429
    assert refused.mimetype == "text/html"
    assert b"Too many tries from this address" in refused.data
    assert b'id="password"' in refused.data  # the sign-in form again
    assert 1 <= int(refused.headers["Retry-After"]) <= 61  # the minute's window
    assert "wca_session" not in refused.headers.get("Set-Cookie", "")
    # The API's login shares the count (one limit per IP, whichever door).
    api = client.post("/v1/auth/login", json={"email": EMAIL, "password": PASSWORD},
                      **_from("198.51.100.7"))
    assert api.status_code == 429
    # Another address is not affected.
    assert _sign_in(client, "198.51.100.8").status_code == 303


def test_the_apis_wrong_passwords_close_the_sign_in_page_too(
        make_app: Callable[..., Flask], tenants: Context) -> None:
    make_user(tenants, EMAIL)
    client = make_app(rate_limit_auth_failures="2/minute").test_client()
    for _ in range(2):
        assert client.post("/v1/auth/login", json={"email": EMAIL, "password": "nope-nope"},
                           **_from("198.51.100.9")).status_code == 401
    assert _sign_in(client, "198.51.100.9").status_code == 429


def _csrf(client: Any, ip: str) -> str:
    assert _sign_in(client, ip).status_code == 303
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/app/").data.decode())
    assert found
    return found.group(1)


def test_a_page_write_no_service_records_gets_the_generic_audit_record(
        make_app: Callable[..., Flask], tenants: Context) -> None:
    rasa = FakeRasa().start()
    try:
        client = make_app(rasa_url=rasa.url, rasa_token="t").test_client()
        user_id = make_user(tenants, EMAIL)
        token = _csrf(client, "10.1.2.3")
        now = datetime.now(UTC)
        with tenants.db.transaction() as session:
            conversation = Conversation(tenant_id=TENANT_ID, customer_id=customer(tenants),
                                        started_at=now, last_inbound_at=now,
                                        last_message_at=now, needs_human=True)
            session.add(conversation)
            session.flush()
            conversation_id = conversation.id
        before = list_audit_logs(tenants, TENANT_ID).count

        # Handing a conversation back: the conversations service keeps no audit record.
        response = client.post(f"/app/inbox/{conversation_id}/resume",
                               data={"csrf_token": token},
                               headers={"X-Request-ID": "req-web-resume-1"}, **_from("10.1.2.3"))
        assert response.status_code == 303, response.data
        records = list_audit_logs(tenants, TENANT_ID).results
        assert len(records) == before + 1
        record = records[0]
        assert record.actor == f"user:{user_id}"
        assert record.action == "web.hand_back.post"
        assert (record.target_type, record.target_id) == ("conversation", str(conversation_id))
        assert record.route == "POST /app/inbox/<int:conversation_id>/resume"
        assert (record.request_id, record.ip, record.status) == ("req-web-resume-1",
                                                                 "10.1.2.3", 303)
    finally:
        rasa.stop()


def test_a_page_write_its_service_recorded_is_recorded_once(
        client: Any, tenants: Context) -> None:
    variant_id = next(iter(seed_catalog(tenants).values()))
    make_user(tenants, EMAIL)
    token = _csrf(client, "10.1.2.4")
    before = list_audit_logs(tenants, TENANT_ID).count
    response = client.post(f"/app/catalog/variants/{variant_id}",
                           data={"csrf_token": token, "stock": "9"},
                           headers={"X-Request-ID": "req-web-stock-1"}, **_from("10.1.2.4"))
    assert response.status_code == 303
    assert get_variant(tenants, TENANT_ID, variant_id).stock == 9
    records = list_audit_logs(tenants, TENANT_ID).results
    new = records[:list_audit_logs(tenants, TENANT_ID).count - before]
    assert new and all(not r.action.startswith("web.") for r in new)  # the service's own
    assert all(r.request_id == "req-web-stock-1" and r.ip == "10.1.2.4" for r in new)
    # A refused write (a 4xx page) and a read record nothing.
    assert client.post(f"/app/catalog/variants/{variant_id}",
                       data={"csrf_token": token, "stock": "-1"}).status_code == 422
    assert client.get("/app/catalog").status_code == 200
    assert list_audit_logs(tenants, TENANT_ID).count == before + len(new)


def test_a_words_values_may_be_named_like_the_translators_own_arguments() -> None:
    """{language} and {key} in a catalogue entry (e.g. "Answer in {language}") are values, not
    translate()'s own parameters (the knowledge page's form answered 500 before)."""
    from backend.web.i18n import translate

    assert translate("en", "no.such.word") == "no.such.word"
    assert translate("en", "auth.signed_in_as", email="a@b.example", language="sw",
                     key="x") == "Signed in as a@b.example"
