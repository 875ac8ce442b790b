"""Schema step 16: the old `rows` array becomes row panels and panels with grid positions.

A port of DashboardMigrator.upgradeToGridLayout and its RowArea (grafana/grafana:
public/app/features/dashboard/state/DashboardMigrator.ts; the backend's port is
apps/dashboard/pkg/migration/schemaversion/v16.go). Where the two differ the frontend is followed, since
its save model is what a dashboard saved from the UI holds: a width is floor(span) * 2 of the 24 columns,
a row or panel height in pixels becomes ceil(max(height, 90) / 38) grid units, a panel that does not fit
beside the previous ones wraps below them, row panels are added only when some row is collapsed, repeated
or shows its title, and a collapsed row carries its panels inside the row panel.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .build import ImportRefused

GRID_COLUMNS = 24  # GRID_COLUMN_COUNT (public/app/core/constants.ts)
DEFAULT_PANEL_SPAN = 4
DEFAULT_ROW_HEIGHT = 250
GRID_CELL_HEIGHT = 30
GRID_CELL_VMARGIN = 8
MIN_PANEL_HEIGHT = GRID_CELL_HEIGHT * 3


def grid_height(height: Any) -> int:
    """Pixels (a number or "250px") as grid units: getGridHeight."""
    if isinstance(height, str):
        match = re.match(r"\s*([+-]?\d+)", height.replace("px", ""))
        if match is None:
            raise ImportRefused(f"schema step 16: row/panel height {height!r} is not a number of pixels")
        height = int(match[1])
    if not isinstance(height, int | float) or isinstance(height, bool):
        raise ImportRefused(f"schema step 16: row/panel height {height!r} is not a number of pixels")
    return math.ceil(max(height, MIN_PANEL_HEIGHT) / (GRID_CELL_HEIGHT + GRID_CELL_VMARGIN))


class RowArea:
    """The columns of one old row and how far down each is filled, relative to the row's top."""

    def __init__(self, height: int, top: int) -> None:
        self.area = [0] * GRID_COLUMNS
        self.y = top
        self.height = height

    def add(self, position: dict[str, int]) -> None:
        for column in range(position["x"], min(position["x"] + position["w"], GRID_COLUMNS)):
            self.area[column] = max(self.area[column], position["y"] + position["h"] - self.y)

    def place(self, width: int, wrapped: bool = False) -> tuple[int, int]:
        """(x, y within the row) of the next panel: the free run of columns at the right end, else wrap."""
        start = end = None
        for column in range(GRID_COLUMNS - 1, -1, -1):
            if self.height - self.area[column] <= 0:
                break
            if end is None:
                end = column
            elif column < GRID_COLUMNS - 1 and self.area[column] <= self.area[column + 1]:
                start = column
            else:
                break
        if start is not None and end is not None and end - start >= width - 1:
            return start, max(self.area[start:])
        if wrapped:
            raise ImportRefused(f"schema step 16: a panel {width} columns wide does not fit in the grid")
        self.y += self.height
        self.area = [0] * GRID_COLUMNS
        return self.place(width, wrapped=True)


def _shows_row_panels(rows: list[dict[str, Any]]) -> bool:
    return any(row.get("collapse") or row.get("showTitle") or row.get("repeat") for row in rows)


def _row_panel(row: dict[str, Any], row_id: int, y: int) -> dict[str, Any]:
    """The row panel, as a save from Grafana's UI stores it. The migrator gives it the row's height and
    copies `collapse` only when the row has one (Grafana's expected output: apps/dashboard/pkg/migration/
    testdata/output/latest_version/v16.grid_layout_upgrade.v42.json), but the dashboard grid draws every
    row header one unit high, and the scene serialiser of Grafana 11+ writes that height and `collapsed`
    for every row (public/app/features/dashboard-scene/serialization/transformSceneToSaveModel.ts). So the
    saved header is 1 high, over the panels that start one unit below it either way, where the
    migrator's height would make it overlap them."""
    panel: dict[str, Any] = {"id": row_id, "type": "row", "collapsed": bool(row.get("collapse"))}
    for key in ("title", "repeat"):
        if row.get(key) is not None:
            panel[key] = row[key]
    panel["panels"] = []
    panel["gridPos"] = {"x": 0, "y": y, "w": GRID_COLUMNS, "h": 1}
    return panel


def upgrade_to_grid(dashboard: dict[str, Any]) -> None:
    """Replace `rows` by row panels and positioned panels (appended to any `panels` already there)."""
    rows = dashboard.pop("rows", None)
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        if rows is not None:
            raise ImportRefused("schema step 16: `rows` is not a list of row objects")
        return
    for row in rows:
        if not isinstance(row.get("panels", []), list):
            raise ImportRefused(f"schema step 16: row {row.get('title')!r} has no list of panels")
    ids = [p.get("id") for row in rows for p in row.get("panels", []) if isinstance(p, dict)]
    next_row_id = max((i for i in ids if isinstance(i, int | float)), default=0) + 1
    show_rows = _shows_row_panels(rows)
    panels: list[Any] = list(dashboard.get("panels") or [])
    y = 0
    for row in rows:
        if row.get("repeatIteration"):
            continue  # a copy a repeated row made of itself
        height = grid_height(row.get("height") or DEFAULT_ROW_HEIGHT)
        collapsed = bool(row.get("collapse"))
        row_panel = None
        if show_rows:
            row_panel = _row_panel(row, next_row_id, y)
            next_row_id += 1
            y += 1
        area = RowArea(height, y)
        for panel in row.get("panels", []):
            span = panel.get("span") or DEFAULT_PANEL_SPAN
            if panel.get("minSpan"):
                panel["minSpan"] = min(GRID_COLUMNS, (GRID_COLUMNS // 12) * panel["minSpan"])
            width = math.floor(span) * (GRID_COLUMNS // 12)
            panel_height = grid_height(panel["height"]) if panel.get("height") else height
            x, offset = area.place(width)
            y = area.y
            panel["gridPos"] = {"x": x, "y": y + offset, "w": width, "h": panel_height}
            area.add(panel["gridPos"])
            panel.pop("span", None)
            if row_panel is not None and collapsed:
                row_panel["panels"].append(panel)
            else:
                panels.append(panel)
        if row_panel is not None:
            panels.append(row_panel)
        if row_panel is None or not collapsed:
            y += height
    dashboard["panels"] = panels


def sort_by_position(dashboard: dict[str, Any]) -> None:
    """DashboardModel.sortPanelsByGridPos, which its constructor runs after the migration: by y, then x."""
    panels = dashboard.get("panels")
    if isinstance(panels, list) and all(isinstance(p, dict) for p in panels):
        panels.sort(key=lambda p: (_coordinate(p, "y"), _coordinate(p, "x")))


def _coordinate(panel: dict[str, Any], axis: str) -> float:
    position = panel.get("gridPos")
    value = position.get(axis) if isinstance(position, dict) else None
    return value if isinstance(value, int | float) else 0
