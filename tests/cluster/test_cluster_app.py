"""Replicas of `python -m app` fanned out through a real redis-server: the acceptance tests of scaling out.

Every replica is a real process on loopback (scripts/common/procs), every client a real websocket client.
"""

from __future__ import annotations

import contextlib
import os
import signal
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.common.procs import app_process, free_port, poll_until, running_app
from scripts.common.redis_server import RedisServer
from tests.support.chat_client import ChatClient
from tests.support.flood import flood
from tests.support.metrics import metric, scrape

LEASE_S = 2.0
REPLICA_ENV = {
    "CHAT_REDIS_LEASE_S": str(LEASE_S),
    "CHAT_REDIS_RETRY_MAX_S": "0.3",  # reconnect quickly: the fault tests wait on it
    "CHAT_REDIS_TIMEOUT_S": "0.5",
}
WAIT_S = 15.0  # bound of every wait for the cluster to settle (2 loaded cores)

StartReplicas = Callable[..., list[str]]


@pytest.fixture
def start_replicas() -> Iterator[StartReplicas]:
    """Start `count` replicas on `redis_url`; all stopped at teardown."""
    with contextlib.ExitStack() as stack:

        def start(redis_url: str, count: int, **env: str) -> list[str]:
            replica_env = {**REPLICA_ENV, "CHAT_REDIS_URL": redis_url, **env}
            return [stack.enter_context(running_app(env=replica_env)) for _ in range(count)]

        yield start


def readyz(base_url: str) -> str:
    with urllib.request.urlopen(f"{base_url}/readyz", timeout=5) as response:
        assert response.status == 200
        return response.read().decode()


def wait_broker(base_urls: list[str], state: str) -> None:
    assert poll_until(lambda: all(f"broker: {state}" in readyz(url) for url in base_urls), WAIT_S, 0.1), (
        f"replicas not {state}: {[readyz(url) for url in base_urls]}"
    )


def messages_until(client: ChatClient, last_text: str) -> list[tuple[str, str]]:
    """(from, text) of every chat message up to and including the one whose text is `last_text`."""
    seen: list[tuple[str, str]] = []
    while not seen or seen[-1][1] != last_text:
        event = client.recv_until(lambda e: e["type"] == "message", timeout_s=WAIT_S)
        seen.append((event["from"], event["text"]))
    return seen


def messages(client: ChatClient, count: int) -> list[tuple[str, str]]:
    """(from, text) of the next `count` chat messages."""
    events = (client.recv_until(lambda e: e["type"] == "message", timeout_s=WAIT_S) for _ in range(count))
    return [(event["from"], event["text"]) for event in events]


def join(client: ChatClient, name: str) -> dict[str, Any]:
    """Join and return the welcome. Presence of others' earlier joins, relayed by Redis while this join
    was claiming its name, may arrive before the welcome: they are skipped, an error is not."""
    client.send({"type": "join", "name": name})
    return client.recv_until(lambda event: event["type"] in ("welcome", "error"), timeout_s=WAIT_S)


def join_on(connect: Callable[..., ChatClient], base_url: str, name: str) -> ChatClient:
    client = connect(base_url)
    assert join(client, name)["type"] == "welcome"
    return client


def test_thirty_clients_over_three_replicas_get_every_message_exactly_once_in_one_order(
    redis_server: RedisServer, start_replicas: StartReplicas, connect: Callable[..., ChatClient]
) -> None:
    urls = start_replicas(redis_server.url, 3)
    wait_broker(urls, "connected")
    clients = []
    for number in range(30):
        client = connect(urls[number % 3])
        welcome = join(client, f"user-{number}")
        assert welcome["clients"] == number + 1, "the cluster-wide count, not this replica's"
        clients.append(client)
    senders = clients[:6]  # two on each replica
    sent = []
    for turn in range(3):
        for sender_number, sender in enumerate(senders):
            text = f"message {turn}-{sender_number}"
            sender.send({"type": "message", "text": text})
            sent.append((f"user-{sender_number}", text))
    orders = [messages(client, len(sent)) for client in clients]
    for order in orders:
        assert sorted(order) == sorted(sent), "every message, none lost"
    assert all(order == orders[0] for order in orders), "every client sees the broker's one order"
    # Published after every client had them all: anything before it in a client's stream is a duplicate.
    senders[0].send({"type": "message", "text": "the end"})
    for client in clients:
        assert messages_until(client, "the end") == [("user-0", "the end")], "none twice"
    for url in urls:
        samples = scrape(url)
        assert metric(samples, "registered_clients") == 10, "per replica: the dashboards sum it"
        assert metric(samples, "chat_cluster_messages_received_total") >= len(sent) + 1
        assert metric(samples, "chat_cluster_messages_lost_total", reason="missed") == 0


