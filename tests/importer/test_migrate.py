"""Old dashboards are imported in the form Grafana migrates them to, and round-trip to that form.

The expected values are worked out by hand from Grafana's rules (grafana/grafana:
public/app/features/dashboard/state/DashboardMigrator.ts, public/app/plugins/panel/timeseries/migrations.ts,
apps/dashboard/pkg/migration/schemaversion/v28.go), not taken from the import's output: a span is 2 of the
24 columns per unit, a height in pixels is ceil(max(h, 90) / 38) grid units, a row panel's id follows the
largest panel id, a collapsed row holds its panels, and so on.
"""

from __future__ import annotations

import copy
import importlib
from pathlib import Path
from typing import Any

import pytest

from dashboards.core.cleanup import plain_json
from dashboards.core.dashboard import BUILT_IN_ANNOTATIONS as BUILT_IN_ANNOTATION
from scripts.common.exits import ExitCode
from scripts.publish.compare import content_hash
from tests.importer.fixtures import definitions_package, render, run_import, write_json

convert = importlib.import_module("scripts.import.convert")
normalise = importlib.import_module("scripts.import.normalise")
build = importlib.import_module("scripts.import.build")

DS = {"type": "prometheus", "uid": "${datasource}"}
DS_VARIABLE = {"name": "datasource", "type": "datasource", "query": "prometheus"}


def text(panel_id: int, title: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": panel_id,
        "type": "text",
        "title": title,
        "options": {"mode": "markdown", "content": title},
        **extra,
    }


def old_dashboard(version: int, **extra: Any) -> dict[str, Any]:
    return {
        "title": "Legacy service",
        "uid": "legacy-service",
        "schemaVersion": version,
        "annotations": {"list": [dict(BUILT_IN_ANNOTATION)]},
        "templating": {"list": [dict(DS_VARIABLE)]},
        "time": {"from": "now-6h", "to": "now"},
        **extra,
    }


