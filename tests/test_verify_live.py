"""`make verify` for real: the app, a real Prometheus, real traffic, every panel query through the HTTP API.

The dashboards are rendered fresh (`python -m scripts.render`) into a temp dir, so the test checks the
current definitions, not a stale copy. Each verify run takes ~15 s (short traffic, 1 s scrapes).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.procs import REPO_ROOT
from scripts.verify import RUN_MARKER_ENV, live_stack

pytestmark = pytest.mark.prometheus
TRAFFIC_S = "4"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rendered")
    subprocess.run([sys.executable, "-m", "scripts.render", "--out", str(out)], cwd=REPO_ROOT, check=True)
    return out


def processes_of_run(work_dir: Path) -> list[int]:
    """PIDs of live processes started by the verify run that used `work_dir` (marked in their environment)."""
    marker = f"{RUN_MARKER_ENV}={work_dir}".encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            state = (proc / "stat").read_text().split(") ", 1)[1][0]
        except OSError:
            continue  # exited meanwhile, or not ours to read
        if marker in environ and state != "Z":
            pids.append(int(proc.name))
    return pids


def run_verify(rendered_dir: Path, work_dir: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "scripts.verify", "--dir", str(rendered_dir), "--seconds", TRAFFIC_S]
    argv += ["--work-dir", str(work_dir)]
    return subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)


def test_every_panel_and_alert_query_returns_data(rendered: Path, tmp_path: Path) -> None:
    completed = run_verify(rendered, tmp_path / "work")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    out = completed.stdout
    assert "chat-overview / #8 Rejected frames by reason [A]" in out
    assert "series=9" in out  # one series per reject reason: the bad frames reached every reason
    assert "LogQL: no Loki here; syntax OK" in out  # Loki panels are listed, not counted as passing
    assert "alert chat-app-down live, app stopped" in out  # induced for real by stopping the app
    assert "alert chat-app-down fires" in out and " 0 failed" in out
    assert processes_of_run(tmp_path / "work") == []


def test_typo_in_a_metric_fails_verify_and_leaves_no_process(rendered: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    (broken / "dashboards").mkdir(parents=True)
    (broken / "alerting").mkdir()
    (broken / "alerting" / "rules.json").write_text((rendered / "alerting" / "rules.json").read_text())
    overview = json.loads((rendered / "dashboards" / "chat-overview.json").read_text())
    target = next(p for p in overview["panels"] if p.get("title") == "Slow-consumer evictions")["targets"][0]
    target["expr"] = target["expr"].replace(
        "chat_slow_consumer_evictions_total", "chat_slow_consumer_eviction_total"
    )
    (broken / "dashboards" / "chat-overview.json").write_text(json.dumps(overview))

    completed = run_verify(broken, tmp_path / "work")

    assert completed.returncode == 1, completed.stdout + completed.stderr
    failing = [line for line in completed.stdout.splitlines() if " fail " in line]
    assert len(failing) == 1 and "Slow-consumer evictions" in failing[0], completed.stdout
    assert "chat_slow_consumer_eviction_total" in failing[0]
    assert processes_of_run(tmp_path / "work") == []


def test_live_stack_stops_app_and_prometheus_when_the_caller_fails(tmp_path: Path) -> None:
    seen: list[int] = []
    with pytest.raises(RuntimeError, match="boom"), live_stack(tmp_path):
        seen.extend(processes_of_run(tmp_path))
        raise RuntimeError("boom")
    assert len(seen) >= 2, "expected the app and Prometheus to be running inside the block"
    assert processes_of_run(tmp_path) == []


def test_missing_render_output_is_a_one_line_error(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "scripts.verify", "--dir", str(tmp_path)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False
    )  # fmt: skip
    assert completed.returncode == 2
    assert completed.stderr.strip().count("\n") == 0 and "scripts.render" in completed.stderr
