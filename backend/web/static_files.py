"""The app's own CSS and JavaScript and the vendored htmx and uPlot, served by the backend (no
CDN): a declared public page, like every other route of the app."""

from __future__ import annotations

from pathlib import Path

from flask import Response, send_from_directory

from backend.interface.scopes import PUBLIC, requires
from backend.web.core import blp

STATIC = Path(__file__).resolve().parent / "static"


@blp.get("/static/<path:filename>")
@requires(PUBLIC)
def asset(filename: str) -> Response:
    response = send_from_directory(STATIC, filename, max_age=3600)
    return response
