"""Nothing is lost silently: what dashboards.core models round-trips as its fields; what it does not is
carried in a visible escape hatch (Raw, PluginPanel, LibraryPanel) and listed, or the import refuses with
one line naming it. Each test is one such feature, on a small dashboard of our own."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from dashboards.core.cleanup import plain_json
from scripts.common.exits import ExitCode
from scripts.publish.compare import content_hash
from tests.importer.fixtures import (
    PROM,
    definitions_package,
    render,
    run_import,
    timeseries,
    variant,
    write_json,
)

convert = importlib.import_module("scripts.import.convert")
normalise = importlib.import_module("scripts.import.normalise")
build = importlib.import_module("scripts.import.build")


def round_trip(data: dict[str, Any]) -> Any:
    """Import, render the module, and require publish's equality with the saved form of the input."""
    result = convert.convert(data, "fixture")
    rendered = plain_json(convert.load_module(result.source, "dashboards/fixture.py").dashboard)
    assert content_hash(rendered) == content_hash(normalise.saved_form(data, build.Notes()))
    return result


def notes_about(result: Any, text: str) -> list[str]:
    return [line for line in result.notes if text in line]


def test_modelled_keys_round_trip_as_fields_without_notes() -> None:
    result = round_trip(variant())
    assert result.notes == []
    assert "Raw(" not in result.source
    assert 'Row(\n            title="Traffic"' in result.source
    assert "UNIT_SECONDS" in result.source and 'steps("green", (80, "red"))' in result.source


def test_an_unknown_panel_type_is_carried_as_a_plugin_panel() -> None:
    data = variant()
    data["panels"][2] = {
        **data["panels"][2],
        "type": "grafana-piechart-panel",
        "options": {"pieType": "donut"},
    }
    result = round_trip(data)
    assert "PluginPanel(" in result.source and 'type="grafana-piechart-panel"' in result.source
    assert notes_about(result, "panel type 'grafana-piechart-panel' is not modelled")


def test_an_angular_graph_panel_is_migrated_visibly() -> None:
    """Grafana 11+ loads a graph panel as a timeseries: the import does the same and says so."""
    data = variant()
    data["panels"][1] = {**data["panels"][1], "type": "graph", "yaxes": [{"format": "s"}], "lines": True}
    result = round_trip(data)
    assert notes_about(result, "Angular graph migrated to timeseries")
    requests = result.source.split('title="Requests"')[0].rsplit("\n", 1)[0]
    assert requests.rstrip().endswith("TimeSeriesPanel("), "the migrated panel is our timeseries class"


def test_an_unknown_option_is_carried_as_raw_and_listed() -> None:
    data = variant()
    data["panels"][1]["options"]["futureOption"] = {"enabled": True}
    result = round_trip(data)
    assert 'raw=Raw({"futureOption": {"enabled": True}})' in result.source.replace("\n", "").replace("  ", "")
    assert notes_about(result, "options: not modelled, carried as Raw: futureOption")


def test_an_unknown_field_option_and_override_round_trip() -> None:
    data = variant()
    defaults = data["panels"][1]["fieldConfig"]["defaults"]
    defaults["custom"]["newStyleKey"] = 3
    data["panels"][1]["fieldConfig"]["overrides"] = [
        {"matcher": {"id": "byName", "options": "rps"}, "properties": [{"id": "custom.width", "value": 90}]}
    ]
    result = round_trip(data)
    assert "Override(" in result.source and "Matcher(" in result.source and "Property(" in result.source
    assert notes_about(result, "custom: not modelled, carried as Raw: newStyleKey")


def test_transformations_value_mappings_and_links_are_modelled() -> None:
    data = variant()
    panel = data["panels"][1]
    panel["transformations"] = [{"id": "organize", "options": {"renameByName": {"Value": "rps"}}}]
    panel["links"] = [{"title": "Runbook", "url": "https://example.org/runbook", "targetBlank": True}]
    panel["fieldConfig"]["defaults"]["mappings"] = [
        {"type": "value", "options": {"0": {"text": "down", "color": "red", "index": 0}}}
    ]
    data["links"] = [{"title": "More", "type": "dashboards", "tags": ["api"], "asDropdown": True}]
    result = round_trip(data)
    assert result.notes == []
    for name in ("Transformation(", "ValueMapping(", "Link("):
        assert name in result.source


def test_an_explicit_null_on_a_modelled_key_is_carried_as_raw() -> None:
    data = variant()
    data["panels"][1]["fieldConfig"]["defaults"]["decimals"] = None
    result = round_trip(data)
    assert notes_about(result, "defaults: not modelled, carried as Raw: decimals")


