"""The Flask application factory: settings → context → API (+ the simulators in sandbox mode),
docs and error handlers."""

from __future__ import annotations

from flask import Flask, Response, send_from_directory
from flask_smorest import Api
from swagger_ui_bundle import swagger_ui_path

from backend.api import register_blueprints
from backend.api.audit_trail import register_audit_trail
from backend.api.common import SECURITY_SCHEMES, ErrorSchema
from backend.api.fields import BoundedIntConverter
from backend.api.headers import register_security_headers
from backend.api.input_guard import register_input_guard
from backend.api.rate_limits import init_rate_limits
from backend.api.scope_check import register_scope_check
from backend.wiring import build_context
from backend.errors import register_error_handlers
from backend.observability import init_app as init_observability
from backend.log_redaction import redact_logger
from backend.sandbox.routes import register_blueprints as register_sandbox
from backend.sandbox.simulator.pages import register_simulator
from backend.settings import Settings
from backend.web import register_web

SWAGGER_UI_ASSETS = "/docs/assets/"


class CommerceApi(Api):
    """flask-smorest's Api, documenting our error shape instead of its own."""

    ERROR_SCHEMA = ErrorSchema


def _openapi_config() -> dict[str, object]:
    return {
        "API_TITLE": "WhatsApp commerce backend",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        # Served from the swagger-ui-bundle package so /docs works without internet access.
        "OPENAPI_SWAGGER_UI_URL": SWAGGER_UI_ASSETS,
    }


def _swagger_ui_asset(filename: str) -> Response:
    return send_from_directory(str(swagger_ui_path), filename)


def create_app(settings: Settings | None = None) -> Flask:
    """Build an app; raises ConfigurationError when a required secret is missing."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.url_map.converters["int"] = BoundedIntConverter  # before any route is added
    app.config.update(_openapi_config())
    app.extensions["backend"] = build_context(settings)
    api = CommerceApi(app)
    for name, scheme in SECURITY_SCHEMES.items():
        api.spec.components.security_scheme(name, scheme)
    register_blueprints(api)
    if settings.sandbox:  # otherwise the simulators' routes do not exist (404)
        register_sandbox(api)
    app.add_url_rule(f"{SWAGGER_UI_ASSETS}<path:filename>", "swagger_ui_asset", _swagger_ui_asset)
    register_error_handlers(app)
    init_observability(app, settings)
    init_rate_limits(app, settings)
    register_security_headers(app)
    register_input_guard(app)
    redact_logger(app.logger)  # Flask logs the path of a request that failed
    register_scope_check(app)  # last: after every blueprint and the request's own hooks
    register_audit_trail(app)  # after the scope check: binds the actor it let through
    # The merchants' web app at /app/, after both: its pages authenticate, check their declared
    # scope and bind the audit actor themselves (backend/web/core.py).
    register_web(app)
    if settings.sandbox:  # the designers' simulator, a page of the web app (sandbox only)
        register_simulator(app)
    return app
