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
    Summary,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

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
    "abuse_closed",  # too many rejected frames: closed by the server
)
LOG_DROP_REASONS: tuple[str, ...] = (
    "queue_full",  # the shipper's bounded queue was full: the record never left the process
    "retries_exhausted",  # Loki kept failing with a retryable error
    "rejected",  # Loki answered a non-retryable 4xx
)
ALERT_WEBHOOK_RESULTS: tuple[str, ...] = ("accepted", "unauthorized", "invalid")

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
        self.messages_received = Counter(
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
        self.message_size = Histogram(
            "chat_message_size_bytes",
            "Size of accepted chat message text in bytes (UTF-8)",
            buckets=MESSAGE_SIZE_BUCKETS,
            registry=r,
        )
        self.broadcast_duration = Histogram(
            "chat_broadcast_duration_seconds",
            "Time to fan one message out to every joined client's send queue",
            buckets=BROADCAST_DURATION_BUCKETS,
            registry=r,
        )
        self.message_handling = Summary(
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
        self.alert_webhooks = Counter(
            "chat_alert_webhooks", "Grafana alert webhook posts received, by result", ["result"], registry=r
        )

        for reason in REJECT_REASONS:
            self.frames_rejected.labels(reason=reason)
        for result in CONNECTION_RESULTS:
            self.connections.labels(result=result)
        for reason in LOG_DROP_REASONS:
            self.log_lines_dropped.labels(reason=reason)
        for result in ALERT_WEBHOOK_RESULTS:
            self.alert_webhooks.labels(result=result)
