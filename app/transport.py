"""The websocket transport: flask-sock's handshake, then one socket, one parser and non-blocking writes.

flask-sock serves /ws (see `app.create_app`) and its `simple_websocket.Server` performs the handshake. What
simple-websocket does next does not suit a fan-out server, so the chat takes the connection over:
- simple-websocket `dup()`s the socket (two descriptors per connection) and starts a reader thread (a
  greenlet under gevent) that reads and answers frames with no budget, waking the handler through an
  event for every message. `prepare_upgrade` (before the upgrade) hands it a stand-in socket instead,
  which writes the 101 but never reads, and the chat's `thread_class` (`NoReaderThread`) starts no
  reader (if one runs anyway, `ChatSocket` lets it exit); the session reads the one socket gevent's WSGI
  server accepted: on its own greenlet until the join (`recv`), then from the event loop's read callback
  (`serve_reads`). Frames are split by app.framing: ordinary text frames decoded there, every other frame
  parsed by wsproto (the library simple-websocket uses; the connection state it set up carries over).
- it always negotiates permessage-deflate when the client offers it (browsers do); compression would make
  every client's bytes different, so `prepare_upgrade` removes the offer before the handshake.
- writes: the hub writes each client's pending frames with one non-blocking `send` (`send_now`) and only a
  client whose socket is full gets a writer greenlet (`send_blocking`). Server frames are built once per
  broadcast (`text_frame`), not per client through wsproto.
`Inbound` assembles messages from wsproto's events with the bounds the chat needs: bytes per message (1009)
and fragments per message; everything else (rate, abuse) is the session's policy.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import gevent.event
from gevent.hub import Waiter
from simple_websocket import ConnectionClosed, Server
from wsproto.connection import ConnectionState
from wsproto.events import BytesMessage, CloseConnection, Event, Ping, TextMessage
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import LocalProtocolError

from app.framing import InboundFrames

__all__ = [
    "ChatSocket",
    "ConnectionClosed",
    "Inbound",
    "NoReaderThread",
    "prepare_upgrade",
    "run_websocket",
    "text_frame",
]

log = logging.getLogger("chat.transport")

# The WSGI key of the client's Sec-WebSocket-Extensions header, which simple-websocket's handshake reads.
_EXTENSIONS_OFFER = "HTTP_SEC_WEBSOCKET_EXTENSIONS"
# Bytes asked of the kernel per read: a busy client's frames arrive in a few reads, not one per frame.
RECV_BYTES = 65536
# Every read lands here first and leaves as a copy of what came, before the reader yields: `recv(65536)`
# would allocate (and mostly give back) 64 KB per read, which fragments the heap thousands of idle clients
# live in. One buffer for all: gevent runs one greenlet at a time.
_RECV_BUFFER = memoryview(bytearray(RECV_BYTES))
# A server ping (RFC 6455 5.5.2): FIN + opcode 9, unmasked, empty. The same bytes for every client.
PING_FRAME = b"\x89\x00"


def prepare_upgrade(environ: dict[str, Any]) -> None:
    """Ready `environ` for flask-sock's upgrade, before it builds its `simple_websocket.Server`:

    - drop the client's extension offer, so wsproto agrees to no permessage-deflate (simple-websocket's
      handshake replays the HTTP_* keys of this same dict to wsproto);
    - give simple-websocket a stand-in for the socket it would `dup()`: the stand-in writes the 101 to the
      real socket, and its `recv` (a reader thread's, if one was started after all) waits until
      ChatSocket lets it end, without ever reading. So there is one descriptor per connection, and no
      frame is read by code without the chat's budget (a flood pipelined right after the handshake
      included).
    """
    environ.pop(_EXTENSIONS_OFFER, None)
    wsgi_input = environ["wsgi.input"]
    rfile = getattr(wsgi_input, "rfile", wsgi_input)
    environ["wsgi.input"] = _UpgradeInput(rfile)


class _HandshakeOnlySocket:
    """What simple-websocket gets instead of a duplicate of the connection's socket (see prepare_upgrade)."""

    def __init__(self, rfile: Any) -> None:
        self.rfile = rfile  # the WSGI server's buffered reader of the request head
        self.sock: socket.socket = rfile.raw._sock
        self._released = gevent.event.Event()

    def send(self, data: bytes) -> int:
        self.sock.sendall(data)
        return len(data)

    def recv(self, size: int) -> bytes:
        self._released.wait()
        return b""  # the reader takes this for the end of the connection and exits

    def close(self) -> None:
        pass  # the socket is the session's

    def release(self) -> None:
        self._released.set()

    def dup(self) -> _HandshakeOnlySocket:
        return self


