"""The backend's hooks for logs, error reports and metrics (shared parts in observability/).

- every request binds request_id (the caller's X-Request-ID or a new one, echoed back), tenant
  (X-TENANT-ID) and conversation (X-Conversation-ID) for its log lines and error reports;
- jobs carry that context in their RQ meta; `job_entry` binds it again in the worker;
- GET /metrics (Prometheus) needs METRICS_TOKEN or the service token unless METRICS_PUBLIC=1;
- in sandbox mode with Redis, the assistant's calls for sandbox tenants are kept under their
  request id for the simulator's debug view (backend/call_log.py).
Nothing here imports prometheus_client at import time: multiprocess mode must be chosen first.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import sys
import time
from datetime import UTC, datetime
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request
from rq import get_current_job

from backend.call_log import Call, CallLog
from backend.domain.errors import Unauthenticated
from backend.security import constant_time_equals
from backend.serving import RedactingLogger as _GunicornLogger
from backend.services.platform.tenants import is_sandbox_tenant
from backend.settings import Settings
from observability import logs
from observability.errors import init_sentry

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CALL_LOG = "call_log"  # app.extensions key: the CallLog, in sandbox mode with Redis only
_RULE_ARGUMENT = re.compile(r"<(?:[^<>:]*:)?(?P<name>\w+)>")


def init_app(app: Flask, settings: Settings) -> None:
    """Request context on every request, /metrics, and Sentry when SENTRY_DSN is set."""
    app.before_request(_bind_request)
    app.after_request(_echo_request_id)
    app.teardown_request(_unbind_request)
    if settings.sandbox and settings.redis_url:
        context = app.extensions["backend"]
        app.extensions[CALL_LOG] = CallLog(
            settings.redis_url, lambda tenant_id: is_sandbox_tenant(context, tenant_id))
        app.after_request(_record_call)

    def metrics_view() -> Response:
        return metrics(settings)

    app.add_url_rule("/metrics", "metrics", metrics_view)
    init_sentry("backend")


def _bind_request() -> None:
    g.started = (time.time(), time.perf_counter())
    headers = request.headers
    g.request_id = logs.accept_request_id(headers.get(logs.REQUEST_ID_HEADER))
    g.log_context = logs.bound(request_id=g.request_id,
                               tenant=headers.get(logs.TENANT_HEADER, "").strip() or None,
                               conversation=headers.get(logs.CONVERSATION_HEADER) or None)
    g.log_context.__enter__()


def _echo_request_id(response: Response) -> Response:
    if "request_id" in g:
        response.headers[logs.REQUEST_ID_HEADER] = g.request_id
    return response


def call_log(app: Flask) -> CallLog | None:
    """The app's record of the assistant's calls for sandbox tenants (None: not kept)."""
    found: CallLog | None = app.extensions.get(CALL_LOG)
    return found


def _route_with_ids() -> str:
    """The route's template with its numeric ids filled in ("/v1/products/42"); other parts stay
    placeholders and no query string is added, so no personal data reaches the record."""
    rule = request.url_rule
    if rule is None:
        return "(no route)"
    arguments = request.view_args or {}

    def fill(found: re.Match[str]) -> str:
        value = arguments.get(found.group("name"))
        return str(value) if isinstance(value, int) and not isinstance(value, bool) \
            else found.group(0)

    return _RULE_ARGUMENT.sub(fill, rule.rule)


def _record_call(response: Response) -> Response:
    """Keep this request for the simulator when the assistant (the service token) made it for a
    sandbox tenant under the turn's X-Request-ID. Never fails the request."""
    try:
        principal = g.get("principal")
        caller_id = (request.headers.get(logs.REQUEST_ID_HEADER) or "").strip()
        if principal is None or not getattr(principal, "is_service", False) or not caller_id \
                or caller_id != g.get("request_id") or "started" not in g:
            return response
        record = call_log(current_app)
        if record is None or not record.available():
            return response
        started_at, started = g.started
        elapsed = round((time.perf_counter() - started) * 1000)
        tenant = getattr(principal, "tenant_id", None) \
            or request.headers.get(logs.TENANT_HEADER, "").strip()
        if not tenant or not record.sandbox_tenant(tenant):
            return response
        at = datetime.fromtimestamp(started_at, UTC).isoformat(timespec="milliseconds")
        record.record(caller_id, Call(method=request.method, path=_route_with_ids(),
                                      status=response.status_code, ms=elapsed, at=at))
    except Exception:  # noqa: BLE001 - the simulator's record never costs a request its answer
        log.exception("simulator call log: the call was not recorded")
    return response


