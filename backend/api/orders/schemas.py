"""Schemas of orders."""

from marshmallow import Schema, fields, validate

from backend.api.fields import BoundedInt, Id, Minor, UtcDateTime
from backend.api.pagination import page_schema
from backend.domain.delivery import FULFILMENTS
from backend.domain.deposits import DEPOSIT_LINE
from backend.domain.orders import ORDER_STATUSES
from backend.models.orders import DELIVERY_LINE, PRODUCT_LINE
from backend.interface import inputs

# Shared with the web app (backend/interface/inputs.py), re-exported under the API's names.
OrderQuerySchema = inputs.OrderQuerySchema
TransitionSchema = inputs.TransitionSchema


class OrderItemSchema(Schema):
    variant_id = Id(required=True)
    quantity = BoundedInt(required=True, validate=validate.Range(min=1, max=10_000))


class DeliveryRequestSchema(Schema):
    address = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=500),
                         metadata={"description": "Free text: estate, street, landmark"})
    latitude = fields.Float(load_default=None, allow_none=True, allow_nan=False,
                            validate=validate.Range(min=-90, max=90),
                            metadata={"description": "A WhatsApp location pin"})
    longitude = fields.Float(load_default=None, allow_none=True, allow_nan=False,
                             validate=validate.Range(min=-180, max=180))
    recipient_phone = fields.Str(load_default=None, allow_none=True,
                                 validate=validate.Length(max=32),
                                 metadata={"description": "Who receives it, if not the customer"})
    same_as_last = fields.Bool(load_default=False,
                               metadata={"description": "The customer's last delivery address"})


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
    fulfilment = fields.Str(
        load_default=None, allow_none=True, validate=validate.OneOf(FULFILMENTS),
        metadata={"description": "pickup | delivery (the zone's fee becomes a line of the "
                  "order); left out: not asked"})
    delivery = fields.Nested(DeliveryRequestSchema, load_default=None, allow_none=True,
                             metadata={"description": "With fulfilment=delivery"})


class OrderLineSchema(Schema):
    id = Id()
    variant_id = Id(allow_none=True)
    sku = fields.Str()
    title = fields.Str()
    unit_price_minor = Minor()
    quantity = BoundedInt()
    line_total_minor = Minor()
    kind = fields.Str(metadata={"enum": [PRODUCT_LINE, DELIVERY_LINE, DEPOSIT_LINE],
                                "description": "delivery: the delivery fee; deposit: a booking's "
                                "deposit (neither has a variant)"})


class OrderDeliverySchema(Schema):
    zone = fields.Str(allow_none=True, metadata={"description": "null: outside every zone"})
    expected_time = fields.Str(allow_none=True)
    needs_call = fields.Bool(metadata={"description": "Outside every zone: call the customer"})
    fee_minor = Minor()
    address = fields.Str(allow_none=True, metadata={
        "description": "Only for callers who may see customers (customers:read)"})
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    recipient_phone = fields.Str(allow_none=True)


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
    fulfilment = fields.Str(allow_none=True, metadata={"enum": [*FULFILMENTS, None]})
    delivery = fields.Nested(OrderDeliverySchema, allow_none=True)


OrderPageSchema = page_schema(OrderSchema, "OrderPage")
