"""`make verify` for real: the app, a real Prometheus, real traffic, every panel query through the HTTP API.

The dashboards are rendered fresh (`python -m scripts.render`) into a temp dir, so the test checks the
current definitions, not a stale copy. Each verify run takes ~15 s (short traffic, 1 s scrapes).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.metrics import REJECT_REASONS
from scripts.common.paths import REPO_ROOT
from scripts.rendered.layout import SOURCES_FILE, panel_source_key
from scripts.rendered.model import PanelQuery, alert_queries, iter_panels, iter_rules, panel_queries
from scripts.rendered.tree import load_tree
from scripts.rendered.variables import grafana_value
from scripts.verify.queries import APP_DOWN_RULE
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


def result_rows(out: str) -> dict[str, list[str]]:
    """verify's result rows, where -> [status, series/detail...] (columns are two or more spaces apart)."""
    rows = (re.split(r"\s{2,}", line.strip()) for line in out.splitlines() if line.startswith("  "))
    return {row[0]: row[1:] for row in rows if len(row) > 1}


def dashboard_queries(rendered: Path) -> list[PanelQuery]:
    queries = [
        q for d in load_tree(rendered).dashboards for ref in iter_panels(d) for q in panel_queries(ref)
    ]
    assert queries, "no panel queries rendered"
    return queries


def test_every_panel_and_alert_query_returns_data(rendered: Path, tmp_path: Path) -> None:
    completed = run_verify(rendered, tmp_path / "work")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    rows = result_rows(completed.stdout)
    for query in dashboard_queries(rendered):  # Loki panels are listed, never counted as passing
        expected = "pass" if query.lang == "promql" else "not verifiable"
        assert rows[f"{query.where} [{query.ref_id}]"][0] == expected, query.where
        if re.search(r"by \(reason\) \(rate\(chat_frames_rejected_total\{", query.expr):
            # one series per reject reason: the load's bad frames reached every reason the app counts
            assert rows[f"{query.where} [{query.ref_id}]"][1] == f"series={len(REJECT_REASONS)}"
    for state in ("app up", "app stopped"):  # induced for real by stopping the app
        assert rows[f"alert {APP_DOWN_RULE} live, {state}"][0] == "pass"
    for rule in iter_rules(load_tree(rendered).rule_groups):
        if any(query.lang == "promql" for query in alert_queries(rule)):
            assert rows[f"alert {rule['uid']} fires"][0] == rows[f"alert {rule['uid']} quiet"][0] == "pass"
    assert " 0 failed" in completed.stdout
    assert processes_of_run(tmp_path / "work") == []


def break_query(rendered: Path, query: PanelQuery, change: Callable[[str], str]) -> None:
    """Rewrite one panel query with `change`, in its rendered dashboard file."""
    dashboard = next(d for d in load_tree(rendered).dashboards if d.uid == query.dashboard_uid)
    panel = next(ref.panel for ref in iter_panels(dashboard) if ref.where == query.where)
    target = next(t for t in panel["targets"] if t["refId"] == query.ref_id)
    target["expr"] = change(target["expr"])
    assert target["expr"] != query.expr
    dashboard.path.write_text(json.dumps(dashboard.data))


def test_typos_fail_verify_even_where_lint_passes(rendered: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(rendered, broken)
    # Two panel queries whose one selector is all their data: a typo in it leaves nothing to show.
    value_typo, name_typo = [
        q for q in dashboard_queries(broken) if q.lang == "promql" and q.expr.count("{") == 1
    ][:2]
    # A label VALUE typo: every name exists, so the static lint cannot see it; only real data can.
    wrong_job = 'job="chta"'
    break_query(
        broken,
        value_typo,
        lambda e: e.replace('instance=~"$instance"', f'instance=~"$instance", {wrong_job}'),
    )
    lint = subprocess.run(
        [sys.executable, "-m", "scripts.lint", "--dir", str(broken)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert lint.returncode == 0, lint.stdout + lint.stderr
    metric = re.search(r"(\w+)\{", name_typo.expr).group(1)  # type: ignore[union-attr]
    break_query(broken, name_typo, lambda expr: expr.replace(f"{metric}{{", f"{metric}_typo{{", 1))

    completed = run_verify(broken, tmp_path / "work")

    assert completed.returncode == 1, completed.stdout + completed.stderr
    failing = {where: row for where, row in result_rows(completed.stdout).items() if row[0] == "fail"}
    value_where, name_where = (f"{q.where} [{q.ref_id}]" for q in (value_typo, name_typo))
    assert set(failing) == {value_where, name_where}, completed.stdout
    assert wrong_job in failing[value_where][-1] and f"{metric}_typo{{" in failing[name_where][-1]
    # Each failure says which matcher matched nothing, and points at the Python that defines the panel.
    assert f"{wrong_job} is the matcher that matches nothing" in failing[value_where][-1]
    sources = json.loads((broken / SOURCES_FILE).read_text())
    for query, where in ((value_typo, value_where), (name_typo, name_where)):
        line = sources[panel_source_key(query.dashboard_uid, query.panel_id)]
        assert line.startswith("dashboards/") and failing[where][-1].startswith(f"[{line}] "), failing[where]
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
    unreadable = min((broken / "dashboards").glob("*.json"))  # any rendered dashboard
    unreadable.write_text("{not json")
    completed = subprocess.run(
        [sys.executable, "-m", "scripts.verify", "--dir", str(broken), "--work-dir", str(tmp_path / "work")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False
    )  # fmt: skip
    assert completed.returncode == 2 and f"{unreadable.name}: cannot read JSON" in completed.stderr
    assert "Traceback" not in completed.stderr and not (tmp_path / "work").exists()
