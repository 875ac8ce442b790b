"""The chat service's logging: JSON lines to stdout always, and shipped to Loki when LOKI_URL is set.

Loki shipping is built on python-logging-loki's v1 push format and fixes the library's behaviour
(library-notes.md §4). Kept from the library:
  - the v1 payload shape `{"streams": [{"stream": {labels}, "values": [["<ns>", "<line>"]]}]}` of
    `LokiEmitterV1.build_payload`;
  - its label-name sanitising `LokiEmitter.format_label` (`room-id` → `room_id`), completed with the rule it
    misses (a name must not start with a digit or be empty).
Replaced, and why:
  - one blocking POST per record with no timeout (`LokiHandler.emit`) → `emit` only formats and does a
    non-blocking put into a bounded queue (drop + count `queue_full` when full); one background thread
    batches by bytes, lines and time, POSTs with a timeout, and retries with exponential backoff + jitter
    only on 429, 5xx and connection errors (like Promtail and Alloy), a bounded number of times;
  - the unbounded `LokiQueueHandler` queue that loses records at exit → bounded queue, flush at exit with
    a bounded wait (returned shutdown function + atexit);
  - the timestamp taken at send time → `record.created` in nanoseconds, values sorted by time per stream;
  - labels `severity` + `logger` + arbitrary `tags` (one stream per logger x level) → only the bounded
    STREAM_LABEL_NAMES; the logger, message, extras and exception go inside the JSON line;
  - a traceback on stderr per failed record → at most one warning per `warn_interval_s`, on a logger that
    does not propagate (so it never feeds back into the shipper);
  - `requests` → stdlib http.client (see LokiPushClient for why).
Lines over Loki's 256 KB limit are cut to fit and marked `"truncated": true` (still valid JSON).
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import dataclasses
import http.client
import itertools
import json
import logging
import math
import os
import queue
import random
import socket
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from logging_loki.emitter import LokiEmitterV1

from app.logformat import JsonLineFormatter, dumps_line, safe_repr
from app.metrics import ChatMetrics

STREAM_LABEL_NAMES = ("app", "env", "level")
APP_LABEL_VALUE = "chat"
PUSH_PATH = "/loki/api/v1/push"
MAX_LINE_BYTES = 256 * 1024  # Loki's default max_line_size: longer lines are discarded, not stored
MAX_LABEL_VALUE_BYTES = 2048  # Loki rejects the whole push (400) over this
TRUNCATION_MARK = "...[truncated]"  # ASCII: its size in the encoded line is exactly its length
STATUS_LOGGER_NAME = "app.logship.status"
_UNTOUCHABLE_FIELDS = ("ts", "level", "truncated", "original_bytes")  # kept whole when a line is truncated


class LogConfigError(ValueError):
    """A logging setting (LOKI_* variable, level, env) is invalid; the message says what to fix."""


# ---------------------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class ShipperConfig:
    """Shipper tuning; defaults follow Promtail/Alloy (1 MiB or 1 s batches, 0.5 s backoff, 10 retries)."""

    queue_size: int = field(default=10_000, metadata={"env": "LOKI_QUEUE_SIZE"})
    batch_max_bytes: int = field(default=1 << 20, metadata={"env": "LOKI_BATCH_BYTES"})
    batch_max_lines: int = field(default=5_000, metadata={"env": "LOKI_BATCH_LINES"})
    batch_wait_s: float = field(default=1.0, metadata={"env": "LOKI_BATCH_WAIT_S"})
    timeout_s: float = field(default=10.0, metadata={"env": "LOKI_TIMEOUT_S"})
    max_retries: int = field(default=10, metadata={"env": "LOKI_MAX_RETRIES", "allow_zero": True})
    min_backoff_s: float = field(default=0.5, metadata={"env": "LOKI_MIN_BACKOFF_S"})
    # 30 s, not Promtail's 5 min: an app should notice a recovered Loki quickly; the queue absorbs the rest.
    max_backoff_s: float = field(default=30.0, metadata={"env": "LOKI_MAX_BACKOFF_S"})
    shutdown_timeout_s: float = field(default=5.0, metadata={"env": "LOKI_SHUTDOWN_TIMEOUT_S"})
    warn_interval_s: float = 60.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ShipperConfig:
        """Defaults overridden by the LOKI_* variables that are set; LogConfigError names a bad one."""
        overrides: dict[str, Any] = {}
        for setting in dataclasses.fields(cls):
            name = setting.metadata.get("env")
            if name and environ.get(name, "").strip():
                overrides[setting.name] = _parse_number(
                    name, environ[name], setting.type, setting.metadata.get("allow_zero", False)
                )
        return cls(**overrides)


def _parse_number(name: str, raw: str, type_name: Any, allow_zero: bool) -> int | float:
    kind = int if type_name in (int, "int") else float
    try:
        value = kind(raw.strip())
    except ValueError:
        value = -1
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        wanted = "a non-negative" if allow_zero else "a positive"
        raise LogConfigError(f"{name} must be {wanted} {kind.__name__} (got {raw!r})")
    return value


def push_url_from(loki_url: str) -> str:
    """The push endpoint for LOKI_URL given either as Loki's base URL or as the full push URL."""
    parts = urllib.parse.urlsplit(loki_url.strip())
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0..65535
    except ValueError:
        parts = parts._replace(scheme="")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LogConfigError(
            f"LOKI_URL must be an http(s) URL such as http://127.0.0.1:3100 (got {loki_url!r})"
        )
    path = parts.path.rstrip("/")
    if not path.endswith(PUSH_PATH):
        path += PUSH_PATH
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def parse_level(level: str) -> int:
    """A logging level name (any case) as its number; LogConfigError for an unknown name."""
    number = logging.getLevelName(level.strip().upper())
    if not isinstance(number, int):
        raise LogConfigError(
            f"log level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (got {level!r})"
        )
    return number


