"""The live stack verify runs against: two app replicas fanned out through a real Redis, and a real
Prometheus scraping both, always stopped after. Two replicas, so that every per-instance panel must show
two series and the cluster's panels have a broker to report on.

Every child process carries RUN_MARKER_ENV, so a test can prove none is left behind; SIGTERM/SIGHUP become
SystemExit, so the context managers that stop them run even when verify itself is stopped.
"""

from __future__ import annotations

import contextlib
import json
import signal
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.common.procs import poll_until, running_app
from scripts.common.prometheus import running_prometheus
from scripts.common.redis_server import running_redis

SCRAPE_INTERVAL_S = 1
REPLICAS = 2
RUN_MARKER_ENV = "CHAT_VERIFY_RUN"  # set on every child process, so a test can prove none is left behind


class VerifyError(RuntimeError):
    """verify cannot run (no rendered files, Prometheus did not start, ...)."""


@dataclass(frozen=True)
class LiveStack:
    app_urls: tuple[str, ...]  # one per replica
    prometheus_url: str
    stop_app: Callable[[], None]  # stop every replica early (to induce "app down"); idempotent
    stop_broker: Callable[[], None]  # kill Redis (to induce "replica cut off from the broker")


@contextlib.contextmanager
def live_stack(work_dir: Path) -> Iterator[LiveStack]:
    """Redis, the replicas and a Prometheus scraping them; all stopped on exit, whatever happens."""
    env = {RUN_MARKER_ENV: str(work_dir)}
    with running_redis(work_dir, env) as broker, contextlib.ExitStack() as app:  # closed early: the app only
        replica_env = {**env, "CHAT_REDIS_URL": broker.url}
        app_urls = tuple(
            app.enter_context(running_app(env=replica_env, log_path=work_dir / f"app-{number}.log"))
            for number in range(1, REPLICAS + 1)
        )
        with running_prometheus(app_urls, work_dir, env, SCRAPE_INTERVAL_S) as prometheus_url:
            yield LiveStack(app_urls, prometheus_url, app.close, broker.stop)


def prometheus_api(base_url: str, path: str, params: dict[str, Any]) -> Any:
    """GET a Prometheus API endpoint; return `data`, raise VerifyError with Prometheus's error otherwise."""
    url = f"{base_url}{path}?{urllib.parse.urlencode(params, doseq=True)}"
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            body = json.load(response)
    except urllib.error.HTTPError as exc:
        body = json.load(exc)
    if body.get("status") != "success":
        raise VerifyError(f"{body.get('errorType', 'error')}: {body.get('error', body)}")
    return body["data"]


def wait_for_scrapes(prometheus_url: str, job: str, count: int, timeout_s: float = 30.0) -> None:
    """Block until Prometheus has scraped `job` successfully `count` more times."""
    query = f'count_over_time(up{{job="{job}"}}[10m])'

    def scrapes() -> float:
        result = prometheus_api(prometheus_url, "/api/v1/query", {"query": query})["result"]
        return float(result[0]["value"][1]) if result else 0.0

    target = scrapes() + count
    if not poll_until(lambda: scrapes() >= target, timeout_s, interval_s=SCRAPE_INTERVAL_S / 4):
        raise VerifyError(f"Prometheus did not scrape job {job} {count} times within {timeout_s:.0f}s")


def exit_cleanly_on_termination() -> None:
    """Turn SIGTERM/SIGHUP (a CI timeout, a closed terminal) into SystemExit, so that every `finally` runs.

    The app and Prometheus run in their own process groups (scripts/procs), so a signal that kills verify
    outright would leave them running; as SystemExit it unwinds the context managers that stop them.
    """

    signals = (signal.SIGTERM, signal.SIGHUP)

    def handler(signum: int, _frame: object) -> None:
        for other in signals:  # a second signal must not interrupt the cleanup itself
            signal.signal(other, signal.SIG_IGN)
        raise SystemExit(128 + signum)

    for signum in signals:
        signal.signal(signum, handler)
