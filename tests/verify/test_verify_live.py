"""`make verify` for real: the app, a real Prometheus, real traffic, every panel query through the HTTP API.

The dashboards are rendered fresh (`python -m scripts.render`) into a temp dir, so the test checks the
current definitions, not a stale copy. Each verify run takes ~15 s (short traffic, 1 s scrapes).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scripts.common.paths import REPO_ROOT
from scripts.rendered.variables import grafana_value
from scripts.verify.stack import RUN_MARKER_ENV, live_stack

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


def _break_panel(overview: dict, title: str, old: str, new: str) -> None:
    target = next(p for p in overview["panels"] if p.get("title") == title)["targets"][0]
    assert old in target["expr"]
    target["expr"] = target["expr"].replace(old, new)


def test_typos_fail_verify_even_where_lint_passes(rendered: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(rendered, broken)
    overview_path = broken / "dashboards" / "chat-overview.json"
    overview = json.loads(overview_path.read_text())
    # A label VALUE typo: every name exists, so the static lint cannot see it; only real data can.
    _break_panel(
        overview,
        "Rejected frames by reason",
        'instance=~"$instance"}',
        'instance=~"$instance", reason="invalid_jsn"}',
    )
    overview_path.write_text(json.dumps(overview))
    lint = subprocess.run(
        [sys.executable, "-m", "scripts.lint", "--dir", str(broken)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert lint.returncode == 0, lint.stdout + lint.stderr
    _break_panel(
        overview,
        "Slow-consumer evictions",
        "chat_slow_consumer_evictions_total",
        "chat_slow_consumer_eviction_total",
    )
    overview_path.write_text(json.dumps(overview))

    completed = run_verify(broken, tmp_path / "work")

    assert completed.returncode == 1, completed.stdout + completed.stderr
    failing = [line for line in completed.stdout.splitlines() if " fail " in line]
    assert len(failing) == 2, completed.stdout
    assert "Rejected frames by reason" in failing[0] and 'reason="invalid_jsn"' in failing[0]
    assert "Slow-consumer evictions" in failing[1] and "chat_slow_consumer_eviction_total" in failing[1]
    assert processes_of_run(tmp_path / "work") == []


def test_variables_are_written_as_grafana_writes_them() -> None:
    all_of = {"multi": True, "includeAll": True}
    two = ["127.0.0.1:8000", "127.0.0.1:8001"]
    assert grafana_value(two, all_of) == r"(127\\.0\\.0\\.1:8000|127\\.0\\.0\\.1:8001)"
    assert grafana_value(two[:1], all_of) == r"127\\.0\\.0\\.1:8000"  # one value: no group
    assert grafana_value([r"a\b"], all_of) == r"a\\\\b"
    assert grafana_value([r"a.b\c"], {"multi": False}) == r"a.b\\c"  # single value: not a regex


def test_sigterm_midway_stops_app_and_prometheus(rendered: Path, tmp_path: Path) -> None:
    """A CI timeout sends SIGTERM: verify must still stop what it started (they run in their own groups)."""
    work = tmp_path / "work"
    argv = [sys.executable, "-m", "scripts.verify", "--dir", str(rendered), "--seconds", "30"]
    verify = subprocess.Popen(
        [*argv, "--work-dir", str(work)], cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while len(processes_of_run(work)) < 2:  # the app and Prometheus are up: verify is midway
            assert verify.poll() is None and time.monotonic() < deadline, "verify never started both"
            time.sleep(0.2)
        verify.send_signal(signal.SIGTERM)
        assert verify.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        verify.kill()
        leftovers = processes_of_run(work)
        for pid in leftovers:  # don't leave them running when this test fails
            os.kill(pid, signal.SIGKILL)
    assert leftovers == []


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


def test_an_unreadable_file_stops_verify_before_it_starts_anything(rendered: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(rendered, broken)
    (broken / "dashboards" / "chat-logs.json").write_text("{not json")
    completed = subprocess.run(
        [sys.executable, "-m", "scripts.verify", "--dir", str(broken), "--work-dir", str(tmp_path / "work")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False
    )  # fmt: skip
    assert completed.returncode == 2 and "chat-logs.json: cannot read JSON" in completed.stderr
    assert "Traceback" not in completed.stderr and not (tmp_path / "work").exists()
