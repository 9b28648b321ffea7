"""Merchants' bookable services: services, their variants (duration, price) and windows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from backend.wiring import Context
from backend.domain.deposits import FIXED, DepositRule, validate_rule
from backend.domain.slots import validate_window
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.matching import (
    ServiceCandidate,
    ServiceMatch,
    match_service_name,
    rate_service,
    services_in_message,
)
from backend.domain.money import Money
from backend.models import AvailabilityWindow, Service, ServiceVariant, Tenant
from backend.services.platform.edits import apply_changes
from backend.services.platform.limits import check_limit
from backend.services.platform.pages import Page, fetch_page
from backend.services.platform.scoped import tenant_row
from backend.services.platform.tenants import require_tenant

SERVICE_FIELDS = ("name", "description", "category", "active")
DEPOSIT_FIELDS = ("deposit_kind", "deposit_value", "hold_minutes")
VARIANT_FIELDS = ("name", "duration_minutes", "price_minor")
WINDOW_FIELDS = ("weekday", "on_date", "starts_at", "ends_at", "capacity")


@dataclass(frozen=True)
class NewServiceVariant:
    name: str
    duration_minutes: int
    price: Money


@dataclass(frozen=True)
class NewWindow:
    starts_at: time
    ends_at: time
    capacity: int = 1
    weekday: int | None = None
    on_date: date | None = None


@dataclass(frozen=True)
class NewService:
    name: str
    description: str = ""
    category: str = ""
    variants: Sequence[NewServiceVariant] = ()
    windows: Sequence[NewWindow] = field(default_factory=tuple)
    deposit: DepositRule = DepositRule()


@dataclass(frozen=True)
class ServiceVariantView:
    id: int
    service_id: int
    name: str
    duration_minutes: int
    price_minor: int
    currency: str


@dataclass(frozen=True)
class WindowView:
    id: int
    service_id: int
    weekday: int | None
    on_date: date | None
    starts_at: time
    ends_at: time
    capacity: int


@dataclass(frozen=True)
class ServiceView:
    id: int
    name: str
    description: str
    category: str
    active: bool
    variants: list[ServiceVariantView]
    windows: list[WindowView]
    deposit_kind: str = "none"  # none | fixed | percent | full (backend/domain/deposits.py)
    deposit_value: int | None = None  # fixed: minor units; percent: 1..100
    hold_minutes: int | None = None  # an unpaid hold is released after this (None: default)


def _variant_view(v: ServiceVariant) -> ServiceVariantView:
    return ServiceVariantView(v.id, v.service_id, v.name, v.duration_minutes, v.price_minor,
                              v.currency)


def _window_view(w: AvailabilityWindow) -> WindowView:
    return WindowView(w.id, w.service_id, w.weekday, w.on_date, w.starts_at, w.ends_at, w.capacity)


def _view(service: Service) -> ServiceView:
    return ServiceView(service.id, service.name, service.description, service.category,
                       service.active, [_variant_view(v) for v in service.variants],
                       [_window_view(w) for w in service.windows], service.deposit_kind,
                       service.deposit_value, service.hold_minutes)


def deposit_rule(service: Service) -> DepositRule:
    return DepositRule(service.deposit_kind or "none", service.deposit_value,
                       service.hold_minutes)


def _check_fixed_deposit(service: Service, price_minor: int) -> None:
    """A variant may not cost less than its service's fixed deposit."""
    if service.deposit_kind == FIXED and service.deposit_value is not None \
            and price_minor < service.deposit_value:
        raise InvalidInput(f"{service.name} takes a deposit of {service.deposit_value}: a "
                           "variant cannot cost less",
                           {"price_minor": [f"At least {service.deposit_value}."]})


def _service(session: Session, tenant_id: str, service_id: int) -> Service:
    service = session.scalar(
        select(Service).where(Service.id == service_id, Service.tenant_id == tenant_id)
        .options(selectinload(Service.variants), selectinload(Service.windows))
    )
    if service is None:
        raise NotFound(f"No service {service_id}")
    return service


def _name_taken(session: Session, tenant_id: str, name: str, but: int | None = None) -> None:
    query = select(Service.id).where(Service.tenant_id == tenant_id, Service.name == name)
    if but is not None:
        query = query.where(Service.id != but)
    if session.scalar(query) is not None:
        raise Conflict(f"A service named {name!r} already exists")