def test_a_name_taken_on_one_replica_is_refused_on_another(
    redis_server: RedisServer, start_replicas: StartReplicas, connect: Callable[..., ChatClient]
) -> None:
    first, second = start_replicas(redis_server.url, 2)
    wait_broker([first, second], "connected")
    join_on(connect, first, "Alice")
    rival = connect(second)
    assert join(rival, "alice")["code"] == "name_taken"
    assert join(rival, "bob")["clients"] == 2


def test_a_sigkilled_replica_releases_its_names_within_the_lease(
    redis_server: RedisServer, start_replicas: StartReplicas, connect: Callable[..., ChatClient]
) -> None:
    [survivor] = start_replicas(redis_server.url, 1)
    with app_process(env={**REPLICA_ENV, "CHAT_REDIS_URL": redis_server.url}) as app:
        doomed, proc = app.url, app.proc
        wait_broker([survivor, doomed], "connected")
        join_on(connect, doomed, "carol")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        rival = connect(survivor)
        assert join(rival, "carol")["code"] == "name_taken", "the lease outlives the process for a moment"
        welcome: dict[str, Any] = {}

        def takes_the_name() -> bool:
            welcome.update(join(rival, "carol"))
            return welcome["type"] == "welcome"

        # The lease had at most LEASE_S left when the process died (renewed every third of it).
        assert poll_until(takes_the_name, LEASE_S + 1.5, interval_s=0.2), "not released within the lease"
        assert welcome["clients"] == 1, "the dead replica's share of the count expired with it"


def test_a_replica_stopped_by_sigterm_gives_its_names_back_at_once(
    redis_server: RedisServer, start_replicas: StartReplicas, connect: Callable[..., ChatClient]
) -> None:
    """Even the name of a client that never answered the 1001 is free when the process has exited,
    long before its lease would have run out."""
    [survivor] = start_replicas(redis_server.url, 1)
    env = {
        **REPLICA_ENV,
        "CHAT_REDIS_URL": redis_server.url,
        "CHAT_REDIS_LEASE_S": "60",
        "CHAT_SHUTDOWN_GRACE_S": "0.3",  # shorter than the close handshake the deaf client never finishes
    }
    with app_process(env=env) as app:
        stopping, proc = app.url, app.proc
        wait_broker([survivor, stopping], "connected")
        join_on(connect, stopping, "dave")  # never reads again
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    assert join(connect(survivor), "dave")["type"] == "welcome"


def test_redis_down_at_start_the_replica_serves_its_clients_and_connects_once_redis_is_up(
    tmp_path: Path, start_replicas: StartReplicas, connect: Callable[..., ChatClient]
) -> None:
    server = RedisServer(free_port(), tmp_path / "redis.log")  # nothing listens there yet
    try:
        first, second = start_replicas(server.url, 2)
        assert "broker: disconnected" in readyz(first)
        alice = join_on(connect, first, "alice")
        alice.send({"type": "message", "text": "anyone?"})
        assert messages_until(alice, "anyone?") == [("alice", "anyone?")], "local delivery works"
        samples = scrape(first)
        assert metric(samples, "chat_cluster_broker_connected") == 0
        assert metric(samples, "chat_cluster_broker_errors_total", reason="connect") >= 1
        # Her `joined` and her message: neither reached Redis.
        assert metric(samples, "chat_cluster_messages_lost_total", reason="unpublished") == 2

        server.start()
        wait_broker([first, second], "connected")
        bob = join_on(connect, second, "bob")
        bob.send({"type": "message", "text": "here"})
        assert messages_until(alice, "here")[-1] == ("bob", "here")
        assert metric(scrape(first), "chat_cluster_broker_connected") == 1
    finally:
        server.close()


