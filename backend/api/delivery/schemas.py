"""Schemas of delivery settings, zones and quotes (rules: backend/domain/delivery.py)."""

from marshmallow import Schema, fields, validate

from backend.api.fields import BoundedInt, Count, Id, Minor
from backend.domain.delivery import FALLBACKS
from backend.interface import inputs

# Shared with the web app's forms (backend/interface/inputs.py).
DeliverySettingsPatchSchema = inputs.DeliverySettingsPatchSchema
ZoneCreateSchema = inputs.ZoneCreateSchema
ZonePatchSchema = inputs.ZonePatchSchema

_NOT_NEGATIVE = validate.Range(min=0)
_LATITUDE = validate.Range(min=-90, max=90)
_LONGITUDE = validate.Range(min=-180, max=180)


def _latitude(**kwargs):  # type: ignore[no-untyped-def]
    return fields.Float(allow_none=True, allow_nan=False, validate=_LATITUDE, **kwargs)


def _longitude(**kwargs):  # type: ignore[no-untyped-def]
    return fields.Float(allow_none=True, allow_nan=False, validate=_LONGITUDE, **kwargs)


class DeliverySettingsSchema(Schema):
    offers_pickup = fields.Bool()
    offers_delivery = fields.Bool()
    shop_latitude = fields.Float(allow_none=True)
    shop_longitude = fields.Float(allow_none=True)
    fallback = fields.Str(metadata={"enum": list(FALLBACKS),
                                    "description": "An address outside every zone: refused "
                                    "(pickup_only) or accepted with no fee, to call about"})


class ZoneSchema(Schema):
    id = Id()
    name = fields.Str()
    areas = fields.List(fields.Str())
    radius_m = BoundedInt(allow_none=True)
    fee_minor = Minor()
    free_above_minor = Minor(allow_none=True)
    expected_time = fields.Str(allow_none=True)
    position = BoundedInt()


class ZoneListSchema(Schema):
    zones = fields.List(fields.Nested(ZoneSchema))


class QuoteRequestSchema(Schema):
    goods_minor = Minor(required=True, validate=_NOT_NEGATIVE,
                        metadata={"description": "The goods' total (free-above compares it)"})
    address = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=500))
    latitude = _latitude(load_default=None)
    longitude = _longitude(load_default=None)


class AssistantQuoteRequestSchema(Schema):
    goods_minor = Minor(load_default=None, allow_none=True, validate=_NOT_NEGATIVE,
                        metadata={"description": "Left out: the acting customer's cart total"})
    address = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=500))
    latitude = _latitude(load_default=None)
    longitude = _longitude(load_default=None)
    same_as_last = fields.Bool(load_default=False,
                               metadata={"description": "Quote the customer's last address"})


class QuoteSchema(Schema):
    currency = fields.Str()
    goods_minor = Minor()
    zone = fields.Nested(ZoneSchema, allow_none=True)
    fee_minor = Minor()
    free_delivery = fields.Bool()
    expected_time = fields.Str(allow_none=True)
    fallback = fields.Str(allow_none=True, metadata={
        "enum": [*FALLBACKS, None], "description": "Set when no zone covers the place"})
    matched_area = fields.Str(allow_none=True)
    distance_m = Count(allow_none=True, metadata={"description": "A pin's distance from the shop"})


class LastDeliverySchema(Schema):
    address = fields.Str(allow_none=True)
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    recipient_phone = fields.Str(allow_none=True, metadata={"description": "E.164"})


class DeliveryOptionsSchema(Schema):
    offers_pickup = fields.Bool()
    offers_delivery = fields.Bool()
    fallback = fields.Str(metadata={"enum": list(FALLBACKS)})
    last_delivery = fields.Nested(LastDeliverySchema, allow_none=True,
                                  metadata={"description": "For 'same address as last time?'"})
