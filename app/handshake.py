"""The websocket opening handshake checked before the upgrade, so a malformed one gets a 4xx, never a 500.

flask-sock hands the request to simple-websocket, whose wsproto raises RemoteProtocolError on a handshake it
cannot take (no Sec-WebSocket-Key, say); Flask turns that into a 500 and an ERROR line with a traceback,
which is a stranger's request firing the "Error-log spike" alert. RFC 6455 4.2.1 lists what a server
requires; `handshake_problem` checks exactly that and says what is wrong.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SUPPORTED_VERSION = "13"  # RFC 6455 4.4: the only version; a 426 names it in Sec-WebSocket-Version
KEY_BYTES = 16  # RFC 6455 4.1: the key is 16 random bytes, base64-encoded


@dataclass(frozen=True)
class HandshakeProblem:
    """Why the handshake is refused: the HTTP status, a one-line reason and any headers to add."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...] = ()


def handshake_problem(environ: Mapping[str, Any]) -> HandshakeProblem | None:
    """What is wrong with the websocket handshake in `environ`, or None when it can be upgraded."""
    if environ.get("REQUEST_METHOD") != "GET":
        return HandshakeProblem(405, "a websocket handshake is a GET request", (("Allow", "GET"),))
    if environ.get("SERVER_PROTOCOL", "") not in ("HTTP/1.1",):
        return HandshakeProblem(400, "a websocket handshake needs HTTP/1.1")
    if "websocket" not in _tokens(environ.get("HTTP_UPGRADE")):
        return HandshakeProblem(400, "missing Upgrade: websocket")
    if "upgrade" not in _tokens(environ.get("HTTP_CONNECTION")):
        return HandshakeProblem(400, "missing Connection: Upgrade")
    if environ.get("HTTP_SEC_WEBSOCKET_VERSION", "").strip() != SUPPORTED_VERSION:
        return HandshakeProblem(
            426,
            f"unsupported Sec-WebSocket-Version (this server speaks {SUPPORTED_VERSION})",
            (("Sec-WebSocket-Version", SUPPORTED_VERSION),),
        )
    if not _valid_key(environ.get("HTTP_SEC_WEBSOCKET_KEY")):
        return HandshakeProblem(400, f"Sec-WebSocket-Key must be {KEY_BYTES} bytes in base64")
    return None


def _tokens(header: str | None) -> set[str]:
    """The comma-separated tokens of a header, lower-case ("keep-alive, Upgrade" -> {...})."""
    return {token.strip().lower() for token in (header or "").split(",")}


def _valid_key(key: str | None) -> bool:
    try:
        return len(base64.b64decode((key or "").strip(), validate=True)) == KEY_BYTES
    except (binascii.Error, ValueError):
        return False