def test_redis_lost_mid_traffic_local_delivery_goes_on_losses_are_counted_and_it_resubscribes(
    redis_server: RedisServer, start_replicas: StartReplicas, connect: Callable[..., ChatClient]
) -> None:
    first, second = start_replicas(redis_server.url, 2)
    wait_broker([first, second], "connected")
    alice, bob = join_on(connect, first, "alice"), join_on(connect, second, "bob")
    alice.send({"type": "message", "text": "before"})
    assert messages_until(bob, "before") == [("alice", "before")]

    redis_server.stop()
    wait_broker([first, second], "disconnected")
    for number in range(3):
        alice.send({"type": "message", "text": f"during {number}"})
    assert messages_until(alice, "during 2")[-3:] == [("alice", f"during {n}") for n in range(3)]
    assert metric(scrape(first), "chat_cluster_messages_lost_total", reason="unpublished") == 3
    assert metric(scrape(second), "chat_cluster_broker_errors_total", reason="disconnected") >= 1

    redis_server.start()
    wait_broker([first, second], "connected")
    alice.send({"type": "message", "text": "after"})
    assert messages_until(bob, "after") == [("alice", "after")], "nothing from the outage arrives twice"
    assert metric(scrape(second), "chat_cluster_messages_lost_total", reason="missed") == 3


def test_a_stuck_replica_slows_neither_redis_nor_the_other_replicas(
    redis_server: RedisServer, connect: Callable[..., ChatClient]
) -> None:
    """A replica frozen with SIGSTOP (the extreme of slow) holds up nobody: Redis buffers for it alone
    (and drops it past client-output-buffer-limit), the other replicas chat on at full speed."""
    with contextlib.ExitStack() as stack:
        urls = [stack.enter_context(running_app(env={**REPLICA_ENV, "CHAT_REDIS_URL": redis_server.url}))
                for _ in range(2)]  # fmt: skip
        frozen_app = stack.enter_context(app_process(env={**REPLICA_ENV, "CHAT_REDIS_URL": redis_server.url}))
        frozen_url, frozen = frozen_app.url, frozen_app.proc
        wait_broker([*urls, frozen_url], "connected")
        alice, bob = join_on(connect, urls[0], "alice"), join_on(connect, urls[1], "bob")
        join_on(connect, frozen_url, "frozen-reader")
        os.killpg(frozen.pid, signal.SIGSTOP)
        try:
            for number in range(8):
                alice.send({"type": "message", "text": f"text {number}"})
            assert len(messages_until(bob, "text 7")) == 8
            assert redis_server.answers(), "Redis itself is not held up"
        finally:
            os.killpg(frozen.pid, signal.SIGCONT)


def test_a_slow_client_is_evicted_on_its_own_replica_and_slows_nobody_else(
    redis_server: RedisServer, start_replicas: StartReplicas, connect: Callable[..., ChatClient]
) -> None:
    """A client that stops reading on one replica is cut there as a slow consumer; the other client of
    that replica and the sender on another one get everything (as tests/app/test_app_limits.py, across)."""
    tight = {
        "CHAT_SEND_QUEUE_SIZE": "8",
        "CHAT_RATE_PER_SECOND": "100000",
        "CHAT_RATE_BURST": "100000",
        "CHAT_MAX_TEXT_CHARS": "4000",
        "CHAT_MAX_FRAME_BYTES": "8192",
    }
    first, second = start_replicas(redis_server.url, 2, **tight)
    wait_broker([first, second], "connected")
    sender, reader = join_on(connect, first, "sender"), join_on(connect, second, "reader")
    slow = connect(second, rcvbuf=4096)
    assert join(slow, "slow")["type"] == "welcome"  # and never reads again
    text, total = "z" * 4000, 2000  # 8 MB: far more than the kernel buffers to `slow` can hold
    received = flood(sender, {"sender": sender, "reader": reader}, text, total)
    assert received == {"sender": total, "reader": total}, "the fast clients got every message"
    assert metric(scrape(second), "chat_slow_consumer_evictions_total") == 1
    assert metric(scrape(first), "chat_slow_consumer_evictions_total") == 0
