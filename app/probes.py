"""The operator's endpoints: `/metrics` (Prometheus), `/healthz` (the process answers), `/readyz` (it
accepts new clients: 503 once shutting down, so a load balancer stops sending any)."""

from __future__ import annotations

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

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
    return plain_text("ready\n", 200) if chat_state().hub.accepting else shutting_down()