def migrated(data: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """Grafana's migrated form (as saved), and the import of it, with publish's equality between the two."""
    expected = normalise.saved_form(data, build.Notes())
    result = convert.convert(copy.deepcopy(data), "fixture")
    rendered = plain_json(convert.load_module(result.source, "dashboards/fixture.py").dashboard)
    assert content_hash(rendered) == content_hash(expected)
    return expected, result


def by_id(panels: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {p["id"]: p for p in panels}


ROWS_DASHBOARD = old_dashboard(
    15,
    rows=[
        {
            "title": "Traffic",
            "showTitle": True,
            "height": "250px",
            "panels": [text(1, "Requests", span=4), text(2, "Latency", span=8)],
        },
        {
            "title": "Details",
            "collapse": True,
            "height": 300,
            "panels": [text(3, "Errors", span=6), text(4, "Saturation", span=6)],
        },
        {"title": "Logs", "showTitle": False, "height": 200, "panels": [text(5, "Recent", span=12)]},
    ],
)


def test_the_rows_array_becomes_row_panels_and_grid_positions() -> None:
    expected, result = migrated(ROWS_DASHBOARD)
    assert "rows" not in expected and expected["schemaVersion"] == 42
    layout = [(p["id"], p["type"], p["gridPos"]) for p in expected["panels"]]
    # Row panels take the ids after the largest panel id (5); a row's height sizes its panels: 250px -> 7
    # units, 300 -> 8, 200 -> 6; headers are saved one unit high, the panels start just below them.
    assert layout == [
        (6, "row", {"x": 0, "y": 0, "w": 24, "h": 1}),
        (1, "text", {"x": 0, "y": 1, "w": 8, "h": 7}),
        (2, "text", {"x": 8, "y": 1, "w": 16, "h": 7}),
        (7, "row", {"x": 0, "y": 8, "w": 24, "h": 1}),
        (8, "row", {"x": 0, "y": 9, "w": 24, "h": 1}),
        (5, "text", {"x": 0, "y": 10, "w": 24, "h": 6}),
    ]
    rows = by_id(expected["panels"])
    assert [rows[i]["collapsed"] for i in (6, 7, 8)] == [False, True, False]
    assert [rows[i]["title"] for i in (6, 7, 8)] == ["Traffic", "Details", "Logs"]
    # The collapsed row carries its panels, laid out below its header; the open ones hold none.
    assert [(p["id"], p["gridPos"]) for p in rows[7]["panels"]] == [
        (3, {"x": 0, "y": 9, "w": 12, "h": 8}),
        (4, {"x": 12, "y": 9, "w": 12, "h": 8}),
    ]
    assert rows[6]["panels"] == [] and all("span" not in p for p in rows[7]["panels"])
    assert result.layout == "grid"
    assert 'Collapsed(\n            title="Details"' in result.source


def test_rows_without_a_visible_title_give_no_row_panels_and_a_panel_wraps_below() -> None:
    data = old_dashboard(
        14,
        rows=[{"height": 100, "panels": [text(1, "A", span=8), text(2, "B", span=8), text(3, "C", span=4)]}],
    )
    expected, result = migrated(data)
    # 100px -> 3 units; 16 + 16 columns do not fit in 24, so B goes below A, and C beside B.
    assert [(p["id"], p["gridPos"]) for p in expected["panels"]] == [
        (1, {"x": 0, "y": 0, "w": 16, "h": 3}),
        (2, {"x": 0, "y": 3, "w": 16, "h": 3}),
        (3, {"x": 16, "y": 3, "w": 8, "h": 3}),
    ]
    assert result.layout == "grid"


def test_the_rows_give_the_positions_grafanas_own_migration_test_expects() -> None:
    """The layout of Grafana's v16 test dashboard (apps/dashboard/pkg/migration/testdata/input/
    v16.grid_layout_upgrade.json), against the positions its expected output lists (testdata/output/
    latest_version/v16.grid_layout_upgrade.v42.json); only the row headers differ, saved one unit high
    and with `collapsed` as a save from the UI stores them (the migrator leaves them as high as the row)."""

    def panel(panel_id: int, kind: str, span: int, **extra: Any) -> dict[str, Any]:
        return {"id": panel_id, "type": kind, "title": f"p{panel_id}", "span": span, **extra}

    rows = [
        {"collapse": False, "height": 250, "panels": [panel(1, "graph", 6), panel(2, "singlestat", 6)]},
        {
            "collapse": True,
            "height": 300,
            "title": "Collapsed Row",
            "panels": [
                panel(3, "table", 12),
                panel(4, "graph", 6, height=200),
                panel(5, "graph", 6, height=200),
            ],
        },
        {
            "showTitle": True,
            "title": "Visible Row Title",
            "height": 200,
            "panels": [panel(6, "gauge", 4, minSpan=2), panel(7, "stat", 4), panel(8, "bargauge", 4)],
        },
        {"height": 150, "panels": [panel(9, "text", 8), panel(10, "logs", 4, height=100)]},
        {"repeat": "server", "height": 250, "panels": [panel(11, "graph", 12)]},
        {"repeatIteration": True, "height": 250, "panels": [panel(12, "graph", 12)]},
    ]
    notes = build.Notes()
    expected = normalise.saved_form({"title": "V16", "uid": "v16", "schemaVersion": 15, "rows": rows}, notes)
    top = [(p["id"], p["type"], tuple(p["gridPos"][k] for k in "xywh")) for p in expected["panels"]]
    assert top == [
        (13, "row", (0, 0, 24, 1)),
        (1, "timeseries", (0, 1, 12, 7)),
        (2, "stat", (12, 1, 12, 7)),
        (14, "row", (0, 8, 24, 1)),
        (15, "row", (0, 17, 24, 1)),
        (6, "gauge", (0, 18, 8, 6)),
        (7, "stat", (8, 18, 8, 6)),
        (8, "bargauge", (16, 18, 8, 6)),
        (16, "row", (0, 24, 24, 1)),
        (9, "text", (0, 25, 16, 4)),
        (10, "logs", (16, 25, 8, 3)),
        (17, "row", (0, 29, 24, 1)),
        (11, "timeseries", (0, 30, 24, 7)),
    ]
    panels = by_id(expected["panels"])
    nested = [(p["id"], p["type"], tuple(p["gridPos"][k] for k in "xywh")) for p in panels[14]["panels"]]
    assert nested == [
        (3, "table", (0, 9, 24, 8)),
        (4, "graph", (0, 17, 12, 6)),
        (5, "graph", (12, 17, 12, 6)),
    ]
    assert [panels[i]["collapsed"] for i in (13, 14, 15, 16, 17)] == [False, True, False, False, False]
    assert "title" not in panels[16] and panels[15]["title"] == "Visible Row Title"
    assert panels[17]["repeat"] == "server" and panels[6]["maxPerRow"] == 6 and "minSpan" not in panels[6]
    assert panels[10]["height"] == 100
    defaults = {
        k: expected[k]
        for k in ("editable", "graphTooltip", "links", "tags", "time", "timepicker", "timezone")
    }
    assert defaults == {
        "editable": True,
        "graphTooltip": 0,
        "links": [],
        "tags": [],
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "",
    }
    assert expected["annotations"]["list"] == [BUILT_IN_ANNOTATION] and expected["refresh"] == ""
    assert [line for line in notes.lines if "migrated from schemaVersion 15 to 42" in line]


def test_the_imported_rows_dashboard_renders(tmp_path: Path) -> None:
    package = definitions_package(tmp_path)
    done = run_import(str(write_json(tmp_path / "old.json", ROWS_DASHBOARD)), "--out", str(package))
    assert done.returncode == ExitCode.OK, done.stderr
    assert (package / "legacy_service.py").is_file()
    rendered = render(package, tmp_path / "rendered")
    assert rendered.returncode == ExitCode.OK, rendered.stderr


GRID_THRESHOLDS = {
    "threshold1": 80,
    "threshold1Color": "rgba(216, 200, 27, 0.27)",
    "threshold2": 90,
    "threshold2Color": "rgba(234, 112, 112, 0.22)",
    "thresholdLine": False,
}


def test_a_schema_11_dashboard_gets_every_later_step() -> None:
    graph = {
        "id": 1,
        "type": "graph",
        "title": "CPU",
        "span": 12,
        "datasource": "$datasource",
        "targets": [{"expr": "rate(process_cpu_seconds_total[5m])"}],
        "grid": dict(GRID_THRESHOLDS),
        "lines": True,
        "linewidth": 1,
        "fill": 1,
        "nullPointMode": "null",
        "legend": {"show": True, "values": False, "rightSide": True},
        "tooltip": {"shared": False, "sort": 0},
        "yaxes": [
            {"format": "percent", "show": True, "min": 0, "max": 100, "logBase": 1, "label": "CPU"},
            {"format": "short", "show": True},
        ],
        "seriesOverrides": [{"alias": "limit", "dashes": True, "fill": 0, "linewidth": 2, "yaxis": 2}],
        "links": [
            {
                "dashboard": "Other Dash",
                "keepTime": True,
                "includeVars": True,
                "title": "Other",
                "type": "dashboard",
            }
        ],
    }
    data = old_dashboard(
        11,
        sharedCrosshair=True,
        refresh=False,
        timepicker={"refresh_intervals": ["30s", "1m"], "time_options": ["5m", "1h"]},
        rows=[{"height": "300px", "panels": [graph]}],
    )
    data["annotations"]["list"][0]["datasource"] = "-- Grafana --"  # the built-in datasource, by name
    data["templating"]["list"] += [
        {
            "name": "job",
            "type": "query",
            "datasource": "$datasource",
            "query": "label_values(up, job)",
            "refresh": True,
            "options": [{"text": "api", "value": "api"}],
            "tags": ["a"],
            "useTags": True,
            "current": {"text": "api", "value": "api"},
        },
        {"name": "env", "type": "constant", "query": "prod", "hide": 2},
        {"name": "team", "type": "constant", "query": "core", "hide": 0},
        {"name": "mode", "type": "custom", "query": "a,b", "hideVariable": True},
    ]
    expected, result = migrated(data)
    assert expected["graphTooltip"] == 1 and "sharedCrosshair" not in expected  # v14
    # v36: every Grafana has the built-in datasource "-- Grafana --", whose uid is "grafana".
    assert expected["annotations"]["list"][0]["datasource"] == {"type": "datasource", "uid": "grafana"}
    assert expected["refresh"] == "" and expected["timepicker"] == {
        "refresh_intervals": ["30s", "1m"]
    }  # v40, v41
    job, env, team, mode = expected["templating"]["list"][1:]
    assert (
        job["refresh"] == 1 and job["options"] == [] and "tags" not in job and "useTags" not in job
    )  # v12, v28, v29
    current = {"selected": True, "text": "prod", "value": "prod"}
    assert env == {**env, "type": "constant", "current": current, "options": [current]}  # v27
    assert team["type"] == "textbox" and team["current"]["value"] == "core"
    assert mode["hide"] == 2  # v12
    [panel] = expected["panels"]
    assert panel["gridPos"] == {"x": 0, "y": 0, "w": 24, "h": 8}  # span 12, 300px
    assert panel["type"] == "timeseries" and panel["datasource"] == DS | {"uid": "$datasource"}  # v33
    assert panel["targets"] == [{"expr": "rate(process_cpu_seconds_total[5m])", "refId": "A"}]
    assert panel["links"] == [
        {"url": "dashboard/db/other-dash?$__url_time_range&$__all_variables", "title": "Other"}
    ]
    defaults = panel["fieldConfig"]["defaults"]
    # v13 turned the grid thresholds into two "gt" fills; the graph handler into steps on a transparent base.
    assert defaults["thresholds"] == {
        "mode": "absolute",
        "steps": [
            {"color": "transparent", "value": None},
            {"color": "rgba(216, 200, 27, 0.27)", "value": 80},
            {"color": "rgba(234, 112, 112, 0.22)", "value": 90},
        ],
    }
    assert defaults["custom"] == {
        "axisPlacement": "auto",
        "axisLabel": "CPU",
        "drawStyle": "line",
        "showPoints": "never",
        "lineWidth": 1,
        "fillOpacity": 10,
        "spanNulls": False,
        "thresholdsStyle": {"mode": "area"},
    }
    assert (defaults["unit"], defaults["min"], defaults["max"], defaults["nullValueMode"]) == (
        "percent",
        0,
        100,
        "null",
    )
    [limit] = panel["fieldConfig"]["overrides"]
    assert limit == {
        "matcher": {"id": "byName", "options": "limit"},
        "properties": [
            {"id": "custom.fillOpacity", "value": 0},
            {"id": "custom.lineWidth", "value": 2},
            {"id": "unit", "value": "short"},
            {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
        ],
    }
    assert panel["options"] == {
        "legend": {"displayMode": "list", "showLegend": True, "placement": "right", "calcs": []},
        "tooltip": {"mode": "single", "sort": "none"},
    }
    assert "TimeSeriesPanel(" in result.source
    assert [line for line in result.notes if "Angular graph migrated to timeseries" in line]


def test_a_graph_panel_with_overrides_axes_and_legend_becomes_a_time_series() -> None:
    graph = {
        "id": 2,
        "type": "graph",
        "title": "Latency",
        "gridPos": {"x": 0, "y": 0, "w": 24, "h": 9},
        "datasource": DS,
        "targets": [
            {"datasource": DS, "expr": "histogram_quantile(0.99, x)", "legendFormat": "p99", "refId": "A"}
        ],
        "aliasColors": {"p99": "dark-red", "p50": ""},
        "bars": False,
        "lines": True,
        "linewidth": 2,
        "fill": 2,
        "fillGradient": 0,
        "points": True,
        "pointradius": 3,
        "steppedLine": True,
        "stack": True,
        "nullPointMode": "connected",
        "percentage": False,
        "renderer": "flot",
        "legend": {
            "show": True,
            "alignAsTable": True,
            "values": True,
            "min": True,
            "max": False,
            "avg": True,
            "current": True,
            "hideZero": True,
            "sideWidth": 300,
        },
        "tooltip": {"shared": True, "sort": 1, "value_type": "individual"},
        "xaxis": {"show": False, "mode": "time", "values": []},
        "yaxes": [
            {"format": "s", "show": True, "logBase": 10, "decimals": "2", "min": None, "label": "latency"},
            {"format": "percentunit", "show": True, "logBase": 1, "max": "1"},
        ],
        "seriesOverrides": [
            {
                "alias": "/errors.*/",
                "yaxis": 2,
                "bars": True,
                "lines": False,
                "stack": "B",
                "transform": "negative-Y",
            },
            {"alias": "p50", "fillBelowTo": "p10", "color": "#73BF69", "zindex": 2},
        ],
        "thresholds": [],
        "fieldConfig": {
            "defaults": {"links": [{"title": "Runbook", "url": "https://example.org"}]},
            "overrides": [],
        },
        "timeFrom": "1h",
    }
    expected, result = migrated(old_dashboard(27, panels=[graph]))
    [panel] = expected["panels"]
    assert {k for k in panel} == {
        "id",
        "type",
        "title",
        "gridPos",
        "datasource",
        "targets",
        "timeFrom",
        "fieldConfig",
        "options",
    }
    assert panel["type"] == "timeseries"
    assert panel["fieldConfig"]["defaults"] == {
        "links": [{"title": "Runbook", "url": "https://example.org"}],
        "unit": "s",
        "decimals": 2,
        "nullValueMode": "connected",
        "custom": {
            "axisPlacement": "auto",
            "axisLabel": "latency",
            "scaleDistribution": {"type": "log", "log": 10},
            "drawStyle": "line",
            "showPoints": "always",
            "pointSize": 8,
            "lineWidth": 2,
            "fillOpacity": 35,  # a fillBelowTo band anywhere sets the fixed band opacity
            "spanNulls": True,
            "lineInterpolation": "stepAfter",
            "stacking": {"mode": "normal", "group": "A"},
        },
    }
    assert panel["fieldConfig"]["overrides"] == [
        {
            "matcher": {"id": "byName", "options": "p99"},
            "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": "dark-red"}}],
        },
        {
            "matcher": {"id": "byRegexp", "options": "/errors.*/"},
            "properties": [
                {"id": "unit", "value": "percentunit"},
                {"id": "max", "value": 1},
                {"id": "custom.drawStyle", "value": "bars"},
                {"id": "custom.fillOpacity", "value": 100},
                {"id": "custom.lineWidth", "value": 0},
                {"id": "custom.stacking", "value": {"mode": "normal", "group": "B"}},
                {"id": "custom.transform", "value": "negative-Y"},
            ],
        },
        {
            "matcher": {"id": "byName", "options": "p50"},
            "properties": [
                {"id": "custom.fillBelowTo", "value": "p10"},
                {"id": "color", "value": {"fixedColor": "#73BF69", "mode": "fixed"}},
            ],
        },
        {
            "matcher": {"id": "byValue", "options": {"reducer": "allIsZero", "op": "gte", "value": 0}},
            "properties": [
                {"id": "custom.hideFrom", "value": {"tooltip": True, "viz": False, "legend": True}}
            ],
        },
        {
            "matcher": {"id": "byType", "options": "time"},
            "properties": [{"id": "custom.axisPlacement", "value": "hidden"}],
        },
    ]
    assert panel["options"] == {
        "legend": {
            "displayMode": "table",
            "showLegend": True,
            "placement": "bottom",
            "calcs": ["min", "mean", "lastNotNull"],  # the legend's min, avg and current
            "width": 300,
        },
        "tooltip": {"mode": "multi", "sort": "asc"},
    }
    # What Grafana's migration drops is said, not lost silently.
    assert [
        line for line in result.notes if "series override 'p50': Grafana's migration drops zindex" in line
    ]
    assert [line for line in result.notes if "drops percentage, renderer" in line]


