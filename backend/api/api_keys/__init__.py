"""GET/POST /v1/api-keys and DELETE /v1/api-keys/<id>."""

from backend.api.api_keys.routes import blp

__all__ = ["blp"]