class NoReaderThread:
    """simple-websocket's `thread_class` for the chat (see app.chat_routes): its reader is never started,
    ChatSocket reads. Under gevent a started reader costs a greenlet, a Thread with its locks and events,
    and a yield in `start()` in the middle of every handshake: when thousands connect at once, that is
    where most of their memory went (the heap it left fragmented included)."""

    name = "simple-websocket reader, not started"

    def __init__(self, target: Callable[[], None]) -> None:
        pass  # the reader it would run

    def start(self) -> None:
        pass


class _UpgradeInput:
    """environ["wsgi.input"] during the upgrade: simple-websocket looks for `.raw._sock` and dup()s it.

    No reference cycle (`raw` is not self): the handshake's objects are freed when the request is, not
    left to the cyclic garbage collector."""

    def __init__(self, rfile: Any) -> None:
        self.raw = _Raw(_HandshakeOnlySocket(rfile))


class _Raw:
    def __init__(self, stand_in: _HandshakeOnlySocket) -> None:
        self._sock = stand_in


class ChatSocket:
    """One websocket connection after the handshake: reads on the caller's greenlet (`recv`) or from the
    event loop's read callback (`serve_reads`), splits frames (app.framing), writes without blocking (or
    blocking, for a writer greenlet), and can be cut at once."""

    __slots__ = ("_drained", "_frames", "_hub", "_raw", "_readable", "_sock", "_ws")

    def __init__(self, server: Server) -> None:
        sock = server.sock
        if isinstance(sock, _HandshakeOnlySocket):
            sock.release()  # simple-websocket's reader, parked in its recv, exits
            # The WSGI server's reader of the request head: closing it frees its buffer (8 KB a
            # connection) and tells the server, once the websocket is over, that no HTTP request follows.
            sock.rfile.close()
            sock = sock.sock
            server.connected = False  # flask-sock's close() afterwards does nothing
            # flask-sock's per-request response class keeps `server` until the cyclic garbage collector
            # frees it: let it hold nothing of the connection (the environ, the request head's objects).
            # (Its reader still closes `server.sock`, the stand-in, on its way out.)
            server.thread = server.environ = None
        # Chat frames are small writes: with Nagle on, a frame written while the previous one is unacked
        # waits for the peer's delayed ACK (~40 ms on Linux) before it leaves.
        with contextlib.suppress(OSError):  # not a TCP socket (e.g. a Unix socket): nothing to tune
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        # gevent's socket wraps a non-blocking OS socket: writing to it directly never yields.
        self._raw: socket.socket = getattr(sock, "_sock", sock)
        # wsproto's connection past the handshake: the handshake's own objects (h11's) can go.
        handshaken = getattr(server, "ws", None)
        self._ws = handshaken.connection if handshaken is not None else None
        self._frames = InboundFrames(self._ws)
        server.ws = None
        self._hub = gevent.get_hub()
        self._readable = self._hub.loop.io(self._raw.fileno(), 1)  # READ
        # A read that left the socket empty: the next waits for data first instead of failing with EAGAIN
        # (a syscall and an exception per message, on the busiest path there is).
        self._drained = False

    def recv(self) -> bytes:
        """The next bytes from the peer (waits); b"" once the connection is over."""
        while True:
            if self._drained:
                self._hub.wait(self._readable)
            try:
                size = self._raw.recv_into(_RECV_BUFFER, RECV_BYTES)
            except BlockingIOError:
                self._drained = True
                continue
            except OSError:
                return b""
            self._drained = size < RECV_BYTES
            return _RECV_BUFFER[:size].tobytes()

    def serve_reads(self, on_data: Callable[[bytes], bool]) -> None:
        """Call `on_data` with every read from the event loop itself, until it returns False or the
        connection ends; this greenlet waits meanwhile (and raises what `on_data` raised).

        The loop calls a read watcher's callback directly: a message costs no greenlet switch, no waiter
        and no EAGAIN, where a greenlet waiting in `recv` costs two switches per message. So `on_data`
        must never wait (the hub's methods never do; a join may, which is why the session joins first)."""
        waiter: Waiter[None] = Waiter()
        readable = self._readable

        def on_readable() -> None:
            try:
                size = self._raw.recv_into(_RECV_BUFFER, RECV_BYTES)
            except BlockingIOError:
                return  # woken for nothing
            except OSError:
                size = 0
            try:
                if size and on_data(_RECV_BUFFER[:size].tobytes()):
                    return
            except BaseException as exc:  # re-raised on the waiting greenlet
                readable.stop()
                waiter.throw(exc)
                return
            readable.stop()
            waiter.switch(None)

        readable.start(on_readable)
        try:
            waiter.get()
        finally:
            readable.stop()

    def events(self, data: bytes) -> Iterator[str | Event]:
        """The messages `data` completes: the text of each ordinary text frame, wsproto's events for the
        other frames (a CloseConnection on a protocol error too); see app.framing."""
        return self._frames.feed(data)

    def protocol_failed(self, event: CloseConnection) -> bool:
        """Whether wsproto reported a protocol error (the peer's own close moves its state, this does not)."""
        return self._ws.state in (ConnectionState.OPEN, ConnectionState.LOCAL_CLOSING)

    def control_reply(self, event: Ping | CloseConnection) -> bytes:
        """The frame answering a ping (its pong) or a close (the close reply); b"" once we cannot send."""
        try:
            return self._ws.send(event.response())
        except LocalProtocolError:  # already closed
            return b""

    def close_frame(self, code: int, reason: str) -> bytes:
        """The close frame that starts a close handshake with `code`; b"" if one was already sent."""
        try:
            return self._ws.send(CloseConnection(code, reason))
        except LocalProtocolError:
            return b""

    def send_now(self, data: bytes | memoryview) -> int:
        """Write what the socket takes right now, without waiting; the number of bytes written.

        OSError when the connection is broken."""
        try:
            return self._raw.send(data)
        except BlockingIOError:
            return 0

    def send_blocking(self, data: bytes) -> None:
        """Write all of `data`, waiting (cooperatively) while the socket is full; OSError when broken."""
        self._sock.sendall(data)

    def abort(self) -> None:
        """Tear the TCP connection down now: the reader sees the end, a blocked writer an error."""
        with contextlib.suppress(OSError):  # already gone
            self._raw.shutdown(socket.SHUT_RDWR)


