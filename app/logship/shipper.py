"""The shipper: a bounded queue drained by one background thread, and the logging handler that feeds it.

`emit` only formats and does a non-blocking put (drop + count `queue_full` when full); the thread batches
by bytes, lines and time, and retries with exponential backoff + jitter only what may pass later.
"""

from __future__ import annotations

import itertools
import logging
import queue
import random
import threading
import time
from typing import Any

from app.config import ShipperConfig
from app.logship.payload import Batch, stream_labels
from app.logship.sending import LokiPushClient, ProblemReporter
from app.metrics import ChatMetrics

_STOP = object()  # queue sentinel that wakes the shipper thread for shutdown
_COLLECT_NAP_S = 0.05  # while a batch is open, how often the thread looks for new lines (see _next_item)
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
        self._filling = threading.Event()  # set by a caller when the queue is half full
        self._wake_depth = config.queue_size // 2
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
        depth = self._queue.qsize()
        if depth >= self.config.queue_size:
            self._queue_full_drops.inc()
            return
        self._queue.put((level, time_ns, line))
        if depth >= self._wake_depth:  # filling up: cut the shipper's nap short (see _next_item)
            self._filling.set()

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
            if batch.is_full(self.config):
                break
            item = self._next_item(deadline)
            if item is None:
                break
        return batch

    def _next_item(self, deadline: float) -> Any:
        """The next queued item, napping while the queue is empty; None once `deadline` has passed.

        Naps, not a blocking get(): while this thread blocks in get(), every put() of a logging caller has
        to wake it (a futex call and a GIL hand-over, in the caller's time); while it naps, a put() is a
        plain append, and the nap's end drains whatever came in bulk. A caller that finds the queue half
        full ends the nap at once, so a burst never overflows a small queue while this thread sleeps.
        """
        while True:
            try:
                return self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._filling.clear()
                if self._queue.qsize() == 0:  # nothing came in between: nap (a caller may cut it short)
                    self._filling.wait(min(remaining, _COLLECT_NAP_S))

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
        # Built once: every retry re-sends byte-identical entries (same stream, record timestamp, line). A
        # push Loki stored but whose answer we never got (a timeout) then arrives twice as exact duplicates,
        # which Loki drops (grafana/loki pkg/ingester/stream.go validateEntries, pkg/chunkenc/unordered.go).
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

    def handle(self, record: logging.LogRecord) -> bool:
        """logging.Handler.handle without its per-handler lock: `emit` shares no state between threads
        (formatting is local, the queue is thread-safe), and the lock is a measurable part of a call."""
        if not self.filter(record):
            return False
        self.emit(record)
        return True

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
