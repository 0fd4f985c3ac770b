"""Guarding pagination loops against a server that never stops.

A list call follows the API's "next page" pointer (Hetzner `meta.pagination.next_page`,
Azure `nextLink`) until there is none. A broken or hostile endpoint can answer with a
pointer forever (always `next_page=2`, a `nextLink` to itself, an ever-new link): without a
guard `record` loops until memory runs out. `PageGuard` stops such a loop with a
`PaginationError` (a bad response: the collection is recorded as failed, reason `invalid`,
never as complete) when

- a pointer repeats one already followed (a cycle), or a page number does not increase;
- the API announced its last page or its total (Hetzner `last_page`, `total_entries`) and
  the next pointer goes past it, or more objects arrived than the total announced;
- the collection needs more pages than the cap (`--max-pages`, $POSTURE_MAX_PAGES,
  default 100,000 pages per collection: 5 million objects at Hetzner's 50 per page).
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping
from typing import Any

DEFAULT_MAX_PAGES = 100_000
ENV = "POSTURE_MAX_PAGES"


class PaginationError(ValueError):
    """The API's pagination did not end properly; the message says how."""


def max_pages(options: Mapping[str, Any]) -> int:
    value = options.get("max_pages") or os.environ.get(ENV) or DEFAULT_MAX_PAGES
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise ValueError(f"{ENV}={value!r}: give a positive number of pages")
    return number


class PageGuard:
    def __init__(self, what: str, limit: int) -> None:
        self.what, self.limit = what, limit
        self.seen: set[Hashable] = set()
        self.pages = 0

    def page(self, pointer: Hashable) -> None:
        """Call before fetching the page at `pointer` (a page number or a link)."""
        if pointer in self.seen:
            raise PaginationError(f"{self.what}: the API pointed again at page {pointer!r} "
                                  "already read (a pagination loop); the list is incomplete")
        self.seen.add(pointer)
        self.pages += 1
        if self.pages > self.limit:
            raise PaginationError(f"{self.what}: more than {self.limit} pages (raise the cap "
                                  f"with --max-pages or {ENV}); the list is incomplete")
