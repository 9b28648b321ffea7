"""Response texts replaced in the running rasa server, without loading a model: `make reload`'s
path for an edit that changes only what responses say (domain/*.yml `responses:`), live in a
second instead of a model swap (~20 s of loading DIET, TED and the blender).

Which responses exist is part of what the policies learned (each `utter_*` is an action), so the
names must be those of the served model: a response added, removed or renamed is refused (409) and
needs the model retrained, which `make reload` then does. The model archive catches up from the
training cache afterwards, so a restarted server serves the same texts.

PUT /webhooks/whatsapp/responses with Authorization: Bearer <RASA_TOKEN> (the server's
--auth-token) and {"responses": {"utter_x": [{"text": "..."}, ...], ...}}.
"""
from __future__ import annotations

import hmac
import os
from typing import Any, Dict, List, Optional

from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

Responses = Dict[str, List[Dict[str, Any]]]


def authorized(request: Request) -> bool:
    """Only a caller with the rasa server's own token (RASA_TOKEN)."""
    expected = os.environ.get("RASA_TOKEN", "").strip()
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), expected.encode())


def problem(responses: Any, served: Responses) -> Optional[str]:
    """Why `responses` cannot replace the served ones, or None."""
    if not isinstance(responses, dict) or not responses:
        return "'responses' must be an object of response name to its list of variations"
    for name, variations in responses.items():
        if not isinstance(variations, list) or not variations or not all(
                isinstance(v, dict) and v for v in variations):
            return f"{name}: a response is a non-empty list of variations (objects)"
    added, removed = sorted(set(responses) - set(served)), sorted(set(served) - set(responses))
    if added or removed:
        return (f"the response names differ from the served model's (added {added[:5]}, removed "
                f"{removed[:5]}): the model must be retrained, e.g. make reload")
    return None


def replace(agent: Any, responses: Responses) -> int:
    """Puts `responses` into the agent's domain and its response generator; how many changed."""
    domain = agent.domain
    changed = sum(domain.responses.get(name) != variations for name, variations in responses.items())
    domain.responses = responses
    # What GET /domain answers (Domain.as_dict() returns the dict the domain was built from).
    if isinstance(getattr(domain, "_data", None), dict):
        domain._data = {**domain._data, "responses": responses}
    if isinstance(agent.nlg, TemplatedNaturalLanguageGenerator):
        agent.nlg.responses = responses
    return changed


async def handle(request: Request, error: Any) -> HTTPResponse:
    if not authorized(request):
        return error(401, "needs Authorization: Bearer <RASA_TOKEN>")
    agent = getattr(request.app.ctx, "agent", None)
    if agent is None or agent.domain is None or not agent.is_ready():
        return error(503, "no model is loaded yet")
    try:
        body = request.json
    except Exception:  # sanic raises its own error on a malformed body
        body = None
    responses = body.get("responses") if isinstance(body, dict) else None
    why = problem(responses, agent.domain.responses)
    if why:
        return error(409 if why.startswith("the response names") else 400, why)
    changed = replace(agent, responses)
    return response.json({"responses": len(responses), "changed": changed})
