"""Mounts every simulator on the app; create_app calls it only when SANDBOX is on, so
otherwise none of these routes exists (404)."""

from __future__ import annotations

from flask_smorest import Api

from backend.sandbox.cards import blp as card_simulators
from backend.sandbox.daraja import blp as daraja_simulator
from backend.sandbox.stores import blp as store_simulators
from backend.sandbox.twilio_routes import messages_blp, twilio_blp


def register_blueprints(api: Api) -> None:
    for blueprint in (twilio_blp, messages_blp, daraja_simulator, card_simulators,
                      store_simulators):
        api.register_blueprint(blueprint)
