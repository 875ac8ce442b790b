"""Per-connection flow limits: a token bucket for the frame rate, a sliding window for abuse."""

from __future__ import annotations

import time
from collections import deque


class TokenBucket:
    """Allows `rate` frames per second on average and up to `burst` back to back.

    Time the server itself was stalled (`stalled_s`, a running total the caller measures) is credited in
    full rather than capped at `burst`: a client sending at its normal pace whose frames pile up in the
    socket while the server cannot read has not sent a burst, and is not punished for the server's delay.
    """

    def __init__(self, rate: float, burst: int, stalled_s: float = 0.0) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._updated = time.monotonic()
        self._stalled_seen = stalled_s

    def allow(self, stalled_s: float = 0.0) -> bool:
        now = time.monotonic()
        elapsed = now - self._updated
        stall = min(elapsed, max(0.0, stalled_s - self._stalled_seen))
        self._stalled_seen = max(self._stalled_seen, stalled_s)
        if self._tokens < self._burst:  # the usual refill, capped; a stall's credit may lift it above
            self._tokens = min(self._burst, self._tokens + (elapsed - stall) * self._rate)
        self._tokens += stall * self._rate
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