# ----------------------------------------------------------------------------------------- push payload

_LIBRARY_EMITTER = LokiEmitterV1(url="")  # only for its format_label(); it never sends anything


def sanitize_label_name(name: str) -> str:
    """A valid Loki label name ([a-zA-Z_][a-zA-Z0-9_]*): the library's sanitising plus a leading-digit fix."""
    cleaned = _LIBRARY_EMITTER.format_label(name)
    return cleaned if cleaned and not cleaned[0].isdigit() else f"_{cleaned}"


def stream_labels(env: str) -> dict[str, dict[str, str]]:
    """The label set of each level's stream: {level value: {"app": "chat", "env": env, "level": value}}."""
    if not env or len(env.encode()) > MAX_LABEL_VALUE_BYTES:
        raise LogConfigError(f"APP_ENV must be 1..{MAX_LABEL_VALUE_BYTES} bytes (got {len(env.encode())})")
    names = [sanitize_label_name(name) for name in STREAM_LABEL_NAMES]
    levels = ("debug", "info", "warning", "error", "critical")
    return {level: dict(zip(names, (APP_LABEL_VALUE, env, level), strict=True)) for level in levels}


def truncate_line(line: str, max_bytes: int = MAX_LINE_BYTES) -> str:
    """`line` if it fits in `max_bytes` (UTF-8), else a valid JSON line cut to fit and marked truncated.

    The biggest fields are cut first. Cutting k characters off a string value shortens the encoded line by at
    least k bytes, so one cut sized from the measured excess is enough; other values are first made repr text.
    """
    size = utf8_size(line)
    if size <= max_bytes:
        return line
    try:
        fields = json.loads(line)
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        fields = {"msg": line}
    fields.update(truncated=True, original_bytes=size)
    for _ in range(2 * len(fields)):  # each field is converted to text at most once, then cut at most once
        text = dumps_line(fields)
        excess = utf8_size(text) - max_bytes
        if excess <= 0:
            return text
        key = max(
            (k for k in fields if k not in _UNTOUCHABLE_FIELDS and fields[k] != TRUNCATION_MARK),
            key=lambda k: len(dumps_line({"v": fields[k]})),
            default=None,
        )
        if key is None:
            break
        if isinstance(fields[key], str):
            fields[key] = (
                fields[key][: max(len(fields[key]) - excess - len(TRUNCATION_MARK), 0)] + TRUNCATION_MARK
            )
        else:
            fields[key] = safe_repr(fields[key])  # cut as text on a later pass if still too big
    return dumps_line({k: fields[k] for k in _UNTOUCHABLE_FIELDS if k in fields})


def utf8_size(text: str) -> int:
    """Size of `text` in UTF-8; free for the pure-ASCII lines JsonLineFormatter makes (isascii is O(1))."""
    return len(text) if text.isascii() else len(text.encode())