def _unbind_request(_: BaseException | None) -> None:
    context = g.pop("log_context", None)
    if context is not None:
        context.__exit__(None, None, None)


def metrics(settings: Settings) -> Response:
    """Prometheus exposition of every backend process and worker, plus queue depth and lag."""
    from backend.metrics import render  # imports prometheus_client: only once a process serves

    if not settings.metrics_public:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        allowed = [t for t in (settings.metrics_token, settings.service_token) if t]
        if scheme.lower() != "bearer" or not any(constant_time_equals(token.strip(), t)
                                                 for t in allowed):
            raise Unauthenticated("/metrics needs Authorization: Bearer <METRICS_TOKEN>")
    body, content_type = render(settings.redis_url)
    return Response(body, content_type=content_type)


def job_entry(func: F) -> F:
    """Decorates an RQ job: binds the request context its enqueuer put in the job's meta; in an
    RQ worker process the first job also turns on JSON logs, Sentry and shared metrics."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        job = get_current_job()
        if job is None:  # in-process runner: it bound the enqueuer's context itself
            return func(*args, **kwargs)
        setup_worker()
        meta = {key: job.meta.get(key) for key in logs.CONTEXT_KEYS}
        with logs.bound(**meta), _job_error_scope(meta):
            return func(*args, **kwargs)

    return run  # type: ignore[return-value]


@functools.cache
def setup_worker() -> None:
    """Once per worker process: JSON logs, Sentry, and the metrics directory gunicorn reads."""
    logs.configure("worker")
    if "prometheus_client" in sys.modules and not os.environ.get(MULTIPROC_ENV):
        log.warning("prometheus_client was imported before %s was set: this worker's "
                    "counters stay out of /metrics", MULTIPROC_ENV)
    else:
        prepare_multiproc_dir()
    init_sentry("worker")


@contextlib.contextmanager
def _job_error_scope(meta: dict[str, Any]) -> Iterator[None]:
    """The job's context as error-report tags, on a scope of its own: a worker that runs jobs one
    after another in one process (rq's SimpleWorker) never tags a report with an earlier job's."""
    import sentry_sdk

    with sentry_sdk.isolation_scope() as scope:
        for key, value in meta.items():
            if value:
                scope.set_tag(key, value)
        yield


def prepare_multiproc_dir() -> Path:
    """Create and export PROMETHEUS_MULTIPROC_DIR (default VAR_DIR/metrics) and drop the files
    of processes that are gone. Call before prometheus_client is imported."""
    default = Path(os.environ.get("VAR_DIR") or Path(__file__).resolve().parent.parent / "var")
    path = Path(os.environ.get(MULTIPROC_ENV) or default / "metrics")
    path.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(path)
    for file in path.glob("*.db"):
        pid = file.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            file.unlink(missing_ok=True)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class GunicornLogger(_GunicornLogger):
    """gunicorn's logger (tokens and credentials redacted, backend/serving.py) with JSON lines;
    an access line carries the request's context."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        logs.configure("backend")

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        request_id = next((value for name, value in resp.headers
                           if name.lower() == logs.REQUEST_ID_HEADER.lower()), None)
        with logs.bound(request_id=request_id, tenant=environ.get("HTTP_X_TENANT_ID"),
                        conversation=environ.get("HTTP_X_CONVERSATION_ID")):
            super().access(resp, req, environ, request_time)
