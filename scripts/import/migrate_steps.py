"""The schemaVersion steps 10..42 of Grafana's dashboard migration that the JSON alone decides.

Each step is ported from grafana/grafana: public/app/features/dashboard/state/DashboardMigrator.ts (the
frontend, whose save model a UI save stores; steps up to 39) and apps/dashboard/pkg/migration/
schemaversion/vNN.go (the backend's port; steps 40..42). As there, a step has a dashboard part, run at
once, and a panel part, run after all dashboard parts on every panel and every panel of a collapsed row.

Offline there is no Grafana instance to ask, so the import migrates as a Grafana without a default
datasource would (DashboardMigrator skips the v36 panel step then): a panel or query whose datasource is
null stays null, which means "the default datasource" when Grafana draws it. A datasource given by name
(v33) is refused: only the instance knows the uid it stands for.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .build import ImportRefused, Notes
from .migrate_grid import GRID_COLUMNS, upgrade_to_grid

SAVE_AGAIN = "import it into Grafana, save it there, then import it with --uid"
# The datasources every Grafana has, by the names old dashboards use, as Grafana saves their references.
BUILT_IN_DATASOURCES = {
    "-- Grafana --": {"type": "datasource", "uid": "grafana"},
    "-- Mixed --": {"type": "datasource", "uid": "-- Mixed --"},
    "-- Dashboard --": {"type": "datasource", "uid": "-- Dashboard --"},
}


@dataclass
class Migration:
    """One dashboard being migrated: the notes for stderr, and what a step hands to a later one."""

    dashboard: dict[str, Any]
    notes: Notes
    defaults_left: list[str] = field(default_factory=list)  # where a null datasource stays the default


def where(panel: dict[str, Any]) -> str:
    return f"panel {panel.get('title', '')!r} (id {panel.get('id')})"


def variables(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    templating = dashboard.get("templating")
    listed = templating.get("list") if isinstance(templating, dict) else None
    return [v for v in listed if isinstance(v, dict)] if isinstance(listed, list) else []


def _targets(panel: dict[str, Any]) -> list[dict[str, Any]]:
    targets = panel.get("targets")
    return [t for t in targets if isinstance(t, dict)] if isinstance(targets, list) else []


# -- v12 -------------------------------------------------------------------------------------------
def v12_variables(migration: Migration) -> None:
    for variable in variables(migration.dashboard):
        variable["refresh"] = 1 if variable.get("refresh") else 0
        if variable.get("hideVariable"):
            variable["hide"] = 2
        elif variable.get("hideLabel"):
            variable["hide"] = 1


def v12_graph_axes(panel: dict[str, Any], migration: Migration) -> None:
    """The graph's `grid` min/max/logBase and y_formats become the two `yaxes`."""
    grid = panel.get("grid")
    if panel.get("type") != "graph" or not isinstance(grid, dict) or panel.get("yaxes") is not None:
        return  # (an empty list counts as axes: JavaScript's [] is truthy)
    formats = panel.get("y_formats") if isinstance(panel.get("y_formats"), list) else []
    labels = ("leftYAxisLabel", "rightYAxisLabel")
    panel["yaxes"] = []
    for index, side in enumerate(("left", "right")):
        axis = {"show": panel.get("y-axis")}
        axis |= {"min": grid.get(f"{side}Min"), "max": grid.get(f"{side}Max")}
        axis |= {
            "logBase": grid.get(f"{side}LogBase"),
            "format": formats[index] if len(formats) > index else None,
        }
        axis["label"] = panel.get(labels[index])
        panel["yaxes"].append(axis)
    panel["xaxis"] = {"show": panel.get("x-axis")}
    for side in ("left", "right"):
        for key in ("Min", "Max", "LogBase"):
            grid.pop(f"{side}{key}", None)
    for key in ("y_formats", *labels, "y-axis", "x-axis"):
        panel.pop(key, None)


