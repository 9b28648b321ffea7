"""Schemas of services, service variants and availability windows."""

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from backend.api.fields import BoundedInt, Id, Minor
from backend.api.pagination import PageQuerySchema, page_schema
from backend.domain.deposits import DEPOSIT_KINDS, MAX_HOLD_MINUTES

# A whole WhatsApp message may name the service; longer texts are cut by the caller.
MAX_MATCH_TEXT = 1000


class ServiceVariantSchema(Schema):
    id = Id(dump_only=True)
    service_id = Id(dump_only=True)
    name = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    duration_minutes = BoundedInt(required=True, validate=validate.Range(min=5, max=24 * 60))
    price_minor = Minor(required=True, validate=validate.Range(min=0),
                             metadata={"description": "Integer minor units"})
    currency = fields.Str(dump_only=True)


class WindowSchema(Schema):
    id = Id(dump_only=True)
    service_id = Id(dump_only=True)
    weekday = BoundedInt(load_default=None, allow_none=True,
                         validate=validate.Range(min=0, max=6),
                         metadata={"description": "0 = Monday … 6 = Sunday; or give date"})
    on_date = fields.Date(load_default=None, allow_none=True, data_key="date",
                          metadata={"description": "One day only (replaces that weekday's)"})
    starts_at = fields.Time(required=True, data_key="start",
                            metadata={"description": "Local time HH:MM"})
    ends_at = fields.Time(required=True, data_key="end", metadata={"description": "After start"})
    capacity = BoundedInt(load_default=1, validate=validate.Range(min=1, max=1000))

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("weekday") is None) == (data.get("on_date") is None):
            raise ValidationError("Give either weekday or date.", "weekday")
        if data["ends_at"] <= data["starts_at"]:
            raise ValidationError("Must be after start.", "end")


DEPOSIT_KIND_HELP = ("What a customer pays up front to book: none; fixed (deposit_value in "
                     "minor units, at most every variant's price); percent (deposit_value "
                     "1-100 of the variant's price); full (the whole price). The booking holds "
                     "its seat as pending_payment until the deposit's order is paid, and is "
                     "released after hold_minutes unpaid")


class ServiceSchema(Schema):
    id = Id(dump_only=True)
    name = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    description = fields.Str(load_default="", validate=validate.Length(max=5000))
    category = fields.Str(load_default="", validate=validate.Length(max=64))
    active = fields.Bool(dump_only=True)
    variants = fields.List(fields.Nested(ServiceVariantSchema), load_default=list)
    windows = fields.List(fields.Nested(WindowSchema), load_default=list)
    deposit_kind = fields.Str(load_default="none", validate=validate.OneOf(DEPOSIT_KINDS),
                              metadata={"description": DEPOSIT_KIND_HELP})
    deposit_value = Minor(load_default=None, allow_none=True, validate=validate.Range(min=1),
                          metadata={"description": "fixed: minor units; percent: 1-100"})
    hold_minutes = BoundedInt(load_default=None, allow_none=True,
                              validate=validate.Range(min=1, max=MAX_HOLD_MINUTES),
                              metadata={"description": "Minutes an unpaid booking holds its "
                                                       "seat (null: DEPOSIT_HOLD_MINUTES)"})


class ServicePatchSchema(Schema):
    name = fields.Str(validate=validate.Length(min=1, max=200))
    description = fields.Str(validate=validate.Length(max=5000))
    category = fields.Str(validate=validate.Length(max=64))
    active = fields.Bool()
    deposit_kind = fields.Str(validate=validate.OneOf(DEPOSIT_KINDS),
                              metadata={"description": DEPOSIT_KIND_HELP})
    deposit_value = Minor(allow_none=True, validate=validate.Range(min=1))
    hold_minutes = BoundedInt(allow_none=True,
                              validate=validate.Range(min=1, max=MAX_HOLD_MINUTES))


class ServiceQuerySchema(PageQuerySchema):
    include_inactive = fields.Bool(load_default=False)


class ServiceVariantListSchema(Schema):
    results = fields.List(fields.Nested(ServiceVariantSchema))


class WindowListSchema(Schema):
    results = fields.List(fields.Nested(WindowSchema))


ServicePageSchema = page_schema(ServiceSchema, "ServicePage")


class ServiceVariantPatchSchema(Schema):
    name = fields.Str(validate=validate.Length(min=1, max=200))
    duration_minutes = BoundedInt(validate=validate.Range(min=5, max=24 * 60))
    price_minor = Minor(validate=validate.Range(min=0))


class WindowPatchSchema(Schema):
    """Fields to change; the merged window is validated by the service (422)."""

    weekday = BoundedInt(allow_none=True, validate=validate.Range(min=0, max=6))
    on_date = fields.Date(allow_none=True, data_key="date")
    starts_at = fields.Time(data_key="start")
    ends_at = fields.Time(data_key="end")
    capacity = BoundedInt(validate=validate.Range(min=1, max=1000))


class ServiceMatchQuerySchema(Schema):
    text = fields.Str(required=True, validate=validate.Length(min=1, max=MAX_MATCH_TEXT))
    mode = fields.Str(load_default="name", validate=validate.OneOf(("name", "message")),
                      metadata={"description": "name: the text is a service's name as typed "
                                               "(typos, plurals, Swahili/Sheng words; an "
                                               "ambiguous name gives its near ties); message: a "
                                               "whole message naming a service among other "
                                               "words"})
    service_id = Id(load_default=None,
                    metadata={"description": "Only this service, returned whatever its score "
                                             "(which of its variants the text names)"})
    limit = BoundedInt(load_default=10, validate=validate.Range(min=1, max=50))


class ServiceMatchSchema(Schema):
    service_id = Id()
    name = fields.Str()
    score = fields.Float(metadata={"description": "0..1, higher is closer"})
    variant_id = Id(allow_none=True,
                    metadata={"description": "The only variant, or the one the text names"})


class ServiceMatchListSchema(Schema):
    results = fields.List(fields.Nested(ServiceMatchSchema))
