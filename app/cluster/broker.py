"""The broker link of one replica: its Redis client, whether it is subscribed, what failed, and the backoff.

`BrokerHealth` is the one place that knows whether this replica is cut off from Redis: the subscriber
(fanout.py) sets it, the names (names.py) and the publisher read it to skip Redis while it is down instead
of waiting on a timeout per event, and /readyz and chat_cluster_broker_connected report it.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.instruments import ClusterInstruments

log = logging.getLogger("chat.cluster")

# Errors that mean "the broker did not answer": redis-py's own (ConnectionError, TimeoutError, a bad
# reply) and the socket's, which redis-py lets through on some paths.
BROKER_ERRORS: tuple[type[Exception], ...] = (redis.RedisError, OSError)
FIRST_RETRY_S = 0.1


def redis_client(url: str, timeout_s: float) -> redis.Redis:
    """A client whose commands fail fast: no retries inside redis-py (this package retries with its own
    backoff, and counts), a bounded connect and read."""
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,  # the subscriber pings on its own schedule; commands need no extra PING
    )


class Backoff:
    """Reconnect delays: from FIRST_RETRY_S, doubled up to `max_s`, each with jitter so that replicas that
    lost Redis together do not all come back in the same instant."""

    def __init__(self, max_s: float) -> None:
        self._max_s = max_s
        self._next_s = FIRST_RETRY_S

    def next_delay(self) -> float:
        delay = self._next_s * random.uniform(0.5, 1.0)
        self._next_s = min(self._max_s, self._next_s * 2)
        return delay

    def reset(self) -> None:
        self._next_s = FIRST_RETRY_S


class BrokerHealth:
    """Subscribed or cut off, and the chat_cluster_* counters of this replica."""

    def __init__(self, instruments: ClusterInstruments, retry_max_s: float) -> None:
        instruments.replica.set(1)
        self._connected_gauge = instruments.broker_connected
        self._errors = instruments.broker_errors
        self.published = instruments.published
        self.received = instruments.received
        self.lost = instruments.lost
        self.retry_max_s = retry_max_s
        self._connected = threading.Event()
        self._on_connected: list[Callable[[], None]] = []

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def status(self) -> str:
        """What /readyz says of the broker."""
        return "connected" if self.connected else "disconnected"

    def when_connected(self, callback: Callable[[], None]) -> None:
        """Call `callback` (quickly: it runs on the subscriber) each time the subscription is (re)made."""
        self._on_connected.append(callback)

    def mark_connected(self) -> None:
        self._connected.set()
        self._connected_gauge.set(1)
        log.info("subscribed to the broker", extra={"event": "broker_connected"})
        for callback in self._on_connected:
            callback()

    def mark_disconnected(self, reason: str, error: Exception) -> None:
        """The subscription failed (`connect`) or broke (`disconnected`)."""
        was_connected = self.connected
        self._connected.clear()
        self._connected_gauge.set(0)
        self.error(reason)
        if was_connected or reason == "disconnected":
            log.warning("lost the broker: %s", error, extra={"event": "broker_lost"})
        else:
            log.info("broker unreachable: %s", error, extra={"event": "broker_unreachable"})

    def mark_stopped(self) -> None:
        """The replica is shutting down: no longer subscribed, and no error."""
        self._connected.clear()
        self._connected_gauge.set(0)

    def error(self, reason: str) -> None:
        self._errors[reason].inc()
