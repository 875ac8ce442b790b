"""`GET /dashboards`: the rendered embeddable Grafana panels, as iframes, for viewers of the chat.

The panel list is the app's embeds catalog (app.embeds: `provisioning/grafana/embeds.json`, or the file
`GRAFANA_EMBEDS_PATH` names), read once when the app is built. Each iframe shows Grafana's solo-panel page:
`<GRAFANA_PUBLIC_URL>/d-solo/<uid>/<slug>?orgId=1&panelId=<id>&from=now-1h&to=now&theme=<t>&refresh=<r>`.
Grafana must allow that: anonymous Viewer access and `allow_embedding` (see docker-compose.yml).

Without GRAFANA_PUBLIC_URL (or without embeds.json) the page explains what to set and shows no iframe.
The template is autoescaped, and the Content-Security-Policy allows frames from the Grafana origin only.
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from app.embeds import EmbeddedPanel
from app.state import chat_state

ORG_ID = "1"  # the anonymous Viewer's org (Main Org.); another orgId sends viewers to the login page
TIME_FROM, TIME_TO = "now-1h", "now"
REFRESH = "30s"
THEMES = ("light", "dark")

embed_page_bp = Blueprint("embed_page", __name__, template_folder="templates")


def grafana_origin(public_url: str | None) -> str | None:
    """`scheme://host[:port]` of GRAFANA_PUBLIC_URL, or None when it is unset or not an http(s) URL."""
    if not public_url:
        return None
    parts = urlsplit(public_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def solo_panel_url(public_url: str, panel: EmbeddedPanel, theme: str) -> str:
    """The iframe src: Grafana's base URL (sub-path kept) + the panel path + the viewer's parameters."""
    path_part = urlsplit(panel.path)
    query = dict(parse_qsl(path_part.query))
    query.update({"orgId": ORG_ID, "from": TIME_FROM, "to": TIME_TO, "theme": theme, "refresh": REFRESH})
    ordered = {"orgId": query.pop("orgId"), **query}
    return f"{public_url.rstrip('/')}{path_part.path}?{urlencode(ordered)}"


def _content_security_policy(origin: str | None, nonce: str) -> str:
    return "; ".join(
        (
            "default-src 'none'",
            f"style-src 'nonce-{nonce}'",
            f"frame-src {origin}" if origin else "frame-src 'none'",
            "img-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


@embed_page_bp.get("/dashboards")
def dashboards() -> ResponseReturnValue:
    state = chat_state()
    catalog = state.embeds
    public_url = state.config.grafana_public_url
    origin = grafana_origin(public_url)
    theme = request.args.get("theme", THEMES[0])
    theme = theme if theme in THEMES else THEMES[0]
    problem = catalog.problem
    if problem is None and public_url and origin is None:
        problem = (
            f"GRAFANA_PUBLIC_URL must be an http(s) URL such as http://localhost:3000, got {public_url!r}."
        )
    frames = (
        [(panel.title, solo_panel_url(public_url, panel, theme)) for panel in catalog.panels]
        if origin and public_url and problem is None
        else []
    )
    nonce = secrets.token_urlsafe(16)
    html = render_template(
        "dashboards.html",
        frames=frames,
        problem=problem,
        grafana_url=public_url if origin else None,
        needs_public_url=not public_url,
        theme=theme,
        themes=THEMES,
        nonce=nonce,
    )
    headers = {
        "Content-Security-Policy": _content_security_policy(origin, nonce),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
    return html, 200, headers