def _variant_row(tenant: Tenant, service: Service, new: NewServiceVariant) -> ServiceVariant:
    if new.price.currency != tenant.currency:
        raise InvalidInput(f"Prices must be in {tenant.currency}")
    if new.duration_minutes < 1:
        raise InvalidInput("duration_minutes must be at least 1",
                           {"duration_minutes": ["Must be at least 1."]})
    if any(v.name == new.name for v in service.variants):
        raise Conflict(f"{service.name} already has a variant named {new.name!r}")
    _check_fixed_deposit(service, new.price.amount_minor)
    return ServiceVariant(tenant_id=tenant.id, name=new.name, duration_minutes=new.duration_minutes,
                          price_minor=new.price.amount_minor, currency=new.price.currency)


def _window_row(tenant_id: str, new: NewWindow) -> AvailabilityWindow:
    validate_window(new.weekday, new.on_date, new.starts_at, new.ends_at, new.capacity)
    return AvailabilityWindow(tenant_id=tenant_id, weekday=new.weekday, on_date=new.on_date,
                              starts_at=new.starts_at, ends_at=new.ends_at, capacity=new.capacity)


def create_service(ctx: Context, tenant_id: str, new: NewService) -> ServiceView:
    """A service with its variants and windows; 403 past the tier's limit, 409 on a known name."""
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        count = session.scalar(select(func.count(Service.id)).where(Service.tenant_id == tenant_id))
        check_limit(session, tenant.tier, "services", int(count or 0), 1)
        _name_taken(session, tenant_id, new.name)
        rule = validate_rule(new.deposit, [v.price.amount_minor for v in new.variants])
        service = Service(tenant_id=tenant_id, name=new.name, description=new.description,
                          category=new.category, active=True, deposit_kind=rule.kind,
                          deposit_value=rule.value, hold_minutes=rule.hold_minutes)
        for variant in new.variants:
            service.variants.append(_variant_row(tenant, service, variant))
        for window in new.windows:
            service.windows.append(_window_row(tenant_id, window))
        session.add(service)
        session.flush()
        return _view(service)


def list_services(ctx: Context, tenant_id: str, *, include_inactive: bool = False,
                  page: int = 1, page_size: int = 50) -> Page[ServiceView]:
    query = select(Service).where(Service.tenant_id == tenant_id).options(
        selectinload(Service.variants), selectinload(Service.windows))
    if not include_inactive:
        query = query.where(Service.active.is_(True))
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        count, rows = fetch_page(session, query, page, page_size, Service.id)
        return Page(count, page, page_size, [_view(s) for s in rows])


def match_services(ctx: Context, tenant_id: str, text_: str, mode: str = "name",
                   service_id: int | None = None, limit: int = 10) -> list[ServiceMatch]:
    """Active services with something to book, matched to what a customer wrote: a name as
    typed (`mode` "name") or a whole message naming one among other words ("message").
    With `service_id`, that service alone whatever its score (which variant the text names)."""
    query = (select(Service).where(Service.tenant_id == tenant_id, Service.active.is_(True))
             .options(selectinload(Service.variants)).order_by(Service.id))
    if service_id is not None:
        query = query.where(Service.id == service_id)
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        candidates = [ServiceCandidate(s.id, s.name, s.category or "",
                                       tuple((v.id, v.name) for v in s.variants))
                      for s in session.scalars(query) if s.variants]
    if service_id is not None:
        return [rate_service(text_, c) for c in candidates]
    found = (services_in_message if mode == "message" else match_service_name)(text_, candidates)
    return found[:limit]


def get_service(ctx: Context, tenant_id: str, service_id: int) -> ServiceView:
    with ctx.db.transaction() as session:
        return _view(_service(session, tenant_id, service_id))


def update_service(ctx: Context, tenant_id: str, service_id: int,
                   changes: Mapping[str, Any]) -> ServiceView:
    with ctx.db.transaction() as session:
        service = _service(session, tenant_id, service_id)
        if "name" in changes:
            _name_taken(session, tenant_id, changes["name"], but=service.id)
        if any(name in changes for name in DEPOSIT_FIELDS):
            current = deposit_rule(service)
            kind = changes.get("deposit_kind", current.kind)
            # A new kind drops the old value unless one is given with it.
            value = changes["deposit_value"] if "deposit_value" in changes else (
                current.value if kind == current.kind else None)
            hold = changes.get("hold_minutes", current.hold_minutes)
            rule = validate_rule(DepositRule(kind, value, hold),
                                 [v.price_minor for v in service.variants])
            changes = {**changes, "deposit_kind": rule.kind, "deposit_value": rule.value,
                       "hold_minutes": rule.hold_minutes}
        apply_changes(session, service, changes, SERVICE_FIELDS + DEPOSIT_FIELDS)
        return _view(service)


