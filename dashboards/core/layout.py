"""Grid layout: authors list rows of panels; positions, panel ids and query refIds are computed here.

Grafana's grid is 24 columns wide; a panel's `gridPos` is {x, y, w, h} in grid units. Writing those by
hand is where overlaps and gaps come from, so dashboards declare `Row(panels, widths=...)` and
`grid(...)` stacks the rows top to bottom and numbers panels 1..n in reading order (a panel or row given
an explicit `id`, as imported dashboards are, keeps it). `Collapsed(...)` is a collapsed row: its header
holds the rows it hides, laid out below it as they appear when it is expanded. `Placed(...)` keeps the
explicit positions of panels that lie in no bands (imported dashboards again), below the rows before it.
"""

from __future__ import annotations

import string
from typing import Any

import attr
from attr.validators import deep_iterable, instance_of, optional
from grafanalib import core

from dashboards.core.conventions import GRID_COLUMNS
from dashboards.core.exact import Raw
from dashboards.core.exact_panels import ExactPanel, RowPanel
from dashboards.core.panels import RowHeader
from dashboards.core.sources import Location, source_field

DEFAULT_HEIGHT = 8
GridPos = core.GridPos  # an explicit position {h, w, x, y}, for panels placed outside grid()
PANEL_CLASSES = (core.Panel, ExactPanel)  # the chat panels (grafanalib's) and the exact ones


def _check_widths(row: Row, _attribute: Any, widths: tuple[int, ...] | None) -> None:
    count = len(row.panels)
    if count == 0 and row.title and widths is None:
        return  # a row header with nothing under it (the next row follows at once)
    if widths is None:
        if count == 0 or GRID_COLUMNS % count:
            raise ValueError(f"Row of {count} panels: pass widths=... summing to {GRID_COLUMNS}")
        return
    if len(widths) != count:
        raise ValueError(f"Row has {count} panels but {len(widths)} widths")
    if sum(widths) + row.empty != GRID_COLUMNS or min(widths) < 1:
        left = f" plus empty={row.empty}" if row.empty else ""
        raise ValueError(f"Row widths {tuple(widths)}{left} must be positive and sum to {GRID_COLUMNS}")


@attr.s
class Row:
    """One band of panels side by side. Without `widths` the 24 columns are split evenly; `empty` columns
    at the right stay free (a band narrower than the grid, as in imported dashboards)."""

    panels: list[core.Panel] = attr.ib(
        validator=deep_iterable(instance_of(PANEL_CLASSES), instance_of(list)), converter=list
    )
    widths: tuple[int, ...] | None = attr.ib(default=None, validator=_check_widths)
    height: int = attr.ib(default=DEFAULT_HEIGHT, validator=instance_of(int))
    title: str | None = attr.ib(default=None, validator=optional(instance_of(str)))
    empty: int = attr.ib(default=0, validator=instance_of(int), kw_only=True)
    id: int | None = attr.ib(default=None, validator=optional(instance_of(int)), kw_only=True)
    raw: Raw | None = attr.ib(default=None, validator=optional(instance_of(Raw)), kw_only=True)  # header's
    source: Location = source_field()

    def column_widths(self) -> tuple[int, ...]:
        if not self.panels:
            return ()
        return self.widths or (GRID_COLUMNS // len(self.panels),) * len(self.panels)


def with_ref_ids(targets: list[Any] | None) -> list[Any] | None:
    """Give queries without a refId the next free letter (A, B, ...); explicit refIds are kept."""
    if targets is None:  # an imported panel without a `targets` key (a text panel, say)
        return None
    taken = {t.refId for t in targets if t.refId}
    free = (letter for letter in string.ascii_uppercase if letter not in taken)
    return [t if t.refId else attr.evolve(t, refId=next(free)) for t in targets]


@attr.s
class Placed:
    """Panels placed by hand where the layout is not a grid: each has `gridPos=GridPos(...)`, its `y`
    counted from the top of this block; the block is as tall as its lowest panel."""

    panels: list[Any] = attr.ib(
        validator=deep_iterable(instance_of(PANEL_CLASSES), instance_of(list)), converter=list
    )
    source: Location = source_field()


@attr.s
class Collapsed:
    """A collapsed row titled `title`: one line on the dashboard, its `rows` shown when it is expanded."""

    title: str = attr.ib(validator=instance_of(str))
    rows: list[Row | Placed] = attr.ib(
        validator=deep_iterable(instance_of((Row, Placed)), instance_of(list)), converter=list
    )
    id: int | None = attr.ib(default=None, validator=optional(instance_of(int)), kw_only=True)
    source: Location = source_field()


def _lay_out_row(row: Row, y: int, laid_out: list[Any], before: int = 0) -> int:
    """Append the row's header and panels to `laid_out` (after `before` panels elsewhere, for the ids);
    returns the y below the row."""

    def next_id(wanted: int | None) -> int:
        return wanted if wanted is not None else before + len(laid_out) + 1

    if row.title:
        header = RowHeader(
            title=row.title,
            id=next_id(row.id),
            gridPos=core.GridPos(h=1, w=GRID_COLUMNS, x=0, y=y),
            source=row.source,
            raw=row.raw,
        )
        laid_out.append(header)
        y += 1
    x = 0
    for panel, width in zip(row.panels, row.column_widths(), strict=True):
        position = core.GridPos(h=row.height, w=width, x=x, y=y)
        laid_out.append(
            attr.evolve(panel, id=next_id(panel.id), gridPos=position, targets=with_ref_ids(panel.targets))
        )
        x += width
    return y + row.height if row.panels else y


def _lay_out_placed(block: Placed, y: int, laid_out: list[Any], before: int = 0) -> int:
    bottom = y
    for panel in block.panels:
        position = panel.gridPos
        moved = core.GridPos(h=position.h, w=position.w, x=position.x, y=y + position.y)
        panel_id = panel.id if panel.id is not None else before + len(laid_out) + 1
        laid_out.append(attr.evolve(panel, id=panel_id, gridPos=moved, targets=with_ref_ids(panel.targets)))
        bottom = max(bottom, moved.y + moved.h)
    return bottom


def _lay_out_collapsed(section: Collapsed, y: int, laid_out: list[Any]) -> int:
    header_id = section.id if section.id is not None else len(laid_out) + 1
    hidden: list[Any] = []
    inner_y = y + 1
    for row in section.rows:
        lay_out = _lay_out_placed if isinstance(row, Placed) else _lay_out_row
        inner_y = lay_out(row, inner_y, hidden, before=len(laid_out) + 1)
    laid_out.append(
        RowPanel(
            title=section.title,
            id=header_id,
            gridPos=core.GridPos(h=1, w=GRID_COLUMNS, x=0, y=y),
            collapsed=True,
            panels=hidden,
            source=section.source,
        )
    )
    return y + 1


def grid(*rows: Row | Collapsed | Placed) -> list[core.Panel]:
    """Lay the rows out top to bottom; returns panels with gridPos, ids 1..n and refIds set."""
    laid_out: list[core.Panel] = []
    y = 0
    for row in rows:
        if isinstance(row, Collapsed):
            y = _lay_out_collapsed(row, y, laid_out)
        elif isinstance(row, Placed):
            y = _lay_out_placed(row, y, laid_out)
        else:
            y = _lay_out_row(row, y, laid_out)
    return laid_out
