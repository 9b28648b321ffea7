"""The tenant's wallet: balance, ledger transactions, withdrawals and their approval."""

from backend.api.wallet.routes import blp

__all__ = ["blp"]
