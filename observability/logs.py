"""JSON log lines with request id, tenant and conversation on every line, in every process.

`configure(service)` gives every handler writing to stdout/stderr (the root's, gunicorn's, RQ's,
Rasa's) one JSON formatter, and routes structlog loggers (Rasa 3.6 uses them) through it. The
request context lives in contextvars (structlog.contextvars), so it follows a request through
threads' and asyncio tasks' own contexts; `bound(...)` sets it for the duration of a block.
"""
from __future__ import annotations

import logging
import os
import re
import sys
import uuid
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Mapping, MutableMapping, Optional

import structlog
from structlog.contextvars import bind_contextvars, get_contextvars, unbind_contextvars

from observability.redact import redact_value

REQUEST_ID_HEADER = "X-Request-ID"
CONVERSATION_HEADER = "X-Conversation-ID"
TENANT_HEADER = "X-TENANT-ID"
CONTEXT_KEYS = ("request_id", "tenant", "conversation")
OWN_LOGGERS = ("bot", "actions", "backend", "observability")
# An id we accept from a caller: short, printable, no spaces (it is copied into every line).
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{8,128}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(value: Optional[str]) -> str:
    """The caller's X-Request-ID when it is a sane id, else a new one."""
    value = (value or "").strip()
    return value if _ACCEPTABLE_ID.match(value) else new_request_id()


def current() -> Dict[str, Optional[str]]:
    """The bound request context (None for what is not bound)."""
    values = get_contextvars()
    return {key: values.get(key) for key in CONTEXT_KEYS}


def outgoing_headers() -> Dict[str, str]:
    """Headers that carry the bound context to another of our processes."""
    context = current()
    headers = {}
    if context["request_id"]:
        headers[REQUEST_ID_HEADER] = context["request_id"]
    if context["tenant"]:
        headers[TENANT_HEADER] = context["tenant"]
    if context["conversation"]:
        headers[CONVERSATION_HEADER] = context["conversation"]
    return headers


def bind(**values: Optional[str]) -> None:
    """Add request_id / tenant / conversation to the current context (None values skipped)."""
    bind_contextvars(**{k: str(v) for k, v in values.items() if v is not None})


def clear() -> None:
    """Forget the request context (a server task may serve the next request of a connection)."""
    unbind_contextvars(*CONTEXT_KEYS)


@contextmanager
def bound(**values: Optional[str]) -> Iterator[None]:
    """Bind values for a block; on exit the context is what it was before, including whatever
    `bind` added inside the block."""
    before = current()
    bind(**values)
    try:
        yield
    finally:
        clear()
        bind(**before)


def _with_context_keys(service: str) -> Any:
    def processor(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        for key in CONTEXT_KEYS:
            event.setdefault(key, None)
        event.setdefault("service", service)
        return event
    return processor


# Fields this module writes itself: nothing to mask there.
_OWN_FIELDS = frozenset({"timestamp", "level", "logger", "service"})


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    return {key: value if key in _OWN_FIELDS else redact_value(value)
            for key, value in event.items()}


def _stringify(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # Foreign records may carry objects (sanic's request, a job) that JSON cannot render.
    for key, value in event.items():
        if not isinstance(value, (str, int, float, bool, type(None), list, dict)):
            event[key] = str(value)
    return event


def _shared(service: str) -> list:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _with_context_keys(service),
    ]


def json_formatter(service: str) -> logging.Formatter:
    """One JSON object per line: timestamp, level, logger, message, service, request_id, tenant,
    conversation, any extra fields, exception; every string redacted."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared(service), structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.EventRenamer("message"),
            _stringify,
            _redact,
            structlog.processors.JSONRenderer(),
        ],
    )


def _is_console(handler: logging.Handler) -> bool:
    return isinstance(handler, logging.StreamHandler) and getattr(
        handler, "stream", None) in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)


def configure(service: str, level: Optional[str] = None) -> None:
    """JSON on every console handler of this process (idempotent); LOG_FORMAT=text leaves them."""
    if os.environ.get("LOG_FORMAT", "json").strip().lower() == "text":
        return
    formatter = json_formatter(service)
    root = logging.getLogger()
    loggers = [root] + [logger for logger in logging.root.manager.loggerDict.values()
                        if isinstance(logger, logging.Logger)]
    for logger in loggers:
        for handler in logger.handlers:
            if _is_console(handler):
                handler.setFormatter(formatter)
    if not any(_is_console(handler) for handler in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(formatter)
        root.addHandler(handler)
    logging.captureWarnings(True)  # Python warnings become lines of the same shape
    level = level or os.environ.get("LOG_LEVEL", "INFO").upper()
    root.setLevel(level)
    # Our own loggers keep their level when a library changes the root's (loading a Rasa model
    # raises it to WARNING through absl): their records still reach the root's handler.
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level)
    structlog.configure(
        processors=[*_shared(service), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
