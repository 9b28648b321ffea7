"""Input schemas the API and the web app both validate with (the API's JSON bodies and queries,
the web app's forms and filters): one rule per input, whichever door it comes through. The
API's schema modules re-export them under the same names, so OpenAPI is unchanged."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from backend.domain.delivery import FALLBACKS, MAX_AREA_LENGTH, MAX_AREAS, MAX_RADIUS_M
from backend.domain.intents import FAQ_INTENTS
from backend.domain.knowledge import LANGUAGES as KB_LANGUAGES
from backend.domain.knowledge import MAX_QUESTION_CHARS
from backend.domain.orders import ORDER_STATUSES
from backend.domain.passwords import MAX_LENGTH, RULE
from backend.domain.tenant_settings import (
    LANGUAGES as TENANT_LANGUAGES,
    BusinessHoursSchema,
    FeaturesPatchSchema,
    QuietHoursSchema,
    is_timezone,
)
from backend.interface.fields import MAX_PAGE, MAX_STOCK, BoundedInt, Id, Minor
from backend.services.knowledge.kb import CONTENT_TYPES as KB_CONTENT_TYPES
from backend.services.platform.pages import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

TWILIO_BODY_MAX = 1600  # Twilio's limit on a WhatsApp message body


class PageQuerySchema(Schema):
    page = BoundedInt(maximum=MAX_PAGE, load_default=1, validate=validate.Range(min=1))
    page_size = BoundedInt(
        load_default=DEFAULT_PAGE_SIZE, validate=validate.Range(min=1, max=MAX_PAGE_SIZE)
    )


# Staff accounts
class LoginSchema(Schema):
    email = fields.Str(required=True, validate=validate.Length(min=1, max=254))
    password = fields.Str(required=True, validate=validate.Length(min=1, max=1024))
    tenant_id = fields.Str(load_default=None, validate=validate.Length(min=1, max=64),
                           metadata={"description": "The tenant to work on (default: the first)"})


class SwitchSchema(Schema):
    tenant_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))


PASSWORD = {"validate": validate.Length(min=1, max=1024),
            "metadata": {"description": f"Rule: {RULE} (at most {MAX_LENGTH})"}}


class ResetRequestSchema(Schema):
    email = fields.Str(required=True, validate=validate.Length(min=1, max=254))


class ResetConfirmSchema(Schema):
    email = fields.Str(required=True, validate=validate.Length(min=1, max=254))
    code = fields.Str(required=True, validate=validate.Length(min=1, max=16))
    password = fields.Str(required=True, **PASSWORD)


class AcceptSchema(Schema):
    token = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    password = fields.Str(load_default=None, allow_none=True, **PASSWORD)
    name = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=200))
    phone = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=32),
                       metadata={"description": "WhatsApp number for password-reset codes"})


# Orders
class OrderQuerySchema(PageQuerySchema):
    status = fields.Str(load_default=None, validate=validate.OneOf(ORDER_STATUSES))
    customer_id = Id(load_default=None)
    mine = fields.Bool(
        load_default=False,
        metadata={"description": "Assistant: only the X-CUSTOMER-PHONE customer's (required)"})


class TransitionSchema(Schema):
    to = fields.Str(required=True, validate=validate.OneOf(ORDER_STATUSES))
    reason = fields.Str(load_default=None, validate=validate.Length(max=500))
    courier = fields.Str(load_default=None, validate=validate.Length(min=1, max=64),
                         metadata={"description": "Shipping (to fulfilled) only: who carries it"})
    tracking = fields.Str(load_default=None, validate=validate.Length(min=1, max=64),
                          metadata={"description": "Shipping (to fulfilled) only: its tracking "
                                                   "number"})


# Catalog
class VariantPatchSchema(Schema):
    sku = fields.Str(validate=validate.Length(min=1, max=64))
    price_minor = Minor(strict=True, validate=validate.Range(min=0))
    stock = BoundedInt(maximum=MAX_STOCK, strict=True, validate=validate.Range(min=0))
    attributes = fields.Dict(keys=fields.Str(validate=validate.Length(min=1, max=32)),
                             values=fields.Str(validate=validate.Length(max=64)))
    active = fields.Bool(metadata={"description": "Offered to customers; false takes the "
                                                  "variant off sale (kept, and its past orders)"})


class VariantCreateSchema(Schema):
    sku = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    price_minor = Minor(required=True, strict=True, validate=validate.Range(min=0),
                        metadata={"description": "Integer minor units"})
    stock = BoundedInt(maximum=MAX_STOCK, load_default=0, strict=True,
                       validate=validate.Range(min=0))
    attributes = fields.Dict(keys=fields.Str(validate=validate.Length(min=1, max=32)),
                             values=fields.Str(validate=validate.Length(max=64)),
                             load_default=dict)


class ProductCreateSchema(Schema):
    title = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    description = fields.Str(load_default="", validate=validate.Length(max=5000))
    category = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    images = fields.List(fields.Url(), load_default=list, validate=validate.Length(max=20))
    external_source = fields.Str(load_default=None, validate=validate.Length(min=1, max=32))
    external_id = fields.Str(load_default=None, validate=validate.Length(min=1, max=128))
    variants = fields.List(fields.Nested(VariantCreateSchema), required=True,
                           validate=validate.Length(min=1, max=100))


class ProductPatchSchema(Schema):
    title = fields.Str(validate=validate.Length(min=1, max=200))
    description = fields.Str(validate=validate.Length(max=5000))
    category = fields.Str(validate=validate.Length(min=1, max=64))
    images = fields.List(fields.Url(), validate=validate.Length(max=20))
    active = fields.Bool()
    external_source = fields.Str(allow_none=True, validate=validate.Length(min=1, max=32))
    external_id = fields.Str(allow_none=True, validate=validate.Length(min=1, max=128))


# Conversations
class ReplySchema(Schema):
    body = fields.Str(required=True, validate=validate.Length(min=1, max=TWILIO_BODY_MAX))


# Wallet
class WithdrawalCreateSchema(Schema):
    amount_minor = Minor(required=True, strict=True, validate=validate.Range(min=1))
    phone = fields.Str(required=True, validate=validate.Length(max=32),
                       metadata={"description": "The M-Pesa number to pay"})


# Knowledge base
class DocumentCreateSchema(Schema):
    title = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    content_type = fields.Str(load_default="text/plain",
                              validate=validate.OneOf(KB_CONTENT_TYPES))
    language = fields.Str(load_default="en", validate=validate.OneOf(KB_LANGUAGES))
    text = fields.Str(load_default=None, validate=validate.Length(max=200_000),
                      metadata={"description": "Plain text or Markdown"})
    content_base64 = fields.Str(load_default=None, validate=validate.Length(max=14_000_000),
                                metadata={"description": "A PDF, base64-encoded"})


class KbEntryCreateSchema(Schema):
    key = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    title = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    questions = fields.List(fields.Str(validate=validate.Length(min=1, max=500)), required=True,
                            validate=validate.Length(min=1, max=100))
    answers = fields.Dict(keys=fields.Str(validate=validate.OneOf(KB_LANGUAGES)),
                          values=fields.Str(validate=validate.Length(min=1, max=4000)),
                          required=True, validate=validate.Length(min=1))
    tags = fields.List(fields.Str(validate=validate.Length(max=64)), load_default=list)
    active = fields.Bool(load_default=True)


class KbEntryPatchSchema(Schema):
    key = fields.Str(validate=validate.Length(min=1, max=100))
    title = fields.Str(validate=validate.Length(min=1, max=200))
    questions = fields.List(fields.Str(validate=validate.Length(min=1, max=500)),
                            validate=validate.Length(min=1, max=100))
    answers = fields.Dict(keys=fields.Str(validate=validate.OneOf(KB_LANGUAGES)),
                          values=fields.Str(validate=validate.Length(min=1, max=4000)),
                          validate=validate.Length(min=1))
    tags = fields.List(fields.Str(validate=validate.Length(max=64)))
    active = fields.Bool()

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("Send at least one field to change.")


class AnswerRequestSchema(Schema):
    question = fields.Str(required=True, validate=validate.Length(min=1, max=MAX_QUESTION_CHARS))
    language = fields.Str(load_default=None, validate=validate.OneOf((*KB_LANGUAGES, "mixed")),
                          metadata={"description": "The customer's language; detected from the "
                                                   "question when absent or mixed"})
    intent = fields.Str(load_default=None, validate=validate.OneOf(FAQ_INTENTS), metadata={
        "description": "The assistant's intent, a hint that favours entries tagged with it"})


# Tenant settings
def check_timezone(name: str) -> None:
    if not is_timezone(name):
        raise ValidationError("Not an IANA timezone name (e.g. Africa/Nairobi).")


class TenantSettingsPatchSchema(Schema):
    """What a merchant may change; tier and status are the platform operator's."""

    name = fields.Str(validate=validate.Length(min=1, max=200))
    timezone = fields.Str(validate=check_timezone)
    primary_language = fields.Str(validate=validate.OneOf(TENANT_LANGUAGES))
    business_hours = fields.Nested(BusinessHoursSchema)
    quiet_hours = fields.Nested(QuietHoursSchema, allow_none=True)
    features = fields.Nested(FeaturesPatchSchema)

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("Send at least one setting to change.")


