"""Customers: finding and creating them (phone encrypted, found by hash), listing them for the
merchant, and their preferences with an audit trail of every consent change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from backend.wiring import Context
from backend.domain.errors import InvalidInput, NotFound
from backend.domain.phones import InvalidPhoneNumber, to_e164
from backend.domain.tenant_settings import LANGUAGES
from backend.models import CONSENT_KINDS, ConsentEvent, Customer
from backend.security import Crypto
from backend.services.platform.pages import Page, check_page, fetch_page
from backend.services.platform.scoped import tenant_row
from backend.services.platform.tenants import require_tenant


@dataclass(frozen=True)
class Preferences:
    language: str | None
    transactional: bool
    reminders: bool
    promotional: bool


@dataclass(frozen=True)
class CustomerView:
    id: int
    phone: str  # E.164, decrypted for the merchant
    profile_name: str | None
    language: str | None
    preferences: Preferences
    created_at: datetime
    dormant_at: datetime | None = None  # silent 14 days (re-engagement); cleared when they write


@dataclass(frozen=True)
class ConsentEventView:
    id: int
    customer_id: int
    kind: str
    old_value: bool
    new_value: bool
    actor: str
    channel: str
    created_at: datetime


@dataclass(frozen=True)
class Actor:
    """Who changes a preference and through which channel, for the audit trail."""

    name: str  # "merchant:api_key:3", "service", "customer", "seed"
    channel: str  # "merchant_api", "whatsapp", "seed"


def find_customer(session: Session, crypto: Crypto, tenant_id: str, phone: str) -> Customer | None:
    """`phone` is E.164."""
    return session.scalar(
        select(Customer).where(
            Customer.tenant_id == tenant_id, Customer.phone_hash == crypto.keyed_hash(phone)
        )
    )


def upsert_customer(
    session: Session, crypto: Crypto, tenant_id: str, phone: str, profile_name: str | None
) -> Customer:
    """Return the tenant's customer with that phone, creating it; keeps the latest profile name."""
    customer = find_customer(session, crypto, tenant_id, phone)
    if customer is None:
        customer = Customer(
            tenant_id=tenant_id,
            phone_encrypted=crypto.encrypt(phone),
            phone_hash=crypto.keyed_hash(phone),
            profile_name=profile_name,
            consent_transactional=True,
            consent_reminders=True,
            consent_promotional=False,
        )
        session.add(customer)
    elif profile_name and customer.profile_name != profile_name:
        customer.profile_name = profile_name
    session.flush()
    return customer


def find_customer_by_ref(session: Session, tenant_id: str, ref: str) -> Customer | None:
    """The tenant's customer with this opaque reference (another tenant's is not found)."""
    return session.scalar(
        select(Customer).where(Customer.tenant_id == tenant_id, Customer.ref == ref)
    )


def customer_by_ref(session: Session, tenant_id: str, ref: str) -> Customer:
    """Like find_customer_by_ref, but an unknown reference is NotFound (404)."""
    customer = find_customer_by_ref(session, tenant_id, ref)
    if customer is None:
        raise NotFound("No customer of this tenant has that reference")
    return customer


def acting_customer_by_ref(ctx: Context, tenant_id: str, ref: str) -> int:
    """Id of the tenant's customer known to the assistant by `ref` (issued on their first
    inbound message); NotFound for an unknown reference."""
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        return customer_by_ref(session, tenant_id, ref).id


def acting_customer(ctx: Context, tenant_id: str, phone: str) -> int:
    """Id of the tenant's customer with this E.164 phone, created on first sight."""
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        return upsert_customer(session, ctx.crypto, tenant_id, phone, None).id


def _preferences(customer: Customer) -> Preferences:
    return Preferences(
        language=customer.language,
        transactional=customer.consent_transactional,
        reminders=customer.consent_reminders,
        promotional=customer.consent_promotional,
    )


def _view(crypto: Crypto, customer: Customer) -> CustomerView:
    return CustomerView(
        id=customer.id,
        phone=crypto.decrypt(customer.phone_encrypted),
        profile_name=customer.profile_name,
        language=customer.language,
        preferences=_preferences(customer),
        created_at=customer.created_at,
        dormant_at=customer.dormant_at,
    )


def _customer(session: Session, tenant_id: str, customer_id: int) -> Customer:
    """The tenant's customer; another tenant's is simply not found."""
    require_tenant(session, tenant_id)
    customer = tenant_row(session, Customer, customer_id, tenant_id, "customer")
    return customer


