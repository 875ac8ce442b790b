"""Log lines about what clients did wrong, rate-limited, so no stranger can flood the log or fire an alert.

A client's mistake (a malformed handshake, a foreign Origin, a slow or oversized request head) is logged at
INFO or WARNING, never ERROR (the "Error-log spike" alert counts ERROR lines), and at most `burst` lines
per event kind within `interval_s`; the first line after a quiet spell says how many were left out. The
metrics count every occurrence, so nothing is lost but repetition.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Window:
    started: float
    logged: int = 0
    suppressed: int = 0


@dataclass
class ThrottledLog:
    """`logger`'s lines, at most `burst` per event kind in every `interval_s` window."""

    logger: logging.Logger
    interval_s: float = 10.0
    burst: int = 5
    _windows: dict[str, _Window] = field(default_factory=dict)

    def log(self, level: int, event: str, message: str, *args: Any, **fields: Any) -> None:
        """Log `message % args` with `fields` as extras, unless `event` used up its window's lines."""
        if level >= logging.ERROR:
            raise ValueError("a client-caused condition is never an ERROR")
        now = time.monotonic()
        window = self._windows.get(event)
        if window is None or now - window.started >= self.interval_s:
            suppressed = window.suppressed if window else 0
            window = self._windows[event] = _Window(started=now)
            if suppressed:
                fields["suppressed_before"] = suppressed
        if window.logged >= self.burst:
            window.suppressed += 1
            return
        window.logged += 1
        self.logger.log(level, message, *args, extra={"event": event, **fields})
