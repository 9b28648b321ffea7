"""Schemas of payments and payment settings."""

from marshmallow import Schema, fields, validate

from backend.api.fields import Id, Minor, UtcDateTime
from backend.api.pagination import PageQuerySchema, page_schema
from backend.domain.payments import CARD_PROVIDERS, METHODS
from backend.models.payments import PAYMENT_PROVIDERS, PAYMENT_STATUSES
from backend.services.payments.settings import MPESA_ACCOUNT_TYPES


class PaymentCreateSchema(Schema):
    method = fields.Str(required=True, validate=validate.OneOf(METHODS))
    phone = fields.Str(
        load_default=None, validate=validate.Length(max=32),
        metadata={"description": "mpesa_stk only: the number to prompt (07…, 01…, 2547…, "
                                 "+2547…); default: the customer's own number"})


class PaymentSchema(Schema):
    id = Id()
    order_id = Id()
    method = fields.Str(metadata={"enum": list(METHODS)})
    provider = fields.Str(metadata={"enum": list(PAYMENT_PROVIDERS)})
    status = fields.Str(metadata={"enum": list(PAYMENT_STATUSES)})
    amount_minor = Minor(metadata={"description": "What the customer pays (M-Pesa: the "
                                                       "order total rounded up to a shilling)"})
    currency = fields.Str()
    phone = fields.Str(allow_none=True,
                       metadata={"description": "mpesa_stk: the number prompted, masked"})
    checkout_url = fields.Str(allow_none=True, metadata={"description": "card: where to pay"})
    instructions = fields.Dict(
        allow_none=True, metadata={"description": "mpesa_manual: {paybill|till, account, "
                                                  "amount_minor}; merchant_link: {account, "
                                                  "amount_minor}"})
    provider_reference = fields.Str(allow_none=True)
    receipt = fields.Str(allow_none=True, metadata={"description": "M-Pesa receipt number"})
    failure_code = fields.Str(
        allow_none=True, metadata={"description": "Daraja ResultCode (\"1032\", \"1037\", "
                                                  "\"2001\", \"1\"…), \"timeout\", "
                                                  "\"push_failed\", \"card_declined\", "
                                                  "\"provider_error\""})
    failure_reason = fields.Str(allow_none=True)
    review_reason = fields.Str(allow_none=True, metadata={
        "description": "Set when money arrived that needs a person (amount mismatch, "
                       "cancelled order)"})
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


PaymentPageSchema = page_schema(PaymentSchema, "PaymentPage")


class PaymentQuerySchema(PageQuerySchema):
    pass


class PaymentSettingsSchema(Schema):
    config = fields.Dict(metadata={"description": "Non-secret settings"})
    secrets_set = fields.List(fields.Str(), metadata={"description": "Which credentials are set"})
    callback_urls = fields.Dict(metadata={
        "description": "URLs to give the providers (they carry the tenant's secret token)"})


class PaymentSettingsPatchSchema(Schema):
    mpesa_shortcode = fields.Str(allow_none=True, validate=validate.Regexp(r"^\d{5,7}$"))
    mpesa_account_type = fields.Str(validate=validate.OneOf(MPESA_ACCOUNT_TYPES))
    mpesa_till_number = fields.Str(allow_none=True, validate=validate.Regexp(r"^\d{5,7}$"))
    daraja_base_url = fields.Url(allow_none=True, require_tld=False)
    card_provider = fields.Str(allow_none=True, validate=validate.OneOf(CARD_PROVIDERS))
    paystack_base_url = fields.Url(allow_none=True, require_tld=False)
    stripe_base_url = fields.Url(allow_none=True, require_tld=False)
    pesapal_base_url = fields.Url(allow_none=True, require_tld=False)
    merchant_payment_link = fields.Url(allow_none=True)
    receipt_email = fields.Email(allow_none=True)
    daraja_consumer_key = fields.Str(allow_none=True, load_only=True)
    daraja_consumer_secret = fields.Str(allow_none=True, load_only=True)
    mpesa_passkey = fields.Str(allow_none=True, load_only=True)
    paystack_secret_key = fields.Str(allow_none=True, load_only=True)
    stripe_secret_key = fields.Str(allow_none=True, load_only=True)
    stripe_webhook_secret = fields.Str(allow_none=True, load_only=True)
    pesapal_consumer_key = fields.Str(allow_none=True, load_only=True)
    pesapal_consumer_secret = fields.Str(allow_none=True, load_only=True)
