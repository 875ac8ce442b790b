"""One websocket connection's life: read frames, validate, apply limits, hand valid requests to the hub.

Abuse policy: every rejected frame is answered with an error event and the connection stays open, so an
honest client can correct itself. A connection with more than CHAT_ABUSE_MAX_REJECTS rejected frames within
CHAT_ABUSE_WINDOW_S seconds (a flood, a fuzzer, a broken bot) is closed with 1008 (policy violation) and
counted as connections{result="abuse_closed"}. So are the protocol violations the websocket layer itself
answers by failing the connection: a frame over the hard size cap (1009, counted as too_large; never
buffered) and a text frame that is not valid UTF-8 (1007, counted as invalid_json).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from app.config import ChatConfig
from app.hub import Client, Hub
from app.instruments import Instruments
from app.limits import RejectWindow, TokenBucket
from app.protocol import ChatText, ClientFrame, Join, Leave, Limits, Rejected, error_event, parse_client_frame
from app.transport import ChatSocket, ConnectionClosed

log = logging.getLogger("chat.session")

POLICY_VIOLATION = 1008
NORMAL_CLOSURE = 1000


@dataclass
class Session:
    """Handles the frames of one connection; `run()` returns when the connection is over."""

    ws: ChatSocket
    remote: str
    hub: Hub
    config: ChatConfig
    instruments: Instruments

    def run(self) -> None:
        client = self.hub.connect(self.ws, self.remote)
        limits = Limits(self.config.max_frame_bytes, self.config.max_text_chars, self.config.max_name_chars)
        bucket = TokenBucket(self.config.rate_per_second, self.config.rate_burst)
        rejects = RejectWindow(self.config.abuse_max_rejects, self.config.abuse_window_s)
        try:
            while True:
                data = self.ws.receive()
                client.heard_from = True
                started = time.perf_counter()
                frame = parse_client_frame(data, limits) if bucket.allow() else Rejected("rate_limited")
                keep_open = self._handle(client, frame, limits, rejects)
                self.instruments.message_handling.observe(time.perf_counter() - started)
                if not keep_open:
                    return
        except ConnectionClosed:
            self._account_protocol_violation(client)
        finally:
            self.hub.disconnect(client)

    def _handle(self, client: Client, frame: ClientFrame, limits: Limits, rejects: RejectWindow) -> bool:
        """Act on one frame; False when the connection is to be closed."""
        if isinstance(frame, Join):
            if client.name is not None:
                frame = Rejected("already_joined")
            elif not self.hub.join(client, frame.name):
                frame = Rejected("name_taken")
        elif isinstance(frame, ChatText | Leave) and client.name is None:
            frame = Rejected("not_joined")
        elif isinstance(frame, ChatText):
            self.instruments.messages_received.inc()
            self.instruments.message_size.observe(frame.size_bytes)
            self.hub.broadcast_message(client, frame.text)
        elif isinstance(frame, Leave):
            self.hub.leave(client)
            client.request_close(NORMAL_CLOSURE, "bye")
            return False

        if isinstance(frame, Rejected):
            return self._reject(client, frame.code, limits, rejects)
        return True

    def _reject(self, client: Client, code: str, limits: Limits, rejects: RejectWindow) -> bool:
        self.instruments.frames_rejected[code].inc()
        log.debug("frame rejected", extra={"event": "frame_rejected", "code": code, "remote": self.remote})
        self.hub.send_to(client, error_event(code, limits))
        if rejects.record():
            self._log_abuse(client, "too many rejected frames")
            client.request_close(POLICY_VIOLATION, "too many rejected frames", result="abuse_closed")
            return False
        return True

    def _account_protocol_violation(self, client: Client) -> None:
        """Count frames the websocket layer refused by failing the connection (it never handed them to us)."""
        if self.ws.closed_for_oversize():
            code, why = "too_large", "frame over the hard size cap (1009)"
        elif self.ws.closed_for_invalid_utf8():
            code, why = "invalid_json", "text frame not valid UTF-8 (1007)"
        else:
            return
        self.instruments.frames_rejected[code].inc()
        self._log_abuse(client, why)
        client.end_result = client.end_result or "abuse_closed"

    def _log_abuse(self, client: Client, why: str) -> None:
        log.warning(
            "connection closed for abuse: %s",
            why,
            extra={"event": "abuse_closed", "user": client.name, "remote": self.remote},
        )
