"""gunicorn settings for the backend: `gunicorn -c python:backend.gunicorn_conf backend.wsgi:app`.

Each worker, once it has loaded the app, loads the knowledge-base embedder and the tenants'
saved indexes in a background thread (KB_PRELOAD=0 turns that off), so no customer waits for a
model to load. A hook, not import-time work: with `--preload` the app is imported in the master,
whose threads do not survive the fork.

backend/serving.py keeps callback tokens and credentials out of the access and error logs,
answers gunicorn's own errors (414, 431, 400) in the JSON error shape and hides the Server
header."""

import os
import threading
from typing import Any

from backend.serving import harden_gunicorn

harden_gunicorn()

# Seconds an idle keep-alive connection stays open (gthread workers). The assistant's HTTP clients
# drop idle connections after IDLE_CONNECTION_SECONDS (1 s), well before this, so they never send a
# request on a connection the server is closing at that moment.
keepalive = 5

# JSON log lines (error and access; callback tokens and credentials redacted, backend/serving.py)
# with the request's id, tenant and conversation; the workers
# share their Prometheus counters through VAR_DIR/metrics (set before the app imports the client).
logger_class = "backend.observability.GunicornLogger"


def on_starting(server: Any) -> None:
    from backend.observability import prepare_multiproc_dir

    prepare_multiproc_dir()


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def _warm(app: Any, log: Any) -> None:
    from backend.kb.runtime import runtime

    try:
        loaded = runtime(app.extensions["backend"]).warm()
        log.info("knowledge base ready: %d tenant indexes loaded", loaded)
    except Exception:  # noqa: BLE001 — answers still load lazily; say why warming failed
        log.exception("knowledge base preload failed")


def post_worker_init(worker: Any) -> None:
    if os.environ.get("KB_PRELOAD", "1") != "0":
        threading.Thread(target=_warm, args=(worker.wsgi, worker.log), name="kb-preload",
                         daemon=True).start()
