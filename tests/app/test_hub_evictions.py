"""The hub's fan-out with sockets faked: evictions by backlog, each once, none of them recursive; presence
batched so a storm costs a few frames; every client's frames in order."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import gevent

from app.hub import PRESENCE_INTERVAL_S, Hub
from app.instruments import Instruments
from app.metrics import ChatMetrics
from app.transport import text_frame
from tests.support.metrics import metric


@dataclass(eq=False)
class FakeSocket:
    """What the hub sees of a socket: how much a send takes, and whether it was cut."""

    reading: bool = True
    received: bytearray = field(default_factory=bytearray)
    aborted: bool = False

    def send_now(self, data: bytes | memoryview) -> int:
        if self.aborted:
            raise OSError("cut")
        if not self.reading:
            return 0
        self.received += data
        return len(data)

    def send_blocking(self, data: bytes) -> None:
        while not self.reading and not self.aborted:
            gevent.sleep(0.01)
        self.send_now(data)

    def close_frame(self, code: int, reason: str) -> bytes:
        return b"\x88\x02" + code.to_bytes(2, "big")

    def abort(self) -> None:
        self.aborted = True

    def events(self) -> list[dict[str, object]]:
        """The JSON text frames received so far (all frames here are short, unfragmented, unmasked)."""
        data, events = bytes(self.received), []
        while data:
            size = data[1] & 0x7F
            start = 2
            if size == 126:
                size, start = int.from_bytes(data[2:4], "big"), 4
            elif size == 127:
                size, start = int.from_bytes(data[2:10], "big"), 10
            if data[0] == 0x81:
                events.append(json.loads(data[start : start + size]))
            data = data[start + size :]
        return events


def samples_of(metrics: ChatMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in metrics.registry.collect()
        for sample in family.samples
    }


def hub_with(metrics: ChatMetrics, max_outbox_bytes: int = 4096) -> Hub:
    return Hub(
        Instruments.bind(metrics, enabled=True),
        queue_size=1,
        ping_interval_s=25,
        idle_timeout_s=60,
        max_outbox_bytes=max_outbox_bytes,
    )


def settle(hub: Hub) -> None:
    """Let the presence interval pass and the round be flushed, as the event loop would."""
    gevent.sleep(PRESENCE_INTERVAL_S * 2)
    hub.flush()


def test_thousands_of_clients_that_stop_reading_are_each_evicted_once_without_recursion() -> None:
    metrics = ChatMetrics()
    hub = hub_with(metrics)
    reader_socket = FakeSocket()
    reader = hub.connect(reader_socket, "127.0.0.1")  # type: ignore[arg-type]
    hub.join(reader, "reader")
    stuck_sockets = [FakeSocket() for _ in range(3000)]
    stuck = [hub.connect(s, "127.0.0.1") for s in stuck_sockets]  # type: ignore[arg-type]
    for number, client in enumerate(stuck):
        assert hub.join(client, f"user-{number}")
    settle(hub)
    for sock in stuck_sockets:
        sock.reading = False  # nobody reads any more
    for _ in range(100):  # 100 messages of ~100 bytes each: past every stuck client's 4 KB backlog
        hub.broadcast_message(reader, "x" * 60)
        hub.flush()
    settle(hub)

    assert all(sock.aborted for sock in stuck_sockets) and not reader_socket.aborted
    assert metric(samples_of(metrics), "chat_slow_consumer_evictions_total") == len(stuck)  # each once
    assert hub.connection_count == len(stuck) + 1  # their sessions end them; the hub only cut the TCP
    events = reader_socket.events()
    assert sum(e["type"] == "message" for e in events) == 100  # the reader missed nothing
    presence = [e for e in events if e["type"] == "presence"]
    assert presence[-1]["clients"] == 1  # 3,000 leaves
    assert len(events) < 100 + 10  # batched: a handful of presence frames, not one per change


def test_a_client_that_reads_is_not_evicted_by_a_mass_leave() -> None:
    metrics = ChatMetrics()
    hub = hub_with(metrics, max_outbox_bytes=2048)
    sockets = [FakeSocket() for _ in range(1000)]
    clients = [hub.connect(s, "127.0.0.1") for s in sockets]  # type: ignore[arg-type]
    for number, client in enumerate(clients):
        hub.join(client, f"user-{number}")
    settle(hub)
    for client in clients[500:]:
        hub.leave(client)
    settle(hub)
    assert not any(s.aborted for s in sockets[:500])
    for sock in sockets[:500]:
        assert sock.events()[-1]["clients"] == 500


def test_each_client_gets_its_own_frames_in_order_with_the_broadcasts() -> None:
    hub = hub_with(ChatMetrics())
    alice_socket, bob_socket = FakeSocket(), FakeSocket()
    alice = hub.connect(alice_socket, "127.0.0.1")  # type: ignore[arg-type]
    bob = hub.connect(bob_socket, "127.0.0.1")  # type: ignore[arg-type]
    hub.join(alice, "alice")
    hub.broadcast_message(alice, "before bob")  # bob has not joined: not his
    hub.join(bob, "bob")
    hub.broadcast_message(alice, "one")
    hub.send_frame(bob, text_frame(b'{"type":"error","code":"x"}'))
    hub.broadcast_message(alice, "two")
    settle(hub)
    bob_events = bob_socket.events()
    assert [e["type"] for e in bob_events] == ["welcome", "message", "error", "message"]
    assert [e.get("text") for e in bob_events if e["type"] == "message"] == ["one", "two"]
    alice_events = alice_socket.events()
    # Bob's arrival is announced before the next message: pending presence goes out first.
    assert [e["type"] for e in alice_events] == ["welcome", "message", "joined", "message", "message"]
    assert alice_events[2] == {"type": "joined", "name": "bob", "clients": 2}


def test_how_a_connection_ended_is_counted_for_what_it_was() -> None:
    """A normal close, a shutdown and an eviction are different results; only the last is an eviction."""
    metrics = ChatMetrics()
    hub = hub_with(metrics, max_outbox_bytes=100)
    closing, shut, slow = (hub.connect(FakeSocket(reading=r), "127.0.0.1") for r in (True, True, False))  # type: ignore[arg-type]
    for number, client in enumerate((closing, shut, slow)):
        hub.join(client, f"user-{number}")
    settle(hub)
    hub.disconnect(closing)  # the peer closed
    for _ in range(3):
        hub.broadcast_message(shut, "x" * 60)  # past the slow one's 100 bytes
    settle(hub)
    hub.shutdown()
    for client in (shut, slow):
        hub.disconnect(client)
    samples = samples_of(metrics)
    results = {
        r: metric(samples, "chat_connections_total", result=r) for r in ("closed", "shutdown", "evicted_slow")
    }
    assert results == {"closed": 1, "shutdown": 1, "evicted_slow": 1}
    assert metric(samples, "chat_slow_consumer_evictions_total") == 1
