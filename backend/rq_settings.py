"""Settings module for `rq worker -c backend.rq_settings …`: JSON log lines, Sentry and the shared
metrics directory from the worker's first line (without it they start with the first job)."""

from backend.observability import setup_worker

setup_worker()
