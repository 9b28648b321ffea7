"""Finding and creating customers in a caller's transaction (phone encrypted, found by hash)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.context import Context
from backend.models import Customer
from backend.security import Crypto
from backend.services.tenants import require_tenant


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
        )
        session.add(customer)
    elif profile_name and customer.profile_name != profile_name:
        customer.profile_name = profile_name
    session.flush()
    return customer


def acting_customer(ctx: Context, tenant_id: str, phone: str) -> int:
    """Id of the tenant's customer with this E.164 phone, created on first sight."""
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        return upsert_customer(session, ctx.crypto, tenant_id, phone, None).id
