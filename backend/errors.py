"""Every error, everywhere, as {"code", "message", "description"} (+ "errors" for validation)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, jsonify
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from backend.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    InvalidInput,
    LimitExceeded,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
    Unavailable,
    Unprocessable,
)
from backend.domain.money import MoneyError

STATUS_BY_ERROR: tuple[tuple[type[Exception], int], ...] = (
    (NotFound, 404),
    (InvalidInput, 400),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (LimitExceeded, 403),
    (Gone, 410),
    (TooManyAttempts, 429),
    (Conflict, 409),
    (Unprocessable, 422),
    (Unavailable, 503),
    (MoneyError, 400),
    (DomainError, 400),
)
AUTHENTICATE_HEADER = {"WWW-Authenticate": 'Bearer realm="backend"'}
# How long a caller should wait before trying again when the database is overloaded or away.
DATABASE_RETRY_AFTER_SECONDS = 5

log = logging.getLogger(__name__)


def error_response(
    status: int,
    description: str,
    errors: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "code": status,
        "message": HTTPStatus(status).phrase,
        "description": description,
    }
    if errors:
        body["errors"] = dict(errors)
    body.update(extra or {})  # e.g. "alternatives" when a booking slot is full
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _validation_details(messages: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """webargs nests messages by location ({"json": {"to": [...]}}); callers want fields only.

    A location whose messages are a plain list (e.g. "Invalid JSON body.") becomes the description.
    """
    fields: dict[str, Any] = {}
    general: list[str] = []
    for location_messages in messages.values():
        if isinstance(location_messages, Mapping):
            fields.update(location_messages)
        else:
            general.extend(str(message) for message in location_messages)
    description = " ".join(general) or "The request did not validate; see errors."
    return description, fields


def handle_http_exception(error: HTTPException) -> Response:
    """Werkzeug and flask-smorest errors (404, 405, 422 from validation, 500…)."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    description = error.description or HTTPStatus(status).description
    errors: dict[str, Any] = {}
    if "messages" in data:
        description, errors = _validation_details(data["messages"])
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    headers.update(data.get("headers") or {})
    return error_response(status, description, errors, headers)


def handle_domain_error(error: DomainError | MoneyError) -> Response:
    status = next(code for kind, code in STATUS_BY_ERROR if isinstance(error, kind))
    headers = AUTHENTICATE_HEADER if status == 401 else None
    description = getattr(error, "description", None) or str(error)
    field_errors = getattr(error, "field_errors", None)
    return error_response(status, description, field_errors, headers, getattr(error, "extra", None))


def handle_integrity_error(error: IntegrityError) -> Response:
    # Services check what they can; a race lost at the database still deserves a clean 409.
    return error_response(409, "The change conflicts with data that already exists.")


def handle_database_unavailable(error: SQLAlchemyError) -> Response:
    """No connection free in the pool in time, or the database refused or dropped one (or broke
    a deadlock): the request's transaction was rolled back, so a retry is safe. 503 with
    Retry-After, never a 500 that a provider or the channel would take as final."""
    log.error("database unavailable (%s): answered 503", type(error).__name__, exc_info=error)
    return error_response(503, "The service is busy and changed nothing; try again shortly.",
                          headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})


def register_error_handlers(app: Flask) -> None:
    """Call after flask-smorest's Api(app) so these replace its HTTPException handler."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(MoneyError, handle_domain_error)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(PoolTimeout, handle_database_unavailable)
