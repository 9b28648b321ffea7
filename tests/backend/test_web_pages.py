"""The web app's pages without a browser (tests/web drives them in chromium): the API's session
and CSRF check, the API's scopes per page, the API's schemas on forms, tenant isolation, on
SQLite and PostgreSQL."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, g
from sqlalchemy import func, select

from backend.domain.money import Money
from backend.domain.permissions import ALL_SCOPES
from backend.interface.scopes import SPECIAL, required_scope
from backend.models import Appointment, Customer, Invitation, User
from backend.models.analytics import FaqAnswerLog
from backend.services.accounts.access import create_role, list_roles
from backend.services.accounts.members import invite, list_invitations, list_members
from backend.services.accounts.reset import MAX_ATTEMPTS
from backend.services.accounts.users import get_user
from backend.services.bookings.appointments import get_appointment
from backend.services.bookings.services import (
    NewService,
    NewServiceVariant,
    NewWindow,
    create_service,
)
from backend.services.catalog.products import get_variant
from backend.services.knowledge.kb import (
    create_entry,
    get_entry,
    import_kb,
    list_entries,
    parse_import,
)
from backend.services.orders.orders import get_order, place_order
from backend.services.platform.customers import Actor, update_preferences
from backend.services.platform.tenants import get_settings
from backend.web.core import local_time
from backend.wiring import Context
from tests.backend.accounts_helpers import PASSWORD, make_user
from tests.backend.commerce_helpers import customer, seed_catalog
from tests.backend.kb_helpers import SHOP_KB, use_kb, wait_for_jobs
from tests.backend.conftest import OTHER_ID, TENANT_ID, LiveServer
from tests.backend.test_accounts_reset import reset_codes


def web_login(client: Any, email: str) -> str:
    """Sign in through the page; returns the CSRF token the next page's forms carry."""
    response = client.post("/app/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 303, response.data
    page = client.get("/app/").data.decode()
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def test_every_page_declares_a_scope(app: Flask) -> None:
    pages = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/app/")]
    assert len(pages) >= 15
    for rule in pages:
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert required_scope(app, rule.endpoint, method) in ALL_SCOPES | SPECIAL, rule


def test_signing_in_and_out(client: Any, tenants: Context) -> None:
    make_user(tenants, "owner@duka.example")
    assert client.get("/app/orders").headers["Location"].startswith("/app/login?next=")
    wrong = client.post("/app/login", data={"email": "owner@duka.example", "password": "nope"})
    assert wrong.status_code == 401 and b"Wrong email or password" in wrong.data
    token = web_login(client, "owner@duka.example")
    cookies = {cookie.key: cookie for cookie in client._cookies.values()}
    assert cookies["wca_session"].http_only and cookies["wca_csrf"].http_only
    # The page session is the API's: the same cookie answers /v1.
    assert client.get("/v1/auth/me").get_json()["user"]["email"] == "owner@duka.example"
    assert client.post("/app/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/app/").status_code == 302
    assert client.get("/v1/auth/me").status_code == 401


def test_a_post_without_the_sessions_csrf_token_changes_nothing(
        client: Any, tenants: Context) -> None:
    variants = seed_catalog(tenants)
    variant_id = next(iter(variants.values()))
    before = get_variant(tenants, TENANT_ID, variant_id).price_minor
    make_user(tenants, "owner@duka.example")
    web_login(client, "owner@duka.example")
    for token in ("", "forged-token"):
        response = client.post(f"/app/catalog/variants/{variant_id}",
                               data={"csrf_token": token, "price": "1.00"})
        assert response.status_code == 403
        assert b"This form has expired" in response.data
    assert get_variant(tenants, TENANT_ID, variant_id).price_minor == before


def test_each_page_needs_the_scope_of_its_api(client: Any, tenants: Context) -> None:
    variants = seed_catalog(tenants)
    variant_id = next(iter(variants.values()))
    make_user(tenants, "viewer@duka.example", role="viewer")
    token = web_login(client, "viewer@duka.example")
    assert client.get("/app/catalog").status_code == 200
    assert client.get("/app/orders").status_code == 200
    denied = client.get("/app/wallet")
    assert denied.status_code == 403 and b"Your role does not allow this page" in denied.data
    assert b'href="/app/wallet"' not in client.get("/app/").data
    edit = client.post(f"/app/catalog/variants/{variant_id}",
                       data={"csrf_token": token, "price": "1.00"})
    assert edit.status_code == 403
    assert get_variant(tenants, TENANT_ID, variant_id).price_minor != 100


def test_forms_are_checked_by_the_apis_schemas(client: Any, tenants: Context) -> None:
    variants = seed_catalog(tenants)
    variant_id = next(iter(variants.values()))
    order = place_order(tenants, TENANT_ID, customer(tenants), [(variant_id, 1)]).order
    make_user(tenants, "owner@duka.example")
    token = web_login(client, "owner@duka.example")
    bad = client.post(f"/app/orders/{order.id}/status", data={"csrf_token": token, "to": "lost"})
    assert bad.status_code == 422 and b"to:" in bad.data  # TransitionSchema's OneOf
    stock = client.post(f"/app/catalog/variants/{variant_id}",
                        data={"csrf_token": token, "stock": "-3"})
    assert stock.status_code == 422 and b"stock:" in stock.data  # VariantPatchSchema
    refused = client.post(f"/app/orders/{order.id}/status",
                          data={"csrf_token": token, "to": "delivered"})
    assert refused.status_code == 409  # the status machine's own refusal, on a page
    assert get_order(tenants, TENANT_ID, order.id).status == order.status
    good = client.post(f"/app/catalog/variants/{variant_id}",
                       data={"csrf_token": token, "price": "1,234.50", "stock": "12"})
    assert good.status_code == 303
    changed = get_variant(tenants, TENANT_ID, variant_id)
    assert (changed.price_minor, changed.stock) == (123_450, 12)
    assert 'value="1234.50"' in client.get("/app/catalog").data.decode()


def test_another_shops_order_is_not_found(client: Any, tenants: Context) -> None:
    variants = seed_catalog(tenants, OTHER_ID)
    theirs = place_order(tenants, OTHER_ID, customer(tenants, tenant_id=OTHER_ID),
                         [(next(iter(variants.values())), 1)]).order
    make_user(tenants, "owner@duka.example")
    web_login(client, "owner@duka.example")
    response = client.get(f"/app/orders/{theirs.id}")
    assert response.status_code == 404 and b"There is nothing here" in response.data


def test_the_pages_speak_swahili(client: Any, tenants: Context) -> None:
    make_user(tenants, "owner@duka.example")
    web_login(client, "owner@duka.example")
    assert client.get("/app/language/sw?next=/app/orders").status_code == 303
    page = client.get("/app/orders").data.decode()
    assert '<html lang="sw">' in page and "<h1>Oda</h1>" in page


# The appointments, knowledge base, customers, settings and users pages -----------------------

def _book(ctx: Context, tenant_id: str, customer_id: int, starts: datetime) -> int:
    """An appointment written as the seed writes history (the past cannot be booked)."""
    service = create_service(ctx, tenant_id, NewService(
        f"Braids {starts:%d%H%M}", variants=[NewServiceVariant("Short", 60, Money(150_000, "KES"))],
        windows=[NewWindow(time(0, 0), time(23, 59), weekday=day) for day in range(7)]))
    with ctx.db.transaction() as session:
        row = Appointment(tenant_id=tenant_id, customer_id=customer_id, service_id=service.id,
                          service_variant_id=service.variants[0].id, window_id=None,
                          starts_at=starts, ends_at=starts + timedelta(hours=1), status="booked",
                          price_minor=150_000, currency="KES", notes="")
        session.add(row)
        session.flush()
        return row.id


def _local_day(ctx: Context, moment: datetime, tenant_id: str = TENANT_ID) -> str:
    return moment.astimezone(ZoneInfo(get_settings(ctx, tenant_id).timezone)).date().isoformat()


def test_appointments_by_day_and_week_with_no_show_and_cancel(
        client: Any, tenants: Context) -> None:
    buyer = customer(tenants, phone="+254712345678")
    with tenants.db.transaction() as session:
        session.get_one(Customer, buyer).profile_name = "Wanjiru"
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    coming = started + timedelta(days=1)
    past_id = _book(tenants, TENANT_ID, buyer, started)
    coming_id = _book(tenants, TENANT_ID, buyer, coming)
    theirs = _book(tenants, OTHER_ID, customer(tenants, tenant_id=OTHER_ID), started)
    make_user(tenants, "viewer@duka.example", role="viewer")
    make_user(tenants, "owner@duka.example")

    viewer_token = web_login(client, "viewer@duka.example")  # bookings:read only
    day = client.get(f"/app/appointments?day={_local_day(tenants, started)}").data.decode()
    assert f'id="appointment-{past_id}"' in day and f'id="appointment-{theirs}"' not in day
    assert "Wanjiru" in day and "+254712***678" in day and "+254712345678" not in day
    assert "/no-show" not in day and 'href="/app/appointments"' in day
    denied = client.post(f"/app/appointments/{past_id}/cancel",
                         data={"csrf_token": viewer_token})
    assert denied.status_code == 403
    week = client.get(f"/app/appointments/week?day={_local_day(tenants, started)}").data.decode()
    assert week.count('class="day card"') == 7
    assert f'id="appointment-{past_id}"' in week
    monday = date.fromisoformat(_local_day(tenants, started))
    assert f'id="day-{(monday - timedelta(days=monday.weekday())).isoformat()}"' in week
    assert client.get("/app/appointments?day=07-12-2026").status_code == 422

    client.post("/app/logout", data={"csrf_token": viewer_token})
    token = web_login(client, "owner@duka.example")
    page = client.get(f"/app/appointments?day={_local_day(tenants, coming)}").data.decode()
    assert f"/app/appointments/{coming_id}/cancel" in page
    assert f"/app/appointments/{coming_id}/no-show" not in page  # not started yet
    early = client.post(f"/app/appointments/{coming_id}/no-show", data={"csrf_token": token})
    assert early.status_code == 409 and b"has not started yet" in early.data
    shown = client.post(f"/app/appointments/{past_id}/no-show",
                        data={"csrf_token": token, "view": "week"})
    assert shown.status_code == 303 and "/app/appointments/week?" in shown.headers["Location"]
    assert get_appointment(tenants, TENANT_ID, past_id).status == "no_show"
    assert client.post(f"/app/appointments/{coming_id}/cancel",
                       data={"csrf_token": token}).status_code == 303
    assert get_appointment(tenants, TENANT_ID, coming_id).status == "cancelled"
    again = client.post(f"/app/appointments/{coming_id}/cancel", data={"csrf_token": token})
    assert again.status_code == 409
    other = client.post(f"/app/appointments/{theirs}/cancel", data={"csrf_token": token})
    assert other.status_code == 404
    assert get_appointment(tenants, OTHER_ID, theirs).status == "booked"
    empty = client.get("/app/appointments?day=2020-01-01").data.decode()
    assert "No appointments in this period" in empty


def test_knowledge_entries_are_added_edited_and_validated(client: Any, tenants: Context) -> None:
    theirs = create_entry(tenants, OTHER_ID, {
        "key": "secret", "title": "Branch in Malindi", "questions": ["Malindi?"],
        "answers": {"en": "Beach road."}})
    _narrow_user(tenants, "stock@duka.example")
    make_user(tenants, "viewer@duka.example", role="viewer")
    make_user(tenants, "owner@duka.example")
    narrow_token = web_login(client, "stock@duka.example")
    assert client.get("/app/knowledge").status_code == 403  # no knowledge:read
    assert b'href="/app/knowledge"' not in client.get("/app/").data
    client.post("/app/logout", data={"csrf_token": narrow_token})
    viewer_token = web_login(client, "viewer@duka.example")  # knowledge:read, not write
    read_only = client.get("/app/knowledge").data.decode()
    assert "Try a question" in read_only and "Add an entry" not in read_only
    assert client.post("/app/knowledge/entries", data={
        "csrf_token": viewer_token, "key": "x"}).status_code == 403
    client.post("/app/logout", data={"csrf_token": viewer_token})

    token = web_login(client, "owner@duka.example")
    empty = client.get("/app/knowledge").data.decode()
    assert "No entries yet" in empty and "Branch in Malindi" not in empty
    bad = client.post("/app/knowledge/entries", data={
        "csrf_token": token, "key": "hours", "title": "Opening hours", "questions": "",
        "answer_en": "", "answer_xx": "?"})
    assert bad.status_code == 422 and b"questions:" in bad.data and b"answers:" in bad.data
    made = client.post("/app/knowledge/entries", data={
        "csrf_token": token, "key": "hours", "title": "Opening hours",
        "questions": "When do you open?\r\nMnafungua saa ngapi?\r\n",
        "answer_en": "8 am to 7 pm", "answer_sw": "Saa mbili hadi saa moja",
        "tags": "ask_faq, hours", "active": "on"})
    assert made.status_code == 303
    [entry] = list_entries(tenants, TENANT_ID, 1, 10).results
    assert entry.questions == ["When do you open?", "Mnafungua saa ngapi?"]
    assert entry.answers == {"en": "8 am to 7 pm", "sw": "Saa mbili hadi saa moja"}
    assert (entry.tags, entry.active) == (["ask_faq", "hours"], True)
    edited = client.post(f"/app/knowledge/entries/{entry.id}", data={
        "csrf_token": token, "key": "hours", "title": "Hours", "questions": "When do you open?",
        "answer_en": "9 am to 6 pm", "tags": ""})  # the box unticked: inactive
    assert edited.status_code == 303
    changed = get_entry(tenants, TENANT_ID, entry.id)
    assert (changed.title, changed.answers, changed.active) == ("Hours", {"en": "9 am to 6 pm"},
                                                                 False)
    assert "Hours" in client.get("/app/knowledge").data.decode()
    assert client.get(f"/app/knowledge/entries/{theirs.id}").status_code == 404
    assert client.post(f"/app/knowledge/entries/{theirs.id}", data={
        "csrf_token": token, "key": "secret", "title": "Mine now", "questions": "?",
        "answer_en": "x"}).status_code == 404
    assert get_entry(tenants, OTHER_ID, theirs.id).title == "Branch in Malindi"
    too_long = client.post("/app/knowledge/try", data={"csrf_token": token, "question": ""})
    assert too_long.status_code == 422 and b"question:" in too_long.data


def test_the_try_box_answers_without_counting_a_customer_question(
        client: Any, tenants: Context, tmp_path: Path) -> None:
    use_kb(tenants, tmp_path)
    import_kb(tenants, TENANT_ID, parse_import(SHOP_KB, "yaml"), replace=True)
    wait_for_jobs(tenants)  # the index rebuild
    make_user(tenants, "support@duka.example", role="support_agent")
    token = web_login(client, "support@duka.example")
    before = _faq_logs(tenants)
    asked = client.post("/app/knowledge/try", data={
        "csrf_token": token, "question": "How much is delivery?"})
    assert asked.status_code == 200
    page = asked.data.decode()
    assert "Delivery in Nairobi costs KES 250" in page and 'id="confidence"' in page
    confidence = re.search(r'id="confidence">(\d+) %', page)
    assert confidence and 50 <= int(confidence.group(1)) <= 100
    assert "Delivery fees" in page  # the source entry
    declined = client.post("/app/knowledge/try", data={
        "csrf_token": token, "question": "Do you sell tractors in Kisumu?"}).data.decode()
    assert "The assistant is not sure" in declined
    assert _faq_logs(tenants) == before  # a merchant's test is not a customer's question


def _faq_logs(ctx: Context) -> int:
    with ctx.db.transaction() as session:
        return int(session.scalar(select(func.count(FaqAnswerLog.id))) or 0)


def test_customers_search_detail_consents_and_masked_phones(
        client: Any, tenants: Context) -> None:
    wanjiru = customer(tenants, phone="+254712345678")
    other = customer(tenants, phone="+254733000111")
    theirs = customer(tenants, phone="+254712345678", tenant_id=OTHER_ID)
    with tenants.db.transaction() as session:
        session.get_one(Customer, wanjiru).profile_name = "Wanjiru Kamau"
    update_preferences(tenants, TENANT_ID, wanjiru, {"promotional": True},
                       Actor(name="customer", channel="whatsapp"))
    _narrow_user(tenants, "stock@duka.example")
    make_user(tenants, "support@duka.example", role="support_agent")  # customers:read only
    make_user(tenants, "owner@duka.example")
    narrow_token = web_login(client, "stock@duka.example")
    assert client.get("/app/customers").status_code == 403
    assert client.get(f"/app/customers/{wanjiru}").status_code == 403
    assert client.get("/app/appointments").status_code == 403
    nav = client.get("/app/").data.decode()
    assert 'href="/app/customers"' not in nav and 'href="/app/appointments"' not in nav
    client.post("/app/logout", data={"csrf_token": narrow_token})
    token = web_login(client, "support@duka.example")
    listed = client.get("/app/customers").data.decode()
    assert f'id="customer-{wanjiru}"' in listed and f'id="customer-{other}"' in listed
    assert "+254712***678" in listed and "+254712345678" not in listed
    by_name = client.get("/app/customers?q=kamau").data.decode()
    assert f'id="customer-{wanjiru}"' in by_name and f'id="customer-{other}"' not in by_name
    by_number = client.get("/app/customers?q=0733000111").data.decode()
    assert f'id="customer-{other}"' in by_number and f'id="customer-{wanjiru}"' not in by_number
    assert "No customer matches" in client.get("/app/customers?q=0712").data.decode()
    detail = client.get(f"/app/customers/{wanjiru}").data.decode()
    assert "Consent history" in detail and "Offers and campaigns" in detail
    assert "The customer" in detail and "WhatsApp" in detail
    assert "+254712345678" not in detail
    assert client.get(f"/app/customers/{theirs}").status_code == 404
    client.post("/app/logout", data={"csrf_token": token})
    web_login(client, "owner@duka.example")  # customers:export: the whole number
    assert "+254712345678" in client.get(f"/app/customers/{wanjiru}").data.decode()


def test_settings_are_read_and_changed_through_the_apis_schema(
        client: Any, tenants: Context) -> None:
    _narrow_user(tenants, "stock@duka.example")
    make_user(tenants, "viewer@duka.example", role="viewer")
    make_user(tenants, "owner@duka.example")
    narrow_token = web_login(client, "stock@duka.example")
    assert client.get("/app/settings").status_code == 403  # no settings:read
    client.post("/app/logout", data={"csrf_token": narrow_token})
    viewer_token = web_login(client, "viewer@duka.example")  # settings:read, not write
    read_only = client.get("/app/settings")
    assert read_only.status_code == 200 and b"Save settings" not in read_only.data
    assert b"<fieldset class=\"card\" disabled>" in read_only.data
    assert client.post("/app/settings", data={"csrf_token": viewer_token}).status_code == 403
    client.post("/app/logout", data={"csrf_token": viewer_token})

    token = web_login(client, "owner@duka.example")
    before = get_settings(tenants, TENANT_ID)
    form: dict[str, str] = {"csrf_token": token, "primary_language": "sw",
                            "quiet_start": "22:00", "quiet_end": "06:30", "mpesa_stk": "on",
                            "interactive_messages": "on", "llm_budget": "1,500",
                            "llm_budget_exhausted_action": "handoff",
                            "cart_reminder_hours": "6"}
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday"):
        form[f"{day}_open"], form[f"{day}_close"] = "09:00", "24:00"
    form["sunday_closed"] = "on"
    wrong = client.post("/app/settings", data={**form, "monday_close": "08:00"})
    assert wrong.status_code == 422 and b"close must be after open" in wrong.data
    assert get_settings(tenants, TENANT_ID) == before
    saved = client.post("/app/settings", data=form)
    assert saved.status_code == 303
    after = get_settings(tenants, TENANT_ID)
    assert after.primary_language == "sw"
    assert after.business_hours["monday"] == {"open": "09:00", "close": "24:00"}
    assert after.business_hours["sunday"] is None
    assert after.quiet_hours == {"start": "22:00", "end": "06:30"}
    assert after.features["mpesa_stk"] and not after.features["rule_based_intents"]
    assert after.features["llm_budget_minor_per_month"] == 150_000
    assert after.features["cart_reminder_hours"] == 6
    page = client.get("/app/settings").data.decode()
    assert '<html lang="sw">' in page and "<h1>Mipangilio</h1>" in page  # the shop's language
    assert 'value="1500.00"' in page
    assert get_settings(tenants, OTHER_ID).primary_language == before.primary_language


def test_users_are_invited_changed_and_removed_but_not_the_last_owner(
        client: Any, tenants: Context) -> None:
    owner = make_user(tenants, "owner@duka.example")
    clerk = make_user(tenants, "clerk@duka.example", role="viewer")
    stranger = make_user(tenants, "stranger@other.example", role="owner", tenant_id=OTHER_ID)
    stock = _narrow_user(tenants, "stock@duka.example")  # the shop's own role stock_taker
    denied_token = web_login(client, "stock@duka.example")
    assert client.get("/app/users").status_code == 403
    assert b'href="/app/users"' not in client.get("/app/").data
    client.post("/app/logout", data={"csrf_token": denied_token})

    token = web_login(client, "owner@duka.example")
    page = client.get("/app/users").data.decode()
    assert f'id="member-{owner}"' in page and f'id="member-{clerk}"' in page
    assert f'id="member-{stranger}"' not in page and 'id="role-row-stock_taker"' in page
    full = client.post("/app/users/invitations", data={
        "csrf_token": token, "email": "new@duka.example", "role": "support_agent"})
    assert full.status_code == 403 and b"tier allows 3" in full.data  # the API's refusal
    assert client.post(f"/app/users/{stock}/remove", data={"csrf_token": token}).status_code == 303
    invited = client.post("/app/users/invitations", data={
        "csrf_token": token, "email": "new@duka.example", "role": "support_agent"})
    assert invited.status_code == 201
    link = re.search(r'id="invitation-link" readonly value="([^"]+)"', invited.data.decode())
    assert link and "token=" in link.group(1)
    assert link.group(1) not in client.get("/app/users").data.decode()  # shown once
    [pending] = [i for i in list_invitations(tenants, TENANT_ID) if i.email == "new@duka.example"]
    assert pending.role == "support_agent"
    unknown = client.post("/app/users/invitations", data={
        "csrf_token": token, "email": "x@duka.example", "role": "emperor"})
    assert unknown.status_code == 422
    assert client.post("/app/users/invitations", data={
        "csrf_token": token, "email": "", "role": "viewer"}).status_code == 422

    assert client.post(f"/app/users/{clerk}/role", data={
        "csrf_token": token, "role": "stock_taker"}).status_code == 303
    assert _role(tenants, clerk) == "stock_taker"
    last = client.post(f"/app/users/{owner}/remove", data={"csrf_token": token})
    assert last.status_code == 409 and b"The last owner cannot be removed" in last.data
    demote = client.post(f"/app/users/{owner}/role", data={"csrf_token": token, "role": "viewer"})
    assert demote.status_code == 409 and _role(tenants, owner) == "owner"
    assert client.post(f"/app/users/{stranger}/remove",
                       data={"csrf_token": token}).status_code == 404
    assert client.post(f"/app/users/{clerk}/remove", data={"csrf_token": token}).status_code == 303
    assert clerk not in {m.user_id for m in list_members(tenants, TENANT_ID)}
    assert OTHER_ID in {m.tenant_id for m in get_user(tenants, stranger)[1]}


def _narrow_user(ctx: Context, email: str) -> int:
    """A member of the shop's own role stock_taker, which may only see the catalog."""
    if "stock_taker" not in {role.name for role in list_roles(ctx, TENANT_ID)}:
        create_role(ctx, TENANT_ID, "stock_taker", ["catalog:read"])
    return make_user(ctx, email, role="stock_taker")


def _role(ctx: Context, user_id: int) -> str:
    return next(m.role for m in list_members(ctx, TENANT_ID) if m.user_id == user_id)


def test_the_new_pages_speak_swahili(client: Any, tenants: Context) -> None:
    make_user(tenants, "owner@duka.example")
    web_login(client, "owner@duka.example")
    client.get("/app/language/sw?next=/app/")
    nav = client.get("/app/").data.decode()
    for label in ("Miadi", "Wateja", "Maarifa", "Mipangilio", "Watumiaji na majukumu"):
        assert f">{label}</a>" in nav
    for path, heading in (("/app/appointments", "Miadi"), ("/app/knowledge", "Maarifa"),
                          ("/app/customers", "Wateja"), ("/app/settings", "Mipangilio"),
                          ("/app/users", "Watumiaji na majukumu")):
        page = client.get(path).data.decode()
        assert '<html lang="sw">' in page and f"<h1>{heading}</h1>" in page, path
    week = client.get("/app/appointments/week?day=2026-12-07").data.decode()
    assert "Jumatatu 07/12/2026" in week and "Jumapili" in week


def _form_token(client: Any, path: str) -> str:
    """The CSRF token a page for people not signed in puts into its form (bound to wca_form)."""
    page = client.get(path).data.decode()
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def _invitation(ctx: Context, email: str) -> Any:
    return next(i for i in list_invitations(ctx, TENANT_ID) if i.email == email)


def test_an_invitation_link_opens_a_page_that_makes_the_account_and_signs_in(
        client: Any, tenants: Context) -> None:
    owner = make_user(tenants, "owner@duka.example")
    with tenants.db.transaction() as session:
        session.get_one(User, owner).name = "Amina Owner"
    made = invite(tenants, TENANT_ID, "agent@duka.example", "support_agent", owner)
    assert made.link and made.link.endswith(f"/app/invite?token={made.token}")
    path = f"/app/invite?token={made.token}"
    page = client.get(path)
    text = page.data.decode()
    assert page.status_code == 200 and "wca_form" in page.headers.get("Set-Cookie", "")
    assert ("Amina Owner invited agent@duka.example to duka-test ltd as Support agent." in text
            and "At least 10 characters" in text and 'name="phone"' in text)
    body = {"token": made.token, "name": "Baraka", "password": "a-long-agent-passphrase",
            "phone": "0722 333 444"}
    assert client.post("/app/invite", data=body).status_code == 403  # no CSRF token
    assert client.post("/app/invite", data={**body, "csrf_token": "forged"}).status_code == 403
    token = _form_token(client, path)
    weak = client.post("/app/invite",
                       data={**body, "csrf_token": token, "password": "Password2026!"})
    assert weak.status_code == 422 and b"too common" in weak.data
    assert b"At least 10 characters" in weak.data and b'value="Baraka"' in weak.data
    assert _invitation(tenants, "agent@duka.example").accepted_at is None  # still open
    joined = client.post("/app/invite", data={**body, "csrf_token": token})
    assert joined.status_code == 303 and joined.headers["Location"] == "/app/"
    [agent] = [m for m in list_members(tenants, TENANT_ID) if m.email == "agent@duka.example"]
    assert agent.role == "support_agent" and agent.name == "Baraka"
    assert get_user(tenants, agent.user_id)[0].has_phone
    overview = client.get("/app/").data.decode()  # signed in, on the new shop
    assert 'href="/app/inbox"' in overview and 'href="/app/wallet"' not in overview
    assert client.get("/app/wallet").status_code == 403
    used = client.get(path)
    assert used.status_code == 410 and b"already used or withdrawn" in used.data
    assert client.post("/app/invite", data={**body, "csrf_token": token}).status_code == 410

    expired = invite(tenants, TENANT_ID, "late@duka.example", "viewer", owner)
    with tenants.db.transaction() as session:
        row = session.get_one(Invitation, expired.id)
        row.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    late = client.get(f"/app/invite?token={expired.token}")
    assert late.status_code == 410 and b"has expired" in late.data
    assert client.get("/app/invite?token=nope").status_code == 404


def test_an_existing_account_joins_with_its_password(client: Any, tenants: Context) -> None:
    owner = make_user(tenants, "owner@duka.example")
    make_user(tenants, "both@other.example", role="owner", tenant_id=OTHER_ID)
    made = invite(tenants, TENANT_ID, "both@other.example", "viewer", owner)
    path = f"/app/invite?token={made.token}"
    text = client.get(path).data.decode()
    assert "already has an account" in text and 'name="phone"' not in text
    token = _form_token(client, path)
    wrong = client.post("/app/invite", data={"csrf_token": token, "token": made.token,
                                             "password": "not-the-password"})
    assert wrong.status_code == 401 and b"Wrong email or password" in wrong.data
    assert _invitation(tenants, "both@other.example").accepted_at is None
    joined = client.post("/app/invite", data={"csrf_token": token, "token": made.token,
                                              "password": PASSWORD})
    assert joined.status_code == 303
    me = client.get("/v1/auth/me").get_json()
    assert me["tenant_id"] == TENANT_ID  # the session works on the shop just joined
    assert {m["tenant_id"] for m in me["memberships"]} == {TENANT_ID, OTHER_ID}


def test_a_password_is_reset_in_the_browser_with_the_code_from_whatsapp(
        live_server: Any, tenants: Context) -> None:
    server: LiveServer = live_server()
    ctx: Context = server.app.extensions["backend"]
    make_user(ctx, "owner@duka.example", phone="0722 111 222")
    make_user(ctx, "guesser@duka.example", role="viewer", phone="0722 111 333")
    client = server.app.test_client()
    assert b'href="/app/reset"' in client.get("/app/login").data
    token = _form_token(client, "/app/reset")
    assert client.post("/app/reset", data={"email": "owner@duka.example"}).status_code == 403
    answers = [client.post("/app/reset", data={"csrf_token": token, "email": email})
               for email in ("nobody@duka.example", "owner@duka.example",
                             "guesser@duka.example")]
    assert {answer.status_code for answer in answers} == {200}
    assert answers[0].data.replace(b"nobody@", b"owner@") == answers[1].data  # the same page
    assert b"a code is on its way" in answers[0].data
    ctx.jobs.drain(timeout=30)
    [code] = reset_codes(ctx, "+254722111222")
    [guessed] = reset_codes(ctx, "+254722111333")

    wrong = f"{(int(guessed) + 1) % 1_000_000:06d}"
    for _ in range(MAX_ATTEMPTS):
        refused = client.post("/app/reset/confirm", data={
            "csrf_token": token, "email": "guesser@duka.example", "code": wrong,
            "password": "a-brand-new-passphrase"})
        assert refused.status_code == 400 and b"Wrong or expired code" in refused.data
    locked = client.post("/app/reset/confirm", data={
        "csrf_token": token, "email": "guesser@duka.example", "code": guessed,
        "password": "a-brand-new-passphrase"})
    assert locked.status_code == 400  # the right code after five wrong ones

    confirm = {"csrf_token": token, "email": "owner@duka.example", "code": code,
               "password": "a-brand-new-passphrase"}
    assert client.post("/app/reset/confirm",
                       data={**confirm, "csrf_token": ""}).status_code == 403
    weak = client.post("/app/reset/confirm", data={**confirm, "password": "short"})
    assert weak.status_code == 422 and b"at least 10 characters" in weak.data
    done = client.post("/app/reset/confirm", data=confirm)
    assert done.status_code == 303 and done.headers["Location"] == "/app/"
    assert client.get("/app/").status_code == 200  # signed in
    assert client.get("/v1/auth/me").get_json()["user"]["email"] == "owner@duka.example"
    assert server.app.test_client().post("/app/login", data={
        "email": "owner@duka.example", "password": PASSWORD}).status_code == 401


def test_dates_speak_swahili_month_names(client: Any, tenants: Context) -> None:
    owner = make_user(tenants, "owner@duka.example")
    web_login(client, "owner@duka.example")
    made = invite(tenants, TENANT_ID, "new@duka.example", "viewer", owner)
    with tenants.db.transaction() as session:
        session.get_one(Invitation, made.id).expires_at = datetime(2036, 8, 14, 9, tzinfo=UTC)
    client.get("/app/language/sw?next=/app/")
    shown = client.get(f"/app/invite?token={made.token}").data.decode()
    assert "14 Agosti 2036" in shown
    # The chart's axis gets the month names from the page; counts ask for whole-number ticks.
    variant_id = next(iter(seed_catalog(tenants).values()))
    place_order(tenants, TENANT_ID, customer(tenants), [(variant_id, 1)])
    chart = re.search(r'data-chart="([^"]+)"', client.get("/app/").data.decode())
    assert chart, "no chart"
    data = json.loads(html.unescape(chart.group(1)))
    assert data["names"]["MMMM"][2] == "Machi" and data["names"]["MMM"][11] == "Des"
    assert [s.get("counts", False) for s in data["series"]] == [False, True, True]
    client.get("/app/language/en?next=/app/")
    assert "14 August 2036" in client.get(f"/app/invite?token={made.token}").data.decode()
    with client.application.test_request_context("/app/"):
        g.web_language = "sw"
        moment = datetime(2026, 3, 5, 9, tzinfo=UTC)
        assert local_time(moment, "%d %b %Y", "Africa/Nairobi") == "05 Mac 2026"
        assert local_time(moment, "%A %d %B", "Africa/Nairobi") == "Alhamisi 05 Machi"


def test_the_new_forms_need_csrf_their_scope_and_pass_the_apis_schemas(
        client: Any, tenants: Context) -> None:
    """Products, pictures, documents, consents, roles, permissions and moves: a viewer is
    denied each, a missing token changes nothing, a bad form is a 422 page naming the field,
    another shop's thing is a 404."""
    from backend.services.catalog.listing import list_products
    from backend.services.knowledge.kb import create_document, list_documents
    from backend.services.platform.customers import consent_events

    seed_catalog(tenants)
    product = list_products(tenants, TENANT_ID).results[0]
    seed_catalog(tenants, OTHER_ID)
    their_product = list_products(tenants, OTHER_ID).results[0]
    buyer = customer(tenants)
    document = create_document(tenants, TENANT_ID, "Care", "text/plain", "en", "Wipe weekly.")
    viewer_id = make_user(tenants, "viewer@duka.example", role="viewer")
    make_user(tenants, "owner@duka.example")
    posts = [
        ("/app/catalog/products", {"title": "Kikoi", "category": "Wear", "sku": "K-1",
                                   "price": "100"}),
        (f"/app/catalog/products/{product.id}/delete", {}),
        (f"/app/catalog/products/{product.id}/images", {"image": "https://example.com/a.jpg"}),
        ("/app/knowledge/documents", {"title": "Fees", "text": "Delivery KES 200"}),
        (f"/app/knowledge/documents/{document.id}/delete", {}),
        (f"/app/customers/{buyer}/consents", {"promotional": "on"}),
        ("/app/users/roles", {"name": "packer", "scopes": "orders:read"}),
        (f"/app/users/{viewer_id}/access", {"scope-orders:read": "deny"}),
        ("/app/appointments/1/reschedule", {"starts_at": "2030-01-01T10:00:00+03:00"}),
    ]
    token = web_login(client, "viewer@duka.example")
    for path, data in posts:
        denied = client.post(path, data={"csrf_token": token, **data})
        assert denied.status_code == 403, path
        assert b"Your role does not allow this page" in denied.data, path
    client.post("/app/logout", data={"csrf_token": token})
    token = web_login(client, "owner@duka.example")
    for path, data in posts:
        assert client.post(path, data=data).status_code == 403, path  # no token
    assert product.id in {p.id for p in list_products(tenants, TENANT_ID).results}
    assert document.id in {d.id for d in list_documents(tenants, TENANT_ID, 1, 50).results}
    assert consent_events(tenants, TENANT_ID, buyer).count == 0

    def post(path: str, **data: Any) -> Any:
        return client.post(path, data={"csrf_token": token, **data})

    bad = post("/app/catalog/products", title="", category="Wear", sku="K-1", price="100")
    assert bad.status_code == 422 and b"title:" in bad.data  # ProductCreateSchema
    bad = post("/app/catalog/products", title="Kikoi", category="Wear", sku="K-1", price="")
    assert bad.status_code == 422 and b"price_minor:" in bad.data
    bad = post(f"/app/catalog/products/{product.id}/images", image="not an address")
    assert bad.status_code == 422 and b"images:" in bad.data  # ProductPatchSchema's Url
    bad = post("/app/knowledge/documents", title="Fees", language="fr", text="x")
    assert bad.status_code == 422 and b"language:" in bad.data  # DocumentCreateSchema
    bad = post("/app/users/roles", name="packer", scopes="orders:fly")
    assert bad.status_code == 422 and b"orders:fly" in bad.data  # the service's unknown scope
    bad = post("/app/appointments/1/reschedule", starts_at="next tuesday")
    assert bad.status_code == 422 and b"starts_at:" in bad.data  # RescheduleSchema
    big = client.post(f"/app/customers/{buyer}/consents", data={
        "csrf_token": token, "promotional": "on", "filler": "x" * (3 * 1024 * 1024)})
    assert big.status_code == 413 and b"too big" in big.data  # read no further
    assert consent_events(tenants, TENANT_ID, buyer).count == 0
    long_text = post("/app/knowledge/documents", title="Huge", text="x" * 300_000)
    assert long_text.status_code == 422 and b"text:" in long_text.data  # within 10 MB
    # Another shop's product: not found, untouched.
    for path in (f"/app/catalog/products/{their_product.id}/delete",
                 f"/app/catalog/products/{their_product.id}/images"):
        assert post(path, image="https://example.com/a.jpg").status_code == 404, path
    assert their_product.id in {p.id for p in list_products(tenants, OTHER_ID).results}

    made = post("/app/catalog/products", title="Kikoi", category="Wear", sku="K-1",
                price="1,250.50", stock="4", images="https://example.com/kikoi.jpg")
    assert made.status_code == 303
    [kikoi] = list_products(tenants, TENANT_ID, q="Kikoi").results
    assert (kikoi.variants[0].price_minor, kikoi.variants[0].stock, kikoi.images) == (
        125_050, 4, ["https://example.com/kikoi.jpg"])
    assert post(f"/app/customers/{buyer}/consents", transactional="on").status_code == 303
    [event] = consent_events(tenants, TENANT_ID, buyer).results  # an unticked box is a no
    assert (event.kind, event.old_value, event.new_value) == ("reminders", True, False)
    assert event.channel == "dashboard" and event.actor.startswith("merchant:user:")
    assert "dashboard" in client.get(f"/app/customers/{buyer}").data.decode()

    # A PDF upload (its bytes hold NULs: the input guard reads an upload's fields, not its
    # files) is read into passages by the knowledge service.
    from io import BytesIO

    from tests.backend.test_kb import _one_page_pdf

    pdf = _one_page_pdf("Boots are resoled in three days.") + b"\n%\x00\n"
    sent = client.post("/app/knowledge/documents", content_type="multipart/form-data", data={
        "csrf_token": token, "title": "", "language": "en",
        "file": (BytesIO(pdf), "Repairs.pdf")})
    assert sent.status_code == 303, sent.data[:500]
    [repairs] = [d for d in list_documents(tenants, TENANT_ID, 1, 50).results
                 if d.title == "Repairs"]
    assert repairs.content_type == "application/pdf" and "resoled" in repairs.text
    wrong = client.post("/app/knowledge/documents", content_type="multipart/form-data", data={
        "csrf_token": token, "title": "Prices", "file": (BytesIO(b"PK\x03\x04"), "prices.xlsx")})
    assert wrong.status_code == 422 and b"Choose a .txt, .md or .pdf file" in wrong.data


def test_the_new_forms_speak_swahili(client: Any, tenants: Context) -> None:
    viewer_id = make_user(tenants, "viewer@duka.example", role="viewer")
    make_user(tenants, "owner@duka.example")
    create_role(tenants, TENANT_ID, "packer", ["orders:read"])
    buyer = customer(tenants)
    token = web_login(client, "owner@duka.example")
    client.get("/app/language/sw?next=/app/")
    for path, words in (
            ("/app/catalog/new", ("Ongeza bidhaa", "Aina ya kwanza", "Picha")),
            ("/app/knowledge", ("Ongeza hati", "Faili (.txt, .md au .pdf")),
            (f"/app/customers/{buyer}", ("Rekodi mabadiliko aliyoomba mteja", "Hifadhi ridhaa")),
            ("/app/users", ("Tengeneza jukumu", "Kuona wateja", "Ruhusa")),
            ("/app/users/roles/packer", ("Jukumu packer", "Futa jukumu hili")),
            (f"/app/users/{viewer_id}/access", ("Kama jukumu", "Ruhusu", "Kataza",
                                                "jukumu linaitoa"))):
        page = html.unescape(client.get(path).data.decode())
        for word in words:
            assert word in page, (path, word)
    saved = client.post(f"/app/customers/{buyer}/consents",
                        data={"csrf_token": token, "transactional": "on", "reminders": "on"})
    notice = client.get(saved.headers["Location"]).data.decode()
    assert "Ridhaa zimehifadhiwa" in html.unescape(notice)
    built_in = client.get("/app/users/roles/viewer")
    assert built_in.status_code == 422
    assert "Majukumu ya kawaida hayabadilishwi" in html.unescape(built_in.data.decode())
