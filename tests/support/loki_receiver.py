"""A strict, in-process stand-in for Loki's push API, for tests (there is no Loki binary on these machines).

    with LokiReceiver() as loki:                     # listens on a free port of 127.0.0.1
        start_the_code_under_test(LOKI_URL=loki.url)  # or loki.push_url for the full endpoint
        entries = loki.wait_for_entries(3)           # [Entry(labels, time_ns, line)], in arrival order
        loki.fail_next(429, count=2)                 # the next 2 pushes get HTTP 429
        loki.go_down(); loki.come_up()               # stop listening (and cut open connections); listen again
        loki.set_slow(2.0); loki.set_blackhole(); loki.set_normal()

It answers `POST /loki/api/v1/push` only, and applies Loki's push validation (request-validation-rate-limits
docs): Content-Type application/json; a body `{"streams": [...]}`; each stream has `stream` (1..15 labels,
names `[a-zA-Z_][a-zA-Z0-9_]*` of at most 1024 bytes, string values of at most 2048 bytes) and `values`
(`[["<ns>", "<line>"], ...]`, the timestamp a decimal string of nanoseconds no older than one week and no
further in the future than a grace period, each line at most 256 KB). Success is 204; a violation is a 400
with a one-line text reason, like Loki. Stricter than Loki on purpose: a push is all-or-nothing (Loki keeps
the valid entries of a partly invalid push), the optional third `values` element (structured metadata) is
refused, and by default values must be in time order within a stream (Loki before 2.4 demanded it).

Failure modes: `go_down` (nothing listens: connection refused), `set_slow(s)` (wait s seconds, then
answer), `set_blackhole` (accept the connection, never answer), `fail_next(status, count)` (answer `status`
to the next `count` pushes, then behave normally again); `set_normal` and `come_up` end them.

Observations (thread-safe copies): `entries` (accepted, in arrival order), `pushes` (one PushRecord of
status, reason and entry count per answered push), `wait_for_entries(n)` / `wait_for_pushes(n)` (block with
a deadline, TimeoutError saying what did come). `LokiReceiver(require_time_order=False)` accepts values out
of time order, like Loki 2.4+. `validate_push()` is usable on its own to check a body.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PUSH_PATH = "/loki/api/v1/push"
LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
MAX_LABELS = 15
MAX_LABEL_NAME_BYTES = 1024
MAX_LABEL_VALUE_BYTES = 2048
MAX_LINE_BYTES = 256 * 1024
MAX_AGE_S = 7 * 24 * 3600  # reject_old_samples_max_age
FUTURE_GRACE_S = 600  # creation_grace_period


@dataclass(frozen=True)
class Entry:
    """One accepted log entry."""

    labels: dict[str, str]
    time_ns: int
    line: str

    def fields(self) -> Any:
        """The line parsed as JSON (the chat service ships JSON lines)."""
        return json.loads(self.line)


@dataclass(frozen=True)
class PushRecord:
    """One push request as answered: status and, for an error, the reason sent back."""

    status: int
    reason: str
    entries: int


class PushRejected(ValueError):
    """A push that breaks one of Loki's rules; the message is the 400 body."""


def validate_push(
    body: bytes, content_type: str, *, now_ns: int, require_time_order: bool = True
) -> list[Entry]:
    """The entries of a v1 JSON push, or PushRejected naming the first rule it breaks."""
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise PushRejected(f"unsupported Content-Type {content_type!r}: this receiver takes application/json")
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise PushRejected(f"body is not valid JSON: {exc}") from None
    streams = payload.get("streams") if isinstance(payload, dict) else None
    if not isinstance(streams, list):
        raise PushRejected('body must be an object with a "streams" list')
    entries: list[Entry] = []
    for index, stream in enumerate(streams):
        if not isinstance(stream, dict):
            raise PushRejected(f"streams[{index}] is not an object")
        labels = _valid_labels(stream.get("stream"), index)
        entries.extend(_valid_values(stream.get("values"), labels, index, now_ns, require_time_order))
    return entries


def _valid_labels(labels: Any, index: int) -> dict[str, str]:
    if not isinstance(labels, dict) or not labels:
        raise PushRejected(f"streams[{index}].stream must be a non-empty object of labels")
    if len(labels) > MAX_LABELS:
        raise PushRejected(f"streams[{index}] has {len(labels)} labels, the limit is {MAX_LABELS}")
    for name, value in labels.items():
        if not LABEL_NAME_RE.fullmatch(name):
            raise PushRejected(f"streams[{index}]: invalid label name {name!r}")
        if len(name.encode()) > MAX_LABEL_NAME_BYTES:
            raise PushRejected(
                f"streams[{index}]: label name {name[:40]!r}... longer than {MAX_LABEL_NAME_BYTES}"
            )
        if not isinstance(value, str):
            raise PushRejected(f"streams[{index}]: label {name!r} value must be a string")
        if len(value.encode()) > MAX_LABEL_VALUE_BYTES:
            raise PushRejected(f"streams[{index}]: label {name!r} value longer than {MAX_LABEL_VALUE_BYTES}")
    return dict(labels)


