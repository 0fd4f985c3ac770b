"""Live-collection progress on a terminal: one status line on stderr, none otherwise.

Collectors call `options["progress"](provider, scope, collection)` each time they start a
collection (scope: region, subscription or "global"); the CLI passes a `Progress` that
draws when stderr is a terminal and does nothing when it is not (cron, CI, pipes).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping
from typing import Any, Protocol, TextIO

from scanner.display import visible


class ProgressHook(Protocol):
    def __call__(self, provider: str, scope: str, collection: str) -> None: ...


class Progress:
    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.count = 0
        self._lock = threading.Lock()
        self._width = 0

    def __call__(self, provider: str, scope: str, collection: str) -> None:
        if not self.enabled:
            return
        with self._lock:  # collectors run collections concurrently
            self.count += 1
            # the scope may come from the API (a region, a subscription): shown escaped
            line = visible(f"collecting {provider} {scope} {collection} ({self.count} calls)")
            self.stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
            self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()


def report(options: Mapping[str, Any], provider: str, scope: str, collection: str) -> None:
    """Tell the progress hook in `options`, if there is one."""
    hook = options.get("progress")
    if hook is not None:
        hook(provider, scope, collection)
