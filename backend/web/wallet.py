"""The wallet: balance, transactions, withdrawals; requesting one (wallet:withdraw) and another
person approving it (wallet:approve), through the API's wallet service."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from backend.domain.money import Money, MoneyError
from backend.interface.inputs import WithdrawalCreateSchema
from backend.interface.scopes import requires
from backend.services.payments.wallets import (
    approve_withdrawal,
    get_wallet,
    list_transactions,
    list_withdrawals,
    request_withdrawal,
)
from backend.web.core import PageError, blp, context, done, page, tenant_id, validated, viewer

PAGE_SIZE = 20


@blp.get("/wallet")
@requires("wallet:read")
def wallet() -> Response:
    return page("wallet.html", wallet=get_wallet(context(), tenant_id()),
                transactions=list_transactions(context(), tenant_id(), page_size=PAGE_SIZE),
                withdrawals=list_withdrawals(context(), tenant_id(), page_size=PAGE_SIZE))


@blp.post("/wallet/withdrawals")
@requires("wallet:withdraw")
def withdrawal_request() -> Response:
    currency = get_wallet(context(), tenant_id()).currency
    raw = request.form.get("amount", "").strip().replace(",", "")
    body: dict[str, Any] = {"phone": request.form.get("phone", "").strip()}
    try:
        body["amount_minor"] = Money.from_major(raw, currency).amount_minor if raw else None
    except MoneyError as error:
        raise PageError(422, "catalog.price_invalid") from error
    values = validated(WithdrawalCreateSchema(), {k: v for k, v in body.items() if v is not None})
    request_withdrawal(context(), tenant_id(), values["amount_minor"], values["phone"],
                       viewer().actor)
    return done("web.wallet", "wallet.requested")


@blp.post("/wallet/withdrawals/<int:withdrawal_id>/approve")
@requires("wallet:approve")
def withdrawal_approve(withdrawal_id: int) -> Response:
    approve_withdrawal(context(), tenant_id(), withdrawal_id, viewer().actor)
    return done("web.wallet", "wallet.approved")
