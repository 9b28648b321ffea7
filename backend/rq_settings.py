"""Settings module for `rq worker -c backend.rq_settings …`: the queues to listen on (when none is
named on the command line), and JSON log lines, Sentry and the shared metrics directory from the
worker's first line (without it they start with the first job)."""

from backend.observability import setup_worker
from backend.queueing import names

QUEUES = list(names.QUEUES)

setup_worker()
