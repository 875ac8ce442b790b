"""The chat itself: its page at `/` and its websocket at `/ws`, with the checks made before the upgrade."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, render_template, request
from flask_sock import Sock
from simple_websocket import Server
from werkzeug.routing.exceptions import WebsocketMismatch

from app.handshake import handshake_problem
from app.metrics import DOOR_REFUSAL_REASONS
from app.origin import allowed_host_patterns, host_allowed, origin_allowed
from app.probes import plain_text, shutting_down
from app.server import TAKE_OVER_KEY
from app.session import Session
from app.state import chat_state
from app.throttled_log import ThrottledLog
from app.transport import ChatSocket, prepare_upgrade, run_websocket

log = logging.getLogger("chat.app")
door_log = ThrottledLog(log)  # refusals are a stranger's doing: INFO/WARNING, rate-limited

chat_bp = Blueprint("chat", __name__)
WEBSOCKET_ENDPOINT = f"{chat_bp.name}.websocket"
# Without an app, Sock only turns routes into websocket routes on the blueprint it is given; its
# per-connection options come from the app's config (SOCK_SERVER_OPTIONS, set by create_app).
sock = Sock()


# The chat page needs only its own script, stylesheet and websocket; nobody may frame it (clickjacking:
# /dashboards frames Grafana panels, never the chat). 'self' in connect-src covers ws(s):// to this host
# (CSP Level 3).
PAGE_SECURITY_HEADERS = {
    "Content-Security-Policy": "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self'",
            "img-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@chat_bp.get("/")
def index() -> Response:
    config = chat_state().config
    page = render_template(
        "index.html", max_text_chars=config.max_text_chars, max_name_chars=config.max_name_chars
    )
    return Response(page, mimetype="text/html", headers=PAGE_SECURITY_HEADERS)


@chat_bp.before_app_request
def guard_host() -> Response | None:
    """Every request, first: a Host we do not serve (DNS rebinding) gets 400 before anything is read."""
    config = chat_state().config
    if host_allowed(request.host, allowed_host_patterns(config.allowed_hosts, config.host)):
        return None
    return refuse_handshake("host_refused", "host not allowed", 400, host=request.host[:200])


# flask-sock upgrades (sends the 101) before calling the route, so refusals and handshake changes
# happen here, before the upgrade; a response returned here replaces the route.
@chat_bp.before_request
def guard_websocket_upgrade() -> Response | None:
    if request.endpoint != WEBSOCKET_ENDPOINT:
        return None
    state = chat_state()
    if not state.hub.accepting:
        return shutting_down()
    problem = handshake_problem(request.environ)
    if problem is not None:
        return refuse_handshake("bad_handshake", problem.reason, problem.status, problem.headers)
    origin = request.headers.get("Origin")
    if not origin_allowed(origin, request.scheme, request.host, state.config.allowed_origins):
        return refuse_handshake("origin_refused", "origin not allowed", 403, origin=(origin or "")[:200])
    prepare_upgrade(request.environ)
    return None


@chat_bp.app_errorhandler(WebsocketMismatch)
def websocket_mismatch(_error: WebsocketMismatch) -> Response:
    """A plain request to /ws, or a websocket handshake to an HTTP page: 400 saying which, not HTML."""
    reason = (
        "this URL is a page, not a websocket"
        if request.headers.get("Upgrade", "").lower() == "websocket"
        else "this URL takes a websocket handshake (Upgrade: websocket, Connection: Upgrade)"
    )
    return refuse_handshake("bad_handshake", reason, 400)


def refuse_handshake(
    result: str, reason: str, status: int, headers: tuple[tuple[str, str], ...] = (), **fields: str
) -> Response:
    """Count and log (WARNING, rate-limited) a refused request at the door; the response says why."""
    state = chat_state()
    if result in DOOR_REFUSAL_REASONS:
        state.metrics.door_refusals.labels(reason=result).inc()
    else:
        state.instruments.connections[result].inc()
    door_log.log(
        logging.WARNING,
        result,
        "websocket handshake refused: %s",
        reason,
        remote=request.remote_addr or "unknown",
        **fields,
    )
    response = plain_text(f"{reason}\n", status)
    response.headers.update(dict(headers))
    return response


# flask-sock routes with websocket=True: werkzeug matches only upgrade requests; a plain GET /ws gets 400.
@sock.route("/ws", bp=chat_bp, endpoint="websocket")
def websocket(server: Server) -> None:
    state = chat_state()
    remote = request.remote_addr or "unknown"

    def run_session(ws: ChatSocket) -> None:
        Session(ws, remote, state.hub, state.config, state.instruments).run()

    run_websocket(server, run_session, request.environ.get(TAKE_OVER_KEY))
