"""Every object an author builds is traced back to their Python: sources.json, and errors at file:line."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from scripts.rendered.layout import (
    DASHBOARDS_DIR,
    SOURCES_FILE,
    dashboard_source_key,
    panel_source_key,
    rule_source_key,
)
from scripts.rendered.model import iter_panels, iter_rules
from scripts.rendered.tree import load_tree
from tests.support.definitions import COMMITTED, rule, run_render, write_package

# One object per line, so each line number below is the line the author wrote it on.
MODULE = textwrap.dedent(
    """\
    from dashboards.core import *

    up = TimeSeries(title='Up', description='d', unit='s', targets=[PromTarget(expr=selector('up'))])
    dashboard = ChatDashboard(
        uid='d', title='T', description='d',
        panels=grid(Row(title='Band', panels=[up])),
    )
    group = RuleGroup(title='g', interval_s=60, rules=[{rule}])
    """
)


def line_of(source: str, text: str) -> int:
    return next(number for number, line in enumerate(source.splitlines(), 1) if text in line)


def render_package(tmp_path: Path, modules: dict[str, str]) -> tuple[str, Path]:
    """Render a temporary package; returns (stderr, out directory)."""
    out = tmp_path / "out"
    result = run_render("--definitions", str(write_package(tmp_path, modules)), "--out", str(out))
    return result.stderr, out


def test_sources_name_the_line_of_every_dashboard_panel_row_and_rule(tmp_path: Path) -> None:
    source = MODULE.format(rule=rule())
    stderr, out = render_package(tmp_path, {"dash": source})
    assert not stderr
    sources = json.loads((out / SOURCES_FILE).read_text())
    assert sources == {
        dashboard_source_key("d"): f"baddefs/dash.py:{line_of(source, 'ChatDashboard(')}",
        panel_source_key("d", 1): f"baddefs/dash.py:{line_of(source, 'Row(')}",  # the row header
        panel_source_key("d", 2): f"baddefs/dash.py:{line_of(source, 'TimeSeries(')}",
        rule_source_key("r1"): f"baddefs/dash.py:{line_of(source, 'AlertRule(')}",
    }
    rendered = [path for path in out.rglob("*.*") if path.name != SOURCES_FILE]
    assert (out / DASHBOARDS_DIR / "d.json") in rendered
    assert not [path for path in rendered if "dash.py" in path.read_text()]  # sources stay out of them


def test_the_committed_tree_is_fresh_and_its_sources_map_every_panel_and_rule() -> None:
    assert run_render("--check").returncode == 0  # byte-identical: sources stay out of the JSON
    tree = load_tree(COMMITTED)
    panels = {panel_source_key(d.uid, ref.id) for d in tree.dashboards for ref in iter_panels(d)}
    rules = {rule["uid"] for rule in iter_rules(tree.rule_groups)}
    assert panels | {dashboard_source_key(d.uid) for d in tree.dashboards} <= tree.sources.keys()
    assert tree.rule_sources.keys() == rules
    assert all(
        where.startswith("dashboards/") and where.split(":")[1].isdigit() for where in tree.sources.values()
    )


def test_a_name_error_names_file_line_and_the_constant_meant(tmp_path: Path) -> None:
    source = MODULE.format(rule=rule()).replace("unit='s'", "unit=UNIT_PER_SECONDS")
    stderr, _ = render_package(tmp_path, {"dash": source})
    assert stderr == (
        f"render: baddefs/dash.py:{line_of(source, 'UNIT_PER_SECONDS')}: NameError: name 'UNIT_PER_SECONDS'"
        " is not defined (did you mean UNIT_PER_SECOND?)\n"
    )


def test_a_misspelt_import_names_file_line_and_the_name_meant(tmp_path: Path) -> None:
    stderr, _ = render_package(tmp_path, {"dash": "\nfrom dashboards.core import UNIT_SECOND\n"})
    assert stderr.startswith("render: baddefs/dash.py:2: ImportError: cannot import name 'UNIT_SECOND'")
    assert stderr.endswith("(did you mean UNIT_SECONDS?)\n")


def test_a_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    stderr, _ = render_package(
        tmp_path, {"dash": "from dashboards.core import *\n\nup = TimeSeries(title='Up'\n"}
    )
    assert stderr.startswith("render: baddefs/dash.py:3: SyntaxError: ")


def test_an_error_in_a_helper_module_names_the_helpers_line(tmp_path: Path) -> None:
    """The last frame in the package is the author's line, even below their own module's import."""
    modules = {
        "helper": "def panels():\n    return missing\n",
        "dash": "from baddefs.helper import panels\npanels()\n",
    }
    stderr, _ = render_package(tmp_path, modules)
    assert stderr == "render: baddefs/helper.py:2: NameError: name 'missing' is not defined\n"
