"""The chat service: a Flask app with a websocket chat at /ws, its web page at /, and /metrics.

`create_app()` builds one independent instance (own hub, own metrics registry), so tests may build many.
Serve it with `python -m app` (gevent, one process: the hub lives in memory).
"""

from __future__ import annotations

from flask import Flask

from app.alert_webhook import alert_webhook_bp
from app.chat_routes import chat_bp
from app.config import ChatConfig
from app.embed_page import embed_page_bp
from app.embeds import load_embeds
from app.instruments import Instruments
from app.metrics import ChatMetrics
from app.probes import probes_bp
from app.state import ChatState, build_hub
from app.transport import NoReaderThread


def create_app(config: ChatConfig | None = None) -> Flask:
    """Build the app; `config` defaults to ChatConfig.from_env()."""
    config = config or ChatConfig.from_env()
    app = Flask(__name__)
    build_state(config).attach_to(app)
    # The hub pings (CHAT_PING_INTERVAL_S), so simple-websocket's own ping_interval stays off; and it
    # starts no reader thread: the session reads and enforces the frame limits itself (app.transport).
    app.config["SOCK_SERVER_OPTIONS"] = {"thread_class": NoReaderThread}
    app.register_blueprint(chat_bp)  # GET /, the /ws websocket
    app.register_blueprint(probes_bp)  # GET /metrics, /healthz, /readyz
    app.register_blueprint(alert_webhook_bp)  # POST /api/alerts/grafana -> hub.broadcast_event
    app.register_blueprint(embed_page_bp)  # GET /dashboards
    return app


def build_state(config: ChatConfig) -> ChatState:
    """One instance's hub, metrics and embeds catalog, for `config`."""
    metrics = ChatMetrics()
    instruments = Instruments.bind(metrics, enabled=config.metrics_enabled)
    hub = build_hub(config, instruments)
    return ChatState(config, hub, metrics, instruments, load_embeds(config.grafana_embeds_path))
