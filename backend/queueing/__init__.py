"""Handing work to background jobs: the runner (RQ, or in-process without Redis) and the names of
the queues and jobs, below the services that enqueue and the jobs (backend/jobs) that run."""
