"""The websocket transport: simple-websocket's Server with the defaults this service needs changed.

Why not flask-sock's route decorator: it builds a stock `simple_websocket.Server`, which
- always negotiates permessage-deflate when the client offers it (browsers do): it costs about half the
  broadcast throughput and shares one compressor between writers;
- writes with `socket.send`, not `sendall`: under gevent a slow reader's full socket buffer turns that into a
  partial write, which corrupts the frame stream;
- lets the reader thread (pong and close replies) and the application write to the socket concurrently.
`ChatSocket` fixes all three, and adds `send_frames` for frames encoded once per broadcast (`text_frame`);
`serve_websocket` is the small WSGI glue flask-sock would otherwise provide.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

from flask import Response, request
from simple_websocket import ConnectionClosed, Server
from wsproto.events import Ping
from wsproto.frame_protocol import CloseReason

__all__ = ["ChatSocket", "ConnectionClosed", "serve_websocket", "text_frame"]

log = logging.getLogger("chat.transport")


class _WholeFrameSocket:
    """Socket wrapper whose `send` writes everything, one writer at a time (frames never interleave)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._write_lock = threading.Lock()  # a gevent lock once monkey-patched

    def send(self, data: bytes) -> int:
        with self._write_lock:
            self._sock.sendall(data)
        return len(data)

    def recv(self, size: int) -> bytes:
        return self._sock.recv(size)

    def fileno(self) -> int:
        return self._sock.fileno()

    def setsockopt(self, *args: Any) -> None:
        self._sock.setsockopt(*args)

    def shutdown(self, how: int) -> None:
        self._sock.shutdown(how)

    def close(self) -> None:
        self._sock.close()


class ChatSocket(Server):
    """A server-side websocket without compression, with whole-frame writes and an abort switch."""

    def handshake(self) -> None:
        # Runs inside Base.__init__ before the reader thread starts: the last moment to swap the socket.
        self.sock = _WholeFrameSocket(self.sock)
        # Without the client's extension offer wsproto negotiates no permessage-deflate.
        self.environ = {k: v for k, v in self.environ.items() if k != "HTTP_SEC_WEBSOCKET_EXTENSIONS"}
        super().handshake()

    def send_frames(self, frames: bytes) -> None:
        """Write ready-made frames (see `text_frame`) in one go; ConnectionClosed once the socket closed."""
        if not self.connected:
            raise ConnectionClosed(self.close_reason, self.close_message)
        self.sock.send(frames)

    def ping(self) -> bool:
        """Send a ping; return whether the previous ping (if any) was answered by a pong."""
        answered = bool(self.pong_received)
        self.pong_received = False
        self.sock.send(self.ws.send(Ping()))
        return answered

    def closed_for_oversize(self) -> bool:
        """Whether the reader closed the connection (1009) because a frame exceeded max_message_size."""
        return bool(self.max_message_size) and self.incoming_message_len > self.max_message_size

    def closed_for_invalid_utf8(self) -> bool:
        """Whether wsproto failed the connection (1007) because a text frame was not valid UTF-8.

        A client that itself closes with 1007 looks the same; clients have no reason to send that code.
        """
        return self.close_reason == CloseReason.INVALID_FRAME_PAYLOAD_DATA

    def abort(self) -> None:
        """Tear the TCP connection down now; wakes any greenlet blocked reading or writing it."""
        with contextlib.suppress(OSError):  # already gone
            self.sock.shutdown(socket.SHUT_RDWR)
        self.connected = False
        self.event.set()


def text_frame(payload: str) -> bytes:
    """A complete server-to-client text frame (RFC 6455 5.2: FIN set, unmasked, no extension).

    Without permessage-deflate these bytes are the same for every client, so a broadcast builds them once
    instead of once per client through wsproto. wsproto's state is unaffected: it tracks only fragmented
    messages and the close handshake, and these frames are never fragments.
    """
    data = payload.encode("utf-8")
    size = len(data)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 1 << 16:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return header + data


class _AlreadyHandled(Response):
    """The websocket owned the socket: tell gevent's WSGI server there is no HTTP response to write."""

    def __call__(self, environ: Any, start_response: Any) -> list[bytes]:
        return []


def serve_websocket(handler: Callable[[ChatSocket], None], **options: Any) -> Response:
    """Upgrade the current request to a ChatSocket, run `handler` on it for its lifetime, then close it."""
    ws = ChatSocket(request.environ, **options)
    try:
        handler(ws)
    except ConnectionClosed:
        pass
    except Exception:
        # The socket is no longer HTTP: an error page written to it would be garbage to the client.
        log.exception("websocket handler failed", extra={"event": "handler_error"})
    finally:
        ws.abort()
    return _AlreadyHandled()
