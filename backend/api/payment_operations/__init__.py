"""The platform operator's payment routes: queue withdrawal payouts, sweep stalled payments."""

from backend.api.payment_operations.routes import internal_blp

__all__ = ["internal_blp"]
