"""RedisFanout on its own, against a real redis-server: order, exactly-once, and each broker fault.

Unpatched here, the fan-out's greenlets are real threads; `deliver` only records what it is handed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from app.cluster import BrokerHealth, RedisFanout
from app.cluster.broker import redis_client
from app.instruments import ClusterInstruments
from app.metrics import ChatMetrics
from scripts.common.procs import free_port, poll_until
from scripts.common.redis_server import RedisServer

TIMEOUT_S = 0.5  # CHAT_REDIS_TIMEOUT_S of these replicas
RETRY_MAX_S = 0.2  # reconnect quickly: the tests wait on it


@dataclass
class Replica:
    """One replica's side of the seam: its fan-out and what the hub would have been handed."""

    fanout: RedisFanout
    health: BrokerHealth
    metrics: ChatMetrics
    delivered: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stuck_until: threading.Event | None = None  # set: a replica whose hub never returns (a stuck process)

    def deliver(self, payload: bytes) -> None:
        if self.stuck_until is not None:
            self.stuck_until.wait(30)
        with self.lock:
            self.delivered.append(payload)

    def got(self) -> list[bytes]:
        with self.lock:
            return list(self.delivered)

    def sample(self, name: str, **labels: str) -> float:
        value = self.metrics.registry.get_sample_value(name, labels)
        assert value is not None, f"no series {name}{labels}"
        return value


def start_replica(url: str, fanouts: list[RedisFanout], origin: str) -> Replica:
    metrics = ChatMetrics()
    health = BrokerHealth(ClusterInstruments.bind(metrics), retry_max_s=RETRY_MAX_S)
    fanout = RedisFanout(redis_client(url, TIMEOUT_S), health, origin=origin, timeout_s=TIMEOUT_S)
    replica = Replica(fanout, health, metrics)
    fanout.start(replica.deliver)
    fanouts.append(fanout)
    return replica


def wait_connected(*replicas: Replica, timeout_s: float = 10) -> None:
    assert poll_until(lambda: all(r.health.connected for r in replicas), timeout_s), "never subscribed"


def test_every_event_reaches_every_replica_once_in_the_brokers_order(
    redis_server: RedisServer, fanouts: list[RedisFanout]
) -> None:
    a, b, c = (start_replica(redis_server.url, fanouts, origin) for origin in ("a", "b", "c"))
    wait_connected(a, b, c)
    sent = []
    for number in range(200):
        publisher = (a, b, c)[number % 3]
        payload = b'{"type":"message","n":%d}' % number
        publisher.fanout.publish(payload)
        sent.append(payload)
    assert poll_until(lambda: all(len(r.got()) == len(sent) for r in (a, b, c)), 10)
    assert a.got() == b.got() == c.got(), "one order: the broker's"
    assert sorted(a.got()) == sorted(sent), "each event exactly once, the publisher's own included"
    for replica, published in ((a, 67), (b, 67), (c, 66)):
        assert replica.sample("chat_cluster_messages_published_total") == published
        assert replica.sample("chat_cluster_messages_received_total") == len(sent)
        assert replica.sample("chat_cluster_messages_lost_total", reason="missed") == 0
        assert replica.sample("chat_cluster_broker_connected") == 1
        assert replica.sample("chat_cluster_replica") == 1


def test_redis_down_at_start_serves_locally_then_connects_with_backoff(
    tmp_path: object, fanouts: list[RedisFanout]
) -> None:
    server = RedisServer(free_port(), tmp_path / "redis.log")  # type: ignore[operator]
    try:
        a = start_replica(server.url, fanouts, "a")
        assert poll_until(lambda: a.sample("chat_cluster_broker_errors_total", reason="connect") >= 2, 10)
        assert not a.health.connected and a.health.status == "disconnected"
        assert a.sample("chat_cluster_broker_connected") == 0
        a.fanout.publish(b'{"type":"message","text":"alone"}')
        assert a.got() == [b'{"type":"message","text":"alone"}'], "delivered here at once, not dropped"
        assert a.sample("chat_cluster_messages_lost_total", reason="unpublished") == 1

        server.start()
        b = start_replica(server.url, fanouts, "b")
        wait_connected(a, b)
        b.fanout.publish(b'{"type":"message","text":"together"}')
        assert poll_until(lambda: a.got()[-1:] == [b'{"type":"message","text":"together"}'], 10)
        assert a.sample("chat_cluster_broker_errors_total", reason="disconnected") == 0
    finally:
        server.close()


def test_redis_lost_mid_traffic_delivers_locally_counts_losses_and_resubscribes(
    redis_server: RedisServer, fanouts: list[RedisFanout]
) -> None:
    a, b = start_replica(redis_server.url, fanouts, "a"), start_replica(redis_server.url, fanouts, "b")
    wait_connected(a, b)
    a.fanout.publish(b"before")
    assert poll_until(lambda: b.got() == [b"before"], 10)

    redis_server.stop()
    assert poll_until(lambda: not a.health.connected and not b.health.connected, 10)
    for number in range(5):
        a.fanout.publish(b"during %d" % number)
    assert a.got() == [b"before"] + [b"during %d" % n for n in range(5)], "a's own clients still get them"
    assert a.sample("chat_cluster_messages_lost_total", reason="unpublished") == 5
    assert b.got() == [b"before"]
    for replica in (a, b):
        assert replica.sample("chat_cluster_broker_errors_total", reason="disconnected") >= 1
        assert replica.sample("chat_cluster_broker_connected") == 0

    redis_server.start()
    wait_connected(a, b)
    a.fanout.publish(b"after")
    assert poll_until(lambda: b.got() == [b"before", b"after"], 10)
    assert b.sample("chat_cluster_messages_lost_total", reason="missed") == 5, "the gap in a's sequence"
    assert a.got()[-1] == b"after"


def test_a_broker_that_stops_answering_is_noticed_by_the_ping(
    redis_server: RedisServer, fanouts: list[RedisFanout]
) -> None:
    a = start_replica(redis_server.url, fanouts, "a")
    wait_connected(a)
    redis_server.pause()
    try:
        assert poll_until(lambda: not a.health.connected, 10), "a hung broker looks connected forever"
        a.fanout.publish(b"while hung")
        assert a.got() == [b"while hung"]
    finally:
        redis_server.resume()
    wait_connected(a)


def test_a_replica_that_stops_reading_never_slows_the_others(
    redis_server: RedisServer, fanouts: list[RedisFanout]
) -> None:
    """A subscriber whose deliver blocks (a stuck replica) leaves the publisher and the other replica as
    fast as ever: Redis buffers for it, never for them."""
    fast, publisher = (
        start_replica(redis_server.url, fanouts, "f"),
        start_replica(redis_server.url, fanouts, "p"),
    )
    stuck = start_replica(redis_server.url, fanouts, "s")
    wait_connected(fast, publisher, stuck)
    release = stuck.stuck_until = threading.Event()
    try:
        for number in range(2000):
            publisher.fanout.publish(b"event %d" % number)
        assert poll_until(lambda: len(fast.got()) == 2000, 20)
        assert publisher.sample("chat_cluster_messages_published_total") == 2000
    finally:
        release.set()
