"""`make publish` against the Grafana emulator: request/write counts of a no-op publish, and the time to
publish 1,000 dashboards with 20 ms latency per request versus a naive sequential grafana-client loop.

The emulator (tests/support/grafana_emulator) runs in a child process, like a real Grafana, so its request
handling does not compete with the contenders for this process's GIL. Both contenders create 1,000
new dashboards (distinct uids) of the same size in their own folder:
  * baseline: `api.dashboard.update_dashboard({... "overwrite": True})` once per dashboard, sequentially
    (no plan, no drift check);
  * ours: `python -m scripts.publish` end to end as a subprocess (interpreter start, health check, plan
    reads, writes on a pool of WORKERS).
Then ours runs again with nothing changed: the no-op publish. All of it twice: against Grafana 11 (the
legacy /api) and Grafana 13 (the app platform /apis, where the no-op must also create no generation).

Targets: no-op publish = 0 writes, 0 new versions/generations and at most objects + 3 requests;
speed-up >= 5x.

    python -m bench.bench_publish
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from grafana_client import GrafanaApi

from scripts.publish.cli import WORKERS
from tests.support.grafana_emulator import GrafanaEmulator, Token
from tests.support.grafana_emulator.publish_cli import run_publish
from tests.support.grafana_emulator.rendered import dashboard, write_tree

DASHBOARDS = 1000
LATENCY_S = 0.020
PANELS_PER_DASHBOARD = 8
TOKEN = "glsa_bench_token"
TARGET_RATIO = 5.0


PROFILES = {"v11.3+": "legacy /api", "v13": "app platform /apis"}


def serve_emulator(conn: Connection, profile: str) -> None:
    """Child process: run an emulator and answer ("latency", s) / ("stats", None) / ("stop", None);
    stats are (requests, writes, versions: the sum of every dashboard's version/generation)."""
    with GrafanaEmulator(profile=profile, tokens=[Token(TOKEN)]) as grafana:
        conn.send(grafana.url)
        while True:
            command, value = conn.recv()
            if command == "stop":
                conn.send(None)
                return
            if command == "latency":
                grafana.latency_s = value
            elif command == "reset":
                grafana.reset_log()
            versions = sum(row.version for row in grafana.dashboards.rows.values())
            conn.send((len(grafana.requests), grafana.writes, versions))


def bench_dashboard(uid: str) -> dict[str, Any]:
    """A dashboard of realistic size (~5 KB): several panels like the rendered ones."""
    body = dashboard(uid, f"Bench {uid}")
    panel = body["panels"][0]
    body["panels"] = [{**panel, "id": n + 1, "title": f"Panel {n}"} for n in range(PANELS_PER_DASHBOARD)]
    return body


def naive_loop(url: str) -> float:
    """Baseline: one sequential update_dashboard per dashboard; returns seconds."""
    api = GrafanaApi.from_url(url, credential=TOKEN)
    api.folder.create_folder("Naive", uid="naive")
    started = time.perf_counter()
    for n in range(DASHBOARDS):
        envelope = {"dashboard": bench_dashboard(f"naive-{n}"), "folderUid": "naive", "overwrite": True}
        api.dashboard.update_dashboard(envelope)
    return time.perf_counter() - started


def timed_publish(url: str, directory: Path) -> float:
    started = time.perf_counter()
    result = run_publish(url, directory, token=TOKEN)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(
            f"publish failed ({result.returncode}): {result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return elapsed


def report(
    api: str, naive_s: float, ours_s: float, noop_s: float, stats: tuple[int, int, int], versions: int
) -> None:
    requests, writes, versions_after = stats
    objects = 1 + DASHBOARDS  # the folder + the dashboards
    ratio = naive_s / ours_s
    budget_ok = writes == 0 and requests <= objects + 3 and versions_after == versions
    print(f"{api}: publish {DASHBOARDS} dashboards, {LATENCY_S * 1000:.0f} ms latency per request:")
    for name, seconds in (
        ("naive sequential grafana-client loop", naive_s),
        (f"make publish ({WORKERS} workers)", ours_s),
    ):
        print(f"  {name:<38} {seconds:6.2f} s  ({DASHBOARDS / seconds:6.1f} dashboards/s)")
    verdict = "OK" if ratio >= TARGET_RATIO else "MISSED"
    print(f"  speed-up: {ratio:.1f}x (target >= {TARGET_RATIO:.0f}x) {verdict}")
    new_versions = versions_after - versions
    print(
        f"no-op publish of {objects} objects: {writes} writes, {new_versions} new versions, "
        f"{requests} requests in {noop_s:.2f} s"
    )
    print(f"  target: 0 writes, 0 new versions, <= {objects + 3} requests: {'OK' if budget_ok else 'MISSED'}")


@contextmanager
def emulator_in_child(profile: str) -> Iterator[tuple[str, Connection]]:
    """An emulator in a child process: its URL and the pipe serve_emulator answers on; stopped on exit."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=serve_emulator, args=(child, profile), daemon=True)
    process.start()
    try:
        yield parent.recv(), parent
    finally:
        parent.send(("stop", None))
        parent.recv()
        process.join(timeout=10)


def main() -> None:
    for profile, api in PROFILES.items():
        bench(profile, api)


def bench(profile: str, api: str) -> None:
    with emulator_in_child(profile) as (url, parent):

        def command(name: str, value: Any = None) -> Any:
            parent.send((name, value))
            return parent.recv()

        with tempfile.TemporaryDirectory() as tmp:
            tree = {
                "dashboards": [bench_dashboard(f"bench-{n}") for n in range(DASHBOARDS)],
                "rule_groups": [],
                "contact_points": [],
                "policy": None,
                "embeds": [],
            }
            directory = write_tree(Path(tmp), tree)
            command("latency", LATENCY_S)
            naive_s = naive_loop(url)
            ours_s = timed_publish(url, directory)
            versions = command("reset")[2]
            noop_s = timed_publish(url, directory)
            stats = command("stats")
        report(api, naive_s, ours_s, noop_s, stats, versions)


if __name__ == "__main__":
    main()