def delete_service(ctx: Context, tenant_id: str, service_id: int) -> None:
    """Deletes its variants, windows and appointments too; deactivate to keep the history."""
    with ctx.db.transaction() as session:
        session.delete(_service(session, tenant_id, service_id))


def add_service_variant(ctx: Context, tenant_id: str, service_id: int,
                        new: NewServiceVariant) -> ServiceVariantView:
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        service = _service(session, tenant_id, service_id)
        variant = _variant_row(tenant, service, new)
        service.variants.append(variant)
        session.flush()
        return _variant_view(variant)


def _service_variant(session: Session, tenant_id: str, variant_id: int) -> ServiceVariant:
    variant = tenant_row(session, ServiceVariant, variant_id, tenant_id, "service variant")
    return variant


def get_service_variant(ctx: Context, tenant_id: str, variant_id: int) -> ServiceVariantView:
    with ctx.db.transaction() as session:
        return _variant_view(_service_variant(session, tenant_id, variant_id))


def update_service_variant(ctx: Context, tenant_id: str, variant_id: int,
                           changes: Mapping[str, Any]) -> ServiceVariantView:
    with ctx.db.transaction() as session:
        variant = _service_variant(session, tenant_id, variant_id)
        if "name" in changes and session.scalar(
            select(ServiceVariant.id).where(ServiceVariant.service_id == variant.service_id,
                                            ServiceVariant.name == changes["name"],
                                            ServiceVariant.id != variant.id)
        ):
            raise Conflict(f"The service already has a variant named {changes['name']!r}")
        if "price_minor" in changes:
            _check_fixed_deposit(variant.service, changes["price_minor"])
        apply_changes(session, variant, changes, VARIANT_FIELDS)
        return _variant_view(variant)


def delete_service_variant(ctx: Context, tenant_id: str, variant_id: int) -> None:
    with ctx.db.transaction() as session:
        session.delete(_service_variant(session, tenant_id, variant_id))


def add_window(ctx: Context, tenant_id: str, service_id: int, new: NewWindow) -> WindowView:
    with ctx.db.transaction() as session:
        service = _service(session, tenant_id, service_id)
        window = _window_row(tenant_id, new)
        service.windows.append(window)
        session.flush()
        return _window_view(window)


def list_windows(ctx: Context, tenant_id: str, service_id: int) -> list[WindowView]:
    with ctx.db.transaction() as session:
        return [_window_view(w) for w in _service(session, tenant_id, service_id).windows]


def _window(session: Session, tenant_id: str, window_id: int) -> AvailabilityWindow:
    window = tenant_row(session, AvailabilityWindow, window_id, tenant_id, "availability window")
    return window


def get_window(ctx: Context, tenant_id: str, window_id: int) -> WindowView:
    with ctx.db.transaction() as session:
        return _window_view(_window(session, tenant_id, window_id))


def update_window(ctx: Context, tenant_id: str, window_id: int,
                  changes: Mapping[str, Any]) -> WindowView:
    """The merged window must still be valid (weekday 0–6 or a date; end after start)."""
    with ctx.db.transaction() as session:
        window = _window(session, tenant_id, window_id)
        merged = {name: changes.get(name, getattr(window, name)) for name in WINDOW_FIELDS}
        if "weekday" in changes and changes["weekday"] is not None and "on_date" not in changes:
            merged["on_date"] = None
        if "on_date" in changes and changes["on_date"] is not None and "weekday" not in changes:
            merged["weekday"] = None
        validate_window(merged["weekday"], merged["on_date"], merged["starts_at"],
                        merged["ends_at"], merged["capacity"])
        for name, value in merged.items():
            setattr(window, name, value)
        session.flush()
        return _window_view(window)


def delete_window(ctx: Context, tenant_id: str, window_id: int) -> None:
    with ctx.db.transaction() as session:
        session.delete(_window(session, tenant_id, window_id))
