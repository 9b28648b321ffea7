"""Rasa's SQL tracker store, with connections checked before use (production profile).

Rasa 3.6 creates its SQLAlchemy engine without `pool_pre_ping`: after PostgreSQL restarts, each
pooled connection fails the first query it is given, so the first turns of each replica fail (the
channel answers them with its trouble notice and the turn is missing from the tracker). This store
is Rasa's own, with every pooled connection tested (`SELECT 1`) when it is checked out and replaced
when the server closed it. endpoints.production.yml names it as `type: bot.tracker_store.SQLTrackerStore`.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from rasa.core import tracker_store as rasa_stores


class SQLTrackerStore(rasa_stores.SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, pool_pre_ping=True,
                                       **rasa_stores.create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
