"""`python -m scripts.render`: one-line errors for bad definitions, determinism, and the --check gate."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml

from scripts.common.paths import REPO_ROOT
from scripts.rendered.layout import (
    CONTACT_POINTS_FILE,
    DASHBOARDS_DIR,
    EMBEDS_FILE,
    RULES_FILE,
    SOURCES_FILE,
)
from tests.support.definitions import COMMITTED, rule, run_render, write_package

REPO = REPO_ROOT

PANEL = (
    "TimeSeries(title={title!r}, description='d', unit='s', targets=[PromTarget(expr=selector('up'))]{extra})"
)
GOOD_DASHBOARD = textwrap.dedent(
    """
    from dashboards.core import *
    from grafanalib.core import GridPos

    dashboard = ChatDashboard(
        uid={uid!r}, title="T", description="d",
        panels=grid(Row(panels=[{panel}])),
    )
    """
)


def panel(title: str, extra: str = "") -> str:
    return PANEL.format(title=title, extra=extra)


BAD_DEFINITIONS = {
    "duplicate dashboard uid": (
        {
            "one": GOOD_DASHBOARD.format(uid="same", panel=panel("Up")),
            "two": GOOD_DASHBOARD.format(uid="same", panel=panel("Up")),
        },
        "baddefs.two: dashboard: duplicate dashboard uid 'same' (also in baddefs.one: dashboard)",
    ),
    "duplicate panel id": (
        {
            "dash": GOOD_DASHBOARD.format(uid="d", panel=panel("Up")).replace(
                "grid(Row(panels=[",
                f"[{panel('Other', ', id=1, gridPos=GridPos(h=8, w=12, x=12, y=8)')}] + grid(Row(panels=[",
            )
        },
        "baddefs.dash: dashboard: duplicate panel id 1 ('Other' and 'Up')",
    ),
    "panel without datasource": (
        {
            "dash": GOOD_DASHBOARD.format(
                uid="d", panel="TimeSeries(title='Empty', description='d', unit='s')"
            )
        },
        "baddefs.dash: dashboard: panel 'Empty' has no datasource (give it queries, all on one datasource)",
    ),
    "overlapping panels": (
        {
            "dash": GOOD_DASHBOARD.format(uid="d", panel=panel("Up")).replace(
                "grid(Row(panels=[",
                f"[{panel('Over', ', id=9, gridPos=GridPos(h=2, w=4, x=20, y=7)')}] + grid(Row(panels=[",
            )
        },
        "baddefs.dash: dashboard: panels 'Over' and 'Up' overlap",
    ),
    "condition naming a missing refId": (
        {
            "alerting": GOOD_DASHBOARD.format(uid="d", panel=panel("Up"))
            + f"\ngroup = RuleGroup(title='g', interval_s=60, rules=[{rule(condition='D')}])\n"
        },
        "baddefs.alerting: group: rule 'r1' condition 'D' is not one of its refIds ['A', 'B', 'C']",
    ),
    "interval not a multiple of 10 s": (
        {
            "alerting": GOOD_DASHBOARD.format(uid="d", panel=panel("Up"))
            + f"\ngroup = RuleGroup(title='g', interval_s=45, rules=[{rule()}])\n"
        },
        "baddefs.alerting: group: rule group interval 45s is not a positive multiple of 10s",
    ),
    "alert linking to a missing panel": (
        {
            "alerting": GOOD_DASHBOARD.format(uid="d", panel=panel("Other"))
            + f"\ngroup = RuleGroup(title='g', interval_s=60, rules=[{rule()}])\n"
        },
        "baddefs.alerting: group: ValueError: dashboard 'd' has 0 panels titled 'Up', expected 1",
    ),
    "panel mixing datasources": (
        {
            "dash": GOOD_DASHBOARD.format(
                uid="d",
                panel="TimeSeries(title='Mixed', description='d', unit='s', targets=["
                "PromTarget(expr=selector('up')), LokiTarget(expr=LOG_STREAM)])",
            )
        },
        "baddefs.dash: dashboard: panel 'Mixed' has no datasource (give it queries, all on one datasource)",
    ),
    "duplicate alert rule uid": (
        {
            "alerting": GOOD_DASHBOARD.format(uid="d", panel=panel("Up"))
            + f"\none = RuleGroup(title='g1', interval_s=60, rules=[{rule()}])"
            + f"\ntwo = RuleGroup(title='g2', interval_s=60, rules=[{rule()}])\n"
        },
        "baddefs.alerting: two: duplicate alert rule uid 'r1' (also in baddefs.alerting: one)",
    ),
    "policy routing to an unknown contact point": (
        {
            "routing": "from dashboards.core import *\n"
            "hook = ContactPoint(uid='hook', name='hook', url='http://x')\n"
            "other = ContactPoint(uid='other', name='other', url='http://y')\n"
            "policy = NotificationPolicy(receiver=hook, group_by=[], routes=[Route(receiver=other,"
            " object_matchers=[('severity', '=', 'critical')], group_wait='1s', group_interval='1m',"
            " repeat_interval='1h')])\n"
            "del other\n"
        },
        "baddefs.routing: policy: receiver 'other' is not a defined contact point",
    ),
    "a second notification policy": (
        {
            "routing": "from dashboards.core import *\n"
            "hook = ContactPoint(uid='hook', name='hook', url='http://x')\n"
            "first = NotificationPolicy(receiver=hook, group_by=[], routes=[])\n"
            "second = NotificationPolicy(receiver=hook, group_by=[], routes=[])\n"
        },
        "baddefs.routing: second: a second notification policy (the first is baddefs.routing: first)",
    ),
    "a plain grafanalib dashboard": (
        {"legacy": "from grafanalib.core import Dashboard\ndashboard = Dashboard(title='T', uid='t')\n"},
        "baddefs.legacy: dashboard: is a grafanalib Dashboard; use ChatDashboard from dashboards.core",
    ),
    "module failing on import": (
        {"broken": "from dashboards.core import *\nRow(panels=[TimeSeries(title=t) for t in 'abcde'])\n"},
        "baddefs/broken.py:2: ValueError: Row of 5 panels: pass widths=... summing to 24",
    ),
}


@pytest.mark.parametrize("case", list(BAD_DEFINITIONS))
def test_bad_definition_fails_with_one_line(case: str, tmp_path: Path) -> None:
    modules, message = BAD_DEFINITIONS[case]
    package = write_package(tmp_path, modules)
    result = run_render("--definitions", str(package), "--out", str(tmp_path / "out"))
    assert result.returncode == 1, result.stdout
    assert result.stderr == f"render: {message}\n"
    assert not (tmp_path / "out").exists()


def test_a_good_temporary_package_renders(tmp_path: Path) -> None:
    package = write_package(tmp_path, {"dash": GOOD_DASHBOARD.format(uid="d", panel=panel("Up"))})
    result = run_render("--definitions", str(package), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "dashboards" / "d.json").is_file()


def test_a_new_alert_is_one_object_in_its_own_module(tmp_path: Path) -> None:
    """An alert module next to a dashboard module needs nothing else: its panel link is resolved."""
    modules = {
        "dash": GOOD_DASHBOARD.format(uid="d", panel=panel("Other") + ", " + panel("Up")),
        "alerting": "from dashboards.core import *\nfrom baddefs.dash import dashboard\n"
        f"group = RuleGroup(title='g', interval_s=60, rules=[{rule()}])\n",
    }
    package = write_package(tmp_path, modules)
    result = run_render("--definitions", str(package), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    (group,) = json.loads((tmp_path / "out" / "alerting" / "rules.json").read_text())
    (rule_json,) = group["rules"]
    assert rule_json["annotations"]["__dashboardUid__"] == "d"
    assert rule_json["annotations"]["__panelId__"] == "2"  # "Up" is the second panel of the row
    provisioning = yaml.safe_load((tmp_path / "out" / "alerting" / "alerting.yaml").read_text())
    (file_rule,) = provisioning["groups"][0]["rules"]
    assert (file_rule["uid"], file_rule["dashboardUid"], file_rule["panelId"]) == ("r1", "d", 2)


def test_an_unwritable_out_dir_is_a_one_line_error(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    result = run_render("--out", str(not_a_dir))
    assert result.returncode == 1
    assert result.stderr == (
        f"render: cannot write to {not_a_dir}: Not a directory ({not_a_dir / 'alerting'})\n"
    )


def test_render_is_byte_identical_across_hash_seeds(tmp_path: Path) -> None:
    trees = []
    for seed in ("1", "4242"):
        out = tmp_path / f"seed-{seed}"
        assert run_render("--out", str(out), seed=seed).returncode == 0
        trees.append({p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()})
    written = {str(path) for path in trees[0]}
    assert {RULES_FILE, SOURCES_FILE, CONTACT_POINTS_FILE, EMBEDS_FILE} <= written
    assert any(name.startswith(f"{DASHBOARDS_DIR}/") for name in written)
    assert trees[0] == trees[1]
    assert all(text.endswith(b"\n") for text in trees[0].values())


def test_committed_files_are_fresh() -> None:
    result = run_render("--check")
    assert result.returncode == 0, result.stderr


def test_check_names_stale_files_and_render_repairs_them(tmp_path: Path) -> None:
    out = tmp_path / "grafana"
    shutil.copytree(COMMITTED, out)
    edited = min((out / DASHBOARDS_DIR).glob("*.json"))  # any committed dashboard
    edited.write_text("{}\n")
    removed = out / DASHBOARDS_DIR / "removed-dashboard.json"
    removed.write_text("{}\n")
    (out / EMBEDS_FILE).unlink()

    stale = run_render("--check", "--out", str(out))
    assert stale.returncode == 1
    names = sorted(str(path.relative_to(out)) for path in (edited, removed, out / EMBEDS_FILE))
    assert stale.stderr == f"render: stale files in {out}: {', '.join(names)}; run `make render`\n"
    assert run_render("--out", str(out)).returncode == 0
    assert not removed.exists()
    assert run_render("--check", "--out", str(out)).returncode == 0
