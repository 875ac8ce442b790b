"""The real app (`python -m app`, gevent) ships its logs to Loki and flushes them when it is stopped."""

from __future__ import annotations

import time

from app.logship import STREAM_LABEL_NAMES
from scripts.common.procs import running_app
from tests.support.loki_receiver import Entry, LokiReceiver
from tests.support.metrics import metric, scrape


def events(entries: list[Entry]) -> list[str]:
    return [entry.fields().get("event", "") for entry in entries]


def test_the_app_ships_json_lines_with_its_labels_and_flushes_them_on_sigterm():
    with LokiReceiver() as loki:
        env = {"LOKI_URL": loki.url, "APP_ENV": "e2e", "LOKI_BATCH_WAIT_S": "0.2"}
        with running_app(env=env) as base_url:
            deadline = time.monotonic() + 15
            while "server_started" not in events(loki.entries) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert "server_started" in events(loki.entries), loki.pushes
            sent = 0.0
            while sent < 1 and time.monotonic() < deadline:
                sent = metric(scrape(base_url), "chat_log_shipper_lines_sent_total")
                time.sleep(0.05)
            assert sent >= 1
            assert metric(scrape(base_url), "chat_log_shipper_lines_dropped_total", reason="queue_full") == 0
        # running_app has sent SIGTERM and waited for the exit: the last lines were flushed on the way out.
        entries = loki.entries
    assert "server_stopped" in events(entries)
    assert {tuple(entry.labels) for entry in entries} == {STREAM_LABEL_NAMES}
    assert {(entry.labels["app"], entry.labels["env"]) for entry in entries} == {("chat", "e2e")}
    started = next(entry for entry in entries if entry.fields().get("event") == "server_started")
    assert started.labels["level"] == "info"
    assert started.fields()["logger"] == "chat.server" and started.fields()["msg"].startswith(
        "chat listening"
    )
