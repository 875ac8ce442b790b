"""The Loki shipper against a strict local receiver on real sockets: delivery, retries, failures, exit."""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator

import pytest

from app.logformat import JsonLineFormatter
from app.logship import LokiShipHandler, LokiShipper, ShipperConfig, push_url_from, stderr_status_logger
from app.metrics import ChatMetrics
from scripts.common.paths import REPO_ROOT
from tests.support.loki_receiver import LokiReceiver
from tests.support.metrics import wait_until

# Fast retries so that failure scenarios play out in well under a second per step.
FAST = ShipperConfig(
    batch_wait_s=0.05,
    timeout_s=2.0,
    min_backoff_s=0.05,
    max_backoff_s=0.2,
    max_retries=50,
    shutdown_timeout_s=2.0,
)


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def shipping_logger(
    receiver_url: str, metrics: ChatMetrics, config: ShipperConfig = FAST
) -> Iterator[tuple[logging.Logger, LokiShipper]]:
    """A private logger whose only handler ships to Loki (root and pytest's handlers stay out of the way)."""
    shipper = LokiShipper(
        push_url_from(receiver_url), env="test", metrics=metrics, config=config,
        status_logger=stderr_status_logger(JsonLineFormatter()),
    )  # fmt: skip
    logger = logging.getLogger(f"chat.test.{uuid.uuid4().hex[:8]}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(LokiShipHandler(shipper, JsonLineFormatter()))
    shipper.start()
    try:
        yield logger, shipper
    finally:
        shipper.stop(config.shutdown_timeout_s)
        logger.handlers.clear()


def value(metrics: ChatMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def sent(metrics: ChatMetrics) -> float:
    return value(metrics, "chat_log_shipper_lines_sent_total")


def dropped(metrics: ChatMetrics, reason: str) -> float:
    return value(metrics, "chat_log_shipper_lines_dropped_total", reason=reason)


def retries(metrics: ChatMetrics) -> float:
    return value(metrics, "chat_log_shipper_retries_total")


def test_lines_arrive_with_stream_labels_record_timestamps_and_json_content():
    metrics = ChatMetrics()
    with LokiReceiver() as loki, shipping_logger(loki.url, metrics) as (logger, _):
        seen = ListHandler()
        logger.addHandler(seen)
        logger.info("user %s joined", "ann", extra={"event": "join", "room": "lobby"})
        logger.warning("slow client")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logger.exception("handler failed", extra={"event": "error"})
        # A record created an hour ago keeps its own time (python-logging-loki stamps the send time).
        old = logger.makeRecord(logger.name, logging.INFO, __file__, 1, "from the past", (), None)
        old.created -= 3600
        logger.handle(old)

        entries = loki.wait_for_entries(4)
        wait_until(lambda: sent(metrics) == 4, what="4 lines counted as sent")

    by_msg = {entry.fields()["msg"]: entry for entry in entries}
    assert sorted(by_msg) == ["from the past", "handler failed", "slow client", "user ann joined"]
    for record in seen.records:
        entry = by_msg[record.getMessage()]
        assert entry.labels == {"app": "chat", "env": "test", "level": record.levelname.lower()}
        assert abs(entry.time_ns - record.created * 1e9) < 1_000  # record.created, to the microsecond
    assert by_msg["user ann joined"].fields() == {
        "ts": by_msg["user ann joined"].fields()["ts"],
        "level": "info",
        "logger": seen.records[0].name,
        "msg": "user ann joined",
        "event": "join",
        "room": "lobby",
    }
    assert "RuntimeError: boom" in by_msg["handler failed"].fields()["exc"]
    assert [push.status for push in loki.pushes] == [204] * len(loki.pushes)
    assert value(metrics, "chat_log_shipper_queue_lines") == 0


def test_values_within_a_stream_are_sent_in_time_order():
    metrics = ChatMetrics()
    with LokiReceiver() as loki, shipping_logger(loki.url, metrics) as (logger, _):
        for offset in (3, 1, 2, 0):  # records whose creation times arrive out of order in one batch
            record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, f"t-{offset}", (), None)
            record.created = time.time() - 60 + offset
            logger.handle(record)
        entries = loki.wait_for_entries(4)
    assert [entry.fields()["msg"] for entry in entries] == ["t-0", "t-1", "t-2", "t-3"]


@pytest.mark.parametrize("status", [429, 500, 503])
def test_429_and_5xx_are_retried_then_delivered(status):
    metrics = ChatMetrics()
    with LokiReceiver() as loki, shipping_logger(loki.url, metrics) as (logger, _):
        loki.fail_next(status, count=2)
        logger.info("retry me")
        entries = loki.wait_for_entries(1)
        wait_until(lambda: sent(metrics) == 1, what="line counted as sent")
    assert [entry.fields()["msg"] for entry in entries] == ["retry me"]
    assert [push.status for push in loki.pushes] == [status, status, 204]
    assert retries(metrics) == 2
    assert sum(dropped(metrics, reason) for reason in ("queue_full", "retries_exhausted", "rejected")) == 0


def test_a_400_is_dropped_at_once_as_rejected_and_later_lines_still_ship():
    metrics = ChatMetrics()
    with LokiReceiver() as loki, shipping_logger(loki.url, metrics) as (logger, _):
        loki.fail_next(400, count=1)
        logger.info("refused")
        wait_until(lambda: dropped(metrics, "rejected") == 1, what="rejected count")
        logger.info("accepted")
        entries = loki.wait_for_entries(1)
    assert [entry.fields()["msg"] for entry in entries] == ["accepted"]
    assert [push.status for push in loki.pushes] == [400, 204]
    assert retries(metrics) == 0


def test_retries_are_bounded_then_the_batch_is_dropped_as_retries_exhausted():
    metrics = ChatMetrics()
    config = ShipperConfig(**{**FAST.__dict__, "max_retries": 2, "batch_max_lines": 3})
    with LokiReceiver() as loki, shipping_logger(loki.url, metrics, config) as (logger, _):
        loki.fail_next(500, count=100)
        for i in range(3):
            logger.info("doomed %d", i)
        assert [push.status for push in loki.wait_for_pushes(3)] == [500, 500, 500]
        wait_until(lambda: dropped(metrics, "retries_exhausted") == 3, what="retries_exhausted count")
        assert len(loki.pushes) == 3  # the first try and 2 retries, no more
        assert retries(metrics) == 2
        loki.set_normal()
        logger.info("after")
        assert [entry.fields()["msg"] for entry in loki.wait_for_entries(1)] == ["after"]


def test_connection_errors_are_retried_and_shipping_resumes_after_recovery(capfd):
    metrics = ChatMetrics()
    with LokiReceiver() as loki, shipping_logger(loki.url, metrics) as (logger, _):
        loki.go_down()
        logger.error("while down")
        wait_until(lambda: retries(metrics) >= 2, what="retries on connection refused")
        loki.come_up()
        assert [entry.fields()["msg"] for entry in loki.wait_for_entries(1)] == ["while down"]
        logger.info("after recovery")
        entries = loki.wait_for_entries(2)
        wait_until(lambda: sent(metrics) == 2, what="both lines counted as sent")
    assert [entry.fields()["msg"] for entry in entries] == ["while down", "after recovery"]
    assert dropped(metrics, "retries_exhausted") == 0
    err = capfd.readouterr().err
    assert err.count('"event": "loki_push_failing"') == 1
    assert err.count('"event": "loki_push_recovered"') == 1
    assert "ConnectionRefusedError" in err and "Traceback" not in err
    assert all("loki_push" not in entry.line for entry in entries)  # the warnings never loop into Loki


def test_a_loki_restart_between_pushes_costs_no_retry_and_no_warning(capfd):
    """The kept-alive connection goes stale when Loki restarts: reopening it once is not a failure."""
    metrics = ChatMetrics()
    with LokiReceiver() as loki, shipping_logger(loki.url, metrics) as (logger, _):
        logger.info("before")
        loki.wait_for_entries(1)
        loki.go_down()  # cuts the connection the shipper keeps open
        loki.come_up()
        logger.info("after")
        entries = loki.wait_for_entries(2)
    assert [entry.fields()["msg"] for entry in entries] == ["before", "after"]
    assert retries(metrics) == 0
    assert "loki_push_failing" not in capfd.readouterr().err


def test_the_warning_names_the_url_without_its_credentials(capfd):
    metrics = ChatMetrics()
    with LokiReceiver() as loki:
        loki.go_down()
        url_with_secret = loki.url.replace("http://", "http://tenant:s3cret@")
        with shipping_logger(url_with_secret, metrics) as (logger, _):
            logger.info("x")
            wait_until(lambda: retries(metrics) >= 1, what="a failed push")
    err = capfd.readouterr().err
    assert loki.push_url in err and "s3cret" not in err


def log_calls_seconds(logger: logging.Logger, count: int) -> float:
    started = time.perf_counter()
    for i in range(count):
        logger.info("chat message %d from user %s", i, "alice", extra={"event": "message"})
    return time.perf_counter() - started


@pytest.mark.parametrize("mode", ["down", "slow", "blackhole"])
def test_logging_never_waits_for_a_failing_loki(mode, capfd):
    """The caller's cost stays that of formatting; full-queue drops are counted; stderr gets one warning."""
    metrics = ChatMetrics()
    # The in-flight batch closes on size only (a long batch_wait), so the expected depth below is exact.
    config = ShipperConfig(
        **{**FAST.__dict__, "queue_size": 100, "batch_max_lines": 20, "batch_wait_s": 30, "timeout_s": 0.3}
    )
    baseline = logging.getLogger(f"chat.test.null.{mode}")
    baseline.propagate = False
    baseline.setLevel(logging.DEBUG)  # like the shipping logger: the record is made, then handled
    baseline.addHandler(logging.NullHandler())
    calls_per_round, rounds = 1_000, 7
    with LokiReceiver() as loki:
        {"down": loki.go_down, "slow": lambda: loki.set_slow(30), "blackhole": loki.set_blackhole}[mode]()
        with shipping_logger(loki.url, metrics, config) as (logger, shipper):
            ours, base = [], []
            for _ in range(rounds):  # interleaved, best of each: robust to noise from other processes
                base.append(log_calls_seconds(baseline, calls_per_round))
                ours.append(log_calls_seconds(logger, calls_per_round))
            total = calls_per_round * rounds
            # Structural: the shipper holds one batch in flight and a full queue; every other line was
            # dropped and counted, without the caller ever waiting for room.
            wait_until(lambda: retries(metrics) >= 2, what="failing pushes retried")
            depth = value(metrics, "chat_log_shipper_queue_lines")
            assert depth == config.queue_size + config.batch_max_lines
            assert dropped(metrics, "queue_full") == total - depth
            assert sent(metrics) == 0
            stop_started = time.monotonic()
            assert shipper.stop(0.5), "shutdown must not wait forever on a failing Loki"
            stop_s = time.monotonic() - stop_started
    assert dropped(metrics, "queue_full") + dropped(metrics, "retries_exhausted") == total
    assert min(ours) < 5 * min(base), f"ours {min(ours):.4f}s vs NullHandler {min(base):.4f}s per round"
    assert stop_s < 5, f"stop took {stop_s:.1f}s with a 0.5s bound"
    err = capfd.readouterr().err
    assert err.count('"event": "loki_push_failing"') == 1, err[:2000]
    assert "Traceback" not in err and "Logging error" not in err


EXIT_SCRIPT = textwrap.dedent(
    """
    import logging, sys
    from app.config import ChatConfig
    from app.logship import install_logging
    from app.metrics import ChatMetrics
    shipping = ChatConfig.from_env().log_shipping  # the LOKI_* tuning, as `python -m app` reads it
    shutdown = install_logging(
        metrics=ChatMetrics(), loki_url=sys.argv[1], env="exit-test", shipping=shipping
    )
    for i in range(int(sys.argv[2])):
        logging.getLogger("chat.exit").info("line %d", i, extra={"seq": i})
    if sys.argv[3] == "explicit":
        shutdown()
    """
)


def run_exit_script(loki_url: str, lines: int, how: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", EXIT_SCRIPT, loki_url, str(lines), how],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), **env},
    )  # fmt: skip


@pytest.mark.parametrize("how", ["atexit", "explicit"])
def test_a_process_that_exits_right_after_logging_delivers_every_line(how):
    with LokiReceiver() as loki:
        # A long batch wait: without the exit flush nothing would be sent before the process ends.
        result = run_exit_script(loki.url, 500, how, LOKI_BATCH_WAIT_S="30")
        assert result.returncode == 0, result.stderr
        entries = loki.entries
    assert sorted(entry.fields()["seq"] for entry in entries) == list(range(500))  # all, exactly once
    assert {entry.labels["env"] for entry in entries} == {"exit-test"}
    assert len(result.stdout.splitlines()) == 500  # and the same lines on stdout
    assert json.loads(result.stdout.splitlines()[0])["msg"] == "line 0"


def test_a_process_exits_promptly_even_when_loki_never_answers():
    with LokiReceiver() as loki:
        loki.set_blackhole()
        started = time.monotonic()
        result = run_exit_script(loki.url, 50, "atexit", LOKI_SHUTDOWN_TIMEOUT_S="1", LOKI_TIMEOUT_S="30")
        took_s = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert took_s < 20, f"exit took {took_s:.1f}s with a 1s shutdown bound"
    assert "Traceback" not in result.stderr


def test_a_batch_closes_when_full_by_lines_or_bytes_or_when_its_wait_is_over():
    metrics = ChatMetrics()
    long_wait = {**FAST.__dict__, "batch_wait_s": 30.0}
    by_lines = ShipperConfig(**{**long_wait, "batch_max_lines": 3})
    with LokiReceiver() as loki, shipping_logger(loki.url, metrics, by_lines) as (logger, shipper):
        for i in range(7):
            logger.info("line %d", i)
        assert [push.entries for push in loki.wait_for_pushes(2)] == [3, 3]
        time.sleep(0.3)
        assert len(loki.pushes) == 2, "the 7th line waits for its batch to fill or its wait to end"
        shipper.stop(2.0)  # flush at stop
        assert [push.entries for push in loki.pushes] == [3, 3, 1]

    # Lines of ~400 bytes with a 1000-byte bound: the batch that reaches the bound closes (3 lines).
    by_bytes = ShipperConfig(**{**long_wait, "batch_max_bytes": 1000})
    with LokiReceiver() as loki, shipping_logger(loki.url, metrics, by_bytes) as (logger, _):
        for i in range(6):
            logger.info("line %d", i, extra={"padding": "p" * 330})
        assert [push.entries for push in loki.wait_for_pushes(2)] == [3, 3]

    # A burst within the wait goes in one push, not one request per record (python-logging-loki's way).
    by_time = ShipperConfig(**{**FAST.__dict__, "batch_wait_s": 1.0})
    with LokiReceiver() as loki, shipping_logger(loki.url, metrics, by_time) as (logger, _):
        for i in range(50):
            logger.info("burst %d", i)
        loki.wait_for_entries(50, timeout_s=5)
        assert len(loki.pushes) <= 2 and sum(push.entries for push in loki.pushes) == 50


# A hung Loki that recovers. At-least-once delivery cannot avoid sending a push twice when Loki stored it
# but its answer never came (our timeout fired first). Loki drops an entry equal in stream, timestamp and
# line to one it has: grafana/loki pkg/ingester/stream.go `validateEntries` skips an entry whose timestamp
# and line equal the stream's last entry, and pkg/chunkenc/unordered.go `AppendForTenant` (unordered
# writes, the default since Loki 2.4) ignores a line already present at the same nanosecond in the head
# block. So a retry is harmless if it re-sends the very same entries: the record's creation time, never
# the send time, and the same line. The strict receiver keeps every copy, so the test sees them.
HUNG = ShipperConfig(**{**FAST.__dict__, "timeout_s": 0.3, "max_backoff_s": 0.1})


def test_retries_after_a_hung_loki_are_exact_duplicates_that_loki_drops():
    metrics = ChatMetrics()
    with LokiReceiver() as loki, shipping_logger(loki.url, metrics, HUNG) as (logger, _):
        loki.set_slow(30)  # hung: answers nothing until it recovers (or for 30 s)
        for i in range(3):
            logger.info("during the hang %d", i)
        wait_until(lambda: retries(metrics) >= 2, what="the push timed out and was retried twice")
        loki.set_normal()  # recovers: the pushes it held are stored too, late
        wait_until(lambda: sent(metrics) == 3, what="the retried push accepted")
        wait_until(lambda: len(loki.pushes) >= 3, what="every held push handled")
        entries = loki.entries
    assert len(entries) > 3, "the hang caused no duplicate: the scenario did not happen"
    unique = {(tuple(sorted(entry.labels.items())), entry.time_ns, entry.line): entry for entry in entries}
    assert sorted(entry.fields()["msg"] for entry in unique.values()) == [
        f"during the hang {i}" for i in range(3)
    ]
