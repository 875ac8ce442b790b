"""Opt-in: ship log lines to a real Loki (the docker compose stack) and read them back with LogQL.

Runs only when LOKI_URL is set:

    docker compose up -d loki
    LOKI_URL=http://127.0.0.1:3100 .venv/bin/python -m pytest -m live tests/live/test_live_loki.py

A subprocess installs the app's logging exactly as `python -m app` does, logs lines under a unique `env`
label, and exits (the exit flush delivers them). The tests then poll Loki's query API, bounded:
- the lines are there with their labels and timestamps;
- every LogQL alert (rules on Loki cannot be evaluated without it, so `make verify` lists them as not
  verifiable) fires and stays quiet as it should: its rendered query A, confined to the test's own `env`,
  reduced (B) and compared with its threshold (C) exactly as rules.json says, on lines at a level its
  selector counts and at one it does not. The rule's `for` (pending period) is Grafana's scheduler, not
  the query, and is not exercised here.
"""

from __future__ import annotations

import json
import operator
import os
import re
import subprocess
import sys
import textwrap
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from dashboards.core.conventions import LOG_LEVELS, LOG_STREAM, LOKI_UID
from scripts.common.paths import REPO_ROOT

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
    loki_url, env, level, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    shutdown = install_logging(metrics=ChatMetrics(), loki_url=loki_url, env=env)
    for seq in range(count):
        logging.getLogger("chat.live").log(logging.getLevelName(level.upper()), "live", extra={"seq": seq})
    shutdown()
    """
)
RULES = REPO_ROOT / "provisioning" / "grafana" / "alerting" / "rules.json"
THRESHOLD_OPS: dict[str, Callable[[float, float], bool]] = {"gt": operator.gt, "lt": operator.lt}


def loki_base_url() -> str:
    return os.environ["LOKI_URL"].rstrip("/").removesuffix("/loki/api/v1/push")


def loki_query(path: str, **params: str) -> list[dict[str, Any]]:
    url = f"{loki_base_url()}/loki/api/v1/{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)["data"]["result"]


def ship(env: str, level: str, count: int) -> None:
    """Log `count` lines at `level` under stream label env=`env` through the app's own logging."""
    shipped = subprocess.run(
        [sys.executable, "-c", SHIP_SCRIPT, os.environ["LOKI_URL"], env, level, str(count)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )  # fmt: skip
    assert shipped.returncode == 0, shipped.stderr


def poll(query: Callable[[], list[dict[str, Any]]], done: Callable[[list[dict[str, Any]]], bool]) -> Any:
    """Run `query` until `done` says its result is complete (Loki makes pushes queryable within seconds)."""
    deadline = time.monotonic() + 30
    result = query()
    while not done(result) and time.monotonic() < deadline:
        time.sleep(1)
        result = query()
    return result


def test_lines_shipped_by_the_app_logging_are_queryable_with_their_labels() -> None:
    env = f"livetest-{uuid.uuid4().hex[:12]}"
    started_ns = time.time_ns() - 60 * 10**9
    ship(env, "warning", LINES)

    logql = f'{{app="chat", env="{env}", level="warning"}}'
    streams = poll(
        lambda: loki_query("query_range", query=logql, start=str(started_ns), limit="100"),
        lambda result: sum(len(s["values"]) for s in result) >= LINES,
    )

    values = [value for stream in streams for value in stream["values"]]
    assert len(values) == LINES, f"Loki returned {len(values)} of {LINES} lines for {logql}"
    for stream in streams:  # Loki 3 may add its own labels (service_name); ours must be there as sent
        assert {"app": "chat", "env": env, "level": "warning"}.items() <= stream["stream"].items()
    assert sorted(json.loads(line)["seq"] for _, line in values) == list(range(LINES))
    assert all(int(ts) >= started_ns for ts, _ in values)  # record creation time, nanoseconds


@dataclass(frozen=True)
class LogqlAlert:
    """A LogQL rule as rules.json has it: query A, threshold C, and the log levels its selector counts."""

    uid: str
    expr: str
    op: str
    threshold: float
    counted_level: str  # a level whose lines the query counts
    other_level: str  # the gravest level it ignores, which the app ships whatever its log level


def logql_alert(rule: dict[str, Any]) -> LogqlAlert:
    steps = {step["refId"]: step["model"] for step in rule["data"]}
    assert steps["B"]["type"] == "reduce" and steps["B"]["reducer"] == "last"  # instant: one value
    evaluator = steps["C"]["conditions"][0]["evaluator"]
    level = re.search(r'level(=~?)"([^"]*)"', steps["A"]["expr"])
    assert level, f"{rule['uid']}: no level matcher to ship counted and ignored lines for"
    pattern = level.group(2) if level.group(1) == "=~" else re.escape(level.group(2))
    counted = [name for name in LOG_LEVELS if re.fullmatch(pattern, name)]
    other = [name for name in LOG_LEVELS if name not in counted]
    assert counted and other, f"{rule['uid']}: its level matcher must keep some levels and drop others"
    return LogqlAlert(
        rule["uid"],
        steps["A"]["expr"],
        evaluator["type"],
        float(evaluator["params"][0]),
        counted[0],
        other[-1],
    )


def logql_alerts() -> list[LogqlAlert]:
    """Every rule in rules.json whose query A runs on Loki."""
    rules = [rule for group in json.loads(RULES.read_text()) for rule in group["rules"]]
    return [logql_alert(rule) for rule in rules if rule["data"][0]["datasourceUid"] == LOKI_UID]


def alert_fires(alert: LogqlAlert, env: str) -> bool:
    """Evaluate the alert as Grafana would, on this test's `env` only (noDataState OK: no data is quiet)."""
    selector = "{" + LOG_STREAM
    confined = alert.expr.replace(selector, f'{selector}, env="{env}"', 1)
    assert confined != alert.expr, f"the alert's selector changed shape: {alert.expr}"
    result = loki_query("query", query=confined, time=str(time.time_ns()))
    return bool(result) and THRESHOLD_OPS[alert.op](float(result[0]["value"][1]), alert.threshold)


@pytest.mark.parametrize("alert", logql_alerts(), ids=lambda alert: alert.uid)
@pytest.mark.parametrize(
    ("case", "fires"),
    [("one over the threshold", True), ("at the threshold", False), ("ignored levels", False)],
)
def test_the_logql_alert_fires_above_its_threshold_and_stays_quiet_below(
    alert: LogqlAlert, case: str, fires: bool
) -> None:
    assert alert.op == "gt", f"{alert.uid}: these cases are written for a `gt` threshold"
    limit = int(alert.threshold)
    counted, ignored = {
        "one over the threshold": (limit + 1, 0),
        "at the threshold": (limit, 5),
        "ignored levels": (0, 2 * limit),
    }[case]
    env = f"livetest-{uuid.uuid4().hex[:12]}"
    if counted:
        ship(env, alert.counted_level, counted)
    if ignored:
        ship(env, alert.other_level, ignored)
    total = f'sum(count_over_time({{{LOG_STREAM}, env="{env}"}}[5m]))'
    poll(  # every line is queryable before the alert is judged
        lambda: loki_query("query", query=total, time=str(time.time_ns())),
        lambda result: bool(result) and float(result[0]["value"][1]) >= counted + ignored,
    )
    assert alert_fires(alert, env) is fires
