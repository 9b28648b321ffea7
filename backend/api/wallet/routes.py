"""The merchant's wallet: balance, transactions, withdrawals (request, approve, audit trail).

Requesting needs wallet:withdraw, approving wallet:approve and another actor than the requester:
a staff user is one actor whatever session or token they use, an API key is its own actor. The
platform operator may read with the service token. A customer never sees a wallet."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.auth import require_tenant
from backend.api.commerce import customer_scope
from backend.api.common import TENANT_SECURITY, ErrorSchema, context, principal, tenant_id
from backend.api.pagination import paginated
from backend.api.scopes import requires
from backend.api.wallet.schemas import (
    AuditTrailSchema,
    TransactionPageSchema,
    TransactionQuerySchema,
    WalletSchema,
    WithdrawalCreateSchema,
    WithdrawalPageSchema,
    WithdrawalQuerySchema,
    WithdrawalSchema,
)
from backend.domain.errors import Unauthenticated
from backend.services.platform.audit import actor_name
from backend.services.payments.wallets import (
    WalletView,
    WithdrawalView,
    approve_withdrawal,
    audit_trail,
    get_wallet,
    get_withdrawal,
    list_transactions,
    list_withdrawals,
    request_withdrawal,
)

blp = Blueprint("wallet", __name__, url_prefix="/v1/wallet", description="Wallet")
blp.before_request(require_tenant)


def _not_a_customer() -> None:
    if customer_scope() is not None:
        raise Unauthenticated("The wallet is the merchant's, not a customer's")


def _user() -> str | None:
    """The person acting ("user:5"), or the API key ("api_key:3"); None for the service token."""
    caller = principal()
    if caller.is_service or (caller.user_id is None and caller.api_key_id is None):
        return None
    return actor_name(False, caller.user_id, caller.api_key_id)


@blp.route("")
class Wallet(MethodView):
    @requires("wallet:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, WalletSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="Not the merchant")
    def get(self) -> WalletView:
        """Balances derived from the ledger: available, held, credited, fees, paid out"""
        _not_a_customer()
        return get_wallet(context(), tenant_id())


@blp.route("/transactions")
class Transactions(MethodView):
    @requires("wallet:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(TransactionQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, TransactionPageSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="Not the merchant")
    def get(self, **query: Any) -> dict[str, Any]:
        """Ledger transactions, newest first (filter by type, status, from/to)"""
        _not_a_customer()
        return paginated(list_transactions(context(), tenant_id(), **query))


@blp.route("/withdrawals")
class Withdrawals(MethodView):
    @requires("wallet:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(WithdrawalQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, WithdrawalPageSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="Not the merchant")
    def get(self, **query: Any) -> dict[str, Any]:
        """Withdrawals, newest first"""
        _not_a_customer()
        return paginated(list_withdrawals(context(), tenant_id(), **query))

    @requires("wallet:withdraw")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(WithdrawalCreateSchema)
    @blp.response(201, WithdrawalSchema)
    @blp.alt_response(400, schema=ErrorSchema, description="Below the minimum")
    @blp.alt_response(401, schema=ErrorSchema, description="Not a staff user or API key")
    @blp.alt_response(409, schema=ErrorSchema, description="Not enough available")
    def post(self, body: dict[str, Any]) -> WithdrawalView:
        """Request a withdrawal to an M-Pesa number: the amount is held at once"""
        user = _user()
        if user is None:
            raise Unauthenticated("Withdrawals are requested by a staff user or an API key")
        return request_withdrawal(context(), tenant_id(), body["amount_minor"], body["phone"],
                                  user)


@blp.route("/withdrawals/<int:withdrawal_id>")
class WithdrawalById(MethodView):
    @requires("wallet:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, WithdrawalSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such withdrawal")
    def get(self, withdrawal_id: int) -> WithdrawalView:
        """One withdrawal"""
        found = get_withdrawal(context(), tenant_id(), withdrawal_id)
        _not_a_customer()
        return found


@blp.route("/withdrawals/<int:withdrawal_id>/approve")
class WithdrawalApproval(MethodView):
    @requires("wallet:approve")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, WithdrawalSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such withdrawal")
    @blp.alt_response(409, schema=ErrorSchema,
                      description="Not pending approval, or approved by its requester")
    def post(self, withdrawal_id: int) -> WithdrawalView:
        """Approve a withdrawal (another user or key than the requester, holding wallet:approve);
        payouts then send it"""
        return approve_withdrawal(context(), tenant_id(), withdrawal_id, _user())


@blp.route("/withdrawals/<int:withdrawal_id>/audit")
class WithdrawalAudit(MethodView):
    @requires("wallet:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, AuditTrailSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such withdrawal")
    def get(self, withdrawal_id: int) -> dict[str, Any]:
        """Who requested, approved and paid the withdrawal, and when"""
        events = audit_trail(context(), tenant_id(), withdrawal_id)
        _not_a_customer()
        return {"events": events}
