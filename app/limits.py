"""Per-connection flow limits: a token bucket for the frame rate, a sliding window for abuse."""

from __future__ import annotations

import time
from collections import deque


class TokenBucket:
    """Allows `rate` frames per second on average and up to `burst` back to back."""

    def __init__(self, rate: float, burst: int) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._updated = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class RejectWindow:
    """Counts rejected frames; `record()` says when more than `limit` fell within `window_s` seconds."""

    def __init__(self, limit: int, window_s: float) -> None:
        self._limit = limit
        self._window_s = window_s
        self._times: deque[float] = deque()

    def record(self) -> bool:
        """Note one rejection now; return True once the connection has exceeded the limit."""
        now = time.monotonic()
        self._times.append(now)
        while self._times[0] < now - self._window_s:
            self._times.popleft()
        return len(self._times) > self._limit
