"""Fetching one page of a select (Page itself lives in services/pages.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from backend.services.pages import Page, check_page

__all__ = ["Page", "fetch_page"]


def fetch_page(session: Session, query: Select[Any], page: int, page_size: int,
               order_by: Any) -> tuple[int, list[Any]]:
    """(total count, rows of this page) of a select."""
    check_page(page, page_size)
    count = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = session.scalars(
        query.order_by(order_by).offset((page - 1) * page_size).limit(page_size)
    ).all()
    return int(count), list(rows)
