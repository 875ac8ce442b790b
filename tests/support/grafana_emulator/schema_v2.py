"""Dashboard schema v2 (dynamic dashboards), as Grafana 13's UI saves it, and the lossy way back.

`to_v2` is what the 13.x UI does when it saves a classic dashboard (grafana/grafana
public/app/features/dashboard-scene/serialization/transformSceneToSaveModelSchemaV2.ts): panels become
`elements`, their grid positions a `GridLayout`, queries `PanelQuery`s of a `QueryGroup`, the
visualisation a `VizConfig` whose spec holds the field config. `to_classic` is the v2 -> v1/v0
conversion a classic read of a v2-stored dashboard gets; like Grafana's (mcp-grafana PR #937: a legacy
GET "lossily down-converts dashboards stored in schema v2"), it is lossy: here the field config (units)
and descriptions do not survive, so a diff against it would show edits nobody made.
"""

from __future__ import annotations

from typing import Any

V2_SPEC_KEYS = frozenset(
    {
        "title",
        "description",
        "tags",
        "cursorSync",
        "liveNow",
        "preload",
        "editable",
        "links",
        "annotations",
        "elements",
        "layout",
        "timeSettings",
        "variables",
        "revision",
    }
)


def _query(target: dict[str, Any], panel: dict[str, Any]) -> dict[str, Any]:
    datasource = target.get("datasource") or panel.get("datasource") or {}
    spec = {k: v for k, v in target.items() if k not in ("refId", "datasource", "hide")}
    return {
        "kind": "PanelQuery",
        "spec": {
            "refId": target.get("refId", "A"),
            "hidden": bool(target.get("hide")),
            "query": {
                "kind": "DataQuery",
                "group": datasource.get("type", ""),
                "version": "v0",
                "datasource": {"name": datasource.get("uid", "")},
                "spec": spec,
            },
        },
    }


def to_v2(classic: dict[str, Any]) -> dict[str, Any]:
    """The v2beta1 spec the UI saves for a classic dashboard."""
    elements: dict[str, Any] = {}
    items: list[dict[str, Any]] = []
    for panel in classic.get("panels") or []:
        name = f"panel-{panel.get('id')}"
        elements[name] = {
            "kind": "Panel",
            "spec": {
                "id": panel.get("id"),
                "title": panel.get("title", ""),
                "description": panel.get("description", ""),
                "links": [],
                "data": {
                    "kind": "QueryGroup",
                    "spec": {
                        "queries": [_query(t, panel) for t in panel.get("targets") or []],
                        "transformations": [],
                        "queryOptions": {},
                    },
                },
                "vizConfig": {
                    "kind": "VizConfig",
                    "group": panel.get("type", ""),
                    "version": "",
                    "spec": {
                        "options": panel.get("options") or {},
                        "fieldConfig": panel.get("fieldConfig") or {"defaults": {}, "overrides": []},
                    },
                },
            },
        }
        grid = panel.get("gridPos") or {}
        items.append(
            {
                "kind": "GridLayoutItem",
                "spec": {
                    "x": grid.get("x", 0),
                    "y": grid.get("y", 0),
                    "width": grid.get("w", 12),
                    "height": grid.get("h", 8),
                    "element": {"kind": "ElementReference", "name": name},
                },
            }
        )
    time = classic.get("time") or {}
    return {
        "title": classic.get("title", ""),
        "description": classic.get("description", ""),
        "tags": classic.get("tags") or [],
        "cursorSync": "Off",
        "editable": classic.get("editable", True),
        "links": [],
        "annotations": [],
        "elements": elements,
        "layout": {"kind": "GridLayout", "spec": {"items": items}},
        "timeSettings": {
            "from": time.get("from", "now-6h"),
            "to": time.get("to", "now"),
            "autoRefresh": classic.get("refresh", ""),
            "timezone": classic.get("timezone", "browser"),
        },
        "variables": [
            {"kind": "DatasourceVariable", "spec": {"name": v.get("name"), "pluginId": v.get("query")}}
            for v in (classic.get("templating") or {}).get("list") or []
        ],
    }


def to_classic(v2: dict[str, Any]) -> dict[str, Any]:
    """The lossy classic JSON a v1/v0 read of a v2-stored dashboard returns (no field config, no
    descriptions, no variables' current values)."""
    panels = []
    for item in (v2.get("layout") or {}).get("spec", {}).get("items") or []:
        spec = item.get("spec") or {}
        element = (v2.get("elements") or {}).get((spec.get("element") or {}).get("name"), {})
        panel = element.get("spec") or {}
        queries = (panel.get("data") or {}).get("spec", {}).get("queries") or []
        panels.append(
            {
                "id": panel.get("id"),
                "type": (panel.get("vizConfig") or {}).get("group", ""),
                "title": panel.get("title", ""),
                "gridPos": {
                    "x": spec.get("x"),
                    "y": spec.get("y"),
                    "w": spec.get("width"),
                    "h": spec.get("height"),
                },
                "targets": [
                    {"refId": q["spec"].get("refId"), **(q["spec"].get("query") or {}).get("spec", {})}
                    for q in queries
                ],
            }
        )
    time = v2.get("timeSettings") or {}
    return {
        "title": v2.get("title", ""),
        "tags": v2.get("tags") or [],
        "schemaVersion": 42,
        "time": {"from": time.get("from"), "to": time.get("to")},
        "panels": panels,
    }
