"""The backend's import graph: no cycle, layers point down (contracts in .importlinter, checked
by import-linter on grimp's graph, imports inside functions included), and the jobs services
enqueue by name are jobs of backend/jobs on a queue a worker listens on."""

from __future__ import annotations

import inspect

from importlinter.cli import lint_imports

from backend.jobs.schedule import sweeps
from backend.queueing.names import ENQUEUED, QUEUES
from backend.queueing.runner import job_function
from backend.settings import REPO_ROOT, Settings


def test_the_import_contracts_are_kept() -> None:
    # Exit code 0: every contract kept, and every listed exception still matches an import.
    assert lint_imports(config_filename=str(REPO_ROOT / ".importlinter"), no_cache=True) == 0


def test_every_job_enqueued_by_name_is_a_job_of_backend_jobs_on_a_worker_queue() -> None:
    for job in ENQUEUED:
        function = job_function(job.path)
        assert function.__module__.startswith("backend.jobs."), job
        assert inspect.unwrap(function) is not function, f"{job.path} is not a @job_entry"
        assert job.queue in QUEUES, job
    assert {sweep.queue for sweep in sweeps(Settings.from_env())} <= set(QUEUES)