@dataclass(frozen=True, slots=True)
class Violation:
    """The peer broke a bound of the transport: the connection is failed with `close_code`."""

    close_code: int
    reason: str


class Inbound:
    """Assembles wsproto's events into messages, within `max_message_bytes` and `max_fragments` frames."""

    __slots__ = ("_fragments", "_max_bytes", "_max_fragments", "_parts", "_size")

    def __init__(self, max_message_bytes: int, max_fragments: int) -> None:
        self._max_bytes = max_message_bytes
        self._max_fragments = max_fragments
        self._parts: list[str | bytes] = []
        self._size = 0
        self._fragments = 0

    def add(self, event: TextMessage | BytesMessage) -> str | bytes | Violation | None:
        """One piece of a data message: the message once complete, a Violation, or None (more to come)."""
        data = event.data
        self._size += len(data)
        if self._size > self._max_bytes:
            return Violation(CloseReason.MESSAGE_TOO_BIG, "message too big")
        if event.frame_finished:
            self._fragments += 1
            if self._fragments >= self._max_fragments and not event.message_finished:
                return Violation(CloseReason.POLICY_VIOLATION, "too many fragments")
        if event.message_finished and not self._parts:
            self._size = self._fragments = 0
            return data
        self._parts.append(data)
        if not event.message_finished:
            return None
        parts, self._parts = self._parts, []
        self._size = self._fragments = 0
        return "".join(parts) if isinstance(data, str) else b"".join(parts)  # type: ignore[arg-type]


def run_websocket(
    server: Server,
    handler: Callable[[ChatSocket], None],
    take_over: Callable[[], Callable[[], None]] | None = None,
) -> None:
    """Run `handler` on flask-sock's `server` for the connection's lifetime, then tear the TCP down.

    With `take_over` (app.server's hook: the connection becomes ours, and the function it returns closes
    it) the handler runs on a greenlet of its own and this returns at once, so the WSGI server's greenlet,
    Flask's request and the environ are gone while the connection idles: what stays is this greenlet,
    suspended a few calls deep, and the chat's own objects. Without it (another WSGI server), in place.
    """
    ws = ChatSocket(server)  # first: before anything else reads or writes the socket
    if take_over is None:
        _serve(ws, handler)
    else:
        # A plain greenlet (no Greenlet object: nobody joins, links or kills it), a call shallower.
        gevent.spawn_raw(_serve, ws, handler, take_over())


def _serve(
    ws: ChatSocket, handler: Callable[[ChatSocket], None], close: Callable[[], None] | None = None
) -> None:
    try:
        handler(ws)
    except ConnectionClosed:
        pass  # the peer went away: the normal end
    except Exception:
        # Logged here: under flask-sock, an error page Flask would write to the upgraded socket is garbage
        # to the client; on a greenlet of its own, gevent would print it to stderr.
        log.exception("websocket handler failed", extra={"event": "handler_error"})
    finally:
        ws.abort()
        if close is not None:
            close()


def text_frame(payload: bytes) -> bytes:
    """A complete server-to-client text frame (RFC 6455 5.2: FIN set, unmasked, no extension) around UTF-8.

    Without permessage-deflate these bytes are the same for every client, so a broadcast builds them once
    instead of once per client through wsproto. wsproto's state is unaffected: it tracks only fragmented
    messages and the close handshake, and these frames are never fragments.
    """
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 1 << 16:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return header + payload
