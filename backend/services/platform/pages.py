"""One page of a listing: what the REST API turns into {count, next, previous, results}."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from backend.domain.errors import InvalidInput

T = TypeVar("T")
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True)
class Page(Generic[T]):
    count: int
    page: int
    page_size: int
    results: list[T]

    @property
    def has_next(self) -> bool:
        return self.page * self.page_size < self.count

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def check_page(page: int, page_size: int) -> None:
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"page must be >= 1 and page_size between 1 and {MAX_PAGE_SIZE}")


def fetch_page(session: Session, query: Select[Any], page: int, page_size: int,
               *order_by: Any) -> tuple[int, list[Any]]:
    """(total count, rows of this page) of a select, ordered by `order_by`."""
    check_page(page, page_size)
    count = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = session.scalars(
        query.order_by(*order_by).offset((page - 1) * page_size).limit(page_size)
    ).all()
    return int(count), list(rows)
