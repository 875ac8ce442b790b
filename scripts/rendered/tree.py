"""Read the rendered tree once: dashboards, rule groups, contact points, policy, embeds, sources.

Every stage after render reads the tree through `load_tree`, so they agree on what is there. Nothing
unreadable is skipped silently: a file that is not JSON, or not of the shape its name promises, becomes a
problem (a Finding on the file) and its content is left out; lint reports problems as findings, verify and
publish refuse to run on a tree that has any.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.rendered.layout import (
    CONTACT_POINTS_FILE,
    DASHBOARDS_DIR,
    EMBEDS_FILE,
    POLICIES_FILE,
    REQUIRED_FILES,
    RULES_FILE,
    SOURCES_FILE,
    rule_source_key,
)
from scripts.rendered.model import Dashboard, Finding, Json

RENDER_HINT = "run `make render` first"


@dataclass
class RenderedTree:
    directory: Path
    dashboards: list[Dashboard] = field(default_factory=list)
    rule_groups: list[Json] = field(default_factory=list)
    contact_points: list[Json] = field(default_factory=list)
    policy: Json | None = None
    embeds: list[Json] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # layout.py's source keys -> "dashboards/x.py:12"
    problems: list[Finding] = field(default_factory=list)

    @property
    def rule_sources(self) -> dict[str, str]:
        """Rule uid -> its definition ("dashboards/alerts.py:30"), for publish's rejection messages."""
        prefix = rule_source_key("")
        return {
            key.removeprefix(prefix): where for key, where in self.sources.items() if key.startswith(prefix)
        }


def _problem(path: Path, message: str) -> Finding:
    return Finding(str(path), "json", message)


def _read(path: Path, shape: type, problems: list[Finding], what: str) -> Any:
    """The JSON in `path` when it is a `shape`; else None, with the reason appended to `problems`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(_problem(path, f"cannot read JSON: {exc}"))
        return None
    if not isinstance(data, shape):
        problems.append(_problem(path, f"must hold {what}; {RENDER_HINT}"))
        return None
    return data


def load_tree(directory: Path) -> RenderedTree:
    """Everything under `directory` (the render output), with a problem for each file it cannot use."""
    tree = RenderedTree(directory)
    dashboard_dir = directory / DASHBOARDS_DIR
    if not dashboard_dir.is_dir():
        tree.problems.append(_problem(dashboard_dir, f"no rendered dashboards: {RENDER_HINT}"))
    for path in sorted(dashboard_dir.glob("*.json")):
        data = _read(path, dict, tree.problems, "one dashboard object")
        if data is not None:
            tree.dashboards.append(Dashboard(str(data.get("uid", "")), path, data))

    def optional(name: str, shape: type, what: str, default: Any) -> Any:
        path = directory / name
        if not path.exists():
            if name in REQUIRED_FILES:
                tree.problems.append(_problem(path, f"missing: {RENDER_HINT}"))
            return default
        found = _read(path, shape, tree.problems, what)
        return default if found is None else found

    tree.rule_groups = optional(RULES_FILE, list, "a list of rule groups", [])
    tree.contact_points = optional(CONTACT_POINTS_FILE, list, "a list of contact points", [])
    tree.policy = optional(POLICIES_FILE, dict, "one notification policy tree", None)
    tree.embeds = optional(EMBEDS_FILE, list, "a list of embeds", [])
    tree.sources = optional(SOURCES_FILE, dict, "a map of object to file:line", {})
    return tree
