"""NLU model registry jobs (queue `default`): build a candidate (train, evaluate, gate) and
promote a model (swap it into every rasa server). Both record their outcome on the model's row
(failed, rejected, the promotion's error) rather than raising, so a worker never retries a
training run."""

from __future__ import annotations

import logging
from typing import Any

from backend.jobs.job_context import job_context
from backend.observability import job_entry
from backend.services.conversations import nlu_models

log = logging.getLogger(__name__)


@job_entry
def build_model(model_id: int) -> dict[str, Any]:
    view = nlu_models.build_model(job_context(), model_id)
    log.info("nlu model %s: %s", model_id, view.status)
    return {"id": view.id, "status": view.status}


@job_entry
def promote_model(model_id: int, actor: str) -> dict[str, Any]:
    view = nlu_models.promote_model(job_context(), model_id, actor)
    log.info("nlu model %s promotion: %s", model_id, view.status)
    return {"id": view.id, "status": view.status, "error": view.error}
