"""What the PostgreSQL benches share: their service options and the JSON result under
bench/results/ (their scratch database is backend.migrate.scratch_database, as the tests')."""

from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any



REPO = Path(__file__).resolve().parent.parent


def add_service_options(parser: argparse.ArgumentParser, redis: bool = True) -> None:
    parser.add_argument("--database-url", default=os.environ.get("TEST_POSTGRES_URL", ""),
                        help="a PostgreSQL server URL (any database); default TEST_POSTGRES_URL")
    if redis:
        parser.add_argument("--redis-url", default=os.environ.get("TEST_REDIS_URL", ""),
                            help="default TEST_REDIS_URL")


def check_services(args: argparse.Namespace) -> None:
    """Exit with how to start them unless PostgreSQL (and Redis, when asked for) are given."""
    needs_redis = hasattr(args, "redis_url")
    if args.database_url.startswith("postgresql") and (args.redis_url if needs_redis else True):
        return
    wanted = "--database-url/--redis-url (or TEST_POSTGRES_URL/TEST_REDIS_URL" if needs_redis \
        else "--database-url (or TEST_POSTGRES_URL"
    raise SystemExit(f"Needs PostgreSQL{' and Redis' if needs_redis else ''}: {wanted}, "
                     "see scripts/services.sh env)")


def stamped(result: dict[str, Any]) -> dict[str, Any]:
    """The result with when and on what it ran."""
    return {"timestamp": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
            "python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count(), **result}


def write_result(kind: str, result: dict[str, Any]) -> Path:
    """bench/results/<kind>-<timestamp>.json; prints where."""
    out = REPO / "bench" / "results" / f"{kind}-{result['timestamp']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out.relative_to(REPO)}")
    return out
