"""The merchants' web app under /app/: server-rendered pages (Jinja, a little htmx, uPlot for
charts) for running the shop from a phone. An entry layer like backend/api and backend/jobs:
pages call the services directly (never the API over HTTP), validate forms with the API's own
input schemas (backend/interface/inputs.py) and declare the API's scopes (`@requires`)."""

from __future__ import annotations

from flask import Flask

from backend.web import (
    appointments,
    auth_pages,
    catalog,
    customers,
    delivery,
    inbox,
    join,
    knowledge,
    models,
    orders,
    overview,
    review,
    shop_settings,
    static_files,
    users,
    wallet,
)
from backend.web.core import blp, limit_body

PAGES = (auth_pages, join, overview, orders, appointments, inbox, customers, catalog, knowledge,
         wallet, shop_settings, delivery, users, review, models,
         static_files)


def register_web(app: Flask) -> None:
    """Mount the app's pages at /app/ (after the API's scope check and audit hooks are added:
    those are the API's; the pages do their own, backend/web/core.py)."""
    app.register_blueprint(blp)
    app.before_request_funcs.setdefault(None, []).insert(0, limit_body)
