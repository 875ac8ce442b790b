"""Checks on rendered definitions: the mistakes grafanalib and Grafana would accept silently.

They work on the rendered JSON (not on Python objects) so the lint helper can run them on files too.
Each failure is a DefinitionError naming the module and the object, printed by the renderer as one line.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations
from typing import Any

from dashboards.core.conventions import GRID_COLUMNS

SCHEDULER_BASE_INTERVAL_S = 10  # Grafana evaluates rule groups on multiples of this
# Panel types that query no datasource (Grafana's own lists, text), so they need none; and rows.
QUERYLESS_PANEL_TYPES = frozenset(
    {"row", "text", "news", "dashlist", "alertlist", "annolist", "welcome", "gettingstarted"}
)


class DefinitionError(Exception):
    """A bad dashboard or alert definition: `module: object: message`.

    `module` may be a file:line ("dashboards/x.py:12"), and `name` empty when no object is to blame yet
    (a module failing on import).
    """

    def __init__(self, module: str, name: str, message: str) -> None:
        super().__init__(": ".join(part for part in (module, name, message) if part))
        self.module = module
        self.name = name
        self.message = message


def _overlap(first: dict[str, int], second: dict[str, int]) -> bool:
    """Whether two gridPos rectangles share a cell."""
    return (
        first["x"] < second["x"] + second["w"]
        and second["x"] < first["x"] + first["w"]
        and first["y"] < second["y"] + second["h"]
        and second["y"] < first["y"] + first["h"]
    )


def check_dashboard(module: str, name: str, dashboard: dict[str, Any]) -> None:
    """Unique panel ids, a {type, uid} datasource on every data panel, panels inside the grid, no overlaps.
    A library panel's datasource is in its model, in Grafana's library, not here."""
    panels = dashboard.get("panels", [])
    seen: dict[int, str] = {}
    for panel in panels:
        title = panel.get("title", "")
        if panel.get("id") in seen:
            raise DefinitionError(
                module, name, f"duplicate panel id {panel.get('id')} ('{seen[panel['id']]}' and '{title}')"
            )
        seen[panel.get("id")] = title
        queries = panel.get("type") not in QUERYLESS_PANEL_TYPES and "libraryPanel" not in panel
        if queries and not {"type", "uid"} <= set(panel.get("datasource") or {}):
            raise DefinitionError(
                module, name, f"panel '{title}' has no datasource (give it queries, all on one datasource)"
            )
        pos = panel.get("gridPos")
        if not pos or pos["x"] < 0 or pos["y"] < 0 or pos["w"] < 1 or pos["h"] < 1:
            raise DefinitionError(module, name, f"panel '{title}' has no valid gridPos")
        if pos["x"] + pos["w"] > GRID_COLUMNS:
            raise DefinitionError(
                module, name, f"panel '{title}' is wider than the {GRID_COLUMNS}-column grid"
            )
    for first, second in combinations(panels, 2):
        if _overlap(first["gridPos"], second["gridPos"]):
            raise DefinitionError(
                module, name, f"panels '{first.get('title')}' and '{second.get('title')}' overlap"
            )


def check_unique(entries: Iterable[tuple[str, str, str]], what: str) -> None:
    """(module, object, key) triples: the key (a dashboard or rule uid) must not repeat."""
    owners: dict[str, tuple[str, str]] = {}
    for module, name, key in entries:
        if key in owners:
            other_module, other_name = owners[key]
            raise DefinitionError(
                module, name, f"duplicate {what} '{key}' (also in {other_module}: {other_name})"
            )
        owners[key] = (module, name)


def check_rule_group(module: str, name: str, group: dict[str, Any]) -> None:
    """Interval a positive multiple of 10 s; every rule's condition names one of its refIds."""
    interval = group["interval"]
    if interval <= 0 or interval % SCHEDULER_BASE_INTERVAL_S:
        raise DefinitionError(
            module,
            name,
            f"rule group interval {interval}s is not a positive multiple of {SCHEDULER_BASE_INTERVAL_S}s",
        )
    for rule in group["rules"]:
        ref_ids = [query["refId"] for query in rule["data"]]
        if rule["condition"] not in ref_ids:
            raise DefinitionError(
                module,
                name,
                f"rule '{rule['uid']}' condition '{rule['condition']}' is not one of its refIds {ref_ids}",
            )


def check_policy_receivers(module: str, name: str, policy: dict[str, Any], receivers: set[str]) -> None:
    """Every route of the policy tree sends to a defined contact point."""
    for route in [policy, *policy.get("routes", [])]:
        if route["receiver"] not in receivers:
            raise DefinitionError(
                module, name, f"receiver '{route['receiver']}' is not a defined contact point"
            )
