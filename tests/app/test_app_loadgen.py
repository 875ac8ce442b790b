"""scripts.common.load against a real `python -m app`: its counts agree with the server's own metrics."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable

from app.metrics import REJECT_REASONS
from scripts.common.load import LoadSpec, run_load
from scripts.common.paths import REPO_ROOT
from scripts.common.procs import free_port
from tests.support.metrics import metric, scrape


def test_load_with_bad_frames_moves_every_error_series(start_app: Callable[..., str]) -> None:
    base_url = start_app()
    result = run_load(LoadSpec(base_url, clients=5, seconds=3, rate=20, bad_ratio=0.3))

    assert set(result.errors) == set(REJECT_REASONS), result.summary()
    assert result.disconnects == 0
    assert result.delivered == result.expected_deliveries > 0, "every accepted message reached all 5 clients"
    assert len(result.latencies_s) > 0 and result.latency_quantile(0.99) < 5
    samples = scrape(base_url)
    assert {r: metric(samples, "chat_frames_rejected_total", reason=r) for r in REJECT_REASONS} == dict(
        result.errors
    )
    assert metric(samples, "chat_messages_delivered_total") == result.delivered


def test_cli_prints_one_line_error_when_server_is_down() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    argv = [sys.executable, "-m", "scripts.loadgen", "--url", url, "--clients", "2", "--seconds", "1"]
    done = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("error: cannot connect to ws://") and done.stderr.count("\n") == 1


def test_cli_stops_by_itself_and_prints_its_summary(start_app: Callable[..., str]) -> None:
    base_url = start_app()
    argv = [sys.executable, "-m", "scripts.loadgen", "--url", base_url, "--clients", "3", "--seconds", "1"]
    done = subprocess.run([*argv, "--rate", "15"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    summary = done.stdout.splitlines()
    assert len(summary) == 1 and summary[0].startswith("sent="), done.stdout
    counts = re.match(r"sent=(\d+) \(bad=0\) received=(\d+)/(\d+) ", summary[0])
    assert counts, summary[0]
    sent, delivered, expected = map(int, counts.groups())
    assert sent >= 10 and delivered == expected == 3 * sent, done.stdout
    assert metric(scrape(base_url), "chat_messages_received_total") == sent
