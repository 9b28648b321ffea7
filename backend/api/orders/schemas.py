"""Schemas of orders."""

from marshmallow import Schema, fields, validate

from backend.api.fields import BoundedInt, Id, Minor, UtcDateTime
from backend.api.pagination import page_schema
from backend.domain.orders import ORDER_STATUSES
from backend.interface import inputs

# Shared with the web app (backend/interface/inputs.py), re-exported under the API's names.
OrderQuerySchema = inputs.OrderQuerySchema
TransitionSchema = inputs.TransitionSchema


class OrderItemSchema(Schema):
    variant_id = Id(required=True)
    quantity = BoundedInt(required=True, validate=validate.Range(min=1, max=10_000))


class OrderCreateSchema(Schema):
    customer_id = Id(
        load_default=None,
        metadata={"description": "Merchants: the customer. Left out with X-CUSTOMER-PHONE."})
    items = fields.List(
        fields.Nested(OrderItemSchema), load_default=None, validate=validate.Length(min=1, max=100),
        metadata={"description": "Merchants: the lines. Left out: the acting customer's cart."})
    draft = fields.Bool(
        load_default=False,
        metadata={"description": "true: a draft (no stock reserved); else pending_payment"})


class OrderLineSchema(Schema):
    id = Id()
    variant_id = Id(allow_none=True)
    sku = fields.Str()
    title = fields.Str()
    unit_price_minor = Minor()
    quantity = BoundedInt()
    line_total_minor = Minor()


class OrderSchema(Schema):
    id = Id()
    customer_id = Id()
    status = fields.Str(metadata={"enum": list(ORDER_STATUSES)})
    currency = fields.Str()
    total_minor = Minor(metadata={"description": "Sum of the lines, integer minor units"})
    placed_at = UtcDateTime(allow_none=True)
    cancel_reason = fields.Str(allow_none=True)
    courier = fields.Str(allow_none=True)
    tracking = fields.Str(allow_none=True)
    created_at = UtcDateTime()
    lines = fields.List(fields.Nested(OrderLineSchema))


OrderPageSchema = page_schema(OrderSchema, "OrderPage")
