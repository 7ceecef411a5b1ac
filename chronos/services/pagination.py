from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
MAX_PAGE_SIZE = 100
# Far past any real list, and small enough that page x size stays a valid SQL OFFSET.
MAX_PAGE = 1_000_000


def clamp_page(page: int, page_size: int) -> tuple[int, int]:
    return min(MAX_PAGE, max(1, int(page))), min(MAX_PAGE_SIZE, max(1, int(page_size)))


@dataclass
class Page(Generic[T]):
    items: list[T] = field(default_factory=list)
    total: int = 0
    page: int = 1
    page_size: int = 25

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))
