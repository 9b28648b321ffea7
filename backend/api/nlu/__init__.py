"""The NLU log: POST /internal/v1/nlu/classifications and GET /v1/nlu/classifications."""

from backend.api.nlu.routes import internal_blp, merchant_blp

__all__ = ["internal_blp", "merchant_blp"]
