"""Schemas of the analytics endpoints: counts are integers, money integer minor units, rates
ratios in 0..1 (null when nothing to divide by), days the tenant's local dates."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from backend.api.fields import BoundedInt, Count, Id, Minor, UtcDateTime
from backend.models.analytics import ROLLUP_COUNTS
from backend.services.analytics.reports import METRICS

RATE = {"allow_none": True, "metadata": {"description": "0..1; null when nothing to divide by"}}


class RangeQuerySchema(Schema):
    first = fields.Date(load_default=None, data_key="from", metadata={
        "description": "First local date (YYYY-MM-DD); default 29 days before `to`"})
    last = fields.Date(load_default=None, data_key="to", metadata={
        "description": "Last local date, inclusive; default (and at most) today"})


class CommaSeparated(fields.Str):
    """A comma-separated list of names in a query string, each one of `choices`."""

    def __init__(self, choices: tuple[str, ...], **kwargs: Any) -> None:
        self.choices = choices
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        names = [name.strip() for name in super()._deserialize(value, attr, data, **kwargs)
                 .split(",") if name.strip()]
        unknown = sorted(set(names) - set(self.choices))
        if unknown:
            raise ValidationError(f"Unknown figures: {', '.join(unknown)}.")
        return list(dict.fromkeys(names)) or None


class DailyQuerySchema(RangeQuerySchema):
    metrics = CommaSeparated(METRICS, load_default=None, metadata={
        "description": "Comma-separated figures to return per day (default: all): "
                       + ", ".join(METRICS)})


class IntentQuerySchema(RangeQuerySchema):
    limit = BoundedInt(minimum=1, maximum=100, load_default=10)


class MethodSchema(Schema):
    attempted = Count()
    succeeded = Count()
    success_rate = fields.Float(**RATE)


def _counts() -> dict[str, Any]:
    fields_: dict[str, Any] = {name: Count() for name in ROLLUP_COUNTS}
    for name in ("revenue_minor",):
        fields_[name] = Minor()
    fields_["llm_cost_micros"] = Count(metadata={
        "description": "Estimated LLM spend in millionths of the currency unit"})
    return fields_


FiguresSchema = Schema.from_dict({
    **_counts(),
    "outbound_statuses": fields.Dict(keys=fields.Str(), values=Count(), metadata={
        "description": "Outbound messages of the day by current status"}),
    "intents": fields.Dict(keys=fields.Str(), values=Count()),
    "payments": fields.Dict(keys=fields.Str(), values=fields.Dict(
        keys=fields.Str(), values=Count()), metadata={
        "description": "{method: {attempted, succeeded}}"}),
    "average_order_minor": Minor(allow_none=True),
    "conversion_to_order": fields.Float(**RATE),
    "conversion_to_paid": fields.Float(**RATE),
    "order_paid_rate": fields.Float(**RATE),
    "no_show_rate": fields.Float(**RATE),
    "fallback_rate": fields.Float(**RATE),
    "faq_answer_rate": fields.Float(**RATE),
    "average_first_reply_seconds": Count(allow_none=True),
    "payment_methods": fields.Dict(keys=fields.Str(), values=fields.Nested(MethodSchema)),
}, name="AnalyticsFigures")


class DayFiguresSchema(FiguresSchema):  # type: ignore[misc,valid-type]
    day = fields.Date()


class PeriodFiguresSchema(FiguresSchema):  # type: ignore[misc,valid-type]
    first = fields.Date(attribute="from", data_key="from")
    last = fields.Date(attribute="to", data_key="to")


class HeadSchema(Schema):
    timezone = fields.Str(metadata={"description": "The tenant's timezone every day is cut in"})
    currency = fields.Str()
    as_of = fields.Str(metadata={"description": "The tenant's local time of the answer"})
    today = fields.Date()


class RangeHeadSchema(HeadSchema):
    first = fields.Date(attribute="from", data_key="from")
    last = fields.Date(attribute="to", data_key="to")


class OverviewSchema(HeadSchema):
    today_so_far = fields.Nested(DayFiguresSchema)
    yesterday = fields.Nested(DayFiguresSchema)
    last_7_days = fields.Nested(PeriodFiguresSchema)
    last_30_days = fields.Nested(PeriodFiguresSchema)


class SeriesDaySchema(Schema):
    day = fields.Date()
    live = fields.Bool(metadata={"description": "Computed now (today, or not rolled up yet)"})
    figures = fields.Dict(keys=fields.Str(), metadata={
        "description": "The chosen figures (see AnalyticsFigures)"})


class DailySchema(RangeHeadSchema):
    days = fields.List(fields.Nested(SeriesDaySchema))


class FunnelStepSchema(Schema):
    step = fields.Str(validate=validate.OneOf(("conversations", "ordered", "paid")))
    count = Count()
    rate_from_start = fields.Float(**RATE)
    rate_from_previous = fields.Float(**RATE)


class FunnelSchema(RangeHeadSchema):
    steps = fields.List(fields.Nested(FunnelStepSchema))
    orders = Count()
    orders_paid = Count()
    revenue_minor = Minor()
    average_order_minor = Minor(allow_none=True)


class CampaignResultsSchema(Schema):
    sent = Count()
    delivered = Count()
    read = Count()
    replied = Count()
    converted = Count()
    delivery_rate = fields.Float(**RATE)
    reply_rate = fields.Float(**RATE)
    conversion_rate = fields.Float(**RATE)


class MessagingSchema(RangeHeadSchema):
    messages_in = Count()
    messages_out = Count()
    conversations = Count()
    outbound_statuses = fields.Dict(keys=fields.Str(), values=Count())
    delivery_rate = fields.Float(**RATE)
    handoffs = Count()
    handoffs_replied = Count()
    average_first_reply_seconds = Count(allow_none=True)
    faq_answered = Count()
    faq_declined = Count()
    campaigns = fields.Nested(CampaignResultsSchema)


class IntentCountSchema(Schema):
    intent = fields.Str()
    count = Count()
    share = fields.Float(**RATE)


class IntentsSchema(RangeHeadSchema):
    classifications = Count()
    fallbacks = Count()
    fallback_rate = fields.Float(**RATE)
    top = fields.List(fields.Nested(IntentCountSchema))


class ActiveTenantSchema(Schema):
    tenant_id = fields.Str()
    name = fields.Str()
    tier = fields.Str()
    messages_in = Count(metadata={"description": "Inbound messages in the period"})
    last_inbound_at = UtcDateTime()


class ActiveTenantsSchema(Schema):
    since = UtcDateTime()
    days = Count()
    active = Count()
    tenants_total = Count()
    tenants = fields.List(fields.Nested(ActiveTenantSchema))



class ProductQuerySchema(RangeQuerySchema):
    limit = BoundedInt(minimum=1, maximum=100, load_default=10)


class ProductSoldSchema(Schema):
    product_id = Id(allow_none=True, metadata={
        "description": "null for lines whose variant has since been deleted (kept by title)"})
    title = fields.Str()
    units = Count()
    revenue_minor = Minor(metadata={"description": "The order lines' totals (before delivery)"})


class ProductsSchema(RangeHeadSchema):
    units = Count(metadata={"description": "Units of every product sold in the range"})
    revenue_minor = Minor(metadata={"description": "Order lines' totals of the range"})
    products = fields.List(fields.Nested(ProductSoldSchema), metadata={
        "description": "Most revenue first, then most units"})
