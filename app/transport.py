"""The websocket transport: flask-sock's websocket with the defaults this service needs changed.

flask-sock serves /ws (see `app.create_app`), but its stock `simple_websocket.Server`
- always negotiates permessage-deflate when the client offers it (browsers do): it costs about half the
  broadcast throughput and shares one compressor between writers;
- writes with `socket.send`, not `sendall`: under gevent a slow reader's full socket buffer turns that into a
  partial write, which corrupts the frame stream;
- lets the reader thread (pong and close replies) and the application write to the socket concurrently.
What we adjust, without touching flask-sock itself:
- `strip_extension_offer` removes the client's extension offer from the request before flask-sock builds the
  Server, so wsproto negotiates no permessage-deflate;
- `ChatSocket` wraps flask-sock's Server and swaps its socket for one with whole-frame, one-writer-at-a-time
  writes before the application writes anything; it adds `send_frames` for frames encoded once per
  broadcast (`text_frame`), pings for the hub's keepalive, and an abort switch;
- `run_websocket` runs the session on it, logs unexpected errors (flask-sock only swallows ConnectionClosed)
  and always tears the TCP down.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

from simple_websocket import ConnectionClosed, Server
from wsproto.events import Ping
from wsproto.frame_protocol import CloseReason

__all__ = ["ChatSocket", "ConnectionClosed", "run_websocket", "strip_extension_offer", "text_frame"]

log = logging.getLogger("chat.transport")

# The WSGI key of the client's Sec-WebSocket-Extensions header, which simple-websocket's handshake reads.
_EXTENSIONS_OFFER = "HTTP_SEC_WEBSOCKET_EXTENSIONS"


def strip_extension_offer(environ: dict[str, Any]) -> None:
    """Drop the client's extension offer from `environ`, before the upgrade, so no compression is agreed.

    flask-sock hands this same dict to `simple_websocket.Server`, whose handshake replays its HTTP_* keys
    to wsproto; without the offer wsproto accepts no permessage-deflate.
    """
    environ.pop(_EXTENSIONS_OFFER, None)


class _WholeFrameSocket:
    """Socket wrapper whose `send` writes everything, one writer at a time (frames never interleave)."""

    def __init__(self, sock: socket.socket) -> None:
        # Chat frames are small writes: with Nagle on, a frame written while the previous one is unacked
        # waits for the peer's delayed ACK (~40 ms on Linux) before it leaves.
        with contextlib.suppress(OSError):  # not a TCP socket (e.g. a Unix socket): nothing to tune
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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


class ChatSocket:
    """flask-sock's websocket with whole-frame writes from one writer at a time, pings and an abort switch."""

    def __init__(self, server: Server) -> None:
        # Must run before the application writes anything. simple-websocket's reader thread looks
        # `server.sock` up on every use (`self.sock.recv`, `self.sock.send` of pong and close replies,
        # `self.sock.close`), so from here on its writes take the same lock as ours. Before the swap only
        # simple-websocket itself can have written, with plain `send`: the 101 handshake and replies to
        # control frames that arrived with it (the reader starts before flask-sock calls the route). Those
        # are small writes to an empty send buffer, and under gevent none can still be in progress here.
        server.sock = _WholeFrameSocket(server.sock)
        self._server = server

    @property
    def thread(self) -> threading.Thread:
        """simple-websocket's reader thread; it ends when the connection does."""
        return self._server.thread

    def receive(self, timeout: float | None = None) -> str | bytes | None:
        """The next message; ConnectionClosed once the connection is over (None on timeout)."""
        return self._server.receive(timeout)

    def close(self, reason: int | None = None, message: str | None = None) -> None:
        """Send a close frame (default 1000); the reader ends when the peer answers it."""
        self._server.close(reason, message)

    def send_frames(self, frames: bytes) -> None:
        """Write ready-made frames (see `text_frame`) in one go; ConnectionClosed once the socket closed."""
        server = self._server
        if not server.connected:
            raise ConnectionClosed(server.close_reason, server.close_message)
        server.sock.send(frames)

    def ping(self) -> bool:
        """Send a ping; return whether the previous ping (if any) was answered by a pong."""
        server = self._server
        answered = bool(server.pong_received)
        server.pong_received = False
        server.sock.send(server.ws.send(Ping()))
        return answered

    def closed_for_oversize(self) -> bool:
        """Whether the reader closed the connection (1009) because a frame exceeded max_message_size."""
        server = self._server
        return bool(server.max_message_size) and server.incoming_message_len > server.max_message_size

    def closed_for_invalid_utf8(self) -> bool:
        """Whether wsproto failed the connection (1007) because a text frame was not valid UTF-8.

        A client that itself closes with 1007 looks the same; clients have no reason to send that code.
        """
        return self._server.close_reason == CloseReason.INVALID_FRAME_PAYLOAD_DATA

    def abort(self) -> None:
        """Tear the TCP connection down now; wakes any greenlet blocked reading or writing it."""
        server = self._server
        with contextlib.suppress(OSError):  # already gone
            server.sock.shutdown(socket.SHUT_RDWR)
        server.connected = False
        server.event.set()


def run_websocket(server: Server, handler: Callable[[ChatSocket], None]) -> None:
    """Run `handler` on flask-sock's `server` for the connection's lifetime, then tear the TCP down."""
    ws = ChatSocket(server)  # first: before anything is written to the socket
    try:
        handler(ws)
    except ConnectionClosed:
        pass  # the peer went away: the normal end
    except Exception:
        # flask-sock lets anything else reach Flask, whose error page written to the upgraded socket would be
        # garbage to the client: log it here instead.
        log.exception("websocket handler failed", extra={"event": "handler_error"})
    finally:
        ws.abort()  # flask-sock's own close() afterwards sees the socket closed and does nothing


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
