"""Find every dashboard and alerting object in a definitions package (default: dashboards/).

Each top-level module of the package is imported; its module-level ChatDashboard, RuleGroup,
ContactPoint and NotificationPolicy objects are collected, so adding one is adding a module or an object.
Sub-packages (such as dashboards/core) and `_private` modules are library code and are skipped. An object
imported into a second module is collected once, under the module that was imported first.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
import re
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from grafanalib import core

import dashboards.core
from dashboards.core.alerting import ContactPoint, NotificationPolicy, RuleGroup
from dashboards.core.dashboard import ChatDashboard
from dashboards.core.validate import DefinitionError

# grafanalib objects the renderer would otherwise skip without a word: name what to use instead.
GRAFANALIB_LOOKALIKES = {
    core.Dashboard: "ChatDashboard",
    core.AlertGroup: "RuleGroup",
    core.AlertRulev8: "AlertRule in a RuleGroup",
    core.AlertRulev9: "AlertRule in a RuleGroup",
}
# ImportError carries the module, not the missing name: Python's own message is the one place it is.
_CANNOT_IMPORT = re.compile(r"cannot import name '(\w+)'")


@dataclass(frozen=True)
class Found:
    """A definition object and where it was declared, for error messages."""

    module: str
    name: str
    obj: Any
    package_dir: Path  # the definitions package: source files are named relative to its parent


@dataclass
class Definitions:
    dashboards: list[Found] = field(default_factory=list)
    rule_groups: list[Found] = field(default_factory=list)
    contact_points: list[Found] = field(default_factory=list)
    policies: list[Found] = field(default_factory=list)

    def bucket(self, obj: Any) -> list[Found] | None:
        """The list an object of this type belongs in, or None for anything else."""
        buckets = {
            ChatDashboard: self.dashboards,
            RuleGroup: self.rule_groups,
            ContactPoint: self.contact_points,
            NotificationPolicy: self.policies,
        }
        return next((found for kind, found in buckets.items() if isinstance(obj, kind)), None)


def definition_modules(package_dir: Path) -> list[str]:
    """Names of the package's top-level modules, sorted so discovery order never depends on the filesystem."""
    return sorted(
        info.name
        for info in pkgutil.iter_modules([str(package_dir)])
        if not info.ispkg and not info.name.startswith("_")
    )


def _author_frame(exc: BaseException, package_dir: Path) -> tuple[FrameType, int] | None:
    """The last traceback frame in a definitions module (not dashboards/core): the line the author wrote."""
    frames = [
        (frame, line)
        for frame, line in traceback.walk_tb(exc.__traceback__)
        if _in_package(frame.f_code.co_filename, package_dir)
    ]
    return frames[-1] if frames else None


def _missing_name(exc: BaseException) -> str | None:
    """The name a NameError, AttributeError or `from ... import` failed to find."""
    if isinstance(exc, NameError | AttributeError):
        return exc.name
    match = _CANNOT_IMPORT.match(str(exc)) if isinstance(exc, ImportError) else None
    return match.group(1) if match else None


def _suggestion(exc: BaseException, names: list[str]) -> str:
    """ " (did you mean UNIT_PER_SECOND?)" when the missing name is a typo of a known one, else ""."""
    missing = _missing_name(exc)
    close = difflib.get_close_matches(missing, names, n=1) if missing else []
    return f" (did you mean {close[0]}?)" if close else ""


def first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0]


def file_line(filename: str, line: int | None, root: Path) -> str:
    """ "dashboards/x.py:12": the file relative to `root` (the package's parent, the repository for
    dashboards/), as the author opens it; a file elsewhere keeps its absolute path."""
    path = Path(filename).resolve()
    shown = path.relative_to(root) if path.is_relative_to(root) else path
    return f"{shown.as_posix()}:{line}"


def _in_package(filename: str, package_dir: Path) -> bool:
    """A top-level module of the package: sub-packages such as dashboards/core are library code."""
    return Path(filename).resolve().parent == package_dir


def python_error(exc: BaseException, package_dir: Path) -> tuple[str, str] | None:
    """(file:line, "Error: first line (did you mean ...?)") for an exception raised by a definitions
    module's own line, or None when no line of one is involved (the error is then the object's)."""
    if isinstance(exc, SyntaxError) and exc.filename and _in_package(exc.filename, package_dir):
        return file_line(exc.filename, exc.lineno, package_dir.parent), f"SyntaxError: {exc.msg}"
    found = _author_frame(exc, package_dir)
    if found is None:
        return None
    frame, line = found
    hint = _suggestion(exc, [*frame.f_globals, *dashboards.core.__all__])
    where = file_line(frame.f_code.co_filename, line, package_dir.parent)
    return where, f"{type(exc).__name__}: {first_line(exc)}{hint}"


def import_definitions(package_dir: Path, module_name: str) -> Any:
    """Import one definition module; any error in it becomes a one-line DefinitionError at its line."""
    qualified = f"{package_dir.name}.{module_name}"
    try:
        return importlib.import_module(qualified)
    except Exception as exc:  # a definition module can fail in any way: report it, don't crash
        located = python_error(exc, package_dir)
        if located is None:  # e.g. an error inside a library it imports: the module is all we know
            raise DefinitionError(qualified, "<import>", f"{type(exc).__name__}: {first_line(exc)}") from exc
        raise DefinitionError(located[0], "", located[1]) from exc


def reject_grafanalib_lookalike(module: str, name: str, obj: Any) -> None:
    """A plain grafanalib Dashboard or alert object would render nothing; say so instead."""
    if isinstance(obj, ChatDashboard):
        return
    for kind, ours in GRAFANALIB_LOOKALIKES.items():
        if isinstance(obj, kind):
            raise DefinitionError(
                module, name, f"is a grafanalib {kind.__name__}; use {ours} from dashboards.core"
            )


def discover(package_dir: Path) -> Definitions:
    """Import every definition module of the package at `package_dir` and collect its objects."""
    package_dir = package_dir.resolve()
    if str(package_dir.parent) not in sys.path:
        sys.path.insert(0, str(package_dir.parent))
    definitions = Definitions()
    seen: set[int] = set()
    for module_name in definition_modules(package_dir):
        module = import_definitions(package_dir, module_name)
        for name, obj in vars(module).items():
            reject_grafanalib_lookalike(module.__name__, name, obj)
            bucket = definitions.bucket(obj)
            if bucket is not None and id(obj) not in seen:
                seen.add(id(obj))
                bucket.append(Found(module.__name__, name, obj, package_dir))
    return definitions
