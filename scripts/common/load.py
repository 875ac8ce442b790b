"""Load generator for the chat: N real websocket clients that join, chat, and measure delivery latency.

`--rate R` sends R messages per second in total, spread round-robin over the clients (open loop).
`--rate 0` is closed loop instead: every client sends its next message as soon as its previous one comes
back, which measures the saturation throughput of the server (and of this generator, which shares the
machine). `--bad-ratio F` replaces that share of the open-loop frames with bad ones, cycling through every
protocol error code (so every chat_frames_rejected_total series moves); two extra unjoined "probe"
connections send the ones that need an unjoined client.

Each client is a websocket-client connection with its own receiver thread; messages carry their send
time, so every delivery gives one latency sample. `run_load(LoadSpec(...)) -> LoadResult` is
the core; `python -m scripts.loadgen` is its command line.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import websocket

from app.metrics import REJECT_REASONS

DRAIN_TIMEOUT_S = 5.0  # after the last send, how long to wait for deliveries still in flight
CONNECT_TIMEOUT_S = 10.0
RATE_LIMIT_PROBE_FRAMES = 12  # back-to-back frames: more than the server's default burst of 10
PROBE_CODES = ("not_joined", "name_taken")  # need a connection that has not joined


class LoadError(RuntimeError):
    """The load could not run (e.g. the server is unreachable); the message says what to do."""


@dataclass(frozen=True)
class LoadSpec:
    url: str  # the app's base URL, http://host:port
    clients: int
    seconds: float
    rate: float  # messages per second in total; 0 = closed loop
    bad_ratio: float = 0.0
    text_bytes: int = 64


@dataclass
class LoadResult:
    sent: int = 0  # frames sent, good and bad
    bad_sent: int = 0
    expected_deliveries: int = 0  # accepted messages x joined clients
    delivered: int = 0  # chat messages received by all clients together
    errors: Counter[str] = field(default_factory=Counter)
    disconnects: int = 0  # clients the server closed during the run
    latencies_s: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0  # first send to last delivery

    @property
    def deliveries_per_s(self) -> float:
        return self.delivered / self.elapsed_s if self.elapsed_s else 0.0

    def latency_quantile(self, q: float) -> float:
        """Latency quantile in seconds (q in 0..1); NaN without samples."""
        if len(self.latencies_s) < 2:
            return self.latencies_s[0] if self.latencies_s else float("nan")
        return statistics.quantiles(self.latencies_s, n=1000, method="inclusive")[round(q * 1000) - 1]

    def summary(self) -> str:
        errors = " ".join(f"{code}={n}" for code, n in sorted(self.errors.items())) or "none"
        return (
            f"sent={self.sent} (bad={self.bad_sent}) received={self.delivered}/{self.expected_deliveries} "
            f"deliveries/s={self.deliveries_per_s:.0f} p50={self.latency_quantile(0.5) * 1000:.1f}ms "
            f"p99={self.latency_quantile(0.99) * 1000:.1f}ms disconnects={self.disconnects} errors: {errors}"
        )


class _Client:
    """One connection with its receiver thread; joined under `name`, or an unjoined probe (name None)."""

    def __init__(self, url: str, name: str | None, closed_loop: bool = False, text_bytes: int = 64) -> None:
        self.name = name
        self.ws = _connect(url)
        if name is not None:
            try:
                self.ws.send(json.dumps({"type": "join", "name": name}))
                welcome = json.loads(self.ws.recv())
            except (websocket.WebSocketException, OSError, ValueError) as exc:
                reason = exc or type(exc).__name__
                raise LoadError(
                    f"{name} got no welcome after joining ({reason}); is --url the chat?"
                ) from None
            if welcome.get("type") != "welcome":
                raise LoadError(f"the server refused to let {name} join: {welcome.get('message', welcome)}")
        self.ws.settimeout(None)
        self.closed_loop = closed_loop
        self.padding = "x" * max(0, text_bytes - 24)
        self.sent = 0
        self.delivered = 0
        self.accepted_own = 0  # own messages that came back: the server accepted them
        self.errors: Counter[str] = Counter()
        self.latencies_s: list[float] = []
        self.last_delivery = 0.0
        self.sending = True
        self.connected = True
        self.closed_by_server = False
        self._stopping = False
        self.thread = threading.Thread(target=self._receive, name=f"recv-{name}", daemon=True)
        self.thread.start()

    def send_message(self) -> None:
        self.ws.send(json.dumps({"type": "message", "text": f"lg {time.monotonic_ns()} {self.padding}"}))
        self.sent += 1

    def begin_close(self) -> None:
        """Send our Close; the receiver thread ends when the server's Close comes back."""
        self._stopping = True
        with contextlib.suppress(websocket.WebSocketException, OSError):
            self.ws.send_close()

    def finish(self) -> None:
        self.thread.join(timeout=2)
        self.ws.shutdown()

    def _receive(self) -> None:
        try:
            while True:
                event = json.loads(self.ws.recv())  # "" (not JSON) once the server's Close arrives
                kind = event.get("type")
                if kind == "message":
                    self._on_message(event)
                elif kind == "error":
                    self.errors[event.get("code", "?")] += 1
        except (websocket.WebSocketException, OSError, ValueError):
            self.connected = False
            self.closed_by_server = not self._stopping

    def _on_message(self, event: dict[str, Any]) -> None:
        now = time.monotonic_ns()
        self.delivered += 1
        self.last_delivery = now / 1e9
        parts = str(event.get("text", "")).split(" ", 2)
        if len(parts) >= 2 and parts[0] == "lg" and parts[1].isdigit():
            self.latencies_s.append((now - int(parts[1])) / 1e9)
        if event.get("from") == self.name:
            self.accepted_own += 1
            if self.closed_loop and self.sending:
                try:
                    self.send_message()
                except (websocket.WebSocketException, OSError):
                    self.connected = False


