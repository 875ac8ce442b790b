"""One websocket connection's life: read and parse its frames, apply limits, hand valid requests to the hub.

The session is the only reader of its socket: it parses what arrives (app.transport) and acts on each frame
in turn, on its own greenlet until the client has joined (a join may wait for the cluster's name registry),
then in the event loop's read callback, which never waits; the hub does the writing. It ends when the peer
closes (or answers our close), when the TCP connection ends (the hub cuts slow, dead and unresponsive
clients), or on a protocol violation.

Abuse policy: every rejected frame is answered with an error event and the connection stays open, so an
honest client can correct itself. A connection with more than CHAT_ABUSE_MAX_REJECTS rejected frames within
CHAT_ABUSE_WINDOW_S seconds (a flood, a fuzzer, a broken bot) is closed with 1008 (policy violation) and
counted as connections{result="abuse_closed"}. Control frames share the connection's token bucket with its
messages: a ping beyond the rate is not answered but rejected (rate_limited), so a ping flood ends in 1008
too. So do the violations the websocket layer answers by failing the connection: a message over the hard
size cap (1009, counted as too_large; never buffered whole), a message in more than MAX_FRAGMENTS frames
(1008), a text frame that is not valid UTF-8 (1007, counted as invalid_json) and any other protocol error
(1002).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import gevent
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage
from wsproto.frame_protocol import CloseReason

from app.config import ChatConfig
from app.hub import Client, Hub
from app.instruments import Instruments
from app.limits import RejectWindow, TokenBucket
from app.protocol import ChatText, ClientFrame, Join, Leave, Limits, Rejected, error_event, parse_client_frame
from app.throttled_log import ThrottledLog
from app.transport import ChatSocket, Inbound, Violation

log = logging.getLogger("chat.session")
abuse_log = ThrottledLog(log)  # a client's doing: WARNING at most, rate-limited

POLICY_VIOLATION = 1008
NORMAL_CLOSURE = 1000
# Frames one message may be split into; honest clients send one (browsers never fragment text we allow).
MAX_FRAGMENTS = 16


@dataclass(slots=True)  # one per connection: no instance dict
class Session:
    """Handles the frames of one connection; `run()` returns when the connection is over."""

    ws: ChatSocket
    remote: str
    hub: Hub
    config: ChatConfig
    instruments: Instruments
    _limits: Limits = field(init=False)
    _bucket: TokenBucket = field(init=False)
    _rejects: RejectWindow = field(init=False)
    _inbound: Inbound = field(init=False)

    def __post_init__(self) -> None:
        config = self.config
        self._limits = Limits(config.max_frame_bytes, config.max_text_chars, config.max_name_chars)
        self._bucket = TokenBucket(
            self.config.rate_per_second, self.config.rate_burst, self.hub.stall_s(time.monotonic())
        )
        self._rejects = RejectWindow(self.config.abuse_max_rejects, self.config.abuse_window_s)
        self._inbound = Inbound(self.config.hard_frame_bytes, MAX_FRAGMENTS)

    def run(self) -> None:
        client = self.hub.connect(self.ws, self.remote, self.config.join_timeout_s)
        try:
            if self._until_joined(client):
                # From now on nothing the client sends can make the session wait: its reads are handled
                # by the event loop's callback (no greenlet switch per message).
                self.ws.serve_reads(lambda data: self._on_data(client, data))
        finally:
            self.hub.disconnect(client)

    def _until_joined(self, client: Client) -> bool:
        """Read and act on frames on this greenlet until the client has joined (True) or the connection is
        over (False): a join may wait, for the cluster's name registry."""
        while client.name is None:
            data = self.ws.recv()
            if not data or not self._on_data(client, data):
                return False
            gevent.sleep(0)  # a flood before the join: let everyone else have a turn between reads
        return True

    def _on_data(self, client: Client, data: bytes) -> bool:
        """Act on every frame `data` completes; False once the connection is over."""
        client.heard_from = True
        on_event = self._on_event
        for event in self.ws.events(data):  # noqa: SIM110 - a loop, not all(): one generator less per read
            if not on_event(client, event):
                return False
        return True

    def _on_event(self, client: Client, event: object) -> bool:
        """Act on one ordinary text frame's text or one wsproto event; False once the connection is over."""
        if event.__class__ is str:  # the common case first (app.framing)
            return client.closing or self._on_message(client, event)  # type: ignore[arg-type]
        if isinstance(event, TextMessage | BytesMessage):
            message = self._inbound.add(event)
            if isinstance(message, Violation):
                self._fail(client, message)
                return False
            if message is not None and not client.closing:
                return self._on_message(client, message)
        elif isinstance(event, Ping):
            if self._bucket.allow(self.hub.stall_s(time.monotonic())):
                self.hub.send_frame(client, self.ws.control_reply(event))
            else:
                return self._reject(client, "rate_limited")
        elif isinstance(event, CloseConnection):
            if self.ws.protocol_failed(event):
                self._protocol_error(client, event)
            else:  # the peer closes, or answers our close
                self.hub.send_frame(client, self.ws.control_reply(event))
            return False
        return True

    def _on_message(self, client: Client, data: str | bytes) -> bool:
        """Act on one complete message; False when the connection is closed for abuse."""
        started = time.perf_counter()
        allowed = self._bucket.allow(self.hub.stall_s(time.monotonic()))
        frame = parse_client_frame(data, self._limits) if allowed else Rejected("rate_limited")
        keep_reading = self._handle(client, frame)
        self.instruments.message_handling.observe(time.perf_counter() - started)
        return keep_reading

    def _handle(self, client: Client, frame: ClientFrame) -> bool:
        if frame.__class__ is ChatText and client.name is not None:  # the common case first
            self.instruments.messages_received.inc()
            self.instruments.message_size.observe(frame.size_bytes)  # type: ignore[union-attr]
            self.hub.broadcast_message(client, frame.text)  # type: ignore[union-attr]
            return True
        if isinstance(frame, Join):
            if client.name is not None:
                frame = Rejected("already_joined")
            elif not self.hub.join(client, frame.name):
                frame = Rejected("name_taken")
        elif isinstance(frame, ChatText | Leave) and client.name is None:
            frame = Rejected("not_joined")
        elif isinstance(frame, Leave):
            self.hub.request_close(client, NORMAL_CLOSURE, "bye")

        if isinstance(frame, Rejected):
            return self._reject(client, frame.code)
        return True

    def _reject(self, client: Client, code: str) -> bool:
        """Answer a rejected frame; False (stop reading: nothing more it sends matters) once it is abuse."""
        self.instruments.frames_rejected[code].inc()
        log.debug("frame rejected", extra={"event": "frame_rejected", "code": code, "remote": self.remote})
        self.hub.send_to(client, error_event(code, self._limits))
        if self._rejects.record():
            self._log_abuse(client, "too many rejected frames")
            self.hub.request_close(
                client, POLICY_VIOLATION, "too many rejected frames", result="abuse_closed"
            )
            return False
        return True

    def _fail(self, client: Client, violation: Violation) -> None:
        """Fail the connection for a transport bound it broke: a close frame with its code, then the end."""
        if violation.close_code == CloseReason.MESSAGE_TOO_BIG:
            self.instruments.frames_rejected["too_large"].inc()
        self._log_abuse(client, f"{violation.reason} ({violation.close_code})")
        self.hub.request_close(client, violation.close_code, violation.reason, result="abuse_closed")

    def _protocol_error(self, client: Client, event: CloseConnection) -> None:
        """wsproto failed the connection (1007 invalid UTF-8, 1002 anything else): answer and count it."""
        if event.code == CloseReason.INVALID_FRAME_PAYLOAD_DATA:
            self.instruments.frames_rejected["invalid_json"].inc()
        self._log_abuse(client, f"websocket protocol error ({event.code})")
        client.end_result = client.end_result or "abuse_closed"
        self.hub.leave(client)
        self.hub.send_frame(client, self.ws.control_reply(event))

    def _log_abuse(self, client: Client, why: str) -> None:
        abuse_log.log(
            logging.WARNING,
            "abuse_closed",
            "connection closed for abuse: %s",
            why,
            user=client.name,
            remote=self.remote,
        )
