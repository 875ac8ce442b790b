"""The chat service's Prometheus metrics: the single source of truth for names, labels and label values.

Every dashboard, alert rule and lint check refers to these names, so they live in one place. Each app
instance owns its own CollectorRegistry (so tests can run several apps in one process) with the default
process, platform and GC collectors registered on it.

Label values are closed sets defined here and pre-initialised to 0 ("export 0 for series you know will
exist"), so no user-controlled value ever becomes a label and every series exists from the first scrape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from app.loop_metrics import LoopCounter, LoopHistogram, LoopSummary

# Closed label-value sets. The protocol's error codes double as the `reason` of rejected frames.
REJECT_REASONS: tuple[str, ...] = (
    "invalid_json",
    "invalid_message",
    "not_joined",
    "already_joined",
    "invalid_name",
    "name_taken",
    "too_large",
    "rate_limited",
    "binary_frame",
)
CONNECTION_RESULTS: tuple[str, ...] = (
    "accepted",  # handshake completed
    "origin_refused",  # foreign Origin refused at the handshake (CSWSH)
    "closed",  # client closed or left normally
    "evicted_slow",  # send queue overflowed: slow consumer evicted
    "timed_out",  # no pong / idle timeout: dead client dropped
    "abuse_closed",  # too many rejected frames, a flood or a websocket protocol error: closed by the server
    "shutdown",  # the server shut down (SIGTERM): closed with 1001
    "join_timeout",  # connected but never joined within CHAT_JOIN_TIMEOUT_S: closed with 1008
    # The door (app.server): a connection whose request head never became a request.
    "handshake_timeout",  # request head not complete within CHAT_HANDSHAKE_TIMEOUT_S: closed
    "headers_too_large",  # request head over CHAT_MAX_HEADER_BYTES: 431 (or 414 for the request line)
)
# Requests the door answered with a refusal before any websocket existed (app.server, app.chat_routes).
# A counter of their own, not more CONNECTION_RESULTS: a panel split by `result` stays under the lint's
# 10-series cap (scripts/lint/promql.py MAX_GROUP_CARDINALITY), and these are HTTP answers, not outcomes
# of a websocket connection.
DOOR_REFUSAL_REASONS: tuple[str, ...] = (
    "over_capacity",  # CHAT_MAX_CONNECTIONS or CHAT_MAX_CONNECTIONS_PER_IP reached: 503
    "bad_handshake",  # malformed websocket handshake (no key, wrong version, not an upgrade): 4xx
    "host_refused",  # Host header not in CHAT_ALLOWED_HOSTS (DNS rebinding): 400
)
LOG_DROP_REASONS: tuple[str, ...] = (
    "queue_full",  # the shipper's bounded queue was full: the record never left the process
    "retries_exhausted",  # Loki kept failing with a retryable error
    "rejected",  # Loki answered a non-retryable 4xx
)
ALERT_WEBHOOK_RESULTS: tuple[str, ...] = ("accepted", "unauthorized", "invalid")
BROKER_ERROR_REASONS: tuple[str, ...] = (
    "connect",  # could not connect or subscribe to Redis (down at start, or while reconnecting)
    "disconnected",  # the subscription's connection broke: Redis lost mid-traffic
    "publish",  # a PUBLISH failed: the event was delivered to this replica's clients only
    "lease",  # a name claim, lease renewal, release or client count failed (answered locally instead)
    "lease_lost",  # a renewal found a name of ours held by another replica (it had expired in an outage)
)
CLUSTER_LOSS_REASONS: tuple[str, ...] = (
    "unpublished",  # published while cut off from the broker: the other replicas never got it
    "missed",  # a gap in another replica's sequence: events that never reached this replica
)

# Buckets sized for this service: chat frames are small; a broadcast to hundreds of clients takes ms.
MESSAGE_SIZE_BUCKETS = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 65536)
BROADCAST_DURATION_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
)  # fmt: skip


@dataclass
class ChatMetrics:
    """All metrics of one app instance, registered on its own registry."""

    registry: CollectorRegistry = field(default_factory=lambda: CollectorRegistry(auto_describe=True))

    def __post_init__(self) -> None:
        r = self.registry
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)

        self.registered_clients = Gauge(
            "registered_clients", "Tracks the clients that are currently registered", registry=r
        )
        # Updated once per chat message: kept by app.loop_metrics (no lock per update), same exposition.
        self.messages_received = LoopCounter(
            "chat_messages_received", "Chat messages accepted from clients", registry=r
        )
        self.messages_delivered = Counter(
            "chat_messages_delivered", "Chat messages queued for delivery to a client (fan-out)", registry=r
        )
        self.frames_rejected = Counter(
            "chat_frames_rejected", "Inbound frames rejected, by reason", ["reason"], registry=r
        )
        self.connections = Counter(
            "chat_connections", "Websocket connection outcomes, by result", ["result"], registry=r
        )
        self.slow_consumer_evictions = Counter(
            "chat_slow_consumer_evictions", "Clients evicted because their send queue was full", registry=r
        )
        self.message_size = LoopHistogram(
            "chat_message_size_bytes",
            "Size of accepted chat message text in bytes (UTF-8)",
            buckets=MESSAGE_SIZE_BUCKETS,
            registry=r,
        )
        self.broadcast_duration = Histogram(
            "chat_broadcast_duration_seconds",
            "Time to write one round of broadcasts (one loop iteration's messages) to every joined client",
            buckets=BROADCAST_DURATION_BUCKETS,
            registry=r,
        )
        self.message_handling = LoopSummary(
            "chat_message_handling_seconds", "Time to handle one inbound frame, parse to fan-out", registry=r
        )
        self.log_lines_sent = Counter("chat_log_shipper_lines_sent", "Log lines accepted by Loki", registry=r)
        self.log_lines_dropped = Counter(
            "chat_log_shipper_lines_dropped", "Log lines that never reached Loki, by reason", ["reason"],
            registry=r,
        )  # fmt: skip
        self.log_retries = Counter(
            "chat_log_shipper_retries", "Push requests to Loki retried after a retryable failure", registry=r
        )
        self.log_queue_depth = Gauge(
            "chat_log_shipper_queue_lines", "Log lines waiting in the shipper's queue", registry=r
        )
        self.door_refusals = Counter(
            "chat_door_refusals", "Requests refused at the HTTP door before any websocket, by reason",
            ["reason"], registry=r,
        )  # fmt: skip
        self.alert_webhooks = Counter(
            "chat_alert_webhooks", "Grafana alert webhook posts received, by result", ["result"], registry=r
        )
        # Scaling out through Redis (app/cluster). "Messages" are every event the hub fans out through the
        # broker: chat messages and presence batches.
        self.cluster_replica = Gauge(
            "chat_cluster_replica", "1 when this process is a replica fanned out through Redis", registry=r
        )
        self.cluster_broker_connected = Gauge(
            "chat_cluster_broker_connected", "1 while this replica is subscribed to Redis", registry=r
        )
        self.cluster_published = Counter(
            "chat_cluster_messages_published", "Events this replica published to the broker", registry=r
        )
        self.cluster_received = Counter(
            "chat_cluster_messages_received", "Events received from the broker (every replica's)", registry=r
        )
        self.cluster_lost = Counter(
            "chat_cluster_messages_lost", "Events that did not cross the broker, by reason", ["reason"],
            registry=r,
        )  # fmt: skip
        self.cluster_broker_errors = Counter(
            "chat_cluster_broker_errors", "Failed broker operations, by reason", ["reason"], registry=r
        )

        for reason in REJECT_REASONS:
            self.frames_rejected.labels(reason=reason)
        for result in CONNECTION_RESULTS:
            self.connections.labels(result=result)
        for reason in LOG_DROP_REASONS:
            self.log_lines_dropped.labels(reason=reason)
        for reason in DOOR_REFUSAL_REASONS:
            self.door_refusals.labels(reason=reason)
        for result in ALERT_WEBHOOK_RESULTS:
            self.alert_webhooks.labels(result=result)
        for reason in BROKER_ERROR_REASONS:
            self.cluster_broker_errors.labels(reason=reason)
        for reason in CLUSTER_LOSS_REASONS:
            self.cluster_lost.labels(reason=reason)
