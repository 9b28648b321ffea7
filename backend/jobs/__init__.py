"""Background jobs (RQ): the entry layer for work done outside a request, as api/ is for HTTP.
A job calls services; services enqueue jobs by name (backend/queueing/names.py), never import them.
"""

from rq import get_current_job

from backend.observability import setup_worker

# A worker started without `-c backend.rq_settings` imports the job modules while running its
# first job: set it up (JSON logs, Sentry, the shared metrics directory) before they import the
# services, and through them prometheus_client.
if get_current_job() is not None:
    setup_worker()