# Members
class RoleChangeSchema(Schema):
    role = fields.Str(required=True, validate=validate.Length(min=1, max=64))


class InviteSchema(Schema):
    email = fields.Str(required=True, validate=validate.Length(min=1, max=254))
    role = fields.Str(required=True, validate=validate.Length(min=1, max=64))


class OverridesSchema(Schema):
    allow = fields.List(fields.Str(validate=validate.Length(max=64)), load_default=list,
                        validate=validate.Length(max=64))
    deny = fields.List(fields.Str(validate=validate.Length(max=64)), load_default=list,
                       validate=validate.Length(max=64),
                       metadata={"description": "Denied scopes win over the role and allow"})


class NewRoleSchema(Schema):
    name = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    scopes = fields.List(fields.Str(validate=validate.Length(max=64)), required=True,
                         validate=validate.Length(max=64))


class RoleScopesSchema(Schema):
    scopes = fields.List(fields.Str(validate=validate.Length(max=64)), required=True,
                         validate=validate.Length(max=64))


# Customers
class PreferencesPatchSchema(Schema):
    language = fields.Str(allow_none=True, validate=validate.OneOf(TENANT_LANGUAGES))
    transactional = fields.Bool()
    reminders = fields.Bool()
    promotional = fields.Bool()

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("Send at least one preference to change.")