def test_a_library_panel_is_carried_as_its_reference() -> None:
    data = variant()
    data["panels"][2] = {
        "gridPos": {"h": 8, "w": 12, "x": 12, "y": 1},
        "id": 3,
        "libraryPanel": {"uid": "lib-latency", "name": "Latency"},
        "title": "Latency",
    }
    data["__elements"] = {"lib-latency": {"name": "Latency", "uid": "lib-latency", "model": {}}}
    result = round_trip(data)
    assert "LibraryPanel(" in result.source and "LibraryPanelRef(" in result.source
    assert notes_about(result, "library panel: its model stays in Grafana's library")
    assert notes_about(
        result, "library panel models in __elements are not carried (Grafana keeps them): Latency"
    )


def test_every_template_variable_kind_round_trips() -> None:
    kinds = {
        "query": {"query": "label_values(up, job)", "datasource": PROM, "refresh": 2, "multi": True},
        "custom": {"query": "a,b", "options": [{"text": "a", "value": "a", "selected": True}]},
        "datasource": {"query": "prometheus", "regex": ""},
        "interval": {"query": "1m,5m", "auto": True, "auto_count": 30, "auto_min": "10s"},
        "constant": {"query": "prod", "hide": 2},
        "textbox": {"query": "", "label": "Filter"},
        "adhoc": {"datasource": PROM, "filters": [], "baseFilters": []},
        "groupby": {"datasource": PROM, "defaultKeys": ["job"]},
        "switch": {"current": {"text": "true", "value": "true"}},
    }
    data = variant()
    data["templating"]["list"] = [{"name": f"v_{kind}", "type": kind, **body} for kind, body in kinds.items()]
    result = round_trip(data)
    assert result.notes == []
    for cls in (
        "QueryVar",
        "CustomVar",
        "DatasourceVar",
        "IntervalVar",
        "ConstantVar",
        "TextboxVar",
        "AdhocVar",
        "GroupByVar",
        "SwitchVar",
    ):
        assert f"{cls}(" in result.source


def test_an_unknown_variable_type_is_refused_in_one_line() -> None:
    data = variant()
    data["templating"]["list"].append({"name": "odd", "type": "from-the-future"})
    with pytest.raises(build.ImportRefused, match="template variable of type 'from-the-future'"):
        convert.convert(data, "fixture")


def test_annotations_round_trip() -> None:
    data = variant()
    data["annotations"]["list"].append(
        {
            "name": "Deploys",
            "datasource": PROM,
            "enable": True,
            "expr": "changes(build_info[5m]) > 0",
            "iconColor": "blue",
            "step": "60s",
            "titleFormat": "deploy",
        }
    )
    result = round_trip(data)
    assert result.notes == [] and 'Annotation(\n            "Deploys"' in result.source


def test_collapsed_rows_hold_their_panels() -> None:
    data = variant()
    hidden = [timeseries(5, "Errors", 0, 10), timeseries(6, "Saturation", 12, 10)]
    data["panels"].append(
        {
            "collapsed": True,
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": 9},
            "id": 4,
            "panels": hidden,
            "title": "Details",
            "type": "row",
        }
    )
    result = round_trip(data)
    assert result.layout == "grid" and 'Collapsed(\n            title="Details"' in result.source


def test_a_layout_that_is_not_a_grid_keeps_explicit_positions() -> None:
    data = variant()
    data["panels"][1]["gridPos"] = {"h": 12, "w": 12, "x": 0, "y": 1}  # taller than its neighbour
    result = round_trip(data)
    assert "Placed(" in result.source and "GridPos(h=12, w=12, x=0, y=0)" in result.source


def test_our_query_helpers_and_datasource_variables_are_used() -> None:
    data = variant()
    query = data["panels"][1]["targets"][0]
    counter = 'chat_frames_rejected_total{job=~"$job", instance=~"$instance"}'
    query["expr"] = f"sum by (reason) (rate({counter}[$__rate_interval]))"
    result = round_trip(data)
    assert "f\"sum by (reason) ({rate('chat_frames_rejected_total')})\"" in result.source
    # The shared datasource variable is the queries' default, and the panel's follows its queries.
    assert "datasource=PROMETHEUS" not in result.source and 'uid": "${datasource}' not in result.source


def test_a_rows_layout_older_than_grafanas_migration_is_refused_in_one_line(tmp_path: Path) -> None:
    old = {
        "title": "Old",
        "uid": "old",
        "schemaVersion": 8,
        "rows": [{"title": "r", "panels": [{"type": "graph", "id": 1}]}],
    }
    done = run_import(str(write_json(tmp_path / "old.json", old)), "--out", str(tmp_path / "out"))
    assert done.returncode == ExitCode.FAILED
    [line] = done.stderr.strip().splitlines()
    assert "refused: the old `rows` layout, schemaVersion 8 is older than 9" in line
    assert "import it into Grafana, save it there, then import it with --uid" in line
    assert not (tmp_path / "out").exists(), "nothing is written for a refused dashboard"


