"""`python -m scripts.lint` as a user runs it: the real rendered dashboards, exit codes, table and JSON,
and the Grafana variable substitution it relies on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scripts.common.paths import REPO_ROOT
from scripts.rendered.model import PROVISIONED_DATASOURCES
from scripts.rendered.variables import UnknownVariableError, substitute, time_variables
from tests.support.rendered_fixtures import (
    clean_dashboard,
    clean_rules,
    set_expr,
    write_guides,
    write_rendered,
)

pytestmark = pytest.mark.prometheus  # promtool (Debian package prometheus) checks the PromQL


def run_lint(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.lint", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_lint_fixture(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Lint a fixture tree against the fixture's README and cases, not the repository's."""
    readme, cases = write_guides(root.parent / "guides")
    return run_lint("--dir", str(root), "--readme", str(readme), "--cases", str(cases), *args)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rendered")
    subprocess.run([sys.executable, "-m", "scripts.render", "--out", str(out)], cwd=REPO_ROOT, check=True)
    return out


def test_the_project_dashboards_and_alerts_pass(rendered: Path) -> None:
    completed = run_lint("--dir", str(rendered))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "0 failed" in completed.stdout


def test_a_typo_fails_with_panel_query_and_closest_name(tmp_path: Path) -> None:
    dashboard = set_expr(clean_dashboard(), 0, 'sum(rate(chat_messages_recieved_total{job=~"$job"}[5m]))')
    root = write_rendered(tmp_path / "out", [dashboard], clean_rules())
    completed = run_lint_fixture(root)
    assert completed.returncode == 1
    row = next(line for line in completed.stdout.splitlines() if "promql-metric" in line)
    assert "chat-overview / #1 Messages [A]" in row and "did you mean chat_messages_received_total" in row
    assert 'query: sum(rate(chat_messages_recieved_total{job=~"$job"}[5m]))' in completed.stdout
    assert "1 failed" in completed.stdout


def test_json_output(tmp_path: Path) -> None:
    dashboard = set_expr(clean_dashboard(), 4, '{app="chat", job="x"}')
    root = write_rendered(tmp_path / "out", [dashboard], clean_rules())
    completed = run_lint_fixture(root, "--json")
    report = json.loads(completed.stdout)
    assert completed.returncode == 1
    assert report["summary"]["failed"] == 1
    [finding] = report["findings"]
    assert finding["rule"] == "logql-stream-labels" and finding["where"] == "chat-overview / #5 Errors [A]"


def test_an_unreadable_readme_or_cases_file_is_a_one_line_error(tmp_path: Path) -> None:
    root = write_rendered(tmp_path / "out", [clean_dashboard()], clean_rules())
    for flag in ("--readme", "--cases"):
        completed = run_lint_fixture(root, flag, str(tmp_path / "missing"))
        assert completed.returncode == 2 and completed.stdout == ""
        assert completed.stderr.count("\n") == 1 and str(tmp_path / "missing") in completed.stderr


def test_missing_directory_is_a_one_line_error(tmp_path: Path) -> None:
    completed = run_lint("--dir", str(tmp_path / "nothing"))
    assert completed.returncode == 2
    assert (
        completed.stdout == "" and completed.stderr.count("\n") == 1 and "scripts.render" in completed.stderr
    )


def test_broken_json_is_a_finding_not_a_traceback(tmp_path: Path) -> None:
    root = write_rendered(tmp_path / "out", [clean_dashboard()], clean_rules())
    (root / "dashboards" / "chat-logs.json").write_text("{not json")
    completed = run_lint_fixture(root)
    assert completed.returncode == 1 and "Traceback" not in completed.stderr
    assert "cannot read JSON" in completed.stdout
    (root / "dashboards" / "chat-logs.json").unlink()
    (root / "alerting" / "rules.json").unlink()  # no alert rules at all is a broken render, not a pass
    completed = run_lint_fixture(root)
    assert completed.returncode == 1 and "rules.json" in completed.stdout and "missing" in completed.stdout


@pytest.mark.parametrize(
    ("range_s", "scrape_s", "interval", "rate_interval", "range_text"),
    [
        (3600, 5, "5s", "20s", "3600s"),  # 3.6 s is under the 5 s scrape: the scrape interval; rate = 4 x 5 s
        (86400, 1, "1m", "61s", "86400s"),  # 86.4 s snaps to 1m (gtime.RoundInterval); rate = 1m + 1 s
        (21600, 5, "20s", "25s", "21600s"),  # 21.6 s snaps to 20 s; rate = 20 s + 5 s (> 4 x 5 s)
        (6.4, 1, "1s", "4s", "6s"),  # a verify window: $__range is rounded to whole seconds
        (30 * 86400, 5, "30m", "1805s", "2592000s"),  # 2592 s: range / 1000 snaps to 30m
    ],
)
def test_interval_variables_follow_grafana(
    range_s: float, scrape_s: float, interval: str, rate_interval: str, range_text: str
) -> None:
    values = time_variables(range_s, scrape_s)
    assert (values["__interval"], values["__rate_interval"], values["__range"]) == (
        interval,
        rate_interval,
        range_text,
    )


def test_substitute_reports_where_variables_landed() -> None:
    result = substitute(
        'rate(x{job=~"$job"}[${__rate_interval}]) [[job]]', {"job": "chat", "__rate_interval": "20s"}
    )
    assert result.text == 'rate(x{job=~"chat"}[20s]) chat'
    assert result.variable_at(20, 23) == "__rate_interval"
    assert result.variable_at(13, 17) == "job" and result.variable_at(0, 4) is None
    with pytest.raises(UnknownVariableError, match=r"\$jbo"):
        substitute('x{job="$jbo"}', {})


def test_lint_knows_the_datasources_the_stack_provisions() -> None:
    provisioning = (
        REPO_ROOT / "provisioning" / "grafana" / "provisioning" / "datasources" / "datasources.yaml"
    )
    provisioned = yaml.safe_load(provisioning.read_text())["datasources"]
    assert {d["uid"]: d["type"] for d in provisioned} == PROVISIONED_DATASOURCES
