"""Schemas of appointments and slots."""

from marshmallow import Schema, fields, validate

from backend.api.fields import BoundedInt, Count, Id, Minor, UtcDateTime
from backend.api.pagination import PageQuerySchema, page_schema

from backend.interface import inputs
from backend.interface.inputs import START_DOC

# Shared with the web app (backend/interface/inputs.py), re-exported under the API's names.
RescheduleSchema = inputs.RescheduleSchema
STATUSES = ["booked", "pending_payment", "released", "cancelled", "no_show"]


class AppointmentCreateSchema(Schema):
    service_variant_id = Id(required=True)
    starts_at = fields.DateTime(required=True, metadata={"description": START_DOC})
    customer_id = Id(
        load_default=None,
        metadata={"description": "Merchants: the customer. Left out with X-CUSTOMER-PHONE."})
    notes = fields.Str(load_default="", validate=validate.Length(max=1000))



class AppointmentSchema(Schema):
    id = Id()
    customer_id = Id()
    service_id = Id()
    service_variant_id = Id()
    service_name = fields.Str()
    variant_name = fields.Str()
    starts_at = UtcDateTime()
    ends_at = UtcDateTime()
    local_starts_at = fields.Str(metadata={"description": "The start in the tenant's timezone"})
    status = fields.Str(metadata={
        "enum": STATUSES,
        "description": "pending_payment: the service takes a deposit; the seat is held until "
                       "hold_until while order_id is paid (POST /v1/orders/<order_id>/payments), "
                       "then booked; released: not paid in time"})
    price_minor = Minor()
    currency = fields.Str()
    notes = fields.Str()
    deposit_minor = Minor(metadata={"description": "Paid up front (0: no deposit)"})
    order_id = Id(allow_none=True, metadata={"description": "The order paying the deposit"})
    hold_until = UtcDateTime(allow_none=True,
                             metadata={"description": "While pending_payment: released after"})


class AppointmentQuerySchema(PageQuerySchema):
    customer_id = Id(load_default=None)
    service_id = Id(load_default=None)
    status = fields.Str(load_default=None, validate=validate.OneOf(STATUSES))
    start = fields.DateTime(load_default=None, data_key="from",
                            metadata={"description": "Starting at or after (UTC if no offset)"})
    end = fields.DateTime(load_default=None, data_key="to",
                          metadata={"description": "Starting before"})


class SlotSchema(Schema):
    window_id = Id()
    starts_at = UtcDateTime()
    ends_at = UtcDateTime()
    capacity = BoundedInt()
    remaining = Count()


class SlotQuerySchema(Schema):
    first = fields.Date(load_default=None, data_key="from",
                        metadata={"description": "First local date (YYYY-MM-DD); default today"})
    last = fields.Date(load_default=None, data_key="to",
                       metadata={"description": "Last local date, inclusive; default from + 6"})
    variant_id = Id(load_default=None,
                            metadata={"description": "Required when the service has several"})


class SlotListSchema(Schema):
    results = fields.List(fields.Nested(SlotSchema))


AppointmentPageSchema = page_schema(AppointmentSchema, "AppointmentPage")