# -- v13 -------------------------------------------------------------------------------------------
def v13_graph_thresholds(panel: dict[str, Any], migration: Migration) -> None:
    """The graph's grid threshold1/threshold2 become entries of `thresholds`."""
    grid = panel.get("grid")
    if panel.get("type") != "graph" or not isinstance(grid, dict):
        return
    if not panel.get("thresholds"):
        panel["thresholds"] = []
    found = []
    for name in ("threshold1", "threshold2"):
        value = grid.get(name)
        color = grid.get(f"{name}Color")
        style = (
            {"line": True, "lineColor": color}
            if grid.get("thresholdLine")
            else {"fill": True, "fillColor": color}
        )
        found.append({"value": value, **style, "colorMode": "custom"})
    first, second = found
    if isinstance(first["value"], int | float):
        if isinstance(second["value"], int | float):
            op = "lt" if first["value"] > second["value"] else "gt"
            panel["thresholds"] += [{**first, "op": op}, {**second, "op": op}]
        else:
            panel["thresholds"].append({**first, "op": "gt"})
    for name in ("threshold1", "threshold1Color", "threshold2", "threshold2Color", "thresholdLine"):
        grid.pop(name, None)


# -- v14 -------------------------------------------------------------------------------------------
def v14_shared_crosshair(migration: Migration) -> None:
    """sharedCrosshair becomes graphTooltip (the dashboard model keeps no sharedCrosshair)."""
    migration.dashboard["graphTooltip"] = 1 if migration.dashboard.pop("sharedCrosshair", None) else 0


# -- v16 -------------------------------------------------------------------------------------------
def v16_grid(migration: Migration) -> None:
    upgrade_to_grid(migration.dashboard)


# -- v17 -------------------------------------------------------------------------------------------
def v17_max_per_row(panel: dict[str, Any], migration: Migration) -> None:
    """minSpan (in 24ths since v16) becomes maxPerRow: the factor of 24 just below the first factor
    above 24/minSpan (none when that is the first factor or there is none: undefined in JavaScript)."""
    if panel.get("minSpan"):
        most = GRID_COLUMNS / panel["minSpan"]
        factors = [f for f in range(1, GRID_COLUMNS + 1) if GRID_COLUMNS % f == 0]
        above = next((i for i, f in enumerate(factors) if f > most), -1)
        if above > 0:
            panel["maxPerRow"] = factors[above - 1]
    panel.pop("minSpan", None)


# -- v19 -------------------------------------------------------------------------------------------
def _append_query(url: str, query: Any) -> str:
    """urlUtil.appendQueryToUrl."""
    if query is None or query == "":
        return url
    position = url.find("?")
    if position == -1:
        url += "?"
    elif len(url) - position > 1:
        url += "&"
    return url + str(query)


def _slug(text: str) -> str:
    """kbn.slugifyForUrl."""
    return re.sub(r" +", "-", re.sub(r"[^\w ]+", "", text.lower()))


def v19_panel_links(panel: dict[str, Any], migration: Migration) -> None:
    """Old panel links (dashboard, dashUri, keepTime, includeVars, params) become plain URL links."""
    if not isinstance(panel.get("links"), list):
        return
    links = []
    for link in panel["links"]:
        link = link if isinstance(link, dict) else {}
        url = link.get("url")
        if not url and link.get("dashboard"):
            url = f"dashboard/db/{_slug(str(link['dashboard']))}"
        if not url and link.get("dashUri"):
            url = f"dashboard/{link['dashUri']}"
        url = url or "/"
        if link.get("keepTime"):
            url = _append_query(url, "$__url_time_range")
        if link.get("includeVars"):
            url = _append_query(url, "$__all_variables")
        if link.get("params"):
            url = _append_query(url, link["params"])
        upgraded = {"url": url, "title": link.get("title"), "targetBlank": link.get("targetBlank")}
        links.append({k: v for k, v in upgraded.items() if k in link or k == "url"})
    panel["links"] = links