def list_customers(
    ctx: Context,
    tenant_id: str,
    *,
    consent: str | None = None,
    consented: bool = True,
    q: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page[CustomerView]:
    """Customers ordered by id; `consent` keeps those whose consent of that kind is `consented`;
    `q` keeps those whose profile name contains it or whose whole phone number it is (phones
    are encrypted, so a number is found by its keyed hash, never by a part of it)."""
    check_page(page, page_size)
    query = select(Customer).where(Customer.tenant_id == tenant_id)
    if q and q.strip():
        text = q.strip()
        wanted = Customer.profile_name.is_not(None) & func.lower(Customer.profile_name).contains(
            text.lower(), autoescape=True)
        try:
            query = query.where(or_(wanted, Customer.phone_hash == ctx.crypto.keyed_hash(
                to_e164(text, "q"))))
        except InvalidPhoneNumber:
            query = query.where(wanted)
    if consent is not None:
        if consent not in CONSENT_KINDS:
            raise InvalidInput(f"consent must be one of {', '.join(CONSENT_KINDS)}")
        query = query.where(getattr(Customer, f"consent_{consent}").is_(consented))
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        count, rows = fetch_page(session, query, page, page_size, Customer.id)
        return Page(count, page, page_size, [_view(ctx.crypto, row) for row in rows])


def customers_by_id(ctx: Context, tenant_id: str, ids: set[int]) -> dict[int, CustomerView]:
    """The tenant's customers among `ids` (another tenant's are left out), by id."""
    if not ids:
        return {}
    with ctx.db.transaction() as session:
        rows = session.scalars(select(Customer).where(Customer.tenant_id == tenant_id,
                                                      Customer.id.in_(sorted(ids))))
        return {row.id: _view(ctx.crypto, row) for row in rows}


def get_customer(ctx: Context, tenant_id: str, customer_id: int) -> CustomerView:
    with ctx.db.transaction() as session:
        return _view(ctx.crypto, _customer(session, tenant_id, customer_id))


def get_preferences(ctx: Context, tenant_id: str, customer_id: int) -> Preferences:
    with ctx.db.transaction() as session:
        return _preferences(_customer(session, tenant_id, customer_id))


def change_consent(
    session: Session,
    customer: Customer,
    kind: str,
    value: bool,
    actor: Actor,
    at: datetime | None = None,
) -> bool:
    """Set one consent and log the change (old → new); no change, no event. True if changed."""
    if kind not in CONSENT_KINDS:
        raise InvalidInput(f"Unknown consent kind {kind!r}")
    attribute = f"consent_{kind}"
    old = bool(getattr(customer, attribute))
    if old == value:
        return False
    setattr(customer, attribute, value)
    session.add(
        ConsentEvent(
            tenant_id=customer.tenant_id,
            customer_id=customer.id,
            kind=kind,
            old_value=old,
            new_value=value,
            actor=actor.name,
            channel=actor.channel,
            created_at=at or datetime.now(UTC),
        )
    )
    return True


def update_preferences(
    ctx: Context, tenant_id: str, customer_id: int, changes: dict[str, Any], actor: Actor
) -> Preferences:
    """Change language and consents; each consent change is audited in the same transaction."""
    if "language" in changes and changes["language"] not in (*LANGUAGES, None):
        raise InvalidInput(f"language must be one of {', '.join(LANGUAGES)} (or null)")
    with ctx.db.transaction() as session:
        customer = _customer(session, tenant_id, customer_id)
        if "language" in changes:
            customer.language = changes["language"]
        for kind in CONSENT_KINDS:
            if kind in changes:
                change_consent(session, customer, kind, bool(changes[kind]), actor)
        session.flush()
        return _preferences(customer)


def consent_events(
    ctx: Context, tenant_id: str, customer_id: int, page: int = 1, page_size: int = 50
) -> Page[ConsentEventView]:
    """A customer's consent changes, oldest first."""
    check_page(page, page_size)
    with ctx.db.transaction() as session:
        _customer(session, tenant_id, customer_id)
        query = select(ConsentEvent).where(
            ConsentEvent.tenant_id == tenant_id, ConsentEvent.customer_id == customer_id
        )
        count, rows = fetch_page(
            session, query, page, page_size, ConsentEvent.created_at, ConsentEvent.id)
        return Page(
            count,
            page,
            page_size,
            [
                ConsentEventView(
                    id=row.id,
                    customer_id=row.customer_id,
                    kind=row.kind,
                    old_value=row.old_value,
                    new_value=row.new_value,
                    actor=row.actor,
                    channel=row.channel,
                    created_at=row.created_at,
                )
                for row in rows
            ],
        )
