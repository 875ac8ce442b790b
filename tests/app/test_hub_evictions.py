"""Evictions at scale: a chain of slow consumers is a work list, not a recursion, and each is evicted once."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.hub import Hub
from app.instruments import Instruments
from app.metrics import ChatMetrics


@dataclass(eq=False)
class StuckClient:
    """What the hub sees of a client: whether its queue takes a frame, and how it was ended."""

    remote: str = "127.0.0.1"
    name: str | None = None
    end_result: str | None = None
    accepts: bool = True
    frames: list[bytes] = field(default_factory=list)

    def enqueue(self, frame: bytes) -> bool:
        if self.accepts:
            self.frames.append(frame)
        return self.accepts

    def abort(self, result: str) -> None:
        self.end_result = self.end_result or result


def test_a_chain_of_thousands_of_slow_consumers_evicts_each_once_without_recursion() -> None:
    """Every client's queue is full when the first one leaves: each `left` broadcast finds the rest too slow.
    Processed by recursion this went one level deeper per eviction (RecursionError past ~1,000)."""
    metrics = ChatMetrics()
    hub = Hub(Instruments.bind(metrics, enabled=True), queue_size=1, ping_interval_s=25, idle_timeout_s=60)
    clients = [StuckClient() for _ in range(3000)]
    for number, client in enumerate(clients):
        assert hub.join(client, f"user-{number}")  # type: ignore[arg-type]
    for client in clients[1:]:
        client.accepts = False  # nobody reads any more
    hub.leave(clients[0])  # type: ignore[arg-type]
    assert {c.end_result for c in clients[1:]} == {"evicted_slow"}
    evictions = next(s.value for f in metrics.registry.collect() for s in f.samples
                     if s.name == "chat_slow_consumer_evictions_total")  # fmt: skip
    assert evictions == len(clients) - 1  # each once
    registered = next(s.value for f in metrics.registry.collect() for s in f.samples
                      if s.name == "registered_clients")  # fmt: skip
    assert registered == 0  # every eviction was announced and unregistered


def test_a_client_that_reads_is_not_evicted_by_others_leaving() -> None:
    metrics = ChatMetrics()
    hub = Hub(Instruments.bind(metrics, enabled=True), queue_size=4, ping_interval_s=25, idle_timeout_s=60)
    reader, *stuck = [StuckClient() for _ in range(50)]
    for number, client in enumerate([reader, *stuck]):
        assert hub.join(client, f"user-{number}")  # type: ignore[arg-type]
    for client in stuck:
        client.accepts = False
    hub.leave(stuck[0])  # type: ignore[arg-type]
    assert reader.end_result is None and all(c.end_result == "evicted_slow" for c in stuck[1:])
