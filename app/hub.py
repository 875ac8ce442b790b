"""The in-memory chat hub: who is connected, who has joined, and fan-out built for many readers.

Concurrency model (gevent, one OS thread). Each connection has one reader, its session: on its own greenlet
until the client has joined, then in the event loop's read callback (app.transport `serve_reads`: no
greenlet switch per message); nobody else reads its socket. Writing is the hub's:
- A broadcast appends its frame, encoded and framed once, to the round's shared log: O(1), whatever the
  number of readers. Once per event-loop iteration (`flush`, a loop callback) every member is written the
  whole log, one `b"".join` shared by all, with one non-blocking send each.
- A frame for one client (a welcome, an error, a pong, a close) goes to that client's outbox after the part
  of the log it has not yet got, so each client's frames keep their order (`log_pos`).
- A client whose socket is full keeps the rest in its outbox and gets a writer greenlet until it has caught
  up; one whose backlog exceeds `max_outbox_bytes` is a slow consumer and is cut (TCP, no close frame: it
  would only queue behind the backlog).
- Presence (who joined and left) is batched: at most one frame per PRESENCE_INTERVAL_S (sooner when a chat
  message follows, so a joiner's arrival is announced before its first message), so a join or leave storm
  costs linear work. Evictions found during a flush are a work list; a leave only records a presence event.
- One ticker greenlet for the whole hub does the timed work: pings, the idle and join deadlines, the close
  handshakes' deadlines, and noticing when the loop itself was stalled (see `stall_s`).
Hub methods never yield while they change the registry, which is why it needs no lock; there is one writer
per socket at any time (the flush, or that client's writer greenlet), so no lock there either.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable

import gevent

from app.fanout import Fanout, LocalFanout, LocalNames, NameRegistry
from app.instruments import Instruments
from app.names import name_key as confusable_key
from app.protocol import encode, encode_message, encode_name, presence_payload, welcome_event
from app.throttled_log import ThrottledLog
from app.transport import PING_FRAME, ChatSocket, text_frame

log = logging.getLogger("chat.hub")
client_log = ThrottledLog(log)  # what clients cause (evictions, timeouts): rate-limited, never ERROR

# How long a client that was asked to close may take to answer the close frame before we cut it off.
CLOSE_HANDSHAKE_TIMEOUT_S = 2.0
# The longest a presence change waits before it is announced (a storm's changes share one frame).
PRESENCE_INTERVAL_S = 0.05
# The ticker's period: the resolution of the join, close and idle deadlines.
TICK_S = 0.1
# A tick this much later than due means the loop was busy elsewhere: the lag counts as a stall.
STALL_SLACK_S = 0.05
# The frame size CHAT_SEND_QUEUE_SIZE counts in, for the backlog a slow consumer is allowed.
OUTBOX_FRAME_BYTES = 4096
_MESSAGE_PREFIX = b'{"type":"message"'
_JOINED_PREFIX = b'{"type":"joined"'


class Client:
    """One websocket connection as the hub sees it: its outbox, and once joined, its name."""

    __slots__ = (
        "closing",
        "end_result",
        "gone",
        "heard_from",
        "key",
        "last_heard",
        "log_pos",
        "name",
        "name_json",
        "outbox",
        "outbox_bytes",
        "remote",
        "touched",
        "writer",
        "ws",
    )

    def __init__(self, ws: ChatSocket, remote: str) -> None:
        self.ws = ws
        self.remote = remote
        self.name: str | None = None
        self.key: str | None = None  # the name's uniqueness key, once joined
        self.name_json = b""  # the name encoded once, for every message it sends
        # Set by whoever ends the connection for a reason other than a normal close (a CONNECTION_RESULT).
        self.end_result: str | None = None
        # Any inbound frame proves the client alive, as a pong does (set by the session, read by the ticker).
        self.heard_from = True
        self.last_heard = time.monotonic()
        self.closing = False  # a close frame is queued: nothing more is sent
        self.outbox: list[bytes | memoryview] = []
        self.outbox_bytes = 0  # queued and being written by the writer greenlet
        self.log_pos = 0  # frames of the round's log already in the outbox (or not for this client)
        self.writer: gevent.Greenlet | None = None
        self.touched = False  # in the hub's list of clients to look at in this round's flush
        self.gone = False  # the socket failed or was cut: nothing more is written


class Hub:
    """Registry of connections and joined clients, and the broadcaster."""

    def __init__(
        self,
        instruments: Instruments,
        queue_size: int,
        ping_interval_s: float,
        idle_timeout_s: float,
        *,
        fanout: Fanout | None = None,
        names: NameRegistry | None = None,
        max_outbox_bytes: int | None = None,
        name_key: Callable[[str], str] = confusable_key,
    ) -> None:
        self._m = instruments
        # CHAT_SEND_QUEUE_SIZE frames of 4 KB unless told otherwise.
        self._max_outbox_bytes = max_outbox_bytes or queue_size * OUTBOX_FRAME_BYTES
        self._ping_interval_s = ping_interval_s
        self._idle_timeout_s = idle_timeout_s
        self._name_key = name_key  # two names with the same key cannot both be in use
        self._fanout = fanout or LocalFanout()
        self._names = names or LocalNames()
        self._connections: set[Client] = set()
        self._members: dict[str, Client] = {}  # name key -> joined client
        self._log: list[bytes] = []  # frames broadcast since the last flush, for every member
        self._touched: list[Client] = []  # clients with a private frame or a log position this round
        self._flush_scheduled = False
        self._round_messages = 0  # chat messages in the round's log
        self._presence: list[tuple[str, str]] = []  # (joined|left, name) not yet announced
        self._last_presence = 0.0
        self._presence_timer: gevent.Greenlet | None = None
        self._slow: list[Client] = []  # slow consumers found this round, cut after it
        self._join_deadlines: deque[tuple[float, Client]] = deque()
        self._close_deadlines: deque[tuple[float, Client]] = deque()
        self._ticker: gevent.Greenlet | None = None
        self._last_tick = time.monotonic()
        self._stalled_s = 0.0
        self.accepting = True
        self._fanout.start(self._deliver)

    # -- connections -------------------------------------------------------------------------------------

    def connect(self, ws: ChatSocket, remote: str, join_timeout_s: float | None = None) -> Client:
        """Register a new connection; one that has not joined within `join_timeout_s` is closed (1008)."""
        client = Client(ws, remote)
        self._connections.add(client)
        self._m.connections["accepted"].inc()
        if join_timeout_s is not None:
            self._join_deadlines.append((time.monotonic() + join_timeout_s, client))
        if self._ticker is None:
            self._last_tick = time.monotonic()  # the loop was not stalled before there was anyone to serve
            self._ticker = gevent.spawn(self._tick_forever)
        return client

    def disconnect(self, client: Client) -> None:
        """The connection is over (its session ends): unregister it, send what is left, count how it ended."""
        self.leave(client)
        self._connections.discard(client)
        if client.writer is not None:
            client.writer.kill(block=False)
        elif client.outbox and not client.gone:  # e.g. the reply to the peer's close: small, one try
            with contextlib.suppress(OSError):
                client.ws.send_now(b"".join(client.outbox))
        client.outbox = []
        client.gone = True
        self._m.connections[client.end_result or "closed"].inc()

    def join(self, client: Client, name: str) -> bool:
        """Register `client` under `name`; False if a name with the same key is in use (in the cluster)."""
        key = self._name_key(name)
        if key in self._members or not self._names.claim(key):
            return False
        self._members[key] = client
        client.name, client.key, client.name_json = name, key, encode_name(name)
        client.log_pos = len(self._log)  # gets only what is broadcast from now on
        self._touch(client)
        self._m.registered_clients.set(len(self._members))
        log.info("client joined", extra={"event": "client_joined", "user": name, "remote": client.remote})
        self.send_frame(client, text_frame(encode(welcome_event(name, self._names.cluster_count()))))
        self._note_presence("joined", name)
        return True

    def leave(self, client: Client) -> None:
        """Unregister a joined client and announce it; no-op for clients that never joined."""
        key = client.key
        if key is None or self._members.get(key) is not client:
            return
        del self._members[key]
        self._names.release(key)
        self._catch_up(client)  # what was broadcast before it left is still its to get
        self._m.registered_clients.set(len(self._members))
        log.info("client left", extra={"event": "client_left", "user": client.name, "remote": client.remote})
        self._note_presence("left", client.name or "")

    def request_close(self, client: Client, code: int, reason: str, result: str | None = None) -> None:
        """Leave, then send a close frame after what is already queued; the peer has
        CLOSE_HANDSHAKE_TIMEOUT_S to answer it before the TCP is cut."""
        if client.closing:
            return
        self.leave(client)
        client.end_result = client.end_result or result
        self.send_frame(client, client.ws.close_frame(code, reason))
        client.closing = True
        self._close_deadlines.append((time.monotonic() + CLOSE_HANDSHAKE_TIMEOUT_S, client))

    def abort(self, client: Client, result: str) -> None:
        """End the connection now, without a close handshake (dead or hopelessly slow peer)."""
        client.end_result = client.end_result or result
        self._cut(client)

    def shutdown(self) -> None:
        """Stop accepting connections and ask every client to close (1001 going away)."""
        self.accepting = False
        for client in list(self._connections):
            self.request_close(client, 1001, "server shutting down", result="shutdown")

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    def stall_s(self, now: float) -> float:
        """Seconds the event loop has been unable to run its timers so far (monotonic, never decreasing).

        A token bucket credits a client for them: frames it sent at its normal pace that arrive bunched
        after such a stall are not a burst of its making."""
        overdue = now - self._last_tick - TICK_S - STALL_SLACK_S
        return self._stalled_s + max(0.0, overdue)

    # -- sending -----------------------------------------------------------------------------------------

    def send_to(self, client: Client, event: dict[str, object]) -> None:
        """Send a server event to one client (e.g. an error)."""
        self.send_frame(client, text_frame(encode(event)))

    def send_frame(self, client: Client, frame: bytes) -> None:
        """Queue ready-made frame bytes for one client, after what it has been sent or broadcast so far."""
        if client.closing or client.gone or not frame:
            return
        self._catch_up(client)
        self._queue(client, frame)
        self._schedule_flush()

    def broadcast_message(self, sender: Client, text: str) -> None:
        """Fan a chat message out to every joined client of every replica, the sender included."""
        assert sender.name is not None, "only joined clients send messages"
        if self._presence:  # announce arrivals before anything they say
            self._publish_presence()
        self._fanout.publish(encode_message(sender.name_json, text))

    def broadcast_event(self, payload: dict[str, object]) -> int:
        """Send an arbitrary server event (e.g. {"type": "alert", ...}) to this replica's joined clients.

        Returns how many clients it was queued to. Not counted as chat deliveries.
        """
        self._append_log(text_frame(encode(payload)))
        return len(self._members)

    def flush(self) -> None:
        """Write the round's log to every member and each touched client's outbox; then cut the slow."""
        if self._presence and time.monotonic() - self._last_presence >= PRESENCE_INTERVAL_S:
            self._publish_presence()
        self._flush_scheduled = False
        log_frames, self._log = self._log, []
        messages, self._round_messages = self._round_messages, 0
        started = time.perf_counter()
        if log_frames:
            shared = log_frames[0] if len(log_frames) == 1 else b"".join(log_frames)
            for client in self._members.values():
                if client.log_pos:
                    tail = log_frames[client.log_pos :]
                    if tail:
                        self._queue(client, b"".join(tail))
                elif client.outbox or client.writer is not None:  # behind what is still to be written
                    self._queue(client, shared)
                elif not client.gone:
                    self._write(client, shared)
            if messages:  # the metrics a broadcast costs, paid once per round (instrumentation stays cheap)
                self._m.messages_delivered.inc(messages * len(self._members))
                self._m.broadcast_duration.observe(time.perf_counter() - started)
        touched, self._touched = self._touched, []
        for client in touched:
            client.log_pos = 0
            client.touched = False
            if client.outbox and client.writer is None and not client.gone:
                outbox = client.outbox
                data = outbox[0] if len(outbox) == 1 else b"".join(outbox)
                client.outbox, client.outbox_bytes = [], 0
                self._write(client, data)
        self._cut_slow_consumers()

    # -- internals ---------------------------------------------------------------------------------------

    def _deliver(self, payload: bytes) -> None:
        """An event from the fanout (any replica's): into the round's log for every joined client here."""
        if payload.startswith(_MESSAGE_PREFIX):
            self._round_messages += 1  # counted, and its fan-out timed, once per round in `flush`
            self._append_log(text_frame(payload))
            return
        joiner = self._local_joiner(payload)
        if joiner is not None:  # a lone `joined` is news to everyone but the joiner (it had its welcome)
            self._catch_up(joiner)
        self._append_log(text_frame(payload))
        if joiner is not None:
            joiner.log_pos = len(self._log)

    def _local_joiner(self, payload: bytes) -> Client | None:
        if not payload.startswith(_JOINED_PREFIX):
            return None
        name = json.loads(payload).get("name")
        client = self._members.get(self._name_key(name)) if isinstance(name, str) else None
        if client is None or client.name != name:
            return None
        self._touch(client)
        return client

    def _append_log(self, frame: bytes) -> None:
        self._log.append(frame)
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            gevent.get_hub().loop.run_callback(self.flush)

    def _catch_up(self, client: Client) -> None:
        """Move the part of the round's log `client` has not got yet into its outbox (members only)."""
        if client.key is None or self._members.get(client.key) is not client:
            return
        log_frames = self._log
        if client.log_pos < len(log_frames):
            self._queue(client, b"".join(log_frames[client.log_pos :]))
        self._touch(client)
        client.log_pos = len(log_frames)

    def _touch(self, client: Client) -> None:
        if not client.touched:
            client.touched = True
            self._touched.append(client)

    def _queue(self, client: Client, data: bytes | memoryview) -> None:
        if client.gone:
            return
        client.outbox.append(data)
        client.outbox_bytes += len(data)
        # Only a backlog the socket would not take is slow: one still to be tried is written this round.
        if client.writer is not None and client.outbox_bytes > self._max_outbox_bytes and not client.closing:
            self._slow.append(client)
        self._touch(client)

    def _write(self, client: Client, data: bytes | memoryview) -> None:
        """One non-blocking send; what the socket does not take waits in the outbox for a writer greenlet."""
        try:
            sent = client.ws.send_now(data)
        except OSError:  # the peer is gone; its session will notice and end
            self._cut(client)
            return
        if sent < len(data):
            rest = memoryview(data)[sent:]
            client.outbox.append(rest)
            client.outbox_bytes += len(rest)
            client.writer = gevent.spawn(self._drain, client)
            if client.outbox_bytes > self._max_outbox_bytes and not client.closing:
                self._slow.append(client)

    def _drain(self, client: Client) -> None:
        """Writer greenlet of a client whose socket was full: write its outbox until it has caught up."""
        try:
            while client.outbox and not client.gone:
                outbox, client.outbox = client.outbox, []
                data = b"".join(outbox)
                client.ws.send_blocking(data)
                client.outbox_bytes -= len(data)
        except OSError:
            self._cut(client)
        finally:
            client.writer = None

    def _cut(self, client: Client) -> None:
        client.gone = True
        client.outbox, client.outbox_bytes = [], 0
        client.ws.abort()

    def _cut_slow_consumers(self) -> None:
        """Cut this round's slow consumers; their leaves are presence events, announced later."""
        slow, self._slow = self._slow, []
        for client in slow:
            if client.gone or client.closing:
                continue
            self._m.slow_consumer_evictions.inc()
            client_log.log(
                logging.WARNING,
                "client_evicted",
                "slow consumer evicted",
                user=client.name,
                remote=client.remote,
                backlog_bytes=client.outbox_bytes,
            )
            self.abort(client, "evicted_slow")
            self.leave(client)

    def _note_presence(self, kind: str, name: str) -> None:
        self._presence.append((kind, name))
        if self._presence_timer is None:
            wait = max(0.0, self._last_presence + PRESENCE_INTERVAL_S - time.monotonic())
            self._presence_timer = gevent.spawn_later(wait, self._presence_due)

    def _presence_due(self) -> None:
        self._presence_timer = None
        if self._presence:
            self._publish_presence()

    def _publish_presence(self) -> None:
        events, self._presence = self._presence, []
        self._last_presence = time.monotonic()
        self._fanout.publish(presence_payload(events, self._names.cluster_count()))

    def _tick_forever(self) -> None:
        next_ping = time.monotonic() + self._ping_interval_s
        while True:
            gevent.sleep(TICK_S)
            now = time.monotonic()
            lag = now - self._last_tick - TICK_S
            if lag > STALL_SLACK_S:
                self._stalled_s += lag
            self._last_tick = now
            self._expire_joins(now)
            self._expire_closes(now)
            if now >= next_ping:
                self._ping_round(now)
                next_ping = now + self._ping_interval_s

    def _expire_joins(self, now: float) -> None:
        deadlines = self._join_deadlines
        while deadlines and deadlines[0][0] <= now:
            _, client = deadlines.popleft()
            if client.name is None and client in self._connections:
                client_log.log(logging.INFO, "join_timeout", "client never joined", remote=client.remote)
                self.request_close(client, 1008, "join timeout", result="join_timeout")

    def _expire_closes(self, now: float) -> None:
        deadlines = self._close_deadlines
        while deadlines and deadlines[0][0] <= now:
            _, client = deadlines.popleft()
            if client in self._connections:
                self._cut(client)

    def _ping_round(self, now: float) -> None:
        for client in list(self._connections):
            if client.heard_from:
                client.heard_from = False
                client.last_heard = now
            elif now - client.last_heard > self._idle_timeout_s:
                client_log.log(logging.INFO, "client_timed_out", "client timed out", remote=client.remote)
                self.abort(client, "timed_out")
                continue
            self.send_frame(client, PING_FRAME)
