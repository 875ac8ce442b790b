"""The HTTP door: gevent's WSGI server with bounded request heads, a head deadline and connection caps.

gevent.pywsgi.WSGIHandler reads the request line with `rfile.readline(MAX_REQUEST_LINE)` and then the
headers with `http.client.parse_headers(rfile)` (in `read_request`), which accepts 100 header lines of
64 KiB each (6.4 MB buffered per connection) and has no deadline at all: a client that never finishes its
head holds a greenlet, a file descriptor and those megabytes for as long as it likes. We stay on gevent
(one process, the hub in memory, every websocket a greenlet; gunicorn or uvicorn would add a master
process or an asyncio rewrite for limits that are a few lines here) and bound it where it reads:

- `ChatWSGIHandler.handle_one_request` reads the whole head itself, line by line, never more than
  CHAT_MAX_HEADER_BYTES (431, or 414 for the request line alone), all within CHAT_HANDSHAKE_TIMEOUT_S
  (else the connection is closed without an answer); gevent then parses the bytes already read.
- `ChatWSGIServer.handle` counts open connections per remote address and in total, and answers one over
  CHAT_MAX_CONNECTIONS_PER_IP / CHAT_MAX_CONNECTIONS with 503 before reading anything.
- every accepted socket gets TCP_NODELAY: gevent writes a response's headers and body in separate sends,
  and with Nagle the second waits for the client's delayed ACK (~40 ms) on a keep-alive connection.
- client mistakes gevent would log at ERROR (bad request lines, bad Content-Length) are logged at INFO,
  rate-limited (app.throttled_log), and answered with a 400 that says why.
- a websocket route may take its connection over (`environ[TAKE_OVER_KEY]()`, see app.transport): the
  handler greenlet then ends without closing the socket, and the connection's slot is given back by the
  function the hook returns, when the websocket is over. An idle websocket so waits on a greenlet of its
  own with a shallow stack instead of keeping gevent's handler, Flask's request and its environ alive (a
  suspended greenlet keeps a heap copy of its C stack: the deeper it waits, the more each one costs).

A head that never became a request is counted in chat_connections_total{result=handshake_timeout or
headers_too_large}; a refused connection in chat_door_refusals_total{reason="over_capacity"}.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

import gevent
from gevent.pywsgi import WSGIHandler, WSGIServer

from app.config import ChatConfig
from app.instruments import Instruments
from app.metrics import ChatMetrics
from app.throttled_log import ThrottledLog

log = logging.getLogger("chat.door")

MAX_REQUEST_LINE_BYTES = 8192  # gevent's MAX_REQUEST_LINE: a longer request line gets 414
MAX_HEADER_LINES = 100  # http.client's _MAXHEADERS, which gevent's header parser applies
REFUSAL_DRAIN_S = 0.5  # after a refusal, how long we read what the client still sends (so it gets the answer)
REFUSAL_DRAIN_BYTES = 65536
# The read buffer of a connection's request head (and of a plain request's body).
HEAD_BUFFER_BYTES = 1024
# The WSGI environ key of the hook by which a websocket route takes its connection over (see the module doc).
TAKE_OVER_KEY = "chat.take_over"


def http_response(status: str, reason: str, headers: tuple[str, ...] = ()) -> bytes:
    """A complete `Connection: close` response with a one-line plain-text body saying why."""
    body = f"{reason}\n".encode()
    head = [f"HTTP/1.1 {status}", "Connection: close", "Content-Type: text/plain; charset=utf-8"]
    head += [*headers, f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


class _HeadTimeout(Exception):
    """The request head did not arrive within the deadline."""


class _HeadTooLarge(Exception):
    """The request head is larger than the limit (`request_line`: already the request line is)."""

    def __init__(self, request_line: bool) -> None:
        super().__init__()
        self.request_line = request_line


@dataclass
class ConnectionSlots:
    """Open connections, in total and per remote address; `take` refuses one over either cap."""

    max_total: int
    max_per_address: int
    total: int = 0
    _per_address: Counter[str] = field(default_factory=Counter)

    def take(self, address: str) -> str | None:
        """Reserve a slot for `address`; None when taken, else why it was refused."""
        if self.total >= self.max_total:
            return f"server at its connection limit ({self.max_total})"
        if self._per_address[address] >= self.max_per_address:
            return f"too many connections from your address (limit {self.max_per_address})"
        self.total += 1
        self._per_address[address] += 1
        return None

    def give_back(self, address: str) -> None:
        self.total -= 1
        self._per_address[address] -= 1
        if self._per_address[address] <= 0:
            del self._per_address[address]  # an address that left costs no memory

    def of(self, address: str) -> int:
        return self._per_address[address]


class ChatWSGIHandler(WSGIHandler):
    """gevent's handler with a bounded, deadline-limited request head and quiet client errors."""

    server: ChatWSGIServer
    _requests_handled = 0
    taken_over = False  # a websocket session owns the socket now (see `_take_over`)

    def handle_one_request(self) -> Any:
        """gevent's `handle_one_request` (same return protocol) with the head read by `_read_head`."""
        if self.rfile.closed:
            return None
        door = self.server
        first_request = self._requests_handled == 0
        received = bytearray()  # what arrived of this head so far, to tell a stall from a keep-alive idle
        try:
            with gevent.Timeout(door.config.handshake_timeout_s, _HeadTimeout):
                head = self._read_head(received)
        except _HeadTimeout:
            if first_request or received:  # an idle keep-alive connection simply ends
                door.refused("handshake_timeout", self.client_address, "request head not complete in time")
            return None
        except _HeadTooLarge as exc:
            door.refused("headers_too_large", self.client_address, "request head too large")
            if exc.request_line:
                return ("414", http_response("414 URI Too Long", "request line too long"))
            limit = door.config.max_header_bytes
            reason = f"request head larger than {limit} bytes or {MAX_HEADER_LINES} header lines"
            return ("431", http_response("431 Request Header Fields Too Large", reason))
        except OSError:  # reset by the peer, or similar: nothing to answer
            return None
        if head is None:
            return None
        self._requests_handled += 1
        self.requestline, header_block = head
        self.response_length = 0
        rfile = self.rfile
        self.rfile = BytesIO(header_block)  # gevent's read_request parses the headers from self.rfile
        try:
            parsed = self.read_request(self.requestline)
        except Exception as exc:  # gevent's own contract: any error parsing a request is the client's
            return self._handle_client_error(exc)
        finally:
            self.rfile = rfile
        if not parsed:
            return ("400", http_response("400 Bad Request", "malformed request"))
        self.environ = self.get_environ()
        self.environ[TAKE_OVER_KEY] = self._take_over
        self.application = self.server.application
        self.handle_one_response()
        self.environ.pop(TAKE_OVER_KEY, None)  # (a handler <-> environ cycle otherwise)
        if self.taken_over:
            self.socket = None  # gevent's `handle` would read from it and close it on the way out
            return None
        if self.close_connection or self.rfile.closed:
            return None
        return True

    def _take_over(self) -> Callable[[], None]:
        """The caller owns the connection from now on; it calls the returned function once it is over."""
        self.taken_over = True
        return self.server.handed_over(self.socket, self.client_address)

    def _read_head(self, received: bytearray) -> tuple[str, bytes] | None:
        """(request line, header bytes ending with the blank line); None if the client left first."""
        budget = self.server.config.max_header_bytes
        line = self.rfile.readline(min(budget, MAX_REQUEST_LINE_BYTES) + 1)
        received += line
        if not line:
            return None
        while line in (b"\r\n", b"\n"):  # RFC 9112 2.2: ignore empty lines before a request line
            line = self.rfile.readline(min(budget, MAX_REQUEST_LINE_BYTES) + 1)
            received += line
            if not line:
                return None
        if not line.endswith(b"\n"):
            raise _HeadTooLarge(request_line=True)
        budget -= len(line)
        headers: list[bytes] = []
        while True:
            header = self.rfile.readline(budget + 1)
            received += header[:1]  # only whether anything came: the bytes themselves are in `headers`
            if not header:
                return None
            budget -= len(header)
            if budget < 0 or not header.endswith(b"\n"):
                raise _HeadTooLarge(request_line=False)
            headers.append(header)
            if header in (b"\r\n", b"\n"):
                return line.decode("latin-1"), b"".join(headers)
            if len(headers) > MAX_HEADER_LINES:
                raise _HeadTooLarge(request_line=False)

    def _handle_client_error(self, ex: BaseException) -> tuple[str, bytes]:
        """A request gevent cannot parse: INFO (rate-limited), and a 400 that says why, never a traceback."""
        self.server.throttled.log(
            logging.INFO,
            "bad_request",
            "bad HTTP request from %s: %s",
            _address(self.client_address),
            type(ex).__name__,
            remote=_address(self.client_address),
        )
        return ("400", http_response("400 Bad Request", "malformed HTTP request"))