def test_a_singlestat_becomes_a_stat_panel() -> None:
    singlestat = {
        "id": 3,
        "type": "singlestat",
        "title": "Availability",
        "gridPos": {"x": 0, "y": 0, "w": 6, "h": 4},
        "datasource": DS,
        "targets": [{"datasource": DS, "expr": "avg(up)", "refId": "A"}],
        "format": "percentunit",
        "decimals": 2,
        "valueName": "avg",
        "nullPointMode": "connected",
        "nullText": "no data",
        "thresholds": "0.9,0.99",
        "colors": ["#d44a3a", "rgba(237, 129, 40, 0.89)", "#299c46"],
        "colorValue": True,
        "colorBackground": False,
        "sparkline": {"show": True, "lineColor": "rgb(31, 120, 193)", "full": False},
        "gauge": {"show": False, "minValue": 0, "maxValue": 100},
        "mappingType": 1,
        "valueMaps": [{"op": "=", "text": "N/A", "value": "null"}, {"op": "=", "text": "down", "value": "0"}],
        "rangeMaps": [{"from": "null", "to": "null", "text": "N/A"}],
        "prefix": "",
        "tableColumn": "",
        "valueFontSize": "80%",
        "links": [],
    }
    # A current dashboard too: Grafana 11+ migrates Angular panels whatever the schema version.
    expected, result = migrated(old_dashboard(41, panels=[singlestat]))
    [panel] = expected["panels"]
    assert panel["type"] == "stat" and "valueMaps" not in panel and "sparkline" not in panel
    assert panel["options"] == {
        "reduceOptions": {"calcs": ["mean"]},  # avg
        "orientation": "horizontal",
        "graphMode": "area",
        "colorMode": "value",
    }
    assert panel["fieldConfig"] == {
        "defaults": {
            "unit": "percentunit",
            "decimals": 2,
            "nullValueMode": "connected",
            "noValue": "no data",
            "thresholds": {
                "mode": "absolute",
                "steps": [
                    {"value": None, "color": "#d44a3a"},
                    {"value": 0.9, "color": "rgba(237, 129, 40, 0.89)"},
                    {"value": 0.99, "color": "#299c46"},
                ],
            },
            "mappings": [  # mappingType 1: the value maps; "null" is the special null value
                {"type": "value", "options": {"0": {"text": "down"}}},
                {"type": "special", "options": {"match": "null", "result": {"text": "N/A"}}},
            ],
            "min": 0,  # percentunit
            "max": 1,
        },
        "overrides": [],
    }
    assert "StatPanel(" in result.source
    assert [
        line for line in result.notes if "singlestat migrated to stat" in line and "valueFontSize" in line
    ]


