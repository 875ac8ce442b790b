"""A real websocket client of the chat (websocket-client), as the tests drive it."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Mapping
from typing import Any

import websocket

from scripts.common.load import ws_url

RECV_TIMEOUT_S = 5.0


class ChatClient:
    """A websocket-client connection to the chat, sending the Origin the server allows (its own)."""

    def __init__(self, base_url: str, origin: str | None = None, rcvbuf: int | None = None) -> None:
        options: dict[str, Any] = {"origin": origin or base_url, "timeout": RECV_TIMEOUT_S}
        if rcvbuf is not None:
            options["sockopt"] = ((socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf),)
        self.ws = websocket.create_connection(ws_url(base_url), skip_utf8_validation=True, **options)

    def send(self, event: Mapping[str, Any]) -> None:
        self.ws.send(json.dumps(event))

    def recv(self, timeout_s: float = RECV_TIMEOUT_S) -> dict[str, Any]:
        """The next server event (a JSON text frame)."""
        self.ws.settimeout(timeout_s)
        return json.loads(self.ws.recv())

    def recv_until(
        self, predicate: Callable[[dict[str, Any]], bool], timeout_s: float = RECV_TIMEOUT_S
    ) -> dict[str, Any]:
        """Skip events until one matches `predicate`; fail after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching event within {timeout_s}s")
            event = self.recv(left)
            if predicate(event):
                return event

    def join(self, name: str) -> dict[str, Any]:
        self.send({"type": "join", "name": name})
        welcome = self.recv()
        assert welcome["type"] == "welcome", welcome
        return welcome

    def close_code(self, timeout_s: float = RECV_TIMEOUT_S) -> int | None:
        """Read until the server's close frame; its status code (None if the TCP connection just ended)."""
        self.ws.settimeout(timeout_s)
        try:
            while True:
                opcode, frame = self.ws.recv_data_frame(True)
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    return int.from_bytes(frame.data[:2], "big") if len(frame.data) >= 2 else None
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            return None

    def close(self) -> None:
        self.ws.close(timeout=1)
