"""Operator routes (service token only) that the scheduled sweeps also run: M-Pesa B2C payouts
of approved withdrawals, and the payments sweep."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from backend.api.auth import require_service
from backend.api.common import SERVICE_SECURITY, ErrorSchema, context
from backend.api.fields import Count, Id
from backend.api.scopes import SERVICE, requires
from backend.services.payments.webhooks import requeue_stale_events
from backend.services.payments.payments import expire_stk_payments
from backend.services.payments.payouts import queue_payouts

internal_blp = Blueprint("payments_internal", __name__, url_prefix="/internal/v1",
                         description="Payments (platform operator)")
internal_blp.before_request(require_service)


class QueuedSchema(Schema):
    queued = fields.List(Id())


class SweepSchema(Schema):
    expired = Count()
    requeued = Count()


@internal_blp.route("/payouts/process")
class ProcessPayouts(MethodView):
    @requires(SERVICE)
    @internal_blp.doc(security=SERVICE_SECURITY)
    @internal_blp.response(202, QueuedSchema)
    @internal_blp.alt_response(401, schema=ErrorSchema, description="Not the service token")
    def post(self) -> dict[str, list[int]]:
        """Queue the M-Pesa B2C payouts of every approved withdrawal"""
        return {"queued": queue_payouts(context())}


@internal_blp.route("/payments/sweep")
class SweepPayments(MethodView):
    @requires(SERVICE)
    @internal_blp.doc(security=SERVICE_SECURITY)
    @internal_blp.response(200, SweepSchema)
    @internal_blp.alt_response(401, schema=ErrorSchema, description="Not the service token")
    def post(self) -> dict[str, int]:
        """Expire unanswered STK pushes (after asking Daraja) and requeue stalled events"""
        ctx = context()
        return {"expired": len(expire_stk_payments(ctx)),
                "requeued": len(requeue_stale_events(ctx))}
