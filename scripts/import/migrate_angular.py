"""Angular panels become their React successors, as Grafana 11+ does when it loads them (Angular support
is off by default there and gone in 12): `graph` -> `timeseries`, `singlestat` -> `stat`.

PanelModel.restoreModel swaps the type and PanelModel.changePlugin keeps only the keys every panel shares
(mustKeepProperties; the backend lists them in grafana/grafana:
apps/dashboard/pkg/migration/schemaversion/angular_migration.go); all the other keys are the old options,
handed to the new plugin's type-change handler, which turns them into `options` and `fieldConfig`:
- graph: graphToTimeseriesOptions (grafana/grafana: public/app/plugins/panel/timeseries/migrations.ts);
- singlestat: the shared single-stat handler as the backend ports it (grafana/grafana:
  apps/dashboard/pkg/migration/schemaversion/v28.go) and statPanelChangedHandler (grafana/grafana:
  public/app/plugins/panel/stat/StatMigrations.ts).
What a handler does not read is dropped by Grafana too: the import lists it on stderr.
The plugin's own defaults, which Grafana fills in when it draws the panel, and `pluginVersion` depend on the
Grafana release, so they are not added: a save from the UI adds them later.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .build import ImportRefused, Notes
from .migrate_steps import upgrade_value_mappings

# PanelModel's mustKeepProperties that a saved panel can hold (the rest are runtime state), and maxPerRow,
# the repeat option beside `repeat`, kept rather than lost.
KEPT_ON_TYPE_CHANGE = frozenset(
    {
        "id",
        "gridPos",
        "type",
        "title",
        "scopedVars",
        "repeat",
        "repeatPanelId",
        "repeatDirection",
        "repeatedByRow",
        "minSpan",
        "collapsed",
        "panels",
        "targets",
        "datasource",
        "timeFrom",
        "timeShift",
        "hideTimeOverride",
        "description",
        "links",
        "fullscreen",
        "cacheTimeout",
        "queryCachingTTL",
        "transparent",
        "pluginVersion",
        "transformations",
        "fieldConfig",
        "maxDataPoints",
        "interval",
        "libraryPanel",
        "maxPerRow",
    }
)
MINUS_INFINITY = None  # -Infinity, which JSON (and so Grafana's saved model) writes as null
DEFAULT_STACK_GROUP = "A"  # defaultGraphConfig.stacking.group (public/app/plugins/panel/timeseries/config.ts)
# fieldReducers ids and the aliases the registry resolves (grafana/grafana:
# packages/grafana-data/src/transformations/fieldReducer.ts).
REDUCER_ALIASES = {"avg": "mean", "current": "lastNotNull", "total": "sum"}
REDUCER_IDS = frozenset(
    [
        "sum",
        "max",
        "min",
        "logmin",
        "mean",
        "variance",
        "stdDev",
        "last",
        "first",
        "count",
        "range",
        "diff",
        "diffperc",
        "delta",
        "step",
        "firstNotNull",
        "lastNotNull",
        "changeCount",
        "distinctCount",
        "allIsZero",
        "allIsNull",
        "allValues",
        "uniqueValues",
        "median",
    ]
)
ALIAS_IS_REGEX = re.compile(r"^([/~@;%#'])(.*?)\1([gimsuy]*)$")
GRAPH_READS = frozenset(
    [
        "yaxes",
        "dashes",
        "dashLength",
        "spaceLength",
        "aliasColors",
        "seriesOverrides",
        "bars",
        "lines",
        "points",
        "pointradius",
        "linewidth",
        "fill",
        "fillGradient",
        "nullPointMode",
        "steppedLine",
        "stack",
        "legend",
        "tooltip",
        "thresholds",
        "timeRegions",
        "xaxis",
        "alert",
    ]
)
SINGLESTAT_READS = frozenset(
    [
        "valueName",
        "tableColumn",
        "format",
        "decimals",
        "nullPointMode",
        "nullText",
        "thresholds",
        "colors",
        "sparkline",
        "colorBackground",
        "colorValue",
        "valueMaps",
        "rangeMaps",
        "mappingType",
        "gauge",
    ]
)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _valid_number(value: Any) -> int | float | None:
    """validNumber: numbers, and strings JavaScript's Number() reads as one."""
    if _is_number(value):
        return value
    if isinstance(value, str):
        try:
            number = float(value) if value.strip() else 0.0
        except ValueError:
            return None
        if math.isfinite(number):
            return int(number) if number.is_integer() else number
    return None


