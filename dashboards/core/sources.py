"""Where an author's Python built a definition object, so messages about it can name file and line.

Panels, rows, dashboards and alert rules record the first stack frame outside this package when they are
constructed: the author's own module line (or their helper's). It is an attrs field that is neither
compared nor rendered, and `attr.evolve` copies it, so the panels `grid(...)` lays out keep the line where
the author wrote them. The renderer writes these locations to sources.json, next to (not inside) the JSON.
"""

from __future__ import annotations

import os
import sys
from typing import Any, NamedTuple

import attr

_CORE_DIR = os.path.dirname(__file__) + os.sep


class Location(NamedTuple):
    """A file as Python names it (absolute once the package is on sys.path by path) and a line."""

    file: str
    line: int


def _is_library(filename: str) -> bool:
    """This package, or code without a file (attrs' generated `__init__` is "<attrs generated init ...>")."""
    return filename.startswith(_CORE_DIR) or filename.startswith("<")


def caller_location() -> Location:
    """The first frame outside dashboards/core; sys._getframe is cheap, unlike inspect.stack()."""
    frame = sys._getframe(1)
    while frame.f_back is not None and _is_library(frame.f_code.co_filename):
        frame = frame.f_back
    return Location(frame.f_code.co_filename, frame.f_lineno)


def source_field() -> Any:
    """The `source` attrs field: set on construction, kept out of equality, repr and the rendered JSON."""
    return attr.ib(factory=caller_location, eq=False, repr=False, kw_only=True)
