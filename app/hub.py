"""The in-memory chat hub: who is connected, who has joined, and fan-out to their send queues.

Concurrency model (gevent, one OS thread): every connection has a reader greenlet (simple-websocket's),
a handler greenlet (app.session) and a sender greenlet (`Client._send_loop`), the only one that writes
chat frames to its socket. A broadcast serialises and frames the event once and only *enqueues* the bytes
on each client's bounded queue, so it never waits for a socket; a client whose queue is full is evicted
on the spot, so a slow consumer never slows the others. Hub methods never yield to the gevent loop while
they change the registry, which is why it needs no lock.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import gevent
import gevent.queue

from app.instruments import Instruments
from app.protocol import encode, message_event, presence_event, welcome_event
from app.transport import ChatSocket, ConnectionClosed, text_frame

log = logging.getLogger("chat.hub")

# How long a client that was asked to close may take to answer the close frame before we cut it off.
CLOSE_HANDSHAKE_TIMEOUT_S = 2.0
# Frames a sender writes in one syscall when its queue has several waiting (a busy client catching up).
MAX_FRAMES_PER_WRITE = 64


@dataclass(frozen=True)
class _CloseRequest:
    code: int
    reason: str


class Client:
    """One websocket connection: its send queue, its sender greenlet and, once joined, its name."""

    def __init__(
        self, ws: ChatSocket, remote: str, queue_size: int, ping_interval_s: float, idle_timeout_s: float
    ) -> None:
        self.ws = ws
        self.remote = remote
        self.name: str | None = None
        # Set by whoever ends the connection for a reason other than a normal close (a CONNECTION_RESULT).
        self.end_result: str | None = None
        # Any inbound frame proves the client alive, as a pong does (set by the session, read by the pinger).
        self.heard_from = True
        self._queue: gevent.queue.Queue[bytes | _CloseRequest] = gevent.queue.Queue(maxsize=queue_size)
        self._close_requested = False
        self._ping_interval_s = ping_interval_s
        self._idle_timeout_s = idle_timeout_s
        self._sender = gevent.spawn(self._send_loop)

    def enqueue(self, frame: bytes) -> bool:
        """Queue one encoded frame for this client; False when its queue is full (the caller evicts it)."""
        try:
            self._queue.put_nowait(frame)
        except gevent.queue.Full:
            return False
        return True

    def request_close(self, code: int, reason: str, result: str | None = None) -> None:
        """Have the sender send a close frame after what is already queued; cut the TCP if it cannot."""
        if self._close_requested:
            return
        self._close_requested = True
        self.end_result = self.end_result or result
        try:
            self._queue.put_nowait(_CloseRequest(code, reason))
        except gevent.queue.Full:
            self.ws.abort()

    def abort(self, result: str) -> None:
        """End the connection now, without a close handshake (dead or hopelessly slow peer)."""
        self.end_result = self.end_result or result
        self.ws.abort()

    def finish(self) -> None:
        """Called once the reader has stopped: give a requested close handshake time, then tear down."""
        if self._close_requested:
            self._sender.join(timeout=CLOSE_HANDSHAKE_TIMEOUT_S)
        self._sender.kill(block=True, timeout=1.0)
        self.ws.abort()

    def _send_loop(self) -> None:
        next_ping = time.monotonic() + self._ping_interval_s
        last_heard = time.monotonic()
        try:
            while True:
                try:
                    first = self._queue.get(timeout=max(0.0, next_ping - time.monotonic()))
                except gevent.queue.Empty:
                    first = None
                if first is not None:
                    close_request = self._write_batch(first)
                    if close_request:
                        self._close_gracefully(close_request)
                        return
                now = time.monotonic()
                if now >= next_ping:
                    if self.ws.ping() or self.heard_from:
                        last_heard = now
                    self.heard_from = False
                    if now - last_heard > self._idle_timeout_s:
                        log.info(
                            "client timed out", extra={"event": "client_timed_out", "remote": self.remote}
                        )
                        self.abort("timed_out")
                        return
                    next_ping = now + self._ping_interval_s
        except (ConnectionClosed, OSError):
            self.ws.abort()

    def _write_batch(self, first: bytes | _CloseRequest) -> _CloseRequest | None:
        """Write `first` and whatever else is queued (up to a cap) in one go; return a close request met."""
        frames: list[bytes] = []
        item: bytes | _CloseRequest | None = first
        while isinstance(item, bytes):
            frames.append(item)
            if len(frames) == MAX_FRAMES_PER_WRITE or self._queue.empty():
                item = None
            else:
                item = self._queue.get_nowait()
        if frames:
            self.ws.send_frames(b"".join(frames))
        return item

    def _close_gracefully(self, request: _CloseRequest) -> None:
        with gevent.Timeout(CLOSE_HANDSHAKE_TIMEOUT_S, False):
            self.ws.close(request.code, request.reason)
            self.ws.thread.join()  # the reader ends when the peer answers the close frame
        self.ws.abort()


class Hub:
    """Registry of connections and joined clients, and the broadcaster."""

    def __init__(
        self, instruments: Instruments, queue_size: int, ping_interval_s: float, idle_timeout_s: float
    ) -> None:
        self._m = instruments
        self._queue_size = queue_size
        self._ping_interval_s = ping_interval_s
        self._idle_timeout_s = idle_timeout_s
        self._connections: set[Client] = set()
        self._joined: dict[str, Client] = {}  # casefolded name -> client
        # Clients still to evict while an eviction is being processed: each eviction's `left` broadcast can
        # overflow more queues, so evictions are a work list, never a recursion (thousands deep in a
        # mass disconnect).
        self._evictions: list[Client] | None = None
        self.accepting = True

    def connect(self, ws: ChatSocket, remote: str) -> Client:
        client = Client(ws, remote, self._queue_size, self._ping_interval_s, self._idle_timeout_s)
        self._connections.add(client)
        self._m.connections["accepted"].inc()
        return client

    def join(self, client: Client, name: str) -> bool:
        """Register `client` under `name`; False if the name is taken (case-insensitively)."""
        key = name.casefold()
        if key in self._joined:
            return False
        self._joined[key] = client
        client.name = name
        self._m.registered_clients.set(len(self._joined))
        log.info("client joined", extra={"event": "client_joined", "user": name, "remote": client.remote})
        self._enqueue_or_evict(client, _frame(welcome_event(name, len(self._joined))))
        self._broadcast(_frame(presence_event("joined", name, len(self._joined))), exclude=client)
        return True

    def leave(self, client: Client) -> None:
        """Unregister a joined client and tell the others; no-op for clients that never joined."""
        if client.name is None or self._joined.get(client.name.casefold()) is not client:
            return
        del self._joined[client.name.casefold()]
        self._m.registered_clients.set(len(self._joined))
        log.info("client left", extra={"event": "client_left", "user": client.name, "remote": client.remote})
        self._broadcast(_frame(presence_event("left", client.name, len(self._joined))))

    def disconnect(self, client: Client) -> None:
        """The connection is over: unregister it, tear it down, count how it ended."""
        self.leave(client)
        self._connections.discard(client)
        client.finish()
        self._m.connections[client.end_result or "closed"].inc()

    def send_to(self, client: Client, event: dict[str, object]) -> None:
        """Queue a server event for one client (e.g. an error), evicting it if its queue is full."""
        self._enqueue_or_evict(client, _frame(event))

    def broadcast_message(self, sender: Client, text: str) -> None:
        """Fan a chat message out to every joined client, the sender included."""
        assert sender.name is not None, "only joined clients send messages"
        started = time.perf_counter()
        delivered = self._broadcast(_frame(message_event(sender.name, text)))
        self._m.broadcast_duration.observe(time.perf_counter() - started)
        self._m.messages_delivered.inc(delivered)

    def broadcast_event(self, payload: dict[str, object]) -> int:
        """Send an arbitrary server event (e.g. {"type": "alert", ...}) to every joined client.

        Returns how many clients it was queued to. Not counted as chat deliveries.
        """
        return self._broadcast(_frame(payload))

    def shutdown(self) -> None:
        """Stop accepting connections and ask every client to close (1001 going away)."""
        self.accepting = False
        for client in list(self._connections):
            client.request_close(1001, "server shutting down")

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    def _broadcast(self, frame: bytes, exclude: Client | None = None) -> int:
        queued = 0
        too_slow: list[Client] = []
        # No copy of the registry: enqueue never yields, and evictions (which change it) run after the loop.
        for client in self._joined.values():
            if client is exclude or client.end_result is not None:  # being ended: nothing more to send
                continue
            if client.enqueue(frame):
                queued += 1
            else:
                too_slow.append(client)
        self._evict(too_slow)
        return queued

    def _enqueue_or_evict(self, client: Client, frame: bytes) -> None:
        if not client.enqueue(frame):
            self._evict([client])

    def _evict(self, clients: list[Client]) -> None:
        """Cut slow consumers at once; their `left` broadcasts, which may overflow more queues, run from one
        work list: never a recursion (thousands deep in a mass disconnect), each client evicted once."""
        cut = [client for client in clients if client.end_result is None]  # not already being ended
        for client in cut:
            self._m.slow_consumer_evictions.inc()
            log.warning(
                "slow consumer evicted",
                extra={"event": "client_evicted", "user": client.name, "remote": client.remote},
            )
            client.abort("evicted_slow")
        if self._evictions is not None:  # inside an eviction already: the outermost call announces them
            self._evictions.extend(cut)
            return
        self._evictions = cut
        try:
            while self._evictions:
                self.leave(self._evictions.pop())
        finally:
            self._evictions = None


def _frame(event: dict[str, object]) -> bytes:
    """Serialise and frame a server event once; a broadcast queues the same bytes for every client."""
    return text_frame(encode(event))