@dataclass
class Batch:
    """Lines collected for one push, grouped by stream (level)."""

    values_by_level: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    lines: int = 0
    size_bytes: int = 0

    def add(self, level: str, time_ns: int, line: str) -> None:
        line = truncate_line(line)
        self.values_by_level.setdefault(level, []).append((time_ns, line))
        self.lines += 1
        self.size_bytes += utf8_size(line)

    def is_full(self, config: ShipperConfig) -> bool:
        return self.lines >= config.batch_max_lines or self.size_bytes >= config.batch_max_bytes

    def push_body(self, labels_by_level: Mapping[str, dict[str, str]]) -> bytes:
        """The v1 push body; values sorted by time within each stream (Loki < 2.4 rejects disorder)."""
        streams = [
            {
                "stream": labels_by_level.get(level) or {**labels_by_level["info"], "level": level},
                "values": [[str(ns), line] for ns, line in sorted(values, key=lambda value: value[0])],
            }
            for level, values in self.values_by_level.items()
        ]
        return json.dumps({"streams": streams}, separators=(",", ":")).encode()


# ---------------------------------------------------------------------------------------------- sending


@dataclass(frozen=True)
class PushOutcome:
    """What one push attempt got: an HTTP status, or None with the connection error in `detail`."""

    status: int | None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        """Only 429, 5xx and connection errors/timeouts are worth retrying; any other 4xx never will pass."""
        return self.status is None or self.status == 429 or self.status >= 500