class ChatWSGIServer(WSGIServer):
    """gevent's WSGIServer with ChatWSGIHandler, connection caps and TCP_NODELAY on every connection."""

    handler_class = ChatWSGIHandler

    def __init__(
        self,
        listener: Any,
        application: Any,
        config: ChatConfig,
        instruments: Instruments,
        metrics: ChatMetrics,
        **kwargs: Any,
    ) -> None:
        super().__init__(listener, application, **kwargs)
        self.config = config
        self.instruments = instruments
        self._over_capacity = metrics.door_refusals.labels(reason="over_capacity")
        self.slots = ConnectionSlots(config.max_connections, config.max_connections_per_ip)
        self.throttled = ThrottledLog(log)
        self._handed_over: set[socket.socket] = set()  # taken over, until gevent's do_close has passed

    def handle(self, sock: socket.socket, address: Any) -> None:
        with contextlib.suppress(OSError):  # not TCP (a Unix socket): nothing to tune
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        remote = _address(address)
        refusal = self.slots.take(remote)
        if refusal is not None:
            self._over_capacity.inc()
            self.throttled.log(
                logging.INFO, "over_capacity", "connection refused: %s", refusal, remote=remote
            )
            _answer_and_close(sock, http_response("503 Service Unavailable", refusal, ("Retry-After: 5",)))
            return
        # gevent's own reader would buffer 8 KB; when thousands connect at once, thousands of those are
        # in use together and leave the heap fragmented for the websockets that stay (a head is ~300 B).
        handler = self.handler_class(sock, address, self, sock.makefile("rb", HEAD_BUFFER_BYTES))
        try:
            handler.handle()
        finally:
            if not handler.taken_over:  # else its slot is given back when its websocket is over
                self.slots.give_back(remote)

    def handed_over(self, sock: socket.socket, address: Any) -> Callable[[], None]:
        """`sock` is a websocket's now: not closed when its handler ends; the function closing it instead."""
        self._handed_over.add(sock)
        remote = _address(address)

        def close() -> None:
            sock.close()
            self.slots.give_back(remote)

        return close

    def do_close(self, sock: socket.socket, *args: Any) -> None:
        """gevent's, after every handler: close the socket, unless a websocket took it over."""
        if sock in self._handed_over:
            self._handed_over.discard(sock)
        else:
            sock.close()

    def refused(self, result: str, address: Any, why: str) -> None:
        """Count a head that never became a request (a CONNECTION_RESULT) and log it (INFO, rate-limited)."""
        self.instruments.connections[result].inc()
        remote = _address(address)
        self.throttled.log(logging.INFO, result, "connection refused: %s", why, remote=remote)


def _answer_and_close(sock: socket.socket, response: bytes) -> None:
    """Send `response`, then read (briefly, boundedly) what the client sent, so the close is no reset."""
    try:
        sock.sendall(response)
        sock.shutdown(socket.SHUT_WR)
        with gevent.Timeout(REFUSAL_DRAIN_S, False):
            drained = 0
            while drained < REFUSAL_DRAIN_BYTES:
                chunk = sock.recv(16384)
                if not chunk:
                    break
                drained += len(chunk)
    except OSError:
        pass
    finally:
        sock.close()


def _address(address: Any) -> str:
    return str(address[0]) if isinstance(address, tuple) else str(address or "unknown")
