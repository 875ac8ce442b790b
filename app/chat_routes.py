"""The chat itself: its page at `/` and its websocket at `/ws`, with the checks made before the upgrade."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, render_template, request
from flask_sock import Sock
from simple_websocket import Server

from app.origin import origin_allowed
from app.probes import plain_text, shutting_down
from app.session import Session
from app.state import chat_state
from app.transport import ChatSocket, run_websocket, strip_extension_offer

log = logging.getLogger("chat.app")

chat_bp = Blueprint("chat", __name__)
WEBSOCKET_ENDPOINT = f"{chat_bp.name}.websocket"
# Without an app, Sock only turns routes into websocket routes on the blueprint it is given; its
# per-connection options come from the app's config (SOCK_SERVER_OPTIONS, set by create_app).
sock = Sock()


@chat_bp.get("/")
def index() -> str:
    config = chat_state().config
    return render_template(
        "index.html", max_text_chars=config.max_text_chars, max_name_chars=config.max_name_chars
    )


# flask-sock upgrades (sends the 101) before calling the route, so refusals and handshake changes
# happen here, before the upgrade; a response returned here replaces the route.
@chat_bp.before_request
def guard_websocket_upgrade() -> Response | None:
    if request.endpoint != WEBSOCKET_ENDPOINT:
        return None
    state = chat_state()
    if not state.hub.accepting:
        return shutting_down()
    origin = request.headers.get("Origin")
    if not origin_allowed(origin, request.host, state.config.allowed_origins):
        state.instruments.connections["origin_refused"].inc()
        log.warning(
            "websocket origin refused",
            extra={
                "event": "origin_refused",
                "origin": (origin or "")[:200],
                "remote": request.remote_addr,
            },
        )
        return plain_text("origin not allowed\n", 403)
    strip_extension_offer(request.environ)
    return None


# flask-sock routes with websocket=True: werkzeug matches only upgrade requests; a plain GET /ws gets 400.
@sock.route("/ws", bp=chat_bp, endpoint="websocket")
def websocket(server: Server) -> None:
    state = chat_state()
    remote = request.remote_addr or "unknown"

    def run_session(ws: ChatSocket) -> None:
        Session(ws, remote, state.hub, state.config, state.instruments).run()

    run_websocket(server, run_session)
