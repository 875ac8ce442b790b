"""The hub's seam to other replicas: how server events fan out, and who owns a name.

One replica alone uses `LocalFanout` and `LocalNames`; a cluster swaps in implementations backed by a
broker (see `app.state.local_cluster`, the one place that chooses). The hub never sends an accepted chat
message or a presence batch to its clients directly: it publishes the encoded event and sends what
`deliver` hands back, so every replica's clients see every replica's events in the broker's order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


class Fanout(Protocol):
    def start(self, deliver: Callable[[bytes], None]) -> None:
        """`deliver(payload)` is then called on the hub's event loop for every event from any replica
        (this one included), in broker order."""

    def publish(self, payload: bytes) -> None:
        """One encoded server event (JSON bytes, not framed): an accepted chat message or a presence batch."""

    def stop(self) -> None: ...


class NameRegistry(Protocol):
    def claim(self, key: str) -> bool:
        """Take `key` (a name's uniqueness key); False when it is taken somewhere in the cluster."""

    def release(self, key: str) -> None: ...

    def cluster_count(self) -> int:
        """Joined clients across the cluster (the count in welcome and presence frames)."""


class LocalFanout:
    """One replica: a published event is delivered at once, on the caller's (the hub's) loop."""

    def __init__(self) -> None:
        self._deliver: Callable[[bytes], None] | None = None

    def start(self, deliver: Callable[[bytes], None]) -> None:
        self._deliver = deliver

    def publish(self, payload: bytes) -> None:
        if self._deliver is not None:
            self._deliver(payload)

    def stop(self) -> None:
        self._deliver = None


@dataclass
class LocalNames:
    """One replica: the names taken are the ones its own hub has handed out."""

    _taken: set[str] = field(default_factory=set)

    def claim(self, key: str) -> bool:
        if key in self._taken:
            return False
        self._taken.add(key)
        return True

    def release(self, key: str) -> None:
        self._taken.discard(key)

    def cluster_count(self) -> int:
        return len(self._taken)
