"""The chat service: a Flask app with a websocket chat at /ws, its web page at /, and /metrics.

`create_app()` builds one independent instance (own hub, own metrics registry), so tests may build many.
Serve it with `python -m app` (gevent, one process: the hub lives in memory).
"""

from __future__ import annotations

import logging

from flask import Flask, Response, render_template, request
from flask_sock import Sock
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from simple_websocket import Server

from app.alert_webhook import alert_webhook_bp
from app.config import ChatConfig
from app.embed_page import embed_page_bp
from app.hub import Hub
from app.instruments import Instruments
from app.metrics import ChatMetrics
from app.origin import origin_allowed
from app.session import Session
from app.transport import ChatSocket, run_websocket, strip_extension_offer

log = logging.getLogger("chat.app")

WEBSOCKET_ENDPOINT = "websocket"


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

    # flask-sock upgrades (sends the 101) before calling the route, so refusals and handshake changes
    # happen here, before the upgrade; a response returned here replaces the route.
    @app.before_request
    def guard_websocket_upgrade() -> Response | None:
        if request.endpoint != WEBSOCKET_ENDPOINT:
            return None
        if not hub.accepting:
            return _plain("shutting down\n", 503)
        origin = request.headers.get("Origin")
        if not origin_allowed(origin, request.host, config.allowed_origins):
            instruments.connections["origin_refused"].inc()
            log.warning(
                "websocket origin refused",
                extra={
                    "event": "origin_refused",
                    "origin": (origin or "")[:200],
                    "remote": request.remote_addr,
                },
            )
            return _plain("origin not allowed\n", 403)
        strip_extension_offer(request.environ)
        return None

    # The hub pings (CHAT_PING_INTERVAL_S), so simple-websocket's own ping_interval stays off.
    app.config["SOCK_SERVER_OPTIONS"] = {"max_message_size": config.hard_frame_bytes}
    sock = Sock(app)

    # flask-sock routes with websocket=True: werkzeug matches only upgrade requests; a plain GET /ws gets 400.
    @sock.route("/ws", endpoint=WEBSOCKET_ENDPOINT)
    def websocket(server: Server) -> None:
        remote = request.remote_addr or "unknown"

        def run_session(ws: ChatSocket) -> None:
            Session(ws, remote, hub, config, instruments).run()

        run_websocket(server, run_session)

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
