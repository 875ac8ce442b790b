"""The kinds of object publish manages, one row each: how to normalise it, how to write it, when.

Adding a kind (mute timings, say) is a row here, a writer method and a planner: nothing else dispatches
on the kind. `stage` orders the writes so that nothing references an object not written yet; deletes
(--prune) of dashboards run after the rule groups that may link to them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scripts.publish.compare import (
    dashboard_content,
    normalise_contact_point,
    normalise_group,
    normalise_policy,
    normalise_rule,
    unified_diff,
)
from scripts.publish.model import Action, Change, Kind
from scripts.publish.writers import Writer


@dataclass(frozen=True)
class KindRow:
    normalise: Callable[[Any], Any]  # an object as compared and shown in diffs
    writer: str  # the Writer method that applies one change and returns the object's URL path, if any
    stage: int
    delete_stage: int | None = None  # when its deletes run (None: this kind is never deleted)


def _as_is(obj: Any) -> Any:
    return obj


def write(writer: Writer, change: Change) -> str:
    """Apply one change with the writer's method for its kind (by name: an app-platform writer overrides
    folders and dashboards)."""
    method: Callable[[Change], str] = getattr(writer, KINDS[change.kind].writer)
    return method(change)


KINDS: dict[Kind, KindRow] = {
    Kind.FOLDER: KindRow(_as_is, "folder", stage=0),
    Kind.CONTACT_POINT: KindRow(normalise_contact_point, "contact_point", stage=1),
    Kind.POLICY: KindRow(normalise_policy, "policy", stage=2),
    Kind.DASHBOARD: KindRow(dashboard_content, "dashboard", stage=3, delete_stage=6),
    Kind.RULE_GROUP: KindRow(normalise_group, "rule_group", stage=4),
    Kind.ALERT_RULE: KindRow(normalise_rule, "alert_rule", stage=5, delete_stage=5),
}
STAGE_COUNT = 1 + max(max(row.stage, row.delete_stage or 0) for row in KINDS.values())


def stage_of(change: Change) -> int:
    """When a change is written: a delete (no desired object) in its kind's delete stage."""
    row = KINDS[change.kind]
    if change.desired is None and row.delete_stage is not None:
        return row.delete_stage
    return row.stage


def change_diff(change: Change) -> str:
    """The readable diff for a change: what the UI edit changed for drift, else live -> code."""
    if change.action == Action.DRIFTED and change.base is not None:
        return unified_diff(
            change.base,
            change.live,
            change.base_label,
            f"live in Grafana (version {change.version})",
            change.kind,
        )
    if change.action in (Action.UPDATE, Action.DRIFTED) and change.desired is not None:
        desired = KINDS[change.kind].normalise(change.desired)
        return unified_diff(change.live, desired, "live in Grafana", "code", change.kind)
    return ""
