"""Opt-in: ship log lines to a real Loki (the docker compose stack) and read them back with LogQL.

Runs only when LOKI_URL is set:

    docker compose up -d loki
    LOKI_URL=http://127.0.0.1:3100 .venv/bin/python -m pytest -m live tests/test_live_loki.py

A subprocess installs the app's logging exactly as `python -m app` does, logs a few lines carrying a unique
marker under `env="livetest"`, and exits (the exit flush delivers them). The test then polls Loki's
query_range API, bounded, until the lines are there, and checks their labels and timestamps.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import urllib.parse
import urllib.request
import uuid
from typing import Any

import pytest

from scripts.procs import REPO_ROOT

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not os.environ.get("LOKI_URL"), reason="LOKI_URL not set (live Loki tests)"),
]
LINES = 5
SHIP_SCRIPT = textwrap.dedent(
    """
    import logging, sys
    from app.logship import install_logging
    from app.metrics import ChatMetrics
    shutdown = install_logging(metrics=ChatMetrics(), loki_url=sys.argv[1], env="livetest")
    for seq in range(int(sys.argv[3])):
        logging.getLogger("chat.livetest").warning("live test %s", sys.argv[2], extra={"seq": seq})
    shutdown()
    """
)


def loki_base_url() -> str:
    return os.environ["LOKI_URL"].rstrip("/").removesuffix("/loki/api/v1/push")


def query_range(logql: str, start_ns: int) -> list[dict[str, Any]]:
    params = urllib.parse.urlencode({"query": logql, "start": str(start_ns), "limit": "100"})
    url = f"{loki_base_url()}/loki/api/v1/query_range?{params}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)["data"]["result"]


def test_lines_shipped_by_the_app_logging_are_queryable_with_their_labels() -> None:
    marker = uuid.uuid4().hex
    started_ns = time.time_ns() - 60 * 10**9
    shipped = subprocess.run(
        [sys.executable, "-c", SHIP_SCRIPT, os.environ["LOKI_URL"], marker, str(LINES)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )  # fmt: skip
    assert shipped.returncode == 0, shipped.stderr

    logql = f'{{app="chat", env="livetest", level="warning"}} |= "{marker}"'
    deadline = time.monotonic() + 30  # Loki makes pushed lines queryable within seconds
    streams: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        streams = query_range(logql, started_ns)
        if sum(len(s["values"]) for s in streams) >= LINES:
            break
        time.sleep(1)

    values = [value for stream in streams for value in stream["values"]]
    assert len(values) == LINES, f"Loki returned {len(values)} of {LINES} lines for {logql}"
    for stream in streams:  # Loki 3 may add its own labels (service_name); ours must be there as sent
        assert {"app": "chat", "env": "livetest", "level": "warning"}.items() <= stream["stream"].items()
    assert sorted(json.loads(line)["seq"] for _, line in values) == list(range(LINES))
    assert all(int(ts) >= started_ns for ts, _ in values)  # record creation time, nanoseconds
