"""Knowledge-base jobs (queue `default`): rebuild a tenant's index after a change.

`python -m backend.jobs.kb [tenant …]` rebuilds now (every tenant with a knowledge base when
none is named), e.g. after changing KB_EMBEDDER.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import asdict
from typing import Any

from sqlalchemy import select

from backend.jobs.job_context import job_context
from backend.models import KbState
from backend.observability import job_entry
from backend.services.knowledge.kb import rebuild

log = logging.getLogger(__name__)


@job_entry
def rebuild_index(tenant_id: str) -> dict[str, Any]:
    """Embed what changed and save the tenant's index; a no-op when it is already current."""
    report = rebuild(job_context(), tenant_id)
    log.info("kb index %s v%d: %d items, %d embedded%s", tenant_id, report.version,
             report.items, report.embedded, " (skipped)" if report.skipped else "")
    return asdict(report)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Rebuild knowledge-base indexes now")
    parser.add_argument("tenants", nargs="*", help="tenant ids (default: every tenant with a KB)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    tenants = args.tenants
    if not tenants:
        with job_context().db.transaction() as session:
            tenants = list(session.scalars(select(KbState.tenant_id)))
    for tenant in tenants:
        print(rebuild_index(tenant))


if __name__ == "__main__":
    main()