def test_a_graph_inside_a_collapsed_row_stays_until_grafana_opens_the_row() -> None:
    graph = {
        "id": 2,
        "type": "graph",
        "title": "Old",
        "gridPos": {"x": 0, "y": 1, "w": 24, "h": 8},
        "lines": True,
    }
    row = {
        "id": 1,
        "type": "row",
        "title": "R",
        "collapsed": True,
        "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1},
    }
    expected, result = migrated(old_dashboard(41, panels=[{**row, "panels": [graph]}]))
    assert expected["panels"][0]["panels"][0]["type"] == "graph"
    assert "PluginPanel(" in result.source and [
        line for line in result.notes if "'graph' is not modelled" in line
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {
                "schemaVersion": 27,
                "panels": [{"id": 1, "type": "stat", "datasource": "Prometheus", "targets": []}],
            },
            "schema step 33: panel '' (id 1) names its datasource 'Prometheus'",
        ),
        ({"schemaVersion": 8, "rows": []}, "schemaVersion 8 is older than 9"),
        (
            {"schemaVersion": 20, "panels": [{"id": 1, "type": "table", "styles": [{"pattern": "/.*/"}]}]},
            "schema step 24: panel '' (id 1) is an Angular table",
        ),
        (
            {"schemaVersion": 41, "panels": [{"id": 1, "type": "graph", "xaxis": {"mode": "series"}}]},
            "a graph with x-axis mode 'series' becomes a bar chart or histogram",
        ),
    ],
)
def test_what_needs_the_grafana_instance_is_refused_in_one_line(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    data = {**old_dashboard(27), **change}
    done = run_import(str(write_json(tmp_path / "old.json", data)), "--out", str(tmp_path / "out"))
    assert done.returncode == ExitCode.FAILED
    [line] = done.stderr.strip().splitlines()
    assert message in line and "--uid" in line
    assert not (tmp_path / "out").exists(), "nothing is written for a refused dashboard"


def test_a_null_datasource_stays_the_default_and_is_said(tmp_path: Path) -> None:
    panel = {"id": 1, "type": "timeseries", "gridPos": {"x": 0, "y": 0, "w": 24, "h": 8}, "datasource": None}
    data = old_dashboard(30, panels=[{**panel, "targets": [{"expr": "up", "refId": "A"}]}])
    expected, result = migrated(data)
    assert "datasource" not in expected["panels"][0]
    assert [line for line in result.notes if "schema step 36: the default datasource of 1 panels" in line]


def test_the_steps_after_36_reach_an_older_dashboard() -> None:
    """v37 (legend), v38 (table cell display) and v42 (hidden fields leave the tooltip too), as Grafana's
    expected output for its own fixtures has them (apps/dashboard/pkg/migration/testdata/output/
    single_version/v38.table_displaymode_comprehensive.v38.json, v42.hidefrom_tooltip.v42.json)."""
    modes = [
        "basic",
        "gradient-gauge",
        "lcd-gauge",
        "color-background",
        "color-background-solid",
        "some-other-mode",
    ]
    panels: list[dict[str, Any]] = [
        {
            "id": i + 1,
            "type": "table",
            "title": mode,
            "gridPos": {"x": 0, "y": 4 * i, "w": 24, "h": 4},
            "fieldConfig": {"defaults": {"custom": {"displayMode": mode}}, "overrides": []},
        }
        for i, mode in enumerate(modes)
    ]
    hide = {"id": "custom.hideFrom", "value": {"legend": False, "tooltip": False, "viz": True}}
    panels.append(
        {
            "id": 7,
            "type": "timeseries",
            "title": "series",
            "gridPos": {"x": 0, "y": 24, "w": 24, "h": 8},
            "options": {"legend": {"displayMode": "hidden", "placement": "bottom", "calcs": []}},
            "fieldConfig": {
                "defaults": {},
                "overrides": [{"matcher": {"id": "byName", "options": "x"}, "properties": [hide]}],
            },
        }
    )
    expected, _ = migrated(old_dashboard(35, panels=panels))
    cells = [p["fieldConfig"]["defaults"]["custom"]["cellOptions"] for p in expected["panels"][:6]]
    assert cells == [
        {"type": "gauge", "mode": "basic"},
        {"type": "gauge", "mode": "gradient"},
        {"type": "gauge", "mode": "lcd"},
        {"type": "color-background", "mode": "gradient"},
        {"type": "color-background", "mode": "basic"},
        {"type": "some-other-mode"},
    ]
    series = expected["panels"][6]
    assert series["options"]["legend"] == {
        "displayMode": "list",
        "showLegend": False,
        "placement": "bottom",
        "calcs": [],
    }
    [override] = series["fieldConfig"]["overrides"]
    assert override["properties"][0]["value"] == {"legend": False, "tooltip": True, "viz": True}
