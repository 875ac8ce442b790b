"""The chat service: a Flask app with a websocket chat at /ws, its web page at /, and /metrics.

`create_app()` builds one independent instance (own hub, own metrics registry), so tests may build many.
Serve it with `python -m app` (gevent, one process: the hub lives in memory).
"""

from __future__ import annotations

import logging

from flask import Flask, Response, render_template, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.alert_webhook import alert_webhook_bp
from app.config import ChatConfig
from app.embed_page import embed_page_bp
from app.hub import Hub
from app.instruments import Instruments
from app.metrics import ChatMetrics
from app.origin import origin_allowed
from app.session import Session
from app.transport import ChatSocket, serve_websocket

log = logging.getLogger("chat.app")


def create_app(config: ChatConfig | None = None) -> Flask:
    """Build the app; `config` defaults to ChatConfig.from_env()."""
    config = config or ChatConfig.from_env()
    metrics = ChatMetrics()
    instruments = Instruments.bind(metrics, enabled=config.metrics_enabled)
    hub = Hub(instruments, config.send_queue_size, config.ping_interval_s, config.idle_timeout_s)

    app = Flask(__name__)
    app.extensions["chat_config"] = config
    app.extensions["chat_hub"] = hub
    app.extensions["chat_metrics"] = metrics
    app.register_blueprint(alert_webhook_bp)  # POST /api/alerts/grafana -> hub.broadcast_event
    app.register_blueprint(embed_page_bp)  # GET /dashboards

    @app.get("/")
    def index() -> str:
        return render_template(
            "index.html", max_text_chars=config.max_text_chars, max_name_chars=config.max_name_chars
        )

    # websocket=True: werkzeug routes only upgrade requests here; a plain GET /ws gets 400.
    @app.get("/ws", websocket=True)
    def websocket() -> Response:
        if not hub.accepting:
            return _plain("shutting down\n", 503)
        origin = request.headers.get("Origin")
        if not origin_allowed(origin, request.host, config.allowed_origins):
            instruments.connections["origin_refused"].inc()
            log.warning(
                "websocket origin refused",
                extra={"event": "origin_refused", "origin": origin[:200], "remote": request.remote_addr},
            )
            return _plain("origin not allowed\n", 403)
        remote = request.remote_addr or "unknown"

        def run_session(ws: ChatSocket) -> None:
            Session(ws, remote, hub, config, instruments).run()

        return serve_websocket(run_session, max_message_size=config.hard_frame_bytes)

    @app.get("/metrics")
    def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), content_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz")
    def healthz() -> Response:
        return _plain("ok\n", 200)

    @app.get("/readyz")
    def readyz() -> Response:
        return _plain("ready\n", 200) if hub.accepting else _plain("shutting down\n", 503)

    return app


def _plain(body: str, status: int) -> Response:
    return Response(body, status=status, mimetype="text/plain")