class LokiPushClient:
    """One keep-alive HTTP/1.1 connection to Loki's push endpoint, used only by the shipper thread.

    Why stdlib http.client and not `requests` (what python-logging-loki uses): grafana-client in the same
    environment installs urllib3-future, which silently replaces urllib3 under `requests` (library-notes.md
    §3), so the behaviour of pools, retries and timeouts would depend on what else is installed. http.client
    has no hidden retries, pools or logging (its logging would feed back into this shipper), its timeout
    applies to connect and to every socket read/write, and gevent's monkey-patching makes it cooperative.
    """

    _STALE_CONNECTION_ERRORS = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)

    def __init__(self, push_url: str) -> None:
        parts = urllib.parse.urlsplit(push_url)
        # For messages: without the user:password@ that LOKI_URL may carry.
        self.url = urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._target = parts.path + (f"?{parts.query}" if parts.query else "")
        self._headers = {"Content-Type": "application/json"}
        if parts.username is not None:
            credentials = (
                f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
            )
            self._headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
        self._connection: http.client.HTTPConnection | None = None
        self._connection_used = False

    def push(self, body: bytes, timeout_s: float) -> PushOutcome:
        """POST `body`; a keep-alive connection the server closed while idle is reopened once, silently."""
        reused = self._connection is not None and self._connection_used
        try:
            return self._post(body, timeout_s)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            if not (reused and isinstance(exc, self._STALE_CONNECTION_ERRORS)):
                return PushOutcome(None, f"{type(exc).__name__}: {exc}")
        try:  # the server closed our idle keep-alive connection: a fresh connection is not a retry
            return self._post(body, timeout_s)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return PushOutcome(None, f"{type(exc).__name__}: {exc}")

    def _post(self, body: bytes, timeout_s: float) -> PushOutcome:
        connection = self._connect(timeout_s)
        connection.request("POST", self._target, body=body, headers=self._headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")  # read fully so the connection can be reused
        self._connection_used = True
        if response.will_close:
            self.close()
        return PushOutcome(response.status, " ".join(text.split())[:300])

    def _connect(self, timeout_s: float) -> http.client.HTTPConnection:
        if self._connection is None:
            factory = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._connection = factory(self._host, self._port, timeout=timeout_s)
            self._connection_used = False
        self._connection.timeout = timeout_s
        if self._connection.sock is not None:
            self._connection.sock.settimeout(timeout_s)
        return self._connection

    def abort(self) -> None:
        """From another thread: break a request that is blocked on the socket (it then fails at once)."""
        connection = self._connection
        if connection is not None and connection.sock is not None:
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class ProblemReporter:
    """Tells a human that shipping fails: at most one warning per interval, and one line when it recovers."""

    def __init__(self, logger: logging.Logger, interval_s: float) -> None:
        self._logger = logger
        self._interval_s = interval_s
        self._last_warning_at: float | None = None
        self._failing = False

    def failing(self, message: str, **fields: Any) -> None:
        self._failing = True
        now = time.monotonic()
        if self._last_warning_at is None or now - self._last_warning_at >= self._interval_s:
            self._last_warning_at = now
            self._logger.warning(message, extra={"event": "loki_push_failing", **fields})

    def succeeded(self) -> None:
        if self._failing:
            self._failing = False
            self._logger.info("Loki push works again", extra={"event": "loki_push_recovered"})


# ---------------------------------------------------------------------------------------------- shipper

_STOP = object()  # queue sentinel that wakes the shipper thread for shutdown
_ABORT_GRACE_S = 1.0  # after aborting a stuck request, the thread only counts and drops what is left


class LokiShipper:
    """A bounded queue of (level, time_ns, line) drained by one background thread that pushes batches."""

    def __init__(
        self,
        push_url: str,
        *,
        env: str,
        metrics: ChatMetrics,
        config: ShipperConfig,
        status_logger: logging.Logger,
    ) -> None:
        self.config = config
        self._labels_by_level = stream_labels(env)
        self._metrics = metrics
        self._client = LokiPushClient(push_url)
        self._reporter = ProblemReporter(status_logger, config.warn_interval_s)
        # A SimpleQueue (in C) bounded by a size check costs the caller ~10x less than Queue(maxsize) and its
        # Python-level condition variables. Concurrent callers may overshoot the bound by one line each.
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._queue_full_drops = metrics.log_lines_dropped.labels(reason="queue_full")
        self._lines_in_flight = 0  # lines taken off the queue and not yet sent or dropped
        self._stop_requested = threading.Event()
        self._shutdown_deadline = float("inf")
        self._thread = threading.Thread(target=self._run, name="loki-shipper", daemon=True)
        self.thread_ident: int | None = None
        # Evaluated only when /metrics is scraped: no per-record cost.
        metrics.log_queue_depth.set_function(lambda: self._queue.qsize() + self._lines_in_flight)

    def start(self) -> None:
        self._thread.start()
        self.thread_ident = self._thread.ident

    def submit(self, level: str, time_ns: int, line: str) -> None:
        """Never blocks: queue the line, or drop and count it when the queue is full."""
        if self._queue.qsize() >= self.config.queue_size:
            self._queue_full_drops.inc()
        else:
            self._queue.put((level, time_ns, line))

    def stop(self, timeout_s: float) -> bool:
        """Ship what is queued, retrying only until `timeout_s` has passed; True if the thread finished."""
        self._shutdown_deadline = time.monotonic() + timeout_s
        self._stop_requested.set()
        if self._thread.ident is None:
            return True  # never started: nothing to flush
        self._queue.put(_STOP)
        self._thread.join(timeout_s)
        if self._thread.is_alive():  # stuck in a request past the deadline (e.g. Loki never answers)
            self._client.abort()
            self._thread.join(_ABORT_GRACE_S)
        return not self._thread.is_alive()

    # --- shipper thread

    def _run(self) -> None:
        while not self._stop_requested.is_set():
            self._ship_guarded(self._collect_batch())
        while (batch := self._drain_batch()).lines:
            self._ship_guarded(batch)
        self._client.close()

    def _collect_batch(self) -> Batch:
        """Wait for a first line, then gather until the batch is full, batch_wait_s passed or stop asked."""
        batch = Batch()
        item = self._queue.get()
        deadline = time.monotonic() + self.config.batch_wait_s
        while item is not _STOP:
            batch.add(*item)
            self._lines_in_flight = batch.lines
            remaining = deadline - time.monotonic()
            if batch.is_full(self.config) or remaining <= 0:
                break
            try:
                item = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
        return batch

    def _drain_batch(self) -> Batch:
        """At shutdown: what is queued right now, up to one batch, without waiting."""
        batch = Batch()
        while not batch.is_full(self.config):
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                batch.add(*item)
                self._lines_in_flight = batch.lines
        return batch

    def _ship_guarded(self, batch: Batch) -> None:
        """Ship; an unexpected error must not kill the thread (the queue would only fill up and drop).
        Such a batch is counted as `rejected`: it could not be sent as it is, and retrying would not help."""
        try:
            if batch.lines:
                self._ship(batch)
        except Exception as exc:
            self._drop(batch, "rejected")
            self._reporter.failing(f"Loki shipper error, {batch.lines} lines dropped: {exc!r}")
        finally:
            self._lines_in_flight = 0

    def _ship(self, batch: Batch) -> None:
        body = batch.push_body(self._labels_by_level)
        for attempt in itertools.count():
            timeout_s = min(self.config.timeout_s, self._shutdown_time_left())
            if timeout_s <= 0:
                self._drop(batch, "retries_exhausted")
                return
            outcome = self._client.push(body, timeout_s)
            if outcome.ok:
                self._metrics.log_lines_sent.inc(batch.lines)
                self._reporter.succeeded()
                return
            if not outcome.retryable:
                self._drop(batch, "rejected")
                self._reporter.failing(
                    f"Loki rejected a push of {batch.lines} lines with HTTP {outcome.status}: "
                    f"{outcome.detail}. Lines dropped, not retried; check labels, timestamps and line "
                    "sizes against Loki's limits.",
                    status=outcome.status,
                )
                return
            self._reporter.failing(
                f"Loki push to {self._client.url} failing ({outcome.status or outcome.detail}); retrying "
                f"up to {self.config.max_retries} times with backoff, then dropping; lines are also dropped "
                f"when the {self.config.queue_size}-line queue is full. Check that Loki is up and LOKI_URL "
                "is right; see chat_log_shipper_lines_dropped_total. (At most one such warning per "
                f"{self.config.warn_interval_s:g}s.)",
                status=outcome.status,
                detail=outcome.detail,
            )
            if attempt >= self.config.max_retries or not self._pause_before_retry(self._backoff_s(attempt)):
                self._drop(batch, "retries_exhausted")
                return
            self._metrics.log_retries.inc()

    def _backoff_s(self, attempt: int) -> float:
        """Exponential backoff with equal jitter: half fixed, half random, so restarts don't stampede Loki."""
        capped = min(self.config.max_backoff_s, self.config.min_backoff_s * 2**attempt)
        return capped / 2 + random.uniform(0, capped / 2)

    def _pause_before_retry(self, delay_s: float) -> bool:
        """Wait `delay_s`; a shutdown cuts the wait short. False when the shutdown deadline leaves no time."""
        if not self._stop_requested.is_set():
            self._stop_requested.wait(delay_s)
            return not self._stop_requested.is_set() or self._shutdown_time_left() > 0
        if self._shutdown_time_left() <= delay_s:
            return False
        time.sleep(delay_s)
        return True

    def _shutdown_time_left(self) -> float:
        return self._shutdown_deadline - time.monotonic()

    def _drop(self, batch: Batch, reason: str) -> None:
        self._metrics.log_lines_dropped.labels(reason=reason).inc(batch.lines)


class LokiShipHandler(logging.Handler):
    """Formats each record in the caller's thread and hands it to the shipper without ever blocking."""

    def __init__(self, shipper: LokiShipper, formatter: logging.Formatter) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self._shipper = shipper

    def emit(self, record: logging.LogRecord) -> None:
        if threading.get_ident() == self._shipper.thread_ident:
            return  # something logged from the shipper thread itself: shipping it could loop forever
        try:
            self._shipper.submit(record.levelname.lower(), record_time_ns(record), self.format(record))
        except Exception:
            self.handleError(record)


def record_time_ns(record: logging.LogRecord) -> int:
    """When the record was created (not when it is sent), in integer nanoseconds since the epoch."""
    return int(record.created * 1e9)


# ---------------------------------------------------------------------------------------------- install

# One logging setup per process: installing again shuts the previous one down first.
_installed_shutdown: Callable[[], None] | None = None


def install_logging(
    *, metrics: ChatMetrics, loki_url: str | None, env: str, level: str = "INFO"
) -> Callable[[], None]:
    """Configure root logging: JSON lines to stdout always; plus Loki shipping when loki_url is set.
    Returns a shutdown function that flushes (bounded wait) and stops the shipper."""
    global _installed_shutdown
    root_level = parse_level(level)
    formatter = JsonLineFormatter()
    stdout_handler = logging.StreamHandler(sys.stdout)
    stdout_handler.setFormatter(formatter)
    handlers: list[logging.Handler] = [stdout_handler]
    shipper = None
    if loki_url:
        config = ShipperConfig.from_env(os.environ)
        shipper = LokiShipper(
            push_url_from(loki_url), env=env, metrics=metrics, config=config,
            status_logger=stderr_status_logger(formatter),
        )  # fmt: skip
        handlers.append(LokiShipHandler(shipper, formatter))

    if _installed_shutdown is not None:
        _installed_shutdown()
    root = logging.getLogger()
    root.setLevel(root_level)
    for handler in handlers:
        root.addHandler(handler)
    if shipper is not None:
        shipper.start()

    lock = threading.Lock()
    done = False

    def shutdown() -> None:
        nonlocal done
        global _installed_shutdown
        with lock:
            if done:
                return
            done = True
        for handler in handlers:
            root.removeHandler(handler)
        if shipper is not None:
            shipper.stop(shipper.config.shutdown_timeout_s)
        stdout_handler.flush()
        atexit.unregister(shutdown)
        if _installed_shutdown is shutdown:
            _installed_shutdown = None

    atexit.register(shutdown)
    _installed_shutdown = shutdown
    return shutdown


def stderr_status_logger(formatter: logging.Formatter) -> logging.Logger:
    """The shipper's own warnings: to stderr only, never propagated to root (so never back into Loki)."""
    logger = logging.getLogger(STATUS_LOGGER_NAME)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    for old in list(logger.handlers):
        logger.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    logger.addHandler(handler)
    return logger
