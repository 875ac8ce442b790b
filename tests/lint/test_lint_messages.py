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
from tests.dashboards.test_render_cli import run_render, write_package
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
    out = tmp_path / "out"
    package = write_package(tmp_path, {"dash": MODULE.format(unit=unit)})
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
    return [f for f in findings if f["rule"] == "panel-units"]


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
