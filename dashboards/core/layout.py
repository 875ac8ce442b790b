"""Grid layout: authors list rows of panels; positions, panel ids and query refIds are computed here.

Grafana's grid is 24 columns wide; a panel's `gridPos` is {x, y, w, h} in grid units. Writing those by
hand is where overlaps and gaps come from, so dashboards declare `Row(panels, widths=...)` and
`grid(...)` stacks the rows top to bottom and numbers panels 1..n in reading order.
"""

from __future__ import annotations

import string
from typing import Any

import attr
from attr.validators import deep_iterable, instance_of, optional
from grafanalib import core

from dashboards.core.conventions import GRID_COLUMNS
from dashboards.core.panels import RowHeader
from dashboards.core.sources import Location, source_field

DEFAULT_HEIGHT = 8


def _check_widths(row: Row, _attribute: Any, widths: tuple[int, ...] | None) -> None:
    count = len(row.panels)
    if widths is None:
        if count == 0 or GRID_COLUMNS % count:
            raise ValueError(f"Row of {count} panels: pass widths=... summing to {GRID_COLUMNS}")
        return
    if len(widths) != count:
        raise ValueError(f"Row has {count} panels but {len(widths)} widths")
    if sum(widths) != GRID_COLUMNS or min(widths) < 1:
        raise ValueError(f"Row widths {tuple(widths)} must be positive and sum to {GRID_COLUMNS}")


@attr.s
class Row:
    """One band of panels side by side. Without `widths` the 24 columns are split evenly."""

    panels: list[core.Panel] = attr.ib(
        validator=deep_iterable(instance_of(core.Panel), instance_of(list)), converter=list
    )
    widths: tuple[int, ...] | None = attr.ib(default=None, validator=_check_widths)
    height: int = attr.ib(default=DEFAULT_HEIGHT, validator=instance_of(int))
    title: str | None = attr.ib(default=None, validator=optional(instance_of(str)))
    source: Location = source_field()

    def column_widths(self) -> tuple[int, ...]:
        return self.widths or (GRID_COLUMNS // len(self.panels),) * len(self.panels)


def with_ref_ids(targets: list[Any]) -> list[Any]:
    """Give queries without a refId the next free letter (A, B, ...); explicit refIds are kept."""
    taken = {t.refId for t in targets if t.refId}
    free = (letter for letter in string.ascii_uppercase if letter not in taken)
    return [t if t.refId else attr.evolve(t, refId=next(free)) for t in targets]


def grid(*rows: Row) -> list[core.Panel]:
    """Lay the rows out top to bottom; returns panels with gridPos, ids 1..n and refIds set."""
    laid_out: list[core.Panel] = []
    y = 0
    for row in rows:
        if row.title:
            header = RowHeader(
                title=row.title,
                id=len(laid_out) + 1,
                gridPos=core.GridPos(h=1, w=GRID_COLUMNS, x=0, y=y),
                source=row.source,
            )
            laid_out.append(header)
            y += 1
        x = 0
        for panel, width in zip(row.panels, row.column_widths(), strict=True):
            position = core.GridPos(h=row.height, w=width, x=x, y=y)
            laid_out.append(
                attr.evolve(
                    panel, id=len(laid_out) + 1, gridPos=position, targets=with_ref_ids(panel.targets)
                )
            )
            x += width
        y += row.height
    return laid_out
