"""WSGI entry point for gunicorn: `gunicorn backend.wsgi:app` (settings from the environment).

Each worker loads the knowledge-base embedder and the tenants' saved indexes in the background
as it starts (KB_PRELOAD=0 turns that off), so no customer waits for a model to load."""

import logging
import os
import threading

from backend.app import create_app
from backend.kb.runtime import runtime

app = create_app()


def _warm() -> None:
    try:
        loaded = runtime(app.extensions["backend"]).warm()
        logging.getLogger(__name__).info("knowledge base ready: %d tenant indexes loaded", loaded)
    except Exception:  # noqa: BLE001 — answers still load lazily; say why warming failed
        logging.getLogger(__name__).exception("knowledge base preload failed")


if os.environ.get("KB_PRELOAD", "1") != "0":
    threading.Thread(target=_warm, name="kb-preload", daemon=True).start()
