"""Input schemas the API and the web app both validate with (the API's JSON bodies and queries,
the web app's forms and filters): one rule per input, whichever door it comes through. The
API's schema modules re-export them under the same names, so OpenAPI is unchanged."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.domain.orders import ORDER_STATUSES
from backend.interface.fields import MAX_PAGE, MAX_STOCK, BoundedInt, Id, Minor
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


# Conversations
class ReplySchema(Schema):
    body = fields.Str(required=True, validate=validate.Length(min=1, max=TWILIO_BODY_MAX))


# Wallet
class WithdrawalCreateSchema(Schema):
    amount_minor = Minor(required=True, strict=True, validate=validate.Range(min=1))
    phone = fields.Str(required=True, validate=validate.Length(max=32),
                       metadata={"description": "The M-Pesa number to pay"})
