"""Health of the backend and what it depends on (no authentication: load balancers call it)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.common import context
from backend.api.health.schemas import HealthSchema
from backend.services.health import check_health

blp = Blueprint("health", __name__, url_prefix="/v1", description="Health check")


@blp.route("/health")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="A dependency is down")
    def get(self) -> tuple[dict[str, Any], int]:
        """Check the database (a real query) and Redis (PING, when configured)"""
        health = check_health(context())
        body = {
            "status": "ok" if health.ok else "degraded",
            "checks": {"database": health.database, "redis": health.redis},
        }
        return body, 200 if health.ok else 503
