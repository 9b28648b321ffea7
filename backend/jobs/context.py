"""Where a job finds its Context: bound by the in-process runner, else built from the env."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from backend.settings import Settings

if TYPE_CHECKING:
    from backend.wiring import Context

_bound: ContextVar[Context | None] = ContextVar("job_context", default=None)


@functools.cache
def context_from_environment() -> Context:
    """Built once per worker process, on the first job (never at import)."""
    from backend.wiring import build_context

    return build_context(Settings.from_env())


def job_context() -> Context:
    return _bound.get() or context_from_environment()


@contextmanager
def bound_context(context: Context) -> Iterator[None]:
    token = _bound.set(context)
    try:
        yield
    finally:
        _bound.reset(token)
