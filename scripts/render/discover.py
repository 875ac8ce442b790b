"""Find every dashboard and alerting object in a definitions package (default: dashboards/).

Each top-level module of the package is imported; its module-level ChatDashboard, RuleGroup,
ContactPoint and NotificationPolicy objects are collected, so adding one is adding a module or an object.
Sub-packages (such as dashboards/core) and `_private` modules are library code and are skipped. An object
imported into a second module is collected once, under the module that was imported first.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grafanalib import core

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


@dataclass(frozen=True)
class Found:
    """A definition object and where it was declared, for error messages."""

    module: str
    name: str
    obj: Any


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


def import_definitions(package: str, module_name: str) -> Any:
    """Import one definition module; any error in it becomes a one-line DefinitionError."""
    qualified = f"{package}.{module_name}"
    try:
        return importlib.import_module(qualified)
    except Exception as exc:  # a definition module can fail in any way: report it, don't crash
        first_line = (str(exc).splitlines() or [""])[0]
        raise DefinitionError(qualified, "<import>", f"{type(exc).__name__}: {first_line}") from exc


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
        module = import_definitions(package_dir.name, module_name)
        for name, obj in vars(module).items():
            reject_grafanalib_lookalike(module.__name__, name, obj)
            bucket = definitions.bucket(obj)
            if bucket is not None and id(obj) not in seen:
                seen.add(id(obj))
                bucket.append(Found(module.__name__, name, obj))
    return definitions
