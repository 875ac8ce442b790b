"""A UI edit applied to a hand-written module in place: the values it changed, and nothing else.

`--into` on a module the import did not write (say dashboards/chat_overview.py, built with our helpers)
would otherwise become a whole new module. When the edit only changed values (a title, a unit, a
threshold, a legend), each old value is looked up where the author wrote it: inside the constructor call
of the panel it belongs to (the line its `source` records), or anywhere in the module for the dashboard's
own keys. A value written there exactly once, as a literal or as a name of the module bound to it
(`unit=UNIT_PER_SECOND`), is replaced by the new one (by a constant of ours when one holds it). The patched
module is then rendered and compared with the live dashboard like any import: equal, or the patch is not
used (the caller writes the module anew, and says so).
"""

from __future__ import annotations

import ast
import io
import json
import tokenize
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from dashboards.core.cleanup import plain_json
from dashboards.core.dashboard import ChatDashboard

from .codegen import UNIT_NAMES, ruff_format
from .convert import content, first_difference, load_module

Path = tuple[str | int, ...]
SCALARS = (str, int, float)


@dataclass(frozen=True)
class Change:
    path: Path
    old: Any
    new: Any


def changed_values(before: Any, after: Any, path: Path = ()) -> list[Change] | None:
    """Every scalar that differs, when the two documents have the same shape; else None."""
    if isinstance(before, dict) and isinstance(after, dict):
        if before.keys() != after.keys():
            return None
        pairs = [changed_values(before[k], after[k], (*path, k)) for k in before]
    elif isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            return None
        pairs = [changed_values(a, b, (*path, i)) for i, (a, b) in enumerate(zip(before, after, strict=True))]
    elif before == after and type(before) is type(after):
        return []
    elif isinstance(before, SCALARS) and isinstance(after, SCALARS) and not isinstance(before, bool):
        return [Change(path, before, after)]
    else:
        return None
    if any(inner is None for inner in pairs):
        return None
    return [change for inner in pairs for change in inner or []]


def _dashboard(module: ModuleType, uid: str) -> ChatDashboard | None:
    return next((v for v in vars(module).values() if isinstance(v, ChatDashboard) and v.uid == uid), None)


def rendered_dashboard(source: str, filename: str, uid: str) -> dict[str, Any] | None:
    dashboard = _dashboard(load_module(source, filename), uid)
    return plain_json(dashboard) if dashboard is not None else None


def _panel_of(dashboard: ChatDashboard, path: Path) -> Any:
    """The Python panel object a JSON path lies in (collapsed rows hold theirs), or None."""
    panel, rest = None, path
    panels = dashboard.panels
    while len(rest) >= 2 and rest[0] == "panels" and isinstance(rest[1], int) and rest[1] < len(panels):
        panel = panels[rest[1]]
        panels, rest = list(getattr(panel, "panels", None) or []), rest[2:]
    return panel


def _call_span(tree: ast.Module, line: int, name: str) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """Start and end (line, column) of the `name(...)` call that begins on `line`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.lineno == line:
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if called == name and node.end_lineno is not None and node.end_col_offset is not None:
                return (node.lineno, node.col_offset), (node.end_lineno, node.end_col_offset)
    return None


def _value_tokens(source: str, module: ModuleType) -> list[tuple[tokenize.TokenInfo, Any]]:
    """Literals (plain strings, numbers) and names of module values, with their values."""
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in (tokenize.STRING, tokenize.NUMBER):
            try:
                found.append((token, ast.literal_eval(token.string)))
            except (ValueError, SyntaxError):
                continue
        elif token.type == tokenize.NAME and isinstance(vars(module).get(token.string), SCALARS):
            found.append((token, vars(module)[token.string]))
    return found


def _new_text(new: Any, module: ModuleType) -> str:
    name = UNIT_NAMES.get(new) if isinstance(new, str) else None
    if name is not None and vars(module).get(name) == new:
        return name
    return json.dumps(new, ensure_ascii=False) if isinstance(new, str) else repr(new)


def _offset(source: str, position: tuple[int, int]) -> int:
    lines = source.splitlines(keepends=True)
    return sum(len(line) for line in lines[: position[0] - 1]) + position[1]


def _edits(source: str, module: ModuleType, dashboard: ChatDashboard, changes: list[Change]) -> str | None:
    tree = ast.parse(source)
    tokens = _value_tokens(source, module)
    edits: dict[tuple[int, int], tuple[tuple[int, int], str]] = {}
    for change in changes:
        panel = _panel_of(dashboard, change.path)
        span = None
        if panel is not None:
            where = getattr(panel, "source", None)
            if where is None or where.file != module.__file__:
                return None
            span = _call_span(tree, where.line, type(panel).__name__)
            if span is None:
                return None
        matches = [
            token
            for token, value in tokens
            if value == change.old
            and type(value) is type(change.old)
            and (span is None or (span[0] <= token.start and token.end <= span[1]))
        ]
        if len(matches) != 1:
            return None
        edits[matches[0].start] = (matches[0].end, _new_text(change.new, module))
    patched = source
    for start in sorted(edits, reverse=True):
        end, text = edits[start]
        patched = patched[: _offset(patched, start)] + text + patched[_offset(patched, end) :]
    return patched


def patched_module(source: str, filename: str, live: dict[str, Any]) -> str | None:
    """The module with the live dashboard's changed values in place, proven to render `live`; else None."""
    uid = str(live.get("uid"))
    try:
        module = load_module(source, filename)
    except Exception:  # the module does not load: nothing to patch, the caller writes it anew
        return None
    dashboard = _dashboard(module, uid)
    if dashboard is None:
        return None
    changes = changed_values(content(plain_json(dashboard)), content(live))
    if not changes:
        return None
    patched = _edits(source, module, dashboard, changes)
    if patched is None:
        return None
    patched = ruff_format(patched)
    try:
        again = rendered_dashboard(patched, filename, uid)
    except Exception:
        return None
    if again is None or first_difference(content(live), content(again)):
        return None
    return patched
