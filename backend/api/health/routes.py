"""Health of the backend and what it depends on (no authentication: load balancers call it)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.common import context
from backend.api.health.schemas import HealthSchema
from backend.api.scopes import PUBLIC, requires
from backend.services.platform.health import check_health

blp = Blueprint("health", __name__, url_prefix="/v1", description="Health check")


@blp.route("/health")
class Health(MethodView):
    @requires(PUBLIC)
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="Cannot serve (database down)")
    def get(self) -> tuple[dict[str, Any], int]:
        """Check the database, Redis, the RQ workers, queue lag and the outbox"""
        health = check_health(context())
        body = {
            "status": health.status,
            "checks": {"database": health.database, "redis": health.redis},
            "problems": health.problems,
            "jobs": health.jobs,
            "workers": health.workers,
            "queues": health.queues,
            "outbox": health.outbox,
        }
        return body, 200 if health.ok else 503
