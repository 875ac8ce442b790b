"""One dashboard JSON to one module's source: normalise, build, lay out, write, and prove the round trip.

The module is accepted only when rendering it gives back the normalised dashboard exactly (the same
equality as publish's content hash: every key but `id` and `version`); otherwise the import refuses,
naming the first place that differs, rather than write code that would change the dashboard.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import attr

from dashboards.core.cleanup import plain_json
from dashboards.core.exact_dashboard import ForeignDashboard
from dashboards.core.layout import Row
from dashboards.core.validate import DefinitionError, check_dashboard

from . import build
from .codegen import module_source
from .layout import NotAGrid, grid_items, positioned
from .normalise import BOOKKEEPING_KEYS, saved_form


@dataclass(frozen=True)
class Imported:
    source: str  # the module's text
    notes: list[str]  # what went through an escape hatch, for stderr
    layout: str  # "grid" or "positions"


def first_difference(expected: Any, actual: Any, path: str = "") -> str:
    """The JSON path of the first difference between two documents ("" when they are equal)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual)):
            if key not in expected or key not in actual:
                return f"{path}.{key}"
            found = first_difference(expected[key], actual[key], f"{path}.{key}")
            if found:
                return found
        return ""
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return f"{path} (length {len(expected)} != {len(actual)})"
        for i, (a, b) in enumerate(zip(expected, actual, strict=True)):
            found = first_difference(a, b, f"{path}[{i}]")
            if found:
                return found
        return ""
    same = json.dumps(expected, sort_keys=True) == json.dumps(actual, sort_keys=True)
    return "" if same else path or "."


def load_module(source: str, filename: str) -> ModuleType:
    module = ModuleType("imported_dashboard")
    module.__file__ = filename
    exec(compile(source, filename, "exec"), module.__dict__)
    return module


def rendered(source: str, filename: str) -> dict[str, Any]:
    """The JSON `make render` writes for the module's dashboard."""
    dashboard = load_module(source, filename).dashboard
    if not isinstance(dashboard, ForeignDashboard):
        raise build.ImportRefused("the generated module holds no ForeignDashboard")
    return plain_json(dashboard)


def content(dashboard: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in dashboard.items() if k not in BOOKKEEPING_KEYS}


def with_embeddable(panels: list[Any], ids: frozenset[int]) -> list[Any]:
    """`embeddable=True` on the panels with these ids: code-only marks the module being rewritten had."""
    marked = []
    for panel in panels:
        if panel.id in ids:
            panel = attr.evolve(panel, embeddable=True)
        if isinstance(getattr(panel, "panels", None), list):
            panel = attr.evolve(panel, panels=with_embeddable(panel.panels, ids))
        marked.append(panel)
    return marked


def convert(
    data: dict[str, Any],
    origin: str,
    filename: str = "dashboards/imported.py",
    docstring: str | None = None,
    embeddable: frozenset[int] = frozenset(),
    stored: bool = False,
) -> Imported:
    """The module for one dashboard, or ImportRefused with one line saying what cannot be carried."""
    notes = build.Notes()
    expected = saved_form(data, notes, stored)
    if not isinstance(expected.get("uid"), str) or not expected["uid"]:
        raise build.ImportRefused("the dashboard has no uid: give it one (publish and links need it)")
    raw_panels = expected.get("panels") or []
    if not isinstance(raw_panels, list) or not all(isinstance(p, dict) for p in raw_panels):
        raise build.ImportRefused("`panels` is not a list of panel objects")
    panels = with_embeddable([build.panel(p, notes) for p in raw_panels], embeddable)
    dashboard = build.dashboard(expected, panels, notes)
    docstring = docstring if docstring is not None else _docstring(expected, origin)
    try:
        items: list[Any] | None = grid_items(panels)
        layout = "grid"
    except NotAGrid:
        items, layout = None, "positions"
        dashboard = attr.evolve(dashboard, panels=positioned(panels))
    for item in items or []:
        if isinstance(item, Row) and item.raw is not None:
            notes.add(
                f"row {item.title!r}",
                f"header keys not modelled, carried as Raw: {', '.join(sorted(item.raw.json))}",
            )
    source = module_source(dashboard, items, docstring)
    try:
        actual = rendered(source, filename)
    except Exception as error:  # the generated code must render; if it does not, say so in one line
        raise build.ImportRefused(
            f"the generated code does not render: {type(error).__name__}: {error}"
        ) from error
    where = first_difference(content(expected), content(actual))
    if where:
        raise build.ImportRefused(f"cannot carry {where} exactly (the generated code renders it differently)")
    try:
        check_dashboard(filename, "dashboard", actual)
    except DefinitionError as error:
        notes.add("dashboard", f"render would refuse it: {error.message}")
    return Imported(source, notes.lines, layout)


def _docstring(dashboard: dict[str, Any], origin: str) -> str:
    description = str(dashboard.get("description") or "").strip().splitlines()
    summary = f"{dashboard['title']}: {description[0]}" if description else str(dashboard["title"])
    return f"{summary}\n\nImported by `python -m scripts.import` from {origin}.\n"
