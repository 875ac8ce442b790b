"""Lint findings speak Python: each names the definitions module and line, and the fix in its terms."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from dashboards.core import conventions
from scripts.common.paths import REPO_ROOT
from scripts.lint.cli import format_table
from scripts.rendered.model import Finding
from scripts.rendered.units import GRAFANA_UNITS
from tests.support.definitions import run_render, write_package
from tests.support.rendered_fixtures import write_guides

pytestmark = pytest.mark.prometheus  # lint runs promtool on the queries

MODULE = textwrap.dedent(
    """\
    from dashboards.core import *

    clients = TimeSeries(
        title='Clients', description='d',{unit}
        targets=[PromTarget(expr=selector('registered_clients'))],
    )
    dashboard = ChatDashboard(uid='d', title='T', description='d', panels=grid(Row(panels=[clients])))
    """
)
PANEL_LINE = 3  # the line `TimeSeries(` is on


def lint_module(tmp_path: Path, unit: str) -> list[dict[str, Any]]:
    """Render a one-panel package and lint it; returns the panel-units findings (--json)."""
    return lint_findings(tmp_path, MODULE.format(unit=unit), "panel-units")


def lint_findings(tmp_path: Path, module: str, rule: str) -> list[dict[str, Any]]:
    """Render a package of one module and lint it; returns the findings of `rule` (--json)."""
    out = tmp_path / "out"
    package = write_package(tmp_path, {"dash": module})
    assert run_render("--definitions", str(package), "--out", str(out)).returncode == 0
    readme, cases = write_guides(tmp_path / "guides")
    guides = ["--readme", str(readme), "--cases", str(cases)]
    completed = subprocess.run(
        [sys.executable, "-m", "scripts.lint", "--dir", str(out), *guides, "--json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    findings = json.loads(completed.stdout)["findings"]
    return [f for f in findings if f["rule"] == rule]


def test_a_panel_without_unit_names_its_line_and_the_unit_constants(tmp_path: Path) -> None:
    (finding,) = lint_module(tmp_path, "")
    assert finding["source"] == f"baddefs/dash.py:{PANEL_LINE}"
    assert "pass unit=UNIT_" in finding["message"]
    assert "UNIT_SECONDS, UNIT_BYTES, UNIT_PER_SECOND" in finding["message"]


def test_a_unit_grafana_does_not_know_suggests_the_closest_id(tmp_path: Path) -> None:
    (finding,) = lint_module(tmp_path, " unit='req/s',")
    assert finding["source"] == f"baddefs/dash.py:{PANEL_LINE}"
    assert finding["message"] == "unit 'req/s' is not a Grafana unit id; did you mean reqps?"


def test_the_table_leads_with_the_source() -> None:
    table = format_table([Finding("d / #1 Clients", "panel-units", "m", source="dashboards/x.py:40")])
    assert table.splitlines()[1].startswith("dashboards/x.py:40  d / #1 Clients  panel-units")


def test_every_unit_constant_is_a_grafana_unit_id() -> None:
    units = {name: value for name, value in vars(conventions).items() if name.startswith("UNIT_")}
    assert units and all(value in GRAFANA_UNITS for value in units.values()), units


def with_expr(expr: str) -> str:
    """The one-panel module with `expr` as its query (PromQL takes 'single quotes' as well)."""
    return MODULE.format(unit=" unit='cps',").replace("selector('registered_clients')", f'"{expr}"')


def test_a_wrong_label_value_names_its_line_and_the_value_that_exists(tmp_path: Path) -> None:
    """The next most common mistake after a misspelled metric: a label value the app never exports."""
    counter = (
        "rate(chat_connections_total{job=~'$job', instance=~'$instance', result='evicted'}[$__rate_interval])"
    )
    (finding,) = lint_findings(tmp_path, with_expr(f"sum({counter})"), "promql-label-value")
    assert finding["source"] == f"baddefs/dash.py:{PANEL_LINE}"
    assert "result='evicted'" in finding["message"] and 'did you mean "evicted_slow"' in finding["message"]


def test_a_wrong_grouping_label_names_its_line_and_the_label(tmp_path: Path) -> None:
    counter = "rate(chat_connections_total{job=~'$job', instance=~'$instance'}[$__rate_interval])"
    (finding,) = lint_findings(tmp_path, with_expr(f"sum by (status) ({counter})"), "promql-label")
    assert finding["source"] == f"baddefs/dash.py:{PANEL_LINE}"
    assert "by (status)" in finding["message"] and "did you mean result?" in finding["message"]