def _scaled(value: Any, factor: int, offset: int = 0) -> Any:
    """offset + value * factor with JavaScript's coercion: a numeric string counts, anything else is NaN
    (saved as null, so dropped)."""
    number = _valid_number(value)
    return None if number is None else offset + number * factor


def _without_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def split_angular(panel: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the keys the panel keeps, the Angular options the new plugin's handler receives)."""
    kept = {k: v for k, v in panel.items() if k in KEPT_ON_TYPE_CHANGE}
    return kept, {k: v for k, v in panel.items() if k not in KEPT_ON_TYPE_CHANGE}


def _axis_field_config(axis: Any) -> dict[str, Any]:
    """getFieldConfigFromOldAxis (an empty axis object counts: JavaScript's {} is truthy)."""
    if not isinstance(axis, dict):
        return {}
    custom: dict[str, Any] = {"axisPlacement": "auto" if axis.get("show") else "hidden"}
    if axis.get("label"):
        custom["axisLabel"] = axis["label"]
    if axis.get("logBase") in (2, 10):
        custom["scaleDistribution"] = {"type": "log", "log": axis["logBase"]}
    return _without_none(
        {
            "unit": axis.get("format"),
            "decimals": _valid_number(axis.get("decimals")),
            "min": _valid_number(axis.get("min")),
            "max": _valid_number(axis.get("max")),
            "custom": custom,
        }
    )


def _differs(value: Any, other: Any) -> bool:
    """JavaScript's `!==`: objects are never identical to a copy."""
    return isinstance(value, dict | list) or value != other


def _right_axis_properties(y1: dict[str, Any], y2: dict[str, Any]) -> list[dict[str, Any]]:
    """fillY2DynamicValues: what the right axis sets differently, as override properties."""
    properties = [
        {"id": key, "value": value}
        for key, value in y2.items()
        if key != "custom" and _differs(value, y1.get(key))
    ]
    left = y1.get("custom") or {}
    properties += [
        {"id": f"custom.{key}", "value": value}
        for key, value in (y2.get("custom") or {}).items()
        if _differs(value, left.get(key))
    ]
    return properties


def _series_override(
    override: dict[str, Any],
    yaxes: list[Any],
    y1: dict[str, Any],
    dash: dict[str, Any],
    notes: Notes,
    where: str,
) -> tuple[dict[str, Any] | None, bool]:
    """One seriesOverrides entry as a field override rule (None without properties), and fillBelowTo."""
    alias = override["alias"]
    matcher = "byRegexp" if isinstance(alias, str) and ALIAS_IS_REGEX.match(alias) else "byName"
    properties: list[dict[str, Any]] = []
    dash_override: dict[str, Any] | None = None
    fill_below = False
    ignored = []
    for key, value in override.items():
        if key in ("alias", "$$hashKey"):
            continue
        if key == "yaxis":
            if value == 2 and not isinstance(value, bool):
                right = _axis_field_config(yaxes[1] if len(yaxes) > 1 else None)
                properties += _right_axis_properties(y1, right)
        elif key == "fill":
            properties.append({"id": "custom.fillOpacity", "value": _scaled(value, 10)})
        elif key == "fillBelowTo":
            fill_below = True
            properties.append({"id": "custom.fillBelowTo", "value": value})
        elif key == "fillGradient":
            if value:
                properties.append({"id": "custom.fillGradient", "value": "opacity"})
                properties.append({"id": "custom.fillOpacity", "value": _scaled(value, 10)})
        elif key == "points":
            properties.append({"id": "custom.showPoints", "value": "always" if value else "never"})
        elif key == "bars":
            if value:
                properties.append({"id": "custom.drawStyle", "value": "bars"})
                properties.append({"id": "custom.fillOpacity", "value": 100})
            else:
                properties.append({"id": "custom.drawStyle", "value": "line"})
        elif key == "lines":
            if value:
                properties.append({"id": "custom.drawStyle", "value": "line"})
            else:
                properties.append({"id": "custom.lineWidth", "value": 0})
        elif key == "linewidth":
            properties.append({"id": "custom.lineWidth", "value": value})
        elif key == "pointradius":
            properties.append({"id": "custom.pointSize", "value": _scaled(value, 2, offset=2)})
        elif key in ("dashLength", "spaceLength", "dashes"):
            dash_override = dash_override or {"fill": dash["fill"], "dash": list(dash["dash"])}
            if key == "dashLength":
                dash_override["dash"][0] = value
            elif key == "spaceLength":
                dash_override["dash"][1] = value
            else:
                dash_override["fill"] = "dash" if value else "solid"
        elif key == "stack":
            stacking = {
                "mode": "normal" if value else "none",
                "group": value if isinstance(value, str) else DEFAULT_STACK_GROUP,
            }
            properties.append({"id": "custom.stacking", "value": stacking})
        elif key == "color":
            properties.append({"id": "color", "value": {"fixedColor": value, "mode": "fixed"}})
        elif key == "transform":
            transform = "negative-Y" if value == "negative-Y" else "constant"
            properties.append({"id": "custom.transform", "value": transform})
        else:
            ignored.append(key)
    if ignored:
        notes.add(where, f"series override {alias!r}: Grafana's migration drops {', '.join(ignored)}")
    if dash_override is not None:
        properties.append({"id": "custom.lineStyle", "value": dash_override})
    rule = {"matcher": {"id": matcher, "options": alias}, "properties": properties}
    return (rule if properties else None), fill_below


def _legend_reducers(legend: dict[str, Any]) -> list[str]:
    """getReducersFromLegend(pickBy(legend)): the reducers the legend's truthy keys name."""
    ids = []
    for key, value in legend.items():
        if value:
            reducer = REDUCER_ALIASES.get(key, key)
            if reducer in REDUCER_IDS:
                ids.append(reducer)
    return ids


def _hide_from_override(reducer: str) -> dict[str, Any]:
    return {
        "matcher": {"id": "byValue", "options": {"reducer": reducer, "op": "gte", "value": 0}},
        "properties": [{"id": "custom.hideFrom", "value": {"tooltip": True, "viz": False, "legend": True}}],
    }


def _threshold_color(threshold: dict[str, Any]) -> Any:
    mode = threshold.get("colorMode")
    if mode == "warning":
        return "orange"
    if mode == "custom":
        return threshold.get("fillColor") or threshold.get("lineColor")
    return "red"


def _graph_thresholds(thresholds: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    """The graph's threshold lines/areas as threshold steps and their thresholdsStyle mode."""
    ordered = sorted(thresholds, key=lambda t: t.get("value") if _is_number(t.get("value")) else 0)
    steps: list[dict[str, Any]] = []
    bottom = -math.inf
    for index, threshold in enumerate(ordered):
        following = ordered[index + 1] if index + 1 < len(ordered) else None
        if threshold.get("op") == "gt":
            steps.append({"value": threshold.get("value"), "color": _threshold_color(threshold)})
        if threshold.get("op") == "lt":
            if not steps:
                steps.append({"value": bottom, "color": _threshold_color(threshold)})
            if following and following.get("op") == "lt":
                color = _threshold_color(following)
            else:
                color = "transparent"  # a gap up to the next "gt" threshold, or nothing below it
            steps.append({"value": threshold.get("value"), "color": color})
    if steps and steps[0]["value"] != bottom:
        steps.insert(0, {"color": "transparent", "value": bottom})
    for step in steps:
        if step["value"] == bottom:
            step["value"] = MINUS_INFINITY
    area = any(t.get("fill") for t in ordered)
    line = any(t.get("line") for t in ordered)
    mode = "line+area" if line and area else "area" if area else "line"
    return steps, mode


def _time_region_annotations(regions: list[dict[str, Any]], panel_id: Any) -> list[dict[str, Any]]:
    """timeRegions become dashboard annotations of the Grafana datasource, filtered to this panel."""
    annotations = []
    for index, old in enumerate(regions):
        color = old.get("colorMode") if old.get("colorMode") != "custom" else old.get("fillColor")
        annotation = {
            "datasource": {"type": "datasource", "uid": "grafana"},
            "enable": True,
            "hide": True,
            "filter": {"exclude": False, "ids": [panel_id]},
            "iconColor": color,
            "name": f"T{index + 1}",
            "target": {
                "queryType": "timeRegions",
                "refId": "Anno",
                "timeRegion": _without_none(
                    {
                        "fromDayOfWeek": old.get("fromDayOfWeek"),
                        "toDayOfWeek": old.get("toDayOfWeek"),
                        "from": old.get("from"),
                        "to": old.get("to"),
                        "timezone": "utc",  # the graph panel drew them in UTC
                    }
                ),
            },
        }
        if old.get("fill"):
            annotations.append(_without_none(annotation))
        elif old.get("line"):
            annotations.append(_without_none({**annotation, "iconColor": "white"}))
    return annotations


def graph_to_timeseries(
    angular: dict[str, Any], field_config: Any, panel_id: Any, notes: Notes, where: str
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """graphToTimeseriesOptions: (fieldConfig, options, annotations to add to the dashboard)."""
    previous = field_config if isinstance(field_config, dict) else {}
    overrides = list(previous.get("overrides") or [])
    yaxes = angular.get("yaxes") if isinstance(angular.get("yaxes"), list) else []
    y1 = _axis_field_config(yaxes[0] if yaxes else None)
    if previous.get("defaults"):
        y1 = {**previous["defaults"], **y1}
    dash_length, space_length = angular.get("dashLength"), angular.get("spaceLength")
    dash = {
        "fill": "dash" if angular.get("dashes") else "solid",
        "dash": [10 if dash_length is None else dash_length, 10 if space_length is None else space_length],
    }
    for alias, color in (angular.get("aliasColors") or {}).items():
        if color:
            overrides.append(
                {
                    "matcher": {"id": "byName", "options": alias},
                    "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": color}}],
                }
            )
    fill_below = False
    for override in angular.get("seriesOverrides") or []:
        if not isinstance(override, dict) or not override.get("alias"):
            continue
        rule, below = _series_override(override, yaxes, y1, dash, notes, where)
        fill_below = fill_below or below
        if rule is not None:
            overrides.append(rule)
    graph = dict(y1.get("custom") or {})
    bars, lines = angular.get("bars"), angular.get("lines")
    graph["drawStyle"] = "bars" if bars else "line" if lines else "points"
    if angular.get("points"):
        graph["showPoints"] = "always"
        if _is_number(angular.get("pointradius")):
            graph["pointSize"] = 2 + angular["pointradius"] * 2
    elif graph["drawStyle"] != "points":
        graph["showPoints"] = "never"
    graph["lineWidth"] = angular.get("linewidth")
    if dash["fill"] != "solid":
        graph["lineStyle"] = dash
    if fill_below:
        graph["fillOpacity"] = 35  # flot drew bands at a fixed opacity
    elif _is_number(angular.get("fill")):
        graph["fillOpacity"] = angular["fill"] * 10
    gradient = angular.get("fillGradient")
    if _is_number(gradient) and gradient > 0:
        graph["gradientMode"] = "opacity"
        graph["fillOpacity"] = gradient * 10
    graph["spanNulls"] = angular.get("nullPointMode") == "connected"
    if angular.get("steppedLine"):
        graph["lineInterpolation"] = "stepAfter"
    if graph["drawStyle"] == "bars":
        graph["fillOpacity"] = 100
    if angular.get("stack"):
        graph["stacking"] = {"mode": "normal", "group": DEFAULT_STACK_GROUP}
    y1["custom"] = _without_none(graph)
    y1["nullValueMode"] = angular.get("nullPointMode")
    legend: dict[str, Any] = {"displayMode": "list", "showLegend": True, "placement": "bottom", "calcs": []}
    tooltip = {"mode": "single", "sort": "none"}
    old_legend = angular.get("legend")
    if isinstance(old_legend, dict):  # an empty one too: JavaScript's {} is truthy
        if old_legend.get("show"):
            legend["displayMode"] = "table" if old_legend.get("alignAsTable") else "list"
        else:
            legend["showLegend"] = False
        if old_legend.get("rightSide"):
            legend["placement"] = "right"
        if old_legend.get("values"):
            legend["calcs"] = _legend_reducers(old_legend)
        if old_legend.get("sideWidth"):
            legend["width"] = old_legend["sideWidth"]
        if old_legend.get("hideZero"):
            overrides.append(_hide_from_override("allIsZero"))
        if old_legend.get("hideEmpty"):
            overrides.append(_hide_from_override("allIsNull"))
    regions = angular.get("timeRegions")
    annotations = _time_region_annotations(regions, panel_id) if isinstance(regions, list) else []
    old_tooltip = angular.get("tooltip")
    if isinstance(old_tooltip, dict):
        if "shared" in old_tooltip:
            tooltip["mode"] = "multi" if old_tooltip["shared"] else "single"
        if "sort" in old_tooltip and old_tooltip.get("shared"):
            tooltip["sort"] = {1: "asc", 2: "desc"}.get(old_tooltip["sort"], "none")
    thresholds = angular.get("thresholds")
    if isinstance(thresholds, list) and thresholds:
        steps, mode = _graph_thresholds([t for t in thresholds if isinstance(t, dict)])
        y1["custom"]["thresholdsStyle"] = {"mode": mode}
        y1["thresholds"] = {"mode": "absolute", "steps": steps}
    xaxis = angular.get("xaxis")
    if isinstance(xaxis, dict) and xaxis.get("show") is False and xaxis.get("mode") == "time":
        overrides.append(
            {
                "matcher": {"id": "byType", "options": "time"},
                "properties": [{"id": "custom.axisPlacement", "value": "hidden"}],
            }
        )
    field_config_out = {"defaults": _without_none(y1), "overrides": overrides}
    return field_config_out, {"legend": legend, "tooltip": tooltip}, annotations