# -- v23 -------------------------------------------------------------------------------------------
def v23_multi_current(migration: Migration) -> None:
    """alignCurrentWithMulti: a multi-value variable's current value becomes a list, a single-value
    one's its first element (grafana/grafana: public/app/features/variables/shared/multiOptions.ts)."""
    for variable in variables(migration.dashboard):
        current = variable.get("current")
        if not isinstance(variable.get("multi"), bool) or not isinstance(current, dict) or not current:
            continue
        value = current.get("value")
        if variable["multi"] and not isinstance(value, list):
            current["value"] = [value]
            current["text"] = (
                current.get("text") if isinstance(current.get("text"), list) else [current.get("text")]
            )
        elif not variable["multi"] and isinstance(value, list):
            current["value"] = _single(value)
            current["text"] = _single(current.get("text"))


def _single(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    return value[0] if value else ""


# -- v24 -------------------------------------------------------------------------------------------
def v24_angular_table(panel: dict[str, Any], migration: Migration) -> None:
    """An Angular table (one with `styles`) becomes `table-old`, which Grafana 11+ migrates with the
    table plugin's handler: not ported, so refused."""
    if panel.get("type") == "table" and panel.get("styles") and panel.get("table") != "table2":
        raise ImportRefused(
            f"schema step 24: {where(panel)} is an Angular table (it has `styles`), which Grafana migrates "
            f"with its table plugin's handler, not ported here: {SAVE_AGAIN}"
        )


# -- v26 -------------------------------------------------------------------------------------------
def v26_text2(panel: dict[str, Any], migration: Migration) -> None:
    if panel.get("type") == "text2":
        panel["type"] = "text"
        if isinstance(panel.get("options"), dict):
            panel["options"].pop("angular", None)


# -- v27 -------------------------------------------------------------------------------------------
def v27_repeats_and_constants(migration: Migration) -> None:
    """Left-over copies of repeated panels go; constants get their current value, visible ones become
    textboxes."""
    dashboard = migration.dashboard
    if isinstance(dashboard.get("panels"), list):
        kept = []
        for panel in dashboard["panels"]:
            if isinstance(panel, dict) and (panel.get("repeatPanelId") or panel.get("repeatByRow")):
                continue
            if (
                isinstance(panel, dict)
                and panel.get("type") == "row"
                and isinstance(panel.get("panels"), list)
            ):
                panel["panels"] = [
                    p for p in panel["panels"] if not (isinstance(p, dict) and p.get("repeatPanelId"))
                ]
            kept.append(panel)
        dashboard["panels"] = kept
    for variable in variables(dashboard):
        if variable.get("type") != "constant":
            continue
        query = variable.get("query")
        query = "" if query is None else query
        variable["current"] = {"selected": True, "text": query, "value": query}
        variable["options"] = [dict(variable["current"])]
        if variable.get("hide") in (0, 1):
            variable["type"] = "textbox"


# -- v28 -------------------------------------------------------------------------------------------
def v28_variable_tags(migration: Migration) -> None:
    for variable in variables(migration.dashboard):
        for key in ("tags", "tagsQuery", "tagValuesQuery", "useTags"):
            if variable.get(key):
                del variable[key]


# -- v29 -------------------------------------------------------------------------------------------
def v29_query_refresh(migration: Migration) -> None:
    for variable in variables(migration.dashboard):
        if variable.get("type") != "query":
            continue
        if variable.get("refresh") not in (1, 2) or isinstance(variable.get("refresh"), bool):
            variable["refresh"] = 1
        if variable.get("options"):
            variable["options"] = []


# -- v30 -------------------------------------------------------------------------------------------
def _active_color(value: float, thresholds: Any) -> Any:
    """getActiveThreshold(value, steps).color: the last step at or below the value."""
    steps = thresholds.get("steps") if isinstance(thresholds, dict) else None
    color = None
    for index, step in enumerate(steps if isinstance(steps, list) else []):
        bottom = step.get("value") if isinstance(step, dict) else None
        if index == 0 or (isinstance(bottom, int | float) and value >= bottom):
            color = step.get("color") if isinstance(step, dict) else None
        else:
            break
    return color


def _number(text: Any) -> float:
    """parseFloat: the leading number of a string, NaN when there is none."""
    match = re.match(r"\s*([+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)", str(text))
    return float(match[1]) if match else math.nan


def upgrade_value_mappings(old: Any, thresholds: Any = None) -> list[dict[str, Any]] | None:
    """upgradeValueMappings: the pre-7 value and range maps as value mappings (7+ ones kept)."""
    if not old:
        return None
    values: dict[str, Any] = {}
    upgraded: list[dict[str, Any]] = []
    for mapping in old:
        if not isinstance(mapping, dict):
            continue
        if mapping.get("type") and mapping.get("options"):
            if mapping["type"] == "value":
                values.update(mapping["options"])
            else:
                upgraded.append(mapping)
            continue
        numeric = _number(mapping.get("text"))
        color = _active_color(numeric, thresholds) if thresholds and not math.isnan(numeric) else None
        result = {k: v for k, v in (("text", mapping.get("text")), ("color", color)) if v is not None}
        if mapping.get("type") == 1 and mapping.get("value") is not None:
            if mapping["value"] == "null":
                upgraded.append({"type": "special", "options": {"match": "null", "result": result}})
            else:
                values[str(mapping["value"])] = result
        elif mapping.get("type") == 2:
            bounds = {"from": _unary_plus(mapping, "from"), "to": _unary_plus(mapping, "to")}
            upgraded.append({"type": "range", "options": {**bounds, "result": result}})
    if values:
        upgraded.insert(0, {"type": "value", "options": values})
    return upgraded


def _unary_plus(mapping: dict[str, Any], key: str) -> Any:
    """JavaScript's `+mapping[key]`: null and "" are 0, a missing key or a non-number NaN (saved as null)."""
    if key not in mapping:
        return None
    value = mapping[key]
    if value is None or value == "" or isinstance(value, bool):
        return int(bool(value))
    if isinstance(value, int | float):
        return value
    try:
        number = float(str(value).strip() or 0)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() else number


def v30_value_mappings(panel: dict[str, Any], migration: Migration) -> None:
    field_config = panel.get("fieldConfig")
    if isinstance(field_config, dict):
        defaults = field_config.get("defaults")
        if isinstance(defaults, dict) and defaults.get("mappings"):
            defaults["mappings"] = upgrade_value_mappings(defaults["mappings"], defaults.get("thresholds"))
        for override in field_config.get("overrides") or []:
            for prop in override.get("properties") or [] if isinstance(override, dict) else []:
                if isinstance(prop, dict) and prop.get("id") == "mappings":
                    prop["value"] = upgrade_value_mappings(prop.get("value"))
    options = panel.get("options")
    if (
        panel.get("type") in ("timeseries", "xychart")
        and isinstance(options, dict)
        and options.get("tooltipOptions")
    ):
        options["tooltip"] = options.pop("tooltipOptions")


# -- v31 -------------------------------------------------------------------------------------------
def v31_labels_to_fields(panel: dict[str, Any], migration: Migration) -> None:
    transformations = panel.get("transformations")
    if isinstance(transformations, list) and any(
        isinstance(t, dict) and t.get("id") == "labelsToFields" for t in transformations
    ):
        merged = []
        for transformation in transformations:
            merged.append(transformation)
            if isinstance(transformation, dict) and transformation.get("id") == "labelsToFields":
                merged.append({"id": "merge", "options": {}})
        panel["transformations"] = merged


# -- v33 / v36 -------------------------------------------------------------------------------------
VARIABLE_REF = re.compile(r"^\$(?:\{(\w+)(?::\w+)?\}|(\w+))$")


def _variable_ref(name: str, dashboard: dict[str, Any]) -> dict[str, Any]:
    """A `$variable` datasource: DatasourceSrv.getInstanceSettings keeps the variable as the uid, with the
    type of the datasources it picks from, which a datasource variable's query names (grafana/grafana:
    public/app/features/plugins/datasource_srv.ts). One that is not a datasource variable of the
    dashboard stays a uid-only reference, as an unknown name does (datasource_utils.go)."""
    match = VARIABLE_REF.match(name)
    wanted = match and (match[1] or match[2])
    for variable in variables(dashboard):
        query = variable.get("query")
        if variable.get("type") == "datasource" and variable.get("name") == wanted and query:
            return {"type": query, "uid": name}
    return {"uid": name}


def datasource_ref(value: Any, default_as_null: bool, place: str, dashboard: dict[str, Any]) -> Any:
    """migrateDatasourceNameToRef, offline: references stay, built-in and `$variable` names become
    references, null means the default; any other name needs the instance, so it is refused."""
    if default_as_null and (value is None or value == "default"):
        return None
    if isinstance(value, dict) and (value.get("uid") or value.get("type")):
        return value
    if value is None:
        return None  # the default datasource, which this offline Grafana does not have
    if value == "":
        return {}
    if isinstance(value, str) and value in BUILT_IN_DATASOURCES:
        return dict(BUILT_IN_DATASOURCES[value])
    if isinstance(value, str) and value.startswith("$"):
        return _variable_ref(value, dashboard)
    raise ImportRefused(
        f"schema step 33: {place} names its datasource {value!r}: Grafana replaces a name by the uid its "
        f"datasource of that name has, which only the Grafana instance knows: {SAVE_AGAIN}"
    )


def v33_datasource_refs(panel: dict[str, Any], migration: Migration) -> None:
    """A panel's and its queries' datasource names become references (null and "default" become null)."""
    dashboard = migration.dashboard
    panel["datasource"] = datasource_ref(panel.get("datasource"), True, where(panel), dashboard)
    if panel["datasource"] is None and _targets(panel):
        migration.defaults_left.append(where(panel))
    for target in _targets(panel):
        if "datasource" in target:
            place = f"{where(panel)} query {target.get('refId')}"
            ref = datasource_ref(target["datasource"], True, place, dashboard)
            if ref is not None:
                target["datasource"] = ref


def v36_annotation_refs(migration: Migration) -> None:
    """Annotation datasources become references; the panel step fills in the default datasource, which
    DashboardMigrator skips when there is none, as offline."""
    annotations = migration.dashboard.get("annotations")
    for query in annotations.get("list") or [] if isinstance(annotations, dict) else []:
        if isinstance(query, dict):
            query["datasource"] = datasource_ref(
                query.get("datasource"), False, f"annotation {query.get('name')!r}", migration.dashboard
            )
            if query["datasource"] is None:
                migration.defaults_left.append(f"annotation {query.get('name')!r}")


# -- v34 -------------------------------------------------------------------------------------------
def v34_cloudwatch(panel: dict[str, Any], migration: Migration) -> None:
    for target in _targets(panel):
        if {"dimensions", "namespace", "region", "metricName"} <= set(target):
            raise ImportRefused(
                f"schema step 34: {where(panel)} has CloudWatch queries, whose migration (one query per "
                f"statistic) is not ported here: {SAVE_AGAIN}"
            )


# -- v35 -------------------------------------------------------------------------------------------
def v35_x_axis_visible(panel: dict[str, Any], migration: Migration) -> None:
    """A time series with every axis hidden keeps its x axis, through an override."""
    field_config = panel.get("fieldConfig")
    if panel.get("type") != "timeseries" or not isinstance(field_config, dict):
        return
    custom = (field_config.get("defaults") or {}).get("custom") or {}
    if custom.get("axisPlacement") == "hidden":
        field_config["overrides"] = [
            *(field_config.get("overrides") or []),
            {
                "matcher": {"id": "byType", "options": "time"},
                "properties": [{"id": "custom.axisPlacement", "value": "auto"}],
            },
        ]


# -- v37 -------------------------------------------------------------------------------------------
def v37_legend(panel: dict[str, Any], migration: Migration) -> None:
    """The two ways to hide a legend become `showLegend: false`."""
    options = panel.get("options")
    legend = options.get("legend") if isinstance(options, dict) else None
    if not isinstance(legend, dict) or not legend:
        return
    if legend.get("displayMode") == "hidden" or legend.get("showLegend") is False:
        legend["displayMode"] = "list"
        legend["showLegend"] = False
    else:
        legend["showLegend"] = True


# -- v38 -------------------------------------------------------------------------------------------
def cell_options(display_mode: Any) -> dict[str, Any]:
    """migrateTableDisplayModeToCellOptions (grafana/grafana:
    packages/grafana-ui/src/components/Table/utils.ts)."""
    gauges = {"basic": "basic", "gradient-gauge": "gradient", "lcd-gauge": "lcd"}
    if display_mode in gauges:
        return {"type": "gauge", "mode": gauges[display_mode]}
    if display_mode == "color-background":
        return {"type": "color-background", "mode": "gradient"}
    if display_mode == "color-background-solid":
        return {"type": "color-background", "mode": "basic"}
    return {"type": display_mode}


def v38_table_cells(panel: dict[str, Any], migration: Migration) -> None:
    field_config = panel.get("fieldConfig")
    if panel.get("type") != "table" or not isinstance(field_config, dict):
        return
    custom = (field_config.get("defaults") or {}).get("custom")
    if isinstance(custom, dict) and "displayMode" in custom:
        custom["cellOptions"] = cell_options(custom.pop("displayMode"))
    for override in field_config.get("overrides") or []:
        for prop in override.get("properties") or [] if isinstance(override, dict) else []:
            if isinstance(prop, dict) and prop.get("id") == "custom.displayMode":
                prop["id"] = "custom.cellOptions"
                prop["value"] = cell_options(prop.get("value"))


# -- v39 -------------------------------------------------------------------------------------------
def v39_time_series_table(panel: dict[str, Any], migration: Migration) -> None:
    for transformation in panel.get("transformations") or []:
        options = transformation.get("options") if isinstance(transformation, dict) else None
        if (
            transformation.get("id") == "timeSeriesTable"
            and isinstance(options, dict)
            and "refIdToStat" in options
        ):
            transformation["options"] = {
                ref: {"stat": stat} for ref, stat in (options["refIdToStat"] or {}).items()
            }


# -- v40..v42 (the backend's steps) ----------------------------------------------------------------
def v40_refresh(migration: Migration) -> None:
    refresh = migration.dashboard.get("refresh")
    migration.dashboard["refresh"] = refresh if isinstance(refresh, str) else ""


def v41_time_options(migration: Migration) -> None:
    timepicker = migration.dashboard.get("timepicker")
    if isinstance(timepicker, dict):
        timepicker.pop("time_options", None)


def v42_hide_from_tooltip(panel: dict[str, Any], migration: Migration) -> None:
    field_config = panel.get("fieldConfig")
    for override in field_config.get("overrides") or [] if isinstance(field_config, dict) else []:
        for prop in override.get("properties") or [] if isinstance(override, dict) else []:
            value = prop.get("value") if isinstance(prop, dict) else None
            if prop.get("id") == "custom.hideFrom" and isinstance(value, dict) and value.get("viz") is True:
                value["tooltip"] = True


DashboardStep = Callable[[Migration], None]
PanelStep = Callable[[dict[str, Any], Migration], None]
# (the version a step migrates to, its dashboard part, its panel part), in Grafana's order.
STEPS: list[tuple[int, DashboardStep | None, PanelStep | None]] = [
    (12, v12_variables, v12_graph_axes),
    (13, None, v13_graph_thresholds),
    (14, v14_shared_crosshair, None),
    (16, v16_grid, None),
    (17, None, v17_max_per_row),
    (19, None, v19_panel_links),
    (23, v23_multi_current, None),
    (24, None, v24_angular_table),
    (26, None, v26_text2),
    (27, v27_repeats_and_constants, None),
    (28, v28_variable_tags, None),
    (29, v29_query_refresh, None),
    (30, None, v30_value_mappings),
    (31, None, v31_labels_to_fields),
    (33, None, v33_datasource_refs),
    (34, None, v34_cloudwatch),
    (35, None, v35_x_axis_visible),
    (36, v36_annotation_refs, None),
    (37, None, v37_legend),
    (38, None, v38_table_cells),
    (39, None, v39_time_series_table),
    (40, v40_refresh, None),
    (41, v41_time_options, None),
    (42, None, v42_hide_from_tooltip),
]
