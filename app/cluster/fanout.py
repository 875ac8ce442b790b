"""RedisFanout: every replica's events through one Redis channel, in the order Redis delivered them.

Publishing never waits for Redis on the caller's (the hub's) greenlet: `publish` seals the event and
queues it; a publisher greenlet sends what is queued as one pipeline of PUBLISH commands (one per event,
never one per client). A subscriber greenlet reads the channel and hands each payload to the hub, this
replica's own events included, so a replica's clients see its events in the same order as everyone else.

Cut off from Redis (down at start, lost mid-traffic, publisher queue full), an event is delivered to this
replica's clients at once and counted as `unpublished`; other replicas count what they missed from the
gap in its sequence numbers. The subscriber retries with backoff and resubscribes when Redis is back; it
pings an idle subscription so that a broker that stopped answering is noticed too.

A slow replica cannot slow Redis or the others: Redis caps a subscriber's output buffer
(`client-output-buffer-limit pubsub`) and drops a subscriber that falls behind it, which this replica
sees as a lost connection (counted, resubscribed, the missed events counted from the gap).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import redis
import redis.client

from app.cluster.broker import BROKER_ERRORS, Backoff, BrokerHealth
from app.cluster.envelope import EnvelopeError, GapCounter, seal, unseal

log = logging.getLogger("chat.cluster")

CHANNEL = "chat:events"
# Events a publisher pipeline may carry at once; and queued ones (when Redis is slower than the chat).
MAX_PIPELINE = 256
OUTBOX_SIZE = 10_000
# How long the loops wait for work before they check for a stop; when the subscriber pings an idle broker.
POLL_S = 0.5
PING_EVERY_S = 2.0


class Companion(Protocol):
    """Something that lives as long as the fan-out (the name leases' renewer)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class RedisFanout:
    """The app.fanout.Fanout of a replica in a Redis cluster."""

    def __init__(
        self,
        client: redis.Redis,
        health: BrokerHealth,
        origin: str,
        timeout_s: float,
        companions: Sequence[Companion] = (),
        channel: str = CHANNEL,
    ) -> None:
        self._client = client
        self._timeout_s = timeout_s  # a ping unanswered this long after PING_EVERY_S: the broker is gone
        self._health = health
        self._origin = origin.encode()
        self._companions = tuple(companions)
        self._channel = channel
        self._seq = 0
        self._outbox: queue.Queue[tuple[bytes, bytes]] = queue.Queue(maxsize=OUTBOX_SIZE)
        self._gaps = GapCounter()
        self._stopping = threading.Event()
        self._deliver: Callable[[bytes], None] = _not_started
        self._loops: list[threading.Thread] = []

    def start(self, deliver: Callable[[bytes], None]) -> None:
        self._deliver = deliver
        self._loops = [
            threading.Thread(target=self._subscribe_loop, name="chat-cluster-subscriber", daemon=True),
            threading.Thread(target=self._publish_loop, name="chat-cluster-publisher", daemon=True),
        ]
        for loop in self._loops:
            loop.start()
        for companion in self._companions:
            companion.start()

    def publish(self, payload: bytes) -> None:
        self._seq += 1
        if not self._health.connected:
            self._deliver_unpublished([payload])
            return
        try:
            self._outbox.put_nowait((seal(self._origin, self._seq, payload), payload))
        except queue.Full:  # Redis is slower than the chat: this event stays here
            self._deliver_unpublished([payload])

    def stop(self) -> None:
        self._stopping.set()
        for companion in self._companions:
            companion.stop()
        for loop in self._loops:
            loop.join(timeout=2 * POLL_S + 1)

    def _deliver_unpublished(self, payloads: list[bytes]) -> None:
        self._health.lost["unpublished"].inc(len(payloads))
        for payload in payloads:
            self._hand_over(payload)

    def _hand_over(self, payload: bytes) -> None:
        """Deliver to the hub; a failure there is the hub's (logged), never a reason to stop the loop."""
        try:
            self._deliver(payload)
        except Exception:
            log.exception("delivering a cluster event failed", extra={"event": "cluster_delivery_failed"})

    def _publish_loop(self) -> None:
        while not self._stopping.is_set():
            batch = self._next_batch()
            if not batch:
                continue
            try:
                pipe = self._client.pipeline(transaction=False)
                for envelope, _payload in batch:
                    pipe.publish(self._channel, envelope)
                pipe.execute()
            except BROKER_ERRORS as exc:
                self._health.error("publish")
                log.warning("publish failed: %s", exc, extra={"event": "broker_publish_failed"})
                self._deliver_unpublished([payload for _envelope, payload in batch])
            else:
                self._health.published.inc(len(batch))

    def _next_batch(self) -> list[tuple[bytes, bytes]]:
        """The next event and whatever else is queued behind it (up to MAX_PIPELINE); [] after POLL_S idle."""
        try:
            batch = [self._outbox.get(timeout=POLL_S)]
        except queue.Empty:
            return []
        while len(batch) < MAX_PIPELINE and not self._outbox.empty():
            batch.append(self._outbox.get_nowait())
        return batch

    def _subscribe_loop(self) -> None:
        backoff = Backoff(self._health.retry_max_s)
        while not self._stopping.is_set():
            pubsub = self._client.pubsub()
            try:
                pubsub.subscribe(self._channel)
                self._read(pubsub, backoff)
            except BROKER_ERRORS as exc:
                self._health.mark_disconnected("disconnected" if self._health.connected else "connect", exc)
                self._stopping.wait(backoff.next_delay())
            finally:
                with contextlib.suppress(*BROKER_ERRORS):
                    pubsub.close()
        self._health.mark_stopped()

    def _read(self, pubsub: redis.client.PubSub, backoff: Backoff) -> None:
        """Deliver the channel's messages until stopped; raise when the broker breaks or stops answering.

        Connected only once Redis confirmed the subscription: an event published before that could be
        missed by this very replica."""
        last_heard = time.monotonic()
        pinged = False
        while not self._stopping.is_set():
            message = pubsub.get_message(timeout=POLL_S)
            now = time.monotonic()
            if message is None:
                silent_s = now - last_heard
                if pinged and silent_s > PING_EVERY_S + self._timeout_s:
                    raise redis.TimeoutError("the broker did not answer a ping")
                if not pinged and silent_s > PING_EVERY_S:
                    pubsub.ping()
                    pinged = True
                continue
            last_heard, pinged = now, False
            if message["type"] == "message":
                self._receive(message["data"])
            elif message["type"] == "subscribe":
                backoff.reset()
                self._health.mark_connected()

    def _receive(self, data: bytes) -> None:
        self._health.received.inc()
        try:
            origin, seq, payload = unseal(data)
        except EnvelopeError as exc:
            log.warning(
                "ignored a foreign message on %s: %s", self._channel, exc, extra={"event": "cluster_foreign"}
            )
            return
        if origin != self._origin:  # our own gaps are the events we counted as unpublished
            missed = self._gaps.missed(origin, seq)
            if missed:
                self._health.lost["missed"].inc(missed)
        self._hand_over(payload)


def _not_started(_payload: bytes) -> None:
    raise RuntimeError("RedisFanout.start() was not called")
