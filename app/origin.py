"""Cross-site websocket hijacking guard: which browser Origins may open /ws."""

from __future__ import annotations

from urllib.parse import urlsplit


def origin_allowed(origin: str | None, request_host: str, allowed_origins: tuple[str, ...]) -> bool:
    """gorilla/websocket's default rule plus an allowlist.

    No Origin header: allowed (not a browser, so no ambient cookies to abuse). Same host:port as the
    request's Host header: allowed. Otherwise only an exact match in `allowed_origins` (lower-case
    "scheme://host[:port]") is.
    """
    if not origin:
        return True
    normalized = origin.strip().rstrip("/").lower()
    if normalized in allowed_origins:
        return True
    try:
        netloc = urlsplit(normalized).netloc
    except ValueError:
        return False
    return bool(netloc) and netloc == request_host.lower()
