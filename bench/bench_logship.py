"""Caller-thread cost of one log record: our Loki handler vs python-logging-loki's, in the same run.

All contenders log the same message to the same strict Loki receiver (tests/support/loki_receiver.py), which
answers 204. It runs in a child process, like a real Loki: in-process, its JSON parsing and validation
would compete for this process's GIL and bill every contender for the test harness. What is timed is the
`logger.info(...)` call in the calling thread, i.e. what a chat request pays; each contender runs several
rounds and the best round counts (robust to noise from other processes on a 2-core machine). Delivery is
checked after each contender, so a fast but lossy handler would show. Baseline for the ratio:
python-logging-loki's `LokiHandler(url, version="1")` (one blocking POST per record); `LokiQueueHandler`
is a second reference, and a NullHandler logger gives the floor.

Targets: ours <= 15 us per record and >= 50x cheaper than LokiHandler.

    python -m bench.bench_logship
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import queue
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection

from logging_loki import LokiHandler, LokiQueueHandler

from app.logformat import JsonLineFormatter
from app.logship import LokiShipHandler, LokiShipper, ShipperConfig, push_url_from, stderr_status_logger
from app.metrics import ChatMetrics
from tests.support.loki_receiver import LokiReceiver

ROUNDS = 3
TARGET_US = 15.0
TARGET_RATIO = 50.0


@dataclass
class Result:
    name: str
    us_per_record: float
    records: int
    delivered: int | None = None
    note: str = ""


def best_us_per_record(logger: logging.Logger, records_per_round: int) -> float:
    """Best round's time per `logger.info` call, in microseconds."""
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for i in range(records_per_round):
            logger.info("chat message %d from user %s", i, "alice", extra={"event": "message"})
        best = min(best, time.perf_counter() - started)
    return best / records_per_round * 1e6


def bench_logger(name: str, handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(f"bench.logship.{name}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.handlers[:] = [handler]
    return logger


class ReceiverProcess:
    """The receiver in a child process; `entries()` asks it how many entries it accepted so far."""

    def __init__(self, conn: Connection, url: str) -> None:
        self._conn = conn
        self.url = url
        self.push_url = push_url_from(url)

    def entries(self) -> int:
        self._conn.send("count")
        return int(self._conn.recv())


def serve_receiver(conn: Connection) -> None:
    """Child process: run a receiver, answer "count" requests until told to stop."""
    with LokiReceiver() as loki:
        conn.send(loki.url)
        while conn.recv() == "count":
            conn.send(len(loki.entries))


@contextlib.contextmanager
def receiver_process() -> Iterator[ReceiverProcess]:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=serve_receiver, args=(child,), daemon=True)
    process.start()
    try:
        if not parent.poll(30):
            raise RuntimeError("the receiver process did not start within 30s")
        yield ReceiverProcess(parent, parent.recv())
    finally:
        parent.send("stop")
        process.join(5)
        if process.is_alive():
            process.kill()


def run_null() -> Result:
    return Result(
        "NullHandler (floor, ships nothing)",
        best_us_per_record(bench_logger("null", logging.NullHandler()), 20_000),
        0,
    )


def run_ours(loki: ReceiverProcess) -> Result:
    per_round = 10_000
    metrics = ChatMetrics()
    config = ShipperConfig(queue_size=ROUNDS * per_round)  # room for every record: time emit, not drops
    shipper = LokiShipper(
        loki.push_url, env="bench", metrics=metrics, config=config,
        status_logger=stderr_status_logger(JsonLineFormatter()),
    )  # fmt: skip
    shipper.start()
    before = loki.entries()
    us = best_us_per_record(bench_logger("ours", LokiShipHandler(shipper, JsonLineFormatter())), per_round)
    shipper.stop(config.shutdown_timeout_s)
    return Result("ours: LokiShipHandler", us, ROUNDS * per_round, loki.entries() - before)


def run_library_sync(loki: ReceiverProcess) -> Result:
    per_round = 300
    handler = LokiHandler(url=loki.push_url, version="1")
    before = loki.entries()
    us = best_us_per_record(bench_logger("loki_sync", handler), per_round)
    handler.emitter.close()
    return Result("python-logging-loki LokiHandler", us, ROUNDS * per_round, loki.entries() - before)


def run_library_queue(loki: ReceiverProcess) -> Result:
    per_round = 2_000
    handler = LokiQueueHandler(queue.Queue(-1), url=loki.push_url, version="1")
    before = loki.entries()
    us = best_us_per_record(bench_logger("loki_queue", handler), per_round)
    started = time.monotonic()
    handler.listener.stop()  # blocks until its unbounded queue is drained, one POST per record
    drain_s = time.monotonic() - started
    handler.handler.emitter.close()
    delivered = loki.entries() - before
    return Result(
        "python-logging-loki LokiQueueHandler", us, ROUNDS * per_round, delivered, f"drain {drain_s:.1f}s"
    )


def main() -> None:
    started = time.monotonic()
    with receiver_process() as loki:
        results = [run_null(), run_ours(loki), run_library_sync(loki), run_library_queue(loki)]
    null, ours, sync, queued = results
    print(f"caller-thread cost per log record, best of {ROUNDS} rounds, same 204 receiver (child process):")
    for result in results:
        delivered = f"delivered {result.delivered}/{result.records}" if result.delivered is not None else ""
        print(f"  {result.name:<38} {result.us_per_record:9.1f} us/record  {delivered}  {result.note}")
    ratio = sync.us_per_record / ours.us_per_record
    ratio_verdict = verdict(ratio >= TARGET_RATIO)
    print(f"ratio LokiHandler / ours:      {ratio:7.1f}x   (target >= {TARGET_RATIO:g}x: {ratio_verdict})")
    print(f"ratio LokiQueueHandler / ours: {queued.us_per_record / ours.us_per_record:7.2f}x")
    print(f"ours / NullHandler floor:      {ours.us_per_record / null.us_per_record:7.2f}x")
    cost_verdict = verdict(ours.us_per_record <= TARGET_US)
    print(f"ours per record: {ours.us_per_record:.1f} us (target <= {TARGET_US:g} us: {cost_verdict})")
    print(f"bench took {time.monotonic() - started:.1f}s")


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


if __name__ == "__main__":
    main()
