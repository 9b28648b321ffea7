"""Schemas of the wallet."""

from marshmallow import Schema, fields, validate

from backend.api.fields import Id, Minor, UtcDateTime
from backend.api.pagination import PageQuerySchema, page_schema
from backend.domain.ledger import TRANSACTION_KINDS
from backend.models.wallet import WITHDRAWAL_STATUSES
from backend.interface import inputs

# Shared with the web app (backend/interface/inputs.py), re-exported under the API's names.
WithdrawalCreateSchema = inputs.WithdrawalCreateSchema

TRANSACTION_STATUSES = ("completed", *WITHDRAWAL_STATUSES)


class WalletSchema(Schema):
    currency = fields.Str()
    available_minor = Minor(metadata={"description": "What can be withdrawn now"})
    held_minor = Minor(metadata={"description": "Held for withdrawals not yet paid"})
    credited_minor = Minor(metadata={"description": "Customer payments less fees, ever"})
    fees_minor = Minor(metadata={"description": "Platform fees on those payments, ever"})
    paid_out_minor = Minor(metadata={"description": "Withdrawals paid out, ever"})


class LedgerEntrySchema(Schema):
    account = fields.Str(metadata={"description": "tenant:<id>:wallet:KES, platform:fees:KES…"})
    amount_minor = Minor(metadata={"description": "Signed; the entries sum to zero"})


class TransactionSchema(Schema):
    id = Id()
    type = fields.Str(metadata={"enum": list(TRANSACTION_KINDS)})
    status = fields.Str(metadata={"enum": list(TRANSACTION_STATUSES)})
    amount_minor = Minor(metadata={"description": "Change to the available balance"})
    fee_minor = Minor(metadata={"description": "Platform fee taken (payments)"})
    payment_id = Id(allow_none=True)
    withdrawal_id = Id(allow_none=True)
    description = fields.Str()
    created_at = UtcDateTime()
    entries = fields.List(fields.Nested(LedgerEntrySchema))


class TransactionQuerySchema(PageQuerySchema):
    type = fields.Str(load_default=None, validate=validate.OneOf(TRANSACTION_KINDS))
    status = fields.Str(load_default=None, validate=validate.OneOf(TRANSACTION_STATUSES))
    created_from = fields.AwareDateTime(load_default=None, data_key="from",
                                        metadata={"description": "ISO 8601 with offset"})
    created_to = fields.AwareDateTime(load_default=None, data_key="to",
                                      metadata={"description": "exclusive"})


class WithdrawalSchema(Schema):
    id = Id()
    amount_minor = Minor()
    currency = fields.Str()
    status = fields.Str(metadata={"enum": list(WITHDRAWAL_STATUSES)})
    phone = fields.Str()
    requested_by = fields.Str()
    approved_by = fields.Str(allow_none=True)
    provider_transaction_id = fields.Str(allow_none=True)
    failure_reason = fields.Str(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class WithdrawalQuerySchema(PageQuerySchema):
    status = fields.Str(load_default=None, validate=validate.OneOf(WITHDRAWAL_STATUSES))


class AuditEventSchema(Schema):
    action = fields.Str()
    actor = fields.Str()
    detail = fields.Dict()
    created_at = UtcDateTime()


class AuditTrailSchema(Schema):
    events = fields.List(fields.Nested(AuditEventSchema))


TransactionPageSchema = page_schema(TransactionSchema, "WalletTransactionPage")
WithdrawalPageSchema = page_schema(WithdrawalSchema, "WithdrawalPage")
