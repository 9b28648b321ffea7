"""Schemas of tiers, discount codes, subscriptions, invoices and billing reminders."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from backend.api.fields import BoundedInt, Count, Id, Minor, UtcDateTime
from backend.api.pagination import PageQuerySchema, page_schema
from backend.domain.tiers import TIER_NAME_PATTERN
from backend.models.billing import (
    CARD_PROVIDERS,
    CARD_STATUSES,
    CYCLES,
    DISCOUNT_KINDS,
    INVOICE_STATUSES,
    PAYMENT_METHODS,
)

MAX_PRICE_MINOR = 10**12
_LIMIT = {"allow_none": True, "metadata": {"description": "null: no limit"}}


def _limit(**kwargs: Any) -> BoundedInt:
    return BoundedInt(minimum=0, **_LIMIT, **kwargs)


def _price(**kwargs: Any) -> BoundedInt:
    return BoundedInt(minimum=0, maximum=MAX_PRICE_MINOR, **kwargs)


class _NotEmpty(Schema):
    @validates_schema
    def _not_empty(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("Send at least one field to change.")


class TierSchema(Schema):
    name = fields.Str()
    currency = fields.Str()
    monthly_price_minor = Minor(metadata={"description": "KES cents a month"})
    yearly_price_minor = Minor(metadata={"description": "KES cents a year"})
    max_products = Count(allow_none=True)
    max_services = Count(allow_none=True)
    max_users = Count(allow_none=True)
    max_messages_per_month = Count(allow_none=True)
    max_messages_per_day = Count(allow_none=True)
    fee_basis_points = BoundedInt(metadata={"description": "Platform fee; 250 = 2.5 %"})
    payment_facilitation = fields.Bool()
    trial_days = BoundedInt()
    features = fields.Dict(keys=fields.Str())


class TierPatchSchema(_NotEmpty):
    monthly_price_minor = _price()
    yearly_price_minor = _price()
    max_products = _limit()
    max_services = _limit()
    max_users = _limit()
    max_messages_per_month = _limit()
    max_messages_per_day = _limit()
    fee_basis_points = BoundedInt(minimum=0, maximum=10_000)
    payment_facilitation = fields.Bool()
    trial_days = BoundedInt(minimum=0, maximum=365)
    features = fields.Dict(keys=fields.Str(), values=fields.Bool())


class TierCreateSchema(TierPatchSchema):
    name = fields.Str(required=True, validate=validate.Regexp(TIER_NAME_PATTERN))
    monthly_price_minor = _price(required=True)
    yearly_price_minor = _price(required=True)
    fee_basis_points = BoundedInt(minimum=0, maximum=10_000, required=True)


class DiscountSchema(Schema):
    id = Id()
    code = fields.Str()
    kind = fields.Str(metadata={"description": " | ".join(DISCOUNT_KINDS)})
    value = Minor(metadata={"description": "percent: 1-100; fixed: minor units"})
    cycles = BoundedInt(metadata={"description": "How many invoices it reduces"})
    expires_at = UtcDateTime(allow_none=True)
    max_redemptions = BoundedInt(allow_none=True)
    redemptions = BoundedInt()
    deactivated_at = UtcDateTime(allow_none=True, metadata={
        "description": "When the operator deactivated it; null: active"})
    redeemable = fields.Bool(metadata={
        "description": "Active, not expired and with redemptions left"})
    created_at = UtcDateTime()


class DiscountCreateSchema(Schema):
    code = fields.Str(required=True, validate=validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,31}$"))
    kind = fields.Str(required=True, validate=validate.OneOf(DISCOUNT_KINDS))
    value = _price(required=True, validate=validate.Range(min=1))
    cycles = BoundedInt(minimum=1, maximum=120, load_default=1)
    expires_at = fields.AwareDateTime(allow_none=True, load_default=None)
    max_redemptions = BoundedInt(minimum=1, allow_none=True, load_default=None)

    @validates_schema
    def _percent(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("kind") == "percent" and data.get("value", 0) > 100:
            raise ValidationError("A percentage is at most 100.", "value")


class DiscountPatchSchema(_NotEmpty):
    code = fields.Str(validate=validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,31}$"), metadata={
        "description": "Only while nobody has redeemed it (409 after)"})
    kind = fields.Str(validate=validate.OneOf(DISCOUNT_KINDS), metadata={
        "description": "Only while nobody has redeemed it (409 after)"})
    value = _price(validate=validate.Range(min=1), metadata={
        "description": "Only while nobody has redeemed it (409 after)"})
    cycles = BoundedInt(minimum=1, maximum=120, metadata={
        "description": "Only while nobody has redeemed it (409 after)"})
    expires_at = fields.AwareDateTime(allow_none=True, metadata={
        "description": "null: no expiry"})
    max_redemptions = BoundedInt(minimum=1, allow_none=True, metadata={
        "description": "null: unlimited; never fewer than already made (422)"})
    active = fields.Bool(metadata={
        "description": "false: deactivate (no more redemptions; subscriptions holding it keep "
                       "it); true: offer it again"})

    @validates_schema
    def _percent(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("kind") == "percent" and data.get("value", 0) > 100:
            raise ValidationError("A percentage is at most 100.", "value")


class SubscriptionSchema(Schema):
    tenant_id = fields.Str()
    tier = fields.Str()
    cycle = fields.Str(metadata={"description": " | ".join(CYCLES)})
    status = fields.Str(metadata={"description": "trialing | active | past_due | suspended | "
                                                 "cancelled"})
    payment_method = fields.Str(metadata={"description": " | ".join(PAYMENT_METHODS)})
    billing_phone = fields.Str(allow_none=True, metadata={"description": "Masked"})
    card = fields.Str(allow_none=True, metadata={
        "description": "The saved card, e.g. 'visa **** 4081 (paystack)'; null: none"})
    trial_ends_at = UtcDateTime(allow_none=True)
    current_period_start = UtcDateTime()
    current_period_end = UtcDateTime()
    next_renewal_at = UtcDateTime(allow_none=True)
    price_minor = Minor(metadata={"description": "The tier's price for this cycle"})
    currency = fields.Str()
    discount_code = fields.Str(allow_none=True)
    discount_cycles_left = BoundedInt()


class SubscriptionPatchSchema(_NotEmpty):
    tier = fields.Str(validate=validate.Regexp(TIER_NAME_PATTERN), metadata={
        "description": "A downgrade is refused (422, with the numbers) while usage exceeds it"})
    cycle = fields.Str(validate=validate.OneOf(CYCLES))
    payment_method = fields.Str(validate=validate.OneOf(PAYMENT_METHODS), metadata={
        "description": "mpesa, or card once a card is saved (422 before: POST "
                       "/v1/subscription/payment-method)"})
    billing_phone = fields.Str(validate=validate.Length(min=7, max=20), metadata={
        "description": "The owner's M-Pesa number the renewals are charged to"})
    discount_code = fields.Str(validate=validate.Length(min=3, max=32))
    cancelled = fields.Bool(metadata={
        "description": "true: no renewal; the tenant is suspended when the period ends. false: "
                       "renew again (after the end: a new period starts now with its invoice)"})


class PaymentMethodSchema(Schema):
    method = fields.Str(required=True, validate=validate.OneOf(("card",)), metadata={
        "description": "card (M-Pesa needs no set-up: PATCH /v1/subscription)"})
    provider = fields.Str(required=True, validate=validate.OneOf(CARD_PROVIDERS))
    email = fields.Email(metadata={
        "description": "The owner's email for the card provider (default: the signed-in "
                       "user's)"})


class CardSetupSchema(Schema):
    id = Id()
    provider = fields.Str(metadata={"description": " | ".join(CARD_PROVIDERS)})
    status = fields.Str(metadata={"description": "pending (until the provider's webhook) | "
                                                 + " | ".join(CARD_STATUSES[1:])})
    url = fields.Str(allow_none=True, metadata={
        "description": "The provider's page where the owner enters the card (in the answer "
                       "that starts the set-up only)"})
    label = fields.Str(allow_none=True, metadata={"description": "e.g. 'visa **** 4081'"})
    created_at = UtcDateTime()


class InvoiceLineSchema(Schema):
    description = fields.Str()
    amount_minor = Minor()


class InvoiceSchema(Schema):
    id = Id()
    number = fields.Str()
    period_start = UtcDateTime()
    period_end = UtcDateTime()
    currency = fields.Str()
    lines = fields.List(fields.Nested(InvoiceLineSchema))
    subtotal_minor = Minor()
    discount_minor = Minor()
    tax_minor = Minor()
    total_minor = Minor()
    status = fields.Str(metadata={"description": " | ".join(INVOICE_STATUSES)})
    failed_attempts = BoundedInt()
    next_attempt_at = UtcDateTime(allow_none=True)
    paid_at = UtcDateTime(allow_none=True)
    paid_reference = fields.Str(allow_none=True, metadata={
        "description": "M-Pesa receipt, Paystack reference or Stripe PaymentIntent"})
    created_at = UtcDateTime()


class InvoiceQuerySchema(PageQuerySchema):
    status = fields.Str(validate=validate.OneOf(INVOICE_STATUSES))


class ReminderSchema(Schema):
    id = Id()
    kind = fields.Str(metadata={"description": "renewal_7 | renewal_3 | renewal_1 | failed | "
                                               "suspended"})
    invoice_id = Id(allow_none=True)
    body = fields.Str()
    status = fields.Str(metadata={"description": "queued | sent | failed | unsent"})
    detail = fields.Str(allow_none=True)
    created_at = UtcDateTime()
    sent_at = UtcDateTime(allow_none=True)


InvoicePageSchema = page_schema(InvoiceSchema, "InvoicePage")
ReminderPageSchema = page_schema(ReminderSchema, "BillingReminderPage")
