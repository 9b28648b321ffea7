"""Where a job finds its Context: bound by the in-process runner, else built from the env."""

from __future__ import annotations

import functools
from typing import cast

from backend.wiring import Context, build_context
from backend.queueing.runner import bound_context_value
from backend.settings import Settings


@functools.cache
def context_from_environment() -> Context:
    """Built once per worker process, on the first job (never at import)."""
    return build_context(Settings.from_env())


def job_context() -> Context:
    return cast(Context, bound_context_value()) or context_from_environment()
