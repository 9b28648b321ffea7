"""One page of a listing: what the REST API turns into {count, next, previous, results}."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

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
