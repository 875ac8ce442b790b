"""The logging settings the shipper checks itself: LOKI_URL as a push URL, and the error for a bad one.

The values come from app.config.ChatConfig (the one reader of environment variables); what is checked here
needs Loki's rules, not just the variable's type.
"""

from __future__ import annotations

import urllib.parse

from app.config import ConfigError

PUSH_PATH = "/loki/api/v1/push"


class LogConfigError(ConfigError):
    """A logging setting (LOKI_URL, APP_ENV as a label) is unusable; the message says what to fix."""


def push_url_from(loki_url: str) -> str:
    """The push endpoint for LOKI_URL given either as Loki's base URL or as the full push URL."""
    parts = urllib.parse.urlsplit(loki_url.strip())
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0..65535
    except ValueError:
        parts = parts._replace(scheme="")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LogConfigError(
            f"LOKI_URL must be an http(s) URL such as http://127.0.0.1:3100 (got {loki_url!r})"
        )
    path = parts.path.rstrip("/")
    if not path.endswith(PUSH_PATH):
        path += PUSH_PATH
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
