"""The operator's endpoints: `/metrics` (Prometheus), `/healthz` (the process answers), `/readyz` (it
accepts new clients: 503 once shutting down, so a load balancer stops sending any).

A replica (CHAT_REDIS_URL set) adds a `broker:` line to /readyz. Cut off from Redis it is still ready (200):
it serves its own clients while it reconnects, and a load balancer that dropped every replica of a lost
Redis would leave nobody served."""

from __future__ import annotations

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from app.state import chat_state

probes_bp = Blueprint("probes", __name__)


def plain_text(body: str, status: int) -> Response:
    return Response(body, status=status, mimetype="text/plain")


def shutting_down() -> Response:
    return plain_text("shutting down\n", 503)


@probes_bp.get("/metrics")
def prometheus_metrics() -> Response:
    return Response(generate_latest(chat_state().metrics.registry), content_type=CONTENT_TYPE_LATEST)


@probes_bp.get("/healthz")
def healthz() -> Response:
    return plain_text("ok\n", 200)


@probes_bp.get("/readyz")
def readyz() -> Response:
    state = chat_state()
    if not state.hub.accepting:
        return shutting_down()
    return plain_text("ready\n" + broker_line(state.config.redis_url, state.metrics.registry), 200)


def broker_line(redis_url: str | None, registry: CollectorRegistry) -> str:
    """What a replica says of its broker, from the gauge app/cluster keeps (the same as /metrics shows)."""
    if not redis_url:
        return ""
    if registry.get_sample_value("chat_cluster_broker_connected") == 1:
        return "broker: connected\n"
    return "broker: disconnected (serving this replica's clients only; reconnecting)\n"
