"""Recover the layout: `grid(Row(...), ...)` where the panels lie in full-width bands, explicit
positions where they do not.

A candidate grid is accepted only when laying it out again gives back exactly the panels as they were
(positions, order, ids, refIds, row headers): a layout that only looks like a grid never changes a panel.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

import attr
from grafanalib import core

from dashboards.core.conventions import GRID_COLUMNS
from dashboards.core.exact import Raw, exact_json
from dashboards.core.exact_panels import RowPanel
from dashboards.core.layout import Collapsed, Placed, Row, grid
from dashboards.core.panels import ROW_KEYS


class NotAGrid(Exception):
    """The panels do not lie in bands (overlaps, gaps, uneven heights, or an order grid() would not give)."""


def _pos(panel: Any) -> dict[str, int]:
    position = panel.gridPos
    return position if isinstance(position, dict) else {}


def _section_rows(panels: list[Any], top: int) -> tuple[list[Row | Placed], int]:
    """Bands where the panels form them, else one Placed block of the section's panels."""
    try:
        return _bands(panels, top)
    except NotAGrid:
        if not all(set(_pos(p)) == {"h", "w", "x", "y"} and _pos(p)["y"] >= top for p in panels):
            raise
        placed = [
            attr.evolve(p, gridPos=core.GridPos(**{**_pos(p), "y": _pos(p)["y"] - top})) for p in panels
        ]
        return [Placed(panels=placed)], max((_pos(p)["y"] + _pos(p)["h"] for p in panels), default=top)


def _bands(panels: list[Any], top: int) -> tuple[list[Row | Placed], int]:
    """Rows of side-by-side panels from y=`top` down, in the order the panels are listed."""
    rows = []
    y = top
    for band_y, band in groupby(panels, key=lambda p: _pos(p).get("y")):
        members = list(band)
        heights = {_pos(p).get("h") for p in members}
        xs = [_pos(p).get("x") for p in members]
        widths = tuple(_pos(p).get("w") for p in members)
        if band_y != y or len(heights) != 1 or None in widths:
            raise NotAGrid(f"panels at y={band_y} do not start at y={y} with one height")
        if xs != [sum(widths[:i]) for i in range(len(widths))]:
            raise NotAGrid(f"panels at y={band_y} leave gaps or are out of order")
        height = heights.pop()
        if sum(widths) > GRID_COLUMNS or not isinstance(height, int):
            raise NotAGrid()
        empty = GRID_COLUMNS - sum(widths)
        even = not empty and len(set(widths)) == 1
        rows.append(
            Row(
                panels=[attr.evolve(p, gridPos=None) for p in members],
                widths=None if even else widths,
                height=height,
                empty=empty,
            )
        )
        y += height
    return rows, y


def _sections(panels: list[Any]) -> list[tuple[RowPanel | None, list[Any]]]:
    sections: list[tuple[RowPanel | None, list[Any]]] = [(None, [])]
    for panel in panels:
        if isinstance(panel, RowPanel):
            sections.append((panel, []))
        else:
            sections[-1][1].append(panel)
    return sections if sections[0][1] else sections[1:]


def grid_items(panels: list[Any]) -> list[Row | Collapsed | Placed]:
    """The `grid(...)` arguments that lay out exactly `panels`, or NotAGrid."""
    items: list[Row | Collapsed | Placed] = []
    y = 0
    for header, members in _sections(panels):
        if header is not None and not header.title:
            raise NotAGrid("a row without a title")  # Row() needs one; explicit positions carry it
        if header is not None and header.collapsed:
            if members or _pos(header).get("y") != y:
                raise NotAGrid()
            inner, _ = _section_rows(list(header.panels or []), y + 1)
            items.append(Collapsed(title=header.title or "", rows=inner, id=header.id))
            y += 1
            continue
        if header is not None:
            if _pos(header).get("y") != y:
                raise NotAGrid()
            y += 1
        rows, y = _section_rows(members, y)
        if header is not None:
            raw = {k: v for k, v in exact_json(header).items() if k not in ROW_KEYS}
            title_row = Row(panels=[], title=header.title, id=header.id, raw=Raw(raw) if raw else None)
            if rows and isinstance(rows[0], Row):
                rows[0] = attr.evolve(rows[0], title=header.title, id=header.id, raw=title_row.raw)
            else:
                rows.insert(0, title_row)
        items += rows
    if exact_json(grid(*items)) != exact_json(panels):
        raise NotAGrid("grid() would not give back the same panels")
    return items


def positioned(panels: list[Any]) -> list[Any]:
    """Panels as they are, their positions as GridPos objects (the explicit layout)."""
    return [_positioned(panel) for panel in panels]


def _positioned(panel: Any) -> Any:
    position = _pos(panel)
    placed = panel
    if set(position) == {"h", "w", "x", "y"}:
        placed = attr.evolve(panel, gridPos=core.GridPos(**position))
    if isinstance(placed, RowPanel) and placed.panels:
        placed = attr.evolve(placed, panels=positioned(placed.panels))
    return placed
