"""`make watch` against the Grafana emulator: save -> the preview dashboard readable from Grafana, over 20
edits of one dashboard among the repository's (a copy of dashboards/ in a temporary directory), versus a
full `python -m scripts.render` + `python -m scripts.publish` of the same kind of change, in the same run.

The emulator runs in a child process, like a real Grafana. Each watch edit rewrites chat_overview.py with a
new title and polls GET /api/dashboards/uid/<preview uid> until Grafana serves that title; the clock starts
when the file is written, so it includes the file-system event, the debounce, render, lint and publish.

Target: median < 1 s.

    python -m bench.bench_watch
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_publish import emulator_in_child
from scripts.common.paths import DEFINITIONS_DIR, REPO_ROOT
from tests.support.grafana_emulator.client import call
from tests.support.grafana_emulator.publish_cli import run_publish

TOKEN = "glsa_bench_token"
EDITS = 20
FULL_RUNS = 5
TITLE = 'title="Chat overview"'
PREVIEW_UID = "chat-overview-pv-bench"
PUBLISHED_UID = "chat-overview"
TARGET_S = 1.0
POLL_S = 0.01


def edit(module: Path, source: str, title: str) -> float:
    module.write_text(source.replace(TITLE, f'title="{title}"'), encoding="utf-8")
    return time.perf_counter()


def readable(url: str, uid: str, title: str, started: float, timeout_s: float = 30.0) -> float:
    """Seconds from `started` until Grafana serves dashboard `uid` with a title starting with `title`."""
    while time.perf_counter() - started < timeout_s:
        answer = call(url, "GET", f"/api/dashboards/uid/{uid}", token=TOKEN)
        if answer.status == 200 and answer.json["dashboard"]["title"].startswith(title):
            return time.perf_counter() - started
        time.sleep(POLL_S)
    raise SystemExit(f"dashboard {uid} never showed {title!r}")


def start_watcher(url: str, definitions: Path, out: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAFANA_")}
    env.update(GRAFANA_URL=url, GRAFANA_TOKEN=TOKEN, USER="bench", PYTHONPATH=str(REPO_ROOT))
    argv = [sys.executable, "-m", "scripts.watch", "--definitions", str(definitions), "--out", str(out)]
    watcher = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True)
    assert watcher.stdout is not None
    for line in watcher.stdout:  # the first publish of everything, then the watch
        if "watching" in line:
            return watcher
    raise SystemExit("the watcher stopped before watching")


def full_render_and_publish(url: str, definitions: Path, out: Path) -> None:
    render = [sys.executable, "-m", "scripts.render", "--definitions", str(definitions), "--out", str(out)]
    subprocess.run(render, cwd=REPO_ROOT, check=True, capture_output=True)
    result = run_publish(url, out, token=TOKEN)
    if result.returncode != 0:
        raise SystemExit(f"publish failed ({result.returncode}): {result.stderr[-2000:]}")


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[-1]


def main() -> None:
    with emulator_in_child() as (url, _):
        with tempfile.TemporaryDirectory() as tmp:
            definitions = Path(tmp) / "bench_definitions"
            shutil.copytree(
                DEFINITIONS_DIR, definitions, ignore=shutil.ignore_patterns("core", "__pycache__")
            )
            module = definitions / "chat_overview.py"
            source = module.read_text(encoding="utf-8")
            full = []
            for n in range(FULL_RUNS):
                started = edit(module, source, f"Full {n}")
                full_render_and_publish(url, definitions, Path(tmp) / "rendered")
                full.append(readable(url, PUBLISHED_UID, f"Full {n}", started))
            watcher = start_watcher(url, definitions, Path(tmp) / "watch")
            try:
                watch = []
                for n in range(EDITS):
                    started = edit(module, source, f"Watch {n}")
                    watch.append(readable(url, PREVIEW_UID, f"Watch {n}", started))
            finally:
                watcher.send_signal(signal.SIGINT)
                watcher.wait(timeout=30)
        report(watch, full)


def report(watch: list[float], full: list[float]) -> None:
    median, full_median = statistics.median(watch), statistics.median(full)
    print(
        f"save -> preview dashboard readable, {EDITS} edits of chat_overview.py among the repo's dashboards:"
    )
    print(f"  make watch                       median {median:.3f} s  p95 {p95(watch):.3f} s")
    print(f"  make render && make publish      median {full_median:.3f} s  ({FULL_RUNS} runs)")
    verdict = "OK" if median < TARGET_S else "MISSED"
    print(
        f"RESULT watch median {median:.3f} s (target < {TARGET_S:.0f} s) {verdict}; "
        f"{full_median / median:.1f}x faster than a full render + publish ({median / full_median:.2f} of it)"
    )


if __name__ == "__main__":
    main()