def ws_url(base_url: str) -> str:
    """The chat's websocket endpoint for its http(s) base URL."""
    return base_url.rstrip("/").replace("http://", "ws://", 1).replace("https://", "wss://", 1) + "/ws"


def _connect(url: str) -> websocket.WebSocket:
    target = ws_url(url)
    try:
        return websocket.create_connection(
            target, origin=url.rstrip("/"), timeout=CONNECT_TIMEOUT_S, skip_utf8_validation=True
        )
    except (OSError, websocket.WebSocketException) as exc:
        raise LoadError(f"cannot connect to {target}: {exc}; is the chat running (python -m app)?") from None


class _BadFrames:
    """Sends one bad frame per call, cycling through every protocol error code and over the clients."""

    def __init__(self, url: str, clients: list[_Client]) -> None:
        self._url = url
        self._clients = clients
        self._codes = itertools.cycle(REJECT_REASONS)
        self._turn = itertools.count()
        self.probes = [_Client(url, None), _Client(url, None)]  # every probe ever, for the error counts

    def send(self) -> int:
        """Send the next bad frame; returns how many frames went out."""
        code = next(self._codes)
        turn = next(self._turn)
        if code in PROBE_CODES:
            return self._send_from_probe(code, turn)
        client = self._clients[turn % len(self._clients)]
        if not client.connected:
            return 0
        ws = client.ws
        if code == "rate_limited":
            # Valid messages, so only the ones over the burst are rejected (few rejects: no abuse close).
            for _ in range(RATE_LIMIT_PROBE_FRAMES):
                ws.send(json.dumps({"type": "message", "text": "flood"}))
            return RATE_LIMIT_PROBE_FRAMES
        frames: dict[str, str | bytes] = {
            "invalid_json": "{this is not json",
            "invalid_message": json.dumps({"type": "shout", "text": "?"}),
            "already_joined": json.dumps({"type": "join", "name": client.name}),
            "invalid_name": json.dumps({"type": "join", "name": ""}),
            "too_large": json.dumps({"type": "message", "text": "x" * 5000}),  # over 4096 B and 1000 chars
            "binary_frame": b"\x00\x01binary",
        }
        frame = frames[code]
        if isinstance(frame, bytes):
            ws.send_binary(frame)
        else:
            ws.send(frame)
        return 1

    def _send_from_probe(self, code: str, turn: int) -> int:
        probe = self.probes[-1 - turn % 2]
        if not probe.connected:  # the server closed it (abuse policy): replace it
            probe = _Client(self._url, None)
            self.probes.append(probe)
        taken_name = self._clients[0].name
        event = (
            {"type": "message", "text": "hi"}
            if code == "not_joined"
            else {"type": "join", "name": taken_name}
        )
        probe.ws.send(json.dumps(event))
        return 1


