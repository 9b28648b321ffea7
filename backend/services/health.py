"""Health: a real query on the database and a PING to Redis when one is configured."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis import Redis

from backend.context import Context

log = logging.getLogger(__name__)
REDIS_TIMEOUT_SECONDS = 2


@dataclass(frozen=True)
class Health:
    database: str  # ok | down
    redis: str  # ok | down | disabled

    @property
    def ok(self) -> bool:
        return self.database == "ok" and self.redis in ("ok", "disabled")


def _database(ctx: Context) -> str:
    try:
        ctx.db.ping()
    except Exception:  # any failure to answer means down; the log says why
        log.warning("health: database check failed", exc_info=True)
        return "down"
    return "ok"


def _redis(ctx: Context) -> str:
    if not ctx.settings.redis_url:
        return "disabled"
    client = Redis.from_url(
        ctx.settings.redis_url,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    except Exception:
        log.warning("health: redis check failed", exc_info=True)
        return "down"
    finally:
        client.close()
    return "ok"


def check_health(ctx: Context) -> Health:
    return Health(database=_database(ctx), redis=_redis(ctx))