def _valid_values(
    values: Any, labels: dict[str, str], index: int, now_ns: int, require_time_order: bool
) -> list[Entry]:
    if not isinstance(values, list):
        raise PushRejected(f"streams[{index}].values must be a list")
    entries = []
    previous_ns = 0
    for position, value in enumerate(values):
        where = f"streams[{index}].values[{position}]"
        if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
            raise PushRejected(f'{where} must be ["<ns timestamp>", "<line>"] (two strings)')
        stamp, line = value
        if not stamp.isascii() or not stamp.isdecimal():
            raise PushRejected(f"{where}: timestamp {stamp!r} is not a decimal string of nanoseconds")
        time_ns = int(stamp)
        if time_ns < now_ns - MAX_AGE_S * 10**9:
            raise PushRejected(f"{where}: entry too far behind (older than {MAX_AGE_S}s): {stamp}")
        if time_ns > now_ns + FUTURE_GRACE_S * 10**9:
            raise PushRejected(f"{where}: entry has a timestamp too new (future): {stamp}")
        if len(line.encode()) > MAX_LINE_BYTES:
            raise PushRejected(f"{where}: line too long ({len(line.encode())} bytes, max {MAX_LINE_BYTES})")
        if require_time_order and time_ns < previous_ns:
            raise PushRejected(f"{where}: entry out of order for stream {labels}")
        previous_ns = time_ns
        entries.append(Entry(labels, time_ns, line))
    return entries


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    receiver: LokiReceiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connections cut by go_down()/close() are expected here: no traceback on stderr."""


class _PushHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like Loki
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.receiver._track(self.connection, open_=True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.receiver._track(self.connection, open_=False)

    def do_POST(self) -> None:
        self.server.receiver._handle_post(self)

    def do_GET(self) -> None:
        self.reply(404 if self.path != PUSH_PATH else 405, "only POST /loki/api/v1/push is served here")

    do_PUT = do_DELETE = do_GET

    def reply(self, status: int, text: str = "") -> None:
        body = text.encode()
        self.send_response(status)
        if body:
            self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests assert on stderr."""


class LokiReceiver:
    """The receiver: see the module docstring. Thread-safe; use it as a context manager."""

    def __init__(self, *, port: int = 0, require_time_order: bool = True) -> None:
        self.require_time_order = require_time_order
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._changed = threading.Condition()
        self._entries: list[Entry] = []
        self._pushes: list[PushRecord] = []
        self._connections: set[socket.socket] = set()
        self._slow_s = 0.0
        self._fail_status = 0
        self._fail_count = 0
        self._release = threading.Event()  # set: blackholed requests give up, and slow ones stop waiting
        self._release.set()

    # --- lifecycle

    def __enter__(self) -> LokiReceiver:
        self.come_up()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        """Loki's base URL (what LOKI_URL usually holds)."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def push_url(self) -> str:
        return self.url + PUSH_PATH

    def come_up(self) -> None:
        """Listen (again, on the same port after go_down), in normal mode."""
        if self._server is not None:
            return
        self.set_normal()
        self._server = _Server(("127.0.0.1", self._port), _PushHandler)
        self._server.receiver = self
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def go_down(self) -> None:
        """Stop listening and cut every open connection: clients now get connection refused/reset."""
        server, self._server = self._server, None
        if server is None:
            return
        self._release.set()
        server.shutdown()
        server.server_close()
        with self._changed:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(5)

    def close(self) -> None:
        self.go_down()

    # --- failure modes

    def set_normal(self) -> None:
        with self._changed:
            self._slow_s, self._fail_count = 0.0, 0
        self._release.set()

    def set_slow(self, delay_s: float) -> None:
        """Wait `delay_s` before handling each push."""
        with self._changed:
            self._slow_s = delay_s
        self._release.clear()

    def set_blackhole(self) -> None:
        """Accept connections and never answer (until set_normal, go_down or close)."""
        self.set_slow(float("inf"))

    def fail_next(self, status: int, count: int = 1) -> None:
        """Answer `status` (e.g. 429, 500, 400) to the next `count` pushes."""
        with self._changed:
            self._fail_status, self._fail_count = status, count

    # --- observations

    @property
    def entries(self) -> list[Entry]:
        with self._changed:
            return list(self._entries)

    @property
    def pushes(self) -> list[PushRecord]:
        with self._changed:
            return list(self._pushes)

    def wait_for_entries(self, count: int, timeout_s: float = 10.0) -> list[Entry]:
        """Block until at least `count` entries were accepted; TimeoutError (with what came) otherwise."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._entries) >= count, timeout_s):
                raise TimeoutError(
                    f"{len(self._entries)} of {count} entries after {timeout_s}s; pushes: {self._pushes[-5:]}"
                )
            return list(self._entries)

    def wait_for_pushes(self, count: int, timeout_s: float = 10.0) -> list[PushRecord]:
        """Block until at least `count` push requests were answered."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._pushes) >= count, timeout_s):
                raise TimeoutError(f"{len(self._pushes)} of {count} pushes after {timeout_s}s")
            return list(self._pushes)

    # --- request handling (server threads)

    def _track(self, connection: socket.socket, *, open_: bool) -> None:
        with self._changed:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _handle_post(self, request: _PushHandler) -> None:
        if request.path != PUSH_PATH:
            request.reply(404, f"not found: only {PUSH_PATH} is served here")
            return
        with self._changed:
            delay_s = self._slow_s
        if delay_s == float("inf"):  # blackhole: hold the connection until released, then hang up silently
            self._release.wait()
            request.close_connection = True
            return
        if delay_s:
            self._release.wait(delay_s)
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        status, reason, entries = self._answer(body, request.headers.get("Content-Type", ""))
        with self._changed:
            self._entries.extend(entries)
            self._pushes.append(PushRecord(status, reason, len(entries)))
            self._changed.notify_all()
        request.reply(status, reason)

    def _answer(self, body: bytes, content_type: str) -> tuple[int, str, list[Entry]]:
        with self._changed:
            if self._fail_count > 0:
                self._fail_count -= 1
                return self._fail_status, f"simulated HTTP {self._fail_status}", []
        try:
            entries = validate_push(
                body, content_type, now_ns=time.time_ns(), require_time_order=self.require_time_order
            )
        except PushRejected as exc:
            return 400, str(exc), []
        return 204, "", entries