def run_load(spec: LoadSpec, on_phase: Callable[[str], None] | None = None) -> LoadResult:
    """Join `spec.clients` clients, send for `spec.seconds`, wait for deliveries in flight, report.

    `on_phase("load")` is called once every client has joined, right before the first message, and
    `on_phase("drained")` once deliveries have stopped, before the clients leave: a caller measuring the
    server (e.g. its CPU time) can leave out the joins and leaves.
    """
    phase = on_phase or (lambda name: None)
    if spec.clients < 1 or spec.seconds <= 0 or spec.rate < 0 or not 0 <= spec.bad_ratio < 1:
        raise LoadError("need --clients >= 1, --seconds > 0, --rate >= 0 and 0 <= --bad-ratio < 1")
    run_id = uuid.uuid4().hex[:6]
    closed_loop = spec.rate == 0
    clients: list[_Client] = []
    bad: _BadFrames | None = None
    try:
        for i in range(spec.clients):
            clients.append(_Client(spec.url, f"lg{run_id}-{i}", closed_loop, spec.text_bytes))
        if spec.bad_ratio and not closed_loop:
            bad = _BadFrames(spec.url, clients)
        phase("load")
        started = time.monotonic()
        bad_sent = 0
        if closed_loop:
            for client in clients:
                client.send_message()
            time.sleep(spec.seconds)
        else:
            bad_sent = _send_open_loop(clients, bad, spec)
        for client in clients:
            client.sending = False
        _drain(clients, time.monotonic() + DRAIN_TIMEOUT_S)
        phase("drained")
    finally:
        everyone = clients + (bad.probes if bad else [])
        for client in everyone:
            client.begin_close()
        for client in everyone:
            client.finish()
    return _collect(clients, bad.probes if bad else [], started, bad_sent)


def _send_open_loop(clients: list[_Client], bad: _BadFrames | None, spec: LoadSpec) -> int:
    """Send at `spec.rate` frames/s round-robin until `spec.seconds` pass; returns how many were bad."""
    interval = 1.0 / spec.rate
    started = time.monotonic()
    next_send = started
    bad_credit = 0.0  # deterministic share: a bad frame each time the credit reaches 1
    bad_sent = 0
    for turn in itertools.count():
        now = time.monotonic()
        if now >= started + spec.seconds:
            return bad_sent
        if now < next_send:
            time.sleep(next_send - now)
        next_send = max(next_send + interval, now - 1.0)  # behind schedule: catch up at most 1 s
        client = clients[turn % len(clients)]
        bad_credit += spec.bad_ratio
        try:
            if bad and bad_credit >= 1.0:
                bad_credit -= 1.0
                bad_sent += bad.send()
            elif client.connected:
                client.send_message()
        except (websocket.WebSocketException, OSError):
            pass  # the server closed that connection; its receiver thread has noted it
    return bad_sent


def _drain(clients: list[_Client], deadline: float) -> None:
    """Wait until deliveries stop arriving (0.5 s without any), at most until `deadline`."""
    last_total, quiet_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        total = sum(c.delivered for c in clients)
        if total != last_total:
            last_total, quiet_since = total, time.monotonic()
        elif time.monotonic() - quiet_since >= 0.5:
            return
        time.sleep(0.05)


def _collect(clients: list[_Client], probes: list[_Client], started: float, bad_sent: int) -> LoadResult:
    result = LoadResult(bad_sent=bad_sent)
    for client in clients:
        result.sent += client.sent
        result.delivered += client.delivered
        result.latencies_s.extend(client.latencies_s)
    for client in clients + probes:
        result.errors.update(client.errors)
        result.disconnects += client.closed_by_server
    result.sent += bad_sent
    result.expected_deliveries = sum(c.accepted_own for c in clients) * len(clients)
    last = max((c.last_delivery for c in clients), default=started)
    result.elapsed_s = max(last - started, 1e-9)
    return result
