"""A dashboard in our panels' terms, from classic JSON or from schema v2: what a reviewer compares.

Grafana 13's UI saves dashboards in schema v2 (`elements`, a `layout`, `PanelQuery`s, a `VizConfig`;
grafana/grafana apps/dashboard/pkg/apis/dashboard/v2beta1, v2alpha1 spells the panel type as
`vizConfig.kind`), which shares no shape with the classic JSON our code renders. Both are reduced here
to the same view - the dashboard's title, tags and refresh, and per panel (in layout order) its title,
type, description, queries, unit and grid position - so a diff between what we published and what the
UI stored says what the edit changed ("panel 2 title", "unit", "expr"), not how the two schemas differ.
Two dashboards with the same view differ in nothing we define in code.
"""

from __future__ import annotations

from typing import Any

QUERY_KEYS = ("expr", "query", "rawSql", "legendFormat", "instant", "range")


def _query(refid: str, datasource: Any, spec: dict[str, Any], hidden: bool = False) -> dict[str, Any]:
    view = {"refId": refid, **{k: spec[k] for k in QUERY_KEYS if spec.get(k) not in (None, "")}}
    if datasource:
        view["datasource"] = datasource
    if hidden:
        view["hidden"] = True
    return view


def _panel(
    ident: Any,
    title: str,
    kind: str,
    description: str,
    unit: str,
    grid: dict[str, Any],
    queries: list[dict[str, Any]],
) -> dict[str, Any]:
    view: dict[str, Any] = {"id": ident, "title": title, "type": kind, "gridPos": grid, "queries": queries}
    if description:
        view["description"] = description
    if unit:
        view["unit"] = unit
    return view


def _classic_datasource(node: Any) -> str:
    return str(node.get("uid", "")) if isinstance(node, dict) else str(node or "")


def classic_view(dashboard: dict[str, Any]) -> dict[str, Any]:
    """The view of a classic (v0/v1) dashboard JSON."""
    panels = []
    for panel in dashboard.get("panels") or []:
        grid = panel.get("gridPos") or {}
        targets = panel.get("targets") or []
        queries = [
            _query(
                str(t.get("refId", "")),
                _classic_datasource(t.get("datasource") or panel.get("datasource")),
                t,
                bool(t.get("hide")),
            )
            for t in targets
        ]
        unit = ((panel.get("fieldConfig") or {}).get("defaults") or {}).get("unit", "")
        panels.append(
            _panel(
                panel.get("id"),
                str(panel.get("title", "")),
                str(panel.get("type", "")),
                str(panel.get("description") or ""),
                str(unit or ""),
                {k: grid.get(k) for k in ("x", "y", "w", "h")},
                queries,
            )
        )
    return {
        "title": dashboard.get("title", ""),
        "tags": list(dashboard.get("tags") or []),
        "refresh": dashboard.get("refresh") or "",
        "panels": panels,
    }


def _v2_panel(element: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    spec = element.get("spec") or {}
    viz = spec.get("vizConfig") or {}
    kind = viz.get("group") or viz.get("kind", "")  # v2beta1: group; v2alpha1: kind
    if kind == "VizConfig":
        kind = viz.get("group", "")
    unit = (((viz.get("spec") or {}).get("fieldConfig") or {}).get("defaults") or {}).get("unit", "")
    queries = []
    for query in ((spec.get("data") or {}).get("spec") or {}).get("queries") or []:
        qspec = query.get("spec") or {}
        inner = qspec.get("query") or {}
        datasource = (inner.get("datasource") or {}).get("name") or (qspec.get("datasource") or {}).get("uid")
        queries.append(
            _query(
                str(qspec.get("refId", "")),
                datasource or "",
                inner.get("spec") or {},
                bool(qspec.get("hidden")),
            )
        )
    grid = item.get("spec") or {}
    return _panel(
        spec.get("id"),
        str(spec.get("title", "")),
        str(kind),
        str(spec.get("description") or ""),
        str(unit or ""),
        {"x": grid.get("x"), "y": grid.get("y"), "w": grid.get("width"), "h": grid.get("height")},
        queries,
    )


def v2_view(spec: dict[str, Any]) -> dict[str, Any]:
    """The view of a schema v2 dashboard spec (grid layouts; rows' items are taken in order)."""
    elements = spec.get("elements") or {}
    items: list[dict[str, Any]] = []

    def collect(layout: dict[str, Any]) -> None:
        for item in (layout.get("spec") or {}).get("items") or (layout.get("spec") or {}).get("rows") or []:
            if (item.get("spec") or {}).get("element"):
                items.append(item)
            elif (item.get("spec") or {}).get("layout"):
                collect(item["spec"]["layout"])

    collect(spec.get("layout") or {})
    panels = [_v2_panel(elements.get(item["spec"]["element"].get("name"), {}), item) for item in items]
    return {
        "title": spec.get("title", ""),
        "tags": list(spec.get("tags") or []),
        "refresh": (spec.get("timeSettings") or {}).get("autoRefresh") or "",
        "panels": panels,
    }