def test_an_export_input_placeholder_is_refused(tmp_path: Path) -> None:
    data = variant()
    data["panels"][1]["datasource"] = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
    done = run_import(str(write_json(tmp_path / "export.json", data)), "--out", str(tmp_path / "out"))
    assert done.returncode == ExitCode.FAILED
    assert "uses the export input ${DS_PROMETHEUS}" in done.stderr


def test_the_cli_lists_every_escape_hatch_on_stderr(tmp_path: Path) -> None:
    data = variant()
    data["panels"][2] = {**data["panels"][2], "type": "grafana-piechart-panel"}
    data["panels"][1]["options"]["futureOption"] = 1
    done = run_import(str(write_json(tmp_path / "d.json", data)), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "panel type 'grafana-piechart-panel' is not modelled" in done.stderr
    assert "carried as Raw: futureOption" in done.stderr
    assert (tmp_path / "out" / "api_service.py").is_file()


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    done = run_import(str(bad), "--out", str(tmp_path / "out"))
    assert done.returncode == ExitCode.FAILED
    assert len(done.stderr.strip().splitlines()) == 1 and "not JSON" in done.stderr
    assert run_import().returncode == ExitCode.CONFIG
    missing = run_import(str(tmp_path / "nowhere.json"))
    assert missing.returncode == ExitCode.CONFIG and "no such file or directory" in missing.stderr


def test_a_schema_older_than_grafanas_migration_is_refused_and_a_missing_one_too(tmp_path: Path) -> None:
    for version, shown in ((8, "schemaVersion 8 is older than 9"), (None, "schemaVersion (none)")):
        data = variant(schemaVersion=version)
        if version is None:
            data.pop("schemaVersion")
        done = run_import(str(write_json(tmp_path / "d.json", data)), "--out", str(tmp_path / "out"))
        assert done.returncode == ExitCode.FAILED and shown in done.stderr


def test_every_modelled_panel_type_round_trips_as_its_class_and_renders(tmp_path: Path) -> None:
    loki = {"type": "loki", "uid": "${loki_datasource}"}
    extra = {
        "state-timeline": {"options": {"mergeValues": True, "showValue": "auto", "rowHeight": 0.9}},
        "logs": {
            "datasource": loki,
            "targets": [{"datasource": loki, "expr": '{app="api"}', "refId": "A", "queryType": "range"}],
            "options": {"showTime": True, "wrapLogMessage": True, "sortOrder": "Descending"},
        },
        "text": {"options": {"mode": "markdown", "content": "# Runbook"}},
        "heatmap": {"options": {"calculate": False, "yAxis": {"unit": "s"}}},
        "gauge": {"options": {"showThresholdMarkers": True}},
        "bargauge": {"options": {"displayMode": "gradient"}},
        "table": {"options": {"showHeader": True}},
        "stat": {"options": {"colorMode": "value", "reduceOptions": {"calcs": ["lastNotNull"]}}},
    }
    data = variant()
    panels = []
    for i, (kind, body) in enumerate(extra.items()):
        panel = {**timeseries(10 + i, kind, 12 * (i % 2), 1 + 8 * (i // 2)), "type": kind, **body}
        if kind == "text":
            for key in ("datasource", "targets", "fieldConfig"):
                panel.pop(key)
        panels.append(panel)
    data["panels"] = panels
    data["templating"]["list"].append({"name": "loki_datasource", "query": "loki", "type": "datasource"})
    result = round_trip(data)
    assert result.notes == []
    for cls in (
        "StateTimelinePanel",
        "LogsPanel",
        "TextPanel",
        "HeatmapPanel",
        "GaugePanel",
        "BarGaugePanel",
        "TablePanel",
        "StatPanel",
    ):
        assert f"{cls}(" in result.source
    assert "LokiQuery(" in result.source
    package = definitions_package(tmp_path)
    (package / "every_panel.py").write_text(result.source, encoding="utf-8")
    done = render(package, tmp_path / "rendered")
    assert done.returncode == 0, done.stderr


def test_a_row_without_a_title_is_placed_explicitly_and_round_trips() -> None:
    """Grafana's rows migration makes untitled rows; grid() needs titles, explicit positions do not."""
    data = variant()
    data["panels"][0]["title"] = ""
    result = round_trip(data)
    assert "grid(" not in result.source
