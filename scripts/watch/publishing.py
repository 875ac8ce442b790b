"""Publish what a save changed to the preview target, through publish's own plan and writers.

The plan is narrowed to the changed dashboards and rule groups (and the folder, for the first save), so a
save reads and writes only those. Preview rule groups are written paused and without contact points or a
policy route: a preview evaluates no alert and routes none (a rule of its owner would otherwise fall
through to the org's default receiver).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from scripts.grafana.client import Grafana
from scripts.grafana.errors import PublishError, is_not_found
from scripts.grafana.target import Target, request_timeout
from scripts.publish.apply import Outcome, apply_plan
from scripts.publish.cli import WORKERS, selected
from scripts.publish.desired import Desired, load_desired
from scripts.publish.model import Action, Kind, Plan
from scripts.publish.plan import build_plan
from scripts.publish.revision import Revision
from scripts.publish.writers import Writer
from scripts.watch.rerender import Affected

# A preview is scratch space of one person: an edit made in its Grafana UI is overwritten by the next save.
FORCE = True


def _paused(group: dict[str, Any]) -> dict[str, Any]:
    return {**group, "rules": [{**rule, "isPaused": True} for rule in group["rules"]]}


def preview_desired(desired: Desired, changed: Affected, suffix: str) -> Desired:
    dashboards = {uid + suffix for uid in changed.dashboards}
    return replace(
        desired,
        dashboards={uid: d for uid, d in desired.dashboards.items() if uid in dashboards},
        rule_groups=[_paused(g) for g in desired.rule_groups if g["title"] in changed.rule_groups],
        contact_points=[],
        policy=None,
    )


def wanted(target: Target, changed: Affected) -> list[str]:
    """The changed objects as `--only` names them."""
    return [
        f"{Kind.FOLDER}/{target.folder_uid}",
        *(f"{Kind.DASHBOARD}/{uid}" for uid in changed.dashboards),
        *(f"{Kind.RULE_GROUP}/{target.folder_uid}/{title}" for title in changed.rule_groups),
    ]


@dataclass
class Preview:
    target: Target
    grafana: Grafana
    writer: Writer
    pool: ThreadPoolExecutor

    @classmethod
    def open(cls, target: Target, revision: Revision) -> Preview:
        grafana = Grafana(target, timeout_s=request_timeout(os.environ))
        grafana.wait_healthy(0)
        writer = Writer(grafana, target.folder_uid, revision, {}, target.owner)
        return cls(target, grafana, writer, ThreadPoolExecutor(max_workers=WORKERS))

    def publish(self, rendered: Path, changed: Affected) -> tuple[Plan, list[Outcome]]:
        """Plan and write the changed objects; returns the plan (unchanged ones too) and the writes."""
        desired = load_desired(rendered, self.target, require_secrets=False)
        narrowed = preview_desired(desired, changed, self.target.uid_suffix)
        self.writer.rule_sources = desired.rule_sources
        plan = build_plan(self.grafana, narrowed, self.pool)
        plan = selected(plan, wanted(self.target, changed), self.target.uid_suffix)
        return plan, apply_plan(self.writer, plan, self.pool, FORCE)

    def cleanup(self) -> str:
        """Delete the preview's own dashboards and rules, then its folder when nothing else is in it."""
        empty = Desired(
            self.target.folder_uid, self.target.folder_title, {}, [], [], None, self.target.owner, [], {}
        )
        plan = build_plan(self.grafana, empty, self.pool, prune=True)
        plan.changes = [c for c in plan.changes if c.kind != Kind.FOLDER]
        outcomes = apply_plan(self.writer, plan, self.pool, FORCE)
        kept = [c.label for c in plan.changes if c.action == Action.NOT_OURS]
        if kept:
            return f"kept folder {self.target.folder_uid}: it holds {', '.join(kept)}, not ours"
        uid = self.target.folder_uid
        try:
            self.grafana.call(f"folder {uid}", lambda api: api.folder.delete_folder(uid))
        except PublishError as error:
            if not is_not_found(error):  # already gone: what cleanup wants
                raise
        return f"deleted folder {uid} and {len(outcomes)} objects of {self.target.owner}"

    def close(self) -> None:
        self.pool.shutdown(wait=True)
