"""Render again after a save, importing only the modules the save can have changed.

Unchanged definition modules stay in sys.modules (importing dashboards.core and grafanalib is most of a
render's time); the saved module and every definitions module that holds its module or its objects are
dropped and imported afresh by discover. The new render is compared with the last one, file by file, to
name the dashboards and rule groups the save changed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib.machinery import ModuleSpec, SourceFileLoader
from importlib.util import spec_from_file_location
from pathlib import Path
from types import ModuleType

from scripts.render.discover import Definitions, discover
from scripts.render.files import render_files
from scripts.rendered.layout import DASHBOARDS_DIR, RULES_FILE


class SourceOnlyLoader(SourceFileLoader):
    """Compiles from source every time: a .pyc is trusted by mtime (in seconds) and size, so a second save
    of the same length within a second would otherwise import the first one's code."""

    def path_stats(self, path: str) -> dict[str, float]:
        raise OSError("the watcher always compiles definitions from source")


@dataclass(frozen=True)
class DefinitionsFinder:
    """Finds the definitions package's top-level modules with SourceOnlyLoader (first on sys.meta_path)."""

    package: str
    package_dir: Path

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        parent, _, name = fullname.rpartition(".")
        source = self.package_dir / f"{name}.py"
        if parent != self.package or not source.is_file():
            return None
        return spec_from_file_location(fullname, source, loader=SourceOnlyLoader(fullname, str(source)))


@dataclass(frozen=True)
class Affected:
    """What one render changed, by rendered uid / group title."""

    dashboards: list[str] = field(default_factory=list)
    rule_groups: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.dashboards or self.rule_groups)


def _groups(files: dict[str, str]) -> dict[str, str]:
    """Rule group title -> its rendered JSON, to compare groups one by one."""
    groups = json.loads(files.get(RULES_FILE, "[]"))
    return {group["title"]: json.dumps(group, sort_keys=True) for group in groups}


def affected(before: dict[str, str], after: dict[str, str]) -> Affected:
    dashboards = sorted(
        json.loads(text)["uid"]
        for name, text in after.items()
        if name.startswith(f"{DASHBOARDS_DIR}/") and before.get(name) != text
    )
    old, new = _groups(before), _groups(after)
    return Affected(dashboards, sorted(title for title, text in new.items() if old.get(title) != text))


class Renderer:
    """The definitions package at `package_dir`, rendered again after each save."""

    def __init__(self, package_dir: Path) -> None:
        self.package_dir = package_dir.resolve()
        self.package = self.package_dir.name
        self.files: dict[str, str] = {}
        self.definitions = Definitions()
        sys.meta_path.insert(0, DefinitionsFinder(self.package, self.package_dir))  # type: ignore[arg-type]

    def module_name(self, path: Path) -> str | None:
        """The module a saved file is, when it is a top-level definitions module (else None: library)."""
        path = path.resolve()
        return (
            f"{self.package}.{path.stem}"
            if path.parent == self.package_dir and path.suffix == ".py"
            else None
        )

    def _loaded(self) -> dict[str, ModuleType]:
        return {name: m for name, m in sys.modules.items() if name.rpartition(".")[0] == self.package}

    def stale_modules(self, changed: Iterable[str]) -> set[str]:
        """The changed modules and, transitively, every loaded one holding their module or objects."""
        loaded, stale = self._loaded(), set(changed)
        while True:
            held = {id(loaded[name]) for name in stale if name in loaded}
            held |= {id(found.obj) for found in self._found() if found.module in stale}
            grown = {name for name, m in loaded.items() if any(id(v) in held for v in vars(m).values())}
            if grown <= stale:
                return stale
            stale |= grown

    def _found(self) -> list:
        d = self.definitions
        return [*d.dashboards, *d.rule_groups, *d.contact_points, *d.policies]

    def render(self, changed: Iterable[str]) -> tuple[dict[str, str], Affected]:
        """Import the changed modules again, render everything, and say what differs from the last render.
        A DefinitionError (syntax, import or render error) leaves the last good render in place."""
        for name in self.stale_modules(changed):
            sys.modules.pop(name, None)
        self.definitions = discover(self.package_dir)
        files = render_files(self.definitions)
        changes = affected(self.files, files)
        self.files = files
        return files, changes