# Appointments
START_DOC = ("ISO 8601; with an offset (2026-12-01T09:00:00+03:00) or without one, then the "
             "tenant's local time")


class RescheduleSchema(Schema):
    starts_at = fields.DateTime(required=True, metadata={"description": START_DOC})


# Delivery
_NOT_NEGATIVE = validate.Range(min=0)


def _latitude(**kwargs: Any) -> fields.Float:
    return fields.Float(allow_none=True, allow_nan=False,
                        validate=validate.Range(min=-90, max=90), **kwargs)


def _longitude(**kwargs: Any) -> fields.Float:
    return fields.Float(allow_none=True, allow_nan=False,
                        validate=validate.Range(min=-180, max=180), **kwargs)


class DeliverySettingsPatchSchema(Schema):
    offers_pickup = fields.Bool()
    offers_delivery = fields.Bool()
    shop_latitude = _latitude(metadata={"description": "Set with shop_longitude; null clears"})
    shop_longitude = _longitude()
    fallback = fields.Str(validate=validate.OneOf(FALLBACKS))


_AREAS_DOC = ("Place names matched in addresses (case, accents, Swahili/Sheng place words and "
              "common spellings ignored: 'Kasa' = 'Kasarani')")


class ZoneCreateSchema(Schema):
    name = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    areas = fields.List(fields.Str(validate=validate.Length(max=MAX_AREA_LENGTH)),
                        load_default=list, validate=validate.Length(max=MAX_AREAS),
                        metadata={"description": _AREAS_DOC})
    radius_m = BoundedInt(load_default=None, allow_none=True,
                          validate=validate.Range(min=1, max=MAX_RADIUS_M),
                          metadata={"description": "Metres around the shop (location pins)"})
    fee_minor = Minor(required=True, validate=_NOT_NEGATIVE)
    free_above_minor = Minor(load_default=None, allow_none=True, validate=_NOT_NEGATIVE,
                             metadata={"description": "No fee when the goods total is at or "
                                       "above this"})
    expected_time = fields.Str(load_default=None, allow_none=True,
                               validate=validate.Length(max=100))
    position = BoundedInt(load_default=None, allow_none=True, validate=_NOT_NEGATIVE,
                          metadata={"description": "Order of matching (default: last)"})


class ZonePatchSchema(Schema):
    name = fields.Str(validate=validate.Length(min=1, max=100))
    areas = fields.List(fields.Str(validate=validate.Length(max=MAX_AREA_LENGTH)),
                        validate=validate.Length(max=MAX_AREAS))
    radius_m = BoundedInt(allow_none=True, validate=validate.Range(min=1, max=MAX_RADIUS_M))
    fee_minor = Minor(validate=_NOT_NEGATIVE)
    free_above_minor = Minor(allow_none=True, validate=_NOT_NEGATIVE)
    expected_time = fields.Str(allow_none=True, validate=validate.Length(max=100))
    position = BoundedInt(validate=_NOT_NEGATIVE)
