"""/app/models: the NLU model registry, the review loop's second half (the data team's
`nlu:review` scope). Each model's card: status, progress while it is trained, evaluated or
promoted (the page refreshes itself then), its data hash, dates, who built and promoted it, its
evaluation figures and the gate's reasons. "Build a candidate" trains one from the training data
and the reviewed messages in a job; "Promote" (only when its gate passed) and "Roll back" swap
the model every shop talks to, so they also need a platform operator."""

from __future__ import annotations

from flask import Response, request

from backend.interface.scopes import requires
from backend.services.conversations.nlu_models import (
    BUILDING,
    list_models,
    request_promotion,
    request_rollback,
    rollback_target,
    start_build,
)
from backend.web.core import PageError, blp, context, done, page, viewer

SCOPE = "nlu:review"
REFRESH_SECONDS = 5


def _operator() -> None:
    if not viewer().signed_in.is_operator:
        raise PageError(403, "models.operator_only")


@blp.get("/models")
@requires(SCOPE)
def models() -> Response:
    ctx = context()
    found = list_models(ctx)
    busy = any(m.status in BUILDING or m.promoting for m in found)
    target = rollback_target(ctx)
    return page("models.html", section="nav.models", models=found, busy=busy,
                refresh=REFRESH_SECONDS if busy else None, rollback=target,
                building=BUILDING, operator=viewer().signed_in.is_operator)


@blp.post("/models")
@requires(SCOPE)
def models_build() -> Response:
    start_build(context(), request.form.get("note", ""))
    return done("web.models", "models.queued")


@blp.post("/models/<int:model_id>/promote")
@requires(SCOPE)
def models_promote(model_id: int) -> Response:
    _operator()
    request_promotion(context(), model_id)
    return done("web.models", "models.promoting")


@blp.post("/models/rollback")
@requires(SCOPE)
def models_rollback() -> Response:
    _operator()
    request_rollback(context())
    return done("web.models", "models.promoting")
