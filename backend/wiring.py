"""What one app or worker uses, wired in one place: settings, database, crypto, jobs."""

from __future__ import annotations

from dataclasses import dataclass

from pii.files import restrict_umask
from pii.masking import install as install_phone_masking

from backend.db import Database
from backend.queueing.runner import JobRunner, make_job_runner
from backend.security import Crypto
from backend.settings import Settings


@dataclass(frozen=True)
class Context:
    settings: Settings
    db: Database
    crypto: Crypto
    jobs: JobRunner


def build_context(settings: Settings) -> Context:
    """Validate the secrets and wire everything; connects to nothing yet."""
    settings.require_secrets()
    # Every process building a context (gunicorn workers, RQ workers, scripts) logs no phone.
    install_phone_masking()
    # …and creates its data files (SQLite, KB indexes, logs) owner-only.
    restrict_umask()
    crypto = Crypto(settings.encryption_keys, settings.hash_key)
    jobs = make_job_runner(settings)
    context = Context(settings, Database(settings.database_url), crypto, jobs)
    # In-process jobs must use this context, not one rebuilt from the environment.
    jobs.bind(context)
    return context
