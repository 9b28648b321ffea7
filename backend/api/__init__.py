"""HTTP layer: blueprints that parse, call one service and serialise; nothing else."""

from __future__ import annotations

from flask_smorest import Api

from backend.settings import Settings


def register_blueprints(api: Api, settings: Settings) -> None:
    from backend.api.health import blp as health
    from backend.api.messages import blp as messages
    from backend.api.products import blp as products
    from backend.api.sandbox import messages_blp as sandbox_messages
    from backend.api.sandbox import twilio_blp as twilio_simulator
    from backend.api.tenants import blp as tenants

    for blueprint in (health, tenants, messages, products):
        api.register_blueprint(blueprint)
    if settings.sandbox:  # otherwise the sandbox routes do not exist (404)
        api.register_blueprint(twilio_simulator)
        api.register_blueprint(sandbox_messages)