def _mappings(angular: dict[str, Any], thresholds: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The singlestat's value or range maps (the kind its mappingType picks) as value mappings."""
    kind = angular.get("mappingType")
    if not kind:
        kind = 1 if angular.get("valueMaps") else 2 if angular.get("rangeMaps") else None
    source = angular.get("valueMaps") if kind == 1 else angular.get("rangeMaps") if kind == 2 else None
    old = [{**m, "type": kind} for m in source or [] if isinstance(m, dict)]
    return upgrade_value_mappings(old, thresholds) or []


def _reducer(value_name: Any) -> str:
    """The singlestat's valueName as a reducer id (v28.go getReducerForValueName)."""
    names = {"avg": "mean", "first": "firstNotNull", "last": "lastNotNull", "name": "lastNotNull"}
    names |= {"current": "lastNotNull", "total": "sum"}
    if value_name in names:
        return names[value_name]
    return value_name if value_name in ("min", "max", "mean", "median", "sum", "count") else "mean"


def singlestat_to_stat(angular: dict[str, Any], field_config: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(fieldConfig, options) of the stat panel an Angular singlestat becomes. Where the backend's port
    and the frontend's handler differ (an empty tableColumn or format), the frontend's truthiness wins."""
    previous = field_config if isinstance(field_config, dict) else {}
    defaults = dict(previous.get("defaults") or {})
    options: dict[str, Any] = {"reduceOptions": {"calcs": ["mean"]}, "orientation": "horizontal"}
    if isinstance(angular.get("valueName"), str):
        options["reduceOptions"]["calcs"] = [_reducer(angular["valueName"])]
    if angular.get("tableColumn"):
        options["reduceOptions"]["fields"] = f"/^{angular['tableColumn']}$/"
    if angular.get("format"):
        defaults["unit"] = angular["format"]
    if angular.get("nullPointMode"):
        defaults["nullValueMode"] = angular["nullPointMode"]
    if angular.get("nullText"):
        defaults["noValue"] = angular["nullText"]
    if angular.get("decimals") is not None:
        defaults["decimals"] = angular["decimals"]
    levels, colors = angular.get("thresholds"), angular.get("colors")
    if levels and isinstance(levels, str) and isinstance(colors, list):
        values = [_valid_number(level.strip()) for level in levels.split(",")]
        steps: list[dict[str, Any]] = []
        for color in colors:  # one more colour than levels: the first is the base
            below = len(steps) - 1
            if below < 0:
                steps.append({"value": MINUS_INFINITY, "color": color})
            else:  # a colour without a level has an undefined value, which is not saved
                steps.append({"color": color} | ({"value": values[below]} if below < len(values) else {}))
        defaults["thresholds"] = {"mode": "absolute", "steps": steps}
    mappings = _mappings(angular, defaults.get("thresholds"))
    if mappings:
        defaults["mappings"] = mappings
    sparkline = angular.get("sparkline") if isinstance(angular.get("sparkline"), dict) else {}
    options["graphMode"] = "area" if sparkline.get("show") else "none"
    if angular.get("colorBackground"):
        options["colorMode"] = "background"
    elif angular.get("colorValue"):
        options["colorMode"] = "value"
    else:
        options["colorMode"] = "none"
        if sparkline.get("lineColor") and options["graphMode"] == "area":
            defaults["color"] = {"mode": "fixed", "fixedColor": sparkline["lineColor"]}
    if angular.get("valueName") == "name":
        options["textMode"] = "name"
    gauge = angular.get("gauge")
    if isinstance(gauge, dict) and gauge.get("show"):
        defaults["min"], defaults["max"] = gauge.get("minValue"), gauge.get("maxValue")
    unit_range = {"percent": (0, 100), "percentunit": (0, 1)}.get(str(defaults.get("unit")))
    if unit_range is not None:
        defaults.setdefault("min", unit_range[0])
        defaults.setdefault("max", unit_range[1])
    return {"defaults": defaults, "overrides": list(previous.get("overrides") or [])}, options


def _dropped(angular: dict[str, Any], read: frozenset[str]) -> list[str]:
    return sorted(k for k, v in angular.items() if k not in read and v not in (None, [], {}, ""))


def migrate_angular_panel(panel: dict[str, Any], annotations: list[Any], notes: Notes) -> dict[str, Any]:
    """The panel as its React successor when it is an Angular graph or singlestat; others as they are."""
    kind = panel.get("type")
    if kind not in ("graph", "singlestat"):
        return panel
    where = f"panel {panel.get('title', '')!r} (id {panel.get('id')})"
    kept, angular = split_angular(panel)
    if kind == "graph":
        mode = (angular.get("xaxis") or {}).get("mode") if isinstance(angular.get("xaxis"), dict) else None
        if mode in ("series", "histogram"):
            raise ImportRefused(
                f"{where}: a graph with x-axis mode {mode!r} becomes a bar chart or histogram in Grafana, "
                "whose migration the import does not port: save it in Grafana, then import it with --uid"
            )
        field_config, options, added = graph_to_timeseries(
            angular, kept.get("fieldConfig"), panel.get("id"), notes, where
        )
        annotations.extend(added)
        migrated = {**kept, "type": "timeseries", "fieldConfig": field_config, "options": options}
        if angular.get("alert") is not None:
            migrated["alert"] = angular["alert"]
        dropped = _dropped(angular, GRAPH_READS)
    else:
        field_config, options = singlestat_to_stat(angular, kept.get("fieldConfig"))
        migrated = {**kept, "type": "stat", "fieldConfig": field_config, "options": options}
        dropped = _dropped(angular, SINGLESTAT_READS)
    notes.add(
        where,
        f"Angular {kind} migrated to {migrated['type']} as Grafana does when it loads it"
        + (f"; Grafana's migration drops {', '.join(dropped)}" if dropped else ""),
    )
    return migrated
